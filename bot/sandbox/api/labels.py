"""Repository labels and the labels of one issue."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.api.common import (
    issue_record,
    now,
    paginated,
    record_label_changes,
    repo_record,
    require_auth,
    string_list,
)
from bot.sandbox.routing import ApiError, ApiRequest, Reply, RouteTable, invalid, not_found

routes = RouteTable()

COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def _label(req: ApiRequest, repo: dict[str, Any]) -> dict[str, Any]:
    found = repo["labels"].get(req.params["name"].lower())
    if found is None:
        raise not_found()
    return found


def _color(value: Any) -> str:
    color = str(value).lstrip("#")
    if not COLOR.match(color):
        raise invalid("Label", "color")
    return color.lower()


@routes.add("GET", "/repos/{owner}/{repo}/labels")
def list_repo_labels(req: ApiRequest) -> Reply:
    repo = repo_record(req)
    ordered = sorted(repo["labels"].values(), key=lambda label: label["id"])
    return paginated(req, ordered, lambda label: req.shapes.label(repo["full_name"], label["name"]))


@routes.add("POST", "/repos/{owner}/{repo}/labels")
def create_label(req: ApiRequest) -> Reply:
    require_auth(req)
    repo = repo_record(req)
    body = req.body_dict()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise invalid("Label", "name", "missing_field")
    if name.lower() in repo["labels"]:
        raise invalid("Label", "name", "already_exists")
    color = _color(body.get("color", "ededed"))
    req.state.add_label(repo["full_name"], name, color=color, description=body.get("description"))
    return Reply(201, req.shapes.label(repo["full_name"], name))


@routes.add("GET", "/repos/{owner}/{repo}/labels/{name}")
def get_label(req: ApiRequest) -> Reply:
    repo = repo_record(req)
    return Reply(200, req.shapes.label(repo["full_name"], _label(req, repo)["name"]))


@routes.add("PATCH", "/repos/{owner}/{repo}/labels/{name}")
def update_label(req: ApiRequest) -> Reply:
    """Rename, recolour or describe; issues keep the label under its new name."""
    require_auth(req)
    repo = repo_record(req)
    label = _label(req, repo)
    body = req.body_dict()
    if "color" in body:
        label["color"] = _color(body["color"])
    if "description" in body:
        label["description"] = body["description"]
    new_name = body.get("new_name")
    if new_name and new_name != label["name"]:
        if new_name.lower() in repo["labels"] and new_name.lower() != label["name"].lower():
            raise invalid("Label", "name", "already_exists")
        old = label["name"]
        del repo["labels"][old.lower()]
        label["name"] = new_name
        repo["labels"][new_name.lower()] = label
        for issue in repo["issues"].values():
            issue["labels"] = [new_name if n == old else n for n in issue["labels"]]
    return Reply(200, req.shapes.label(repo["full_name"], label["name"]))


@routes.add("DELETE", "/repos/{owner}/{repo}/labels/{name}")
def delete_label(req: ApiRequest) -> Reply:
    require_auth(req)
    repo = repo_record(req)
    label = _label(req, repo)
    del repo["labels"][label["name"].lower()]
    for issue in repo["issues"].values():
        issue["labels"] = [n for n in issue["labels"] if n.lower() != label["name"].lower()]
    return Reply(204)


def _names_from_body(req: ApiRequest) -> list[str]:
    """``{"labels": [...]}``, a bare list, or ``[{"name": ...}]``: all forms GitHub accepts."""
    body = req.body
    if isinstance(body, dict):
        if "labels" not in body:
            raise invalid("Label", "labels", "missing_field")
        body = body["labels"]
    if body is None:
        raise ApiError(400, "Problems parsing JSON")
    return string_list(body, "labels", "Label")


def _issue_labels(req: ApiRequest, issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [req.shapes.label(issue["repo"], name) for name in issue["labels"]]


@routes.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def list_issue_labels(req: ApiRequest) -> Reply:
    issue = issue_record(req)
    return paginated(req, list(issue["labels"]), lambda n: req.shapes.label(issue["repo"], n))


@routes.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def add_issue_labels(req: ApiRequest) -> Reply:
    """Add labels (missing ones are created grey, as GitHub does) and return them all."""
    require_auth(req)
    issue = issue_record(req)
    before = list(issue["labels"])
    have = {n.lower() for n in issue["labels"]}
    for name in _names_from_body(req):
        if name.lower() not in have:
            issue["labels"].append(req.state.ensure_label(issue["repo"], name)["name"])
            have.add(name.lower())
    record_label_changes(req, issue, before)
    issue["updated_at"] = now()
    return Reply(200, _issue_labels(req, issue))


@routes.add("PUT", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def set_issue_labels(req: ApiRequest) -> Reply:
    require_auth(req)
    issue = issue_record(req)
    before = list(issue["labels"])
    names: list[str] = []
    for name in _names_from_body(req):
        if name.lower() not in {n.lower() for n in names}:
            names.append(req.state.ensure_label(issue["repo"], name)["name"])
    issue["labels"] = names
    record_label_changes(req, issue, before)
    issue["updated_at"] = now()
    return Reply(200, _issue_labels(req, issue))


@routes.add("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def remove_all_issue_labels(req: ApiRequest) -> Reply:
    require_auth(req)
    issue = issue_record(req)
    before = list(issue["labels"])
    issue["labels"] = []
    record_label_changes(req, issue, before)
    issue["updated_at"] = now()
    return Reply(204)


@routes.add("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}")
def remove_issue_label(req: ApiRequest) -> Reply:
    """Remove one label; one the issue lacks is GitHub's 404 "Label does not exist"."""
    require_auth(req)
    issue = issue_record(req)
    name = req.params["name"].lower()
    if name not in {n.lower() for n in issue["labels"]}:
        raise ApiError(404, "Label does not exist")
    before = list(issue["labels"])
    issue["labels"] = [n for n in issue["labels"] if n.lower() != name]
    record_label_changes(req, issue, before)
    issue["updated_at"] = now()
    return Reply(200, _issue_labels(req, issue))
