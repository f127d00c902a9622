"""Issues: list with GitHub's filters and pagination, get, create, update."""

from __future__ import annotations

from typing import Any

from bot.sandbox.api.common import (
    actor,
    direction_of,
    issue_record,
    now,
    paginated,
    query_time,
    record_label_changes,
    repo_record,
    require_auth,
    sort_by,
    string_list,
)
from bot.sandbox.routing import ApiRequest, Reply, RouteTable, invalid

routes = RouteTable()

STATE_REASONS = ("completed", "not_planned", "reopened", "duplicate")


def comment_count(repo: dict[str, Any], number: int) -> int:
    return sum(1 for c in repo["comments"].values() if c["issue_number"] == number)


def matches_filters(req: ApiRequest, issue: dict[str, Any]) -> bool:
    """GitHub's list filters: state, labels (all of them), since, creator, assignee."""
    state = req.query.get("state", "open") or "open"
    if state != "all" and issue["state"] != state:
        return False
    wanted = [n.strip().lower() for n in req.query.get("labels", "").split(",") if n.strip()]
    have = {n.lower() for n in issue["labels"]}
    if any(name not in have for name in wanted):
        return False
    since = query_time(req, "since")
    if since is not None and issue["updated_at"] < since:
        return False
    creator = req.query.get("creator")
    if creator and issue["user"].lower() != creator.lower():
        return False
    assignee = req.query.get("assignee")
    if assignee == "none":
        return not issue["assignees"]
    if assignee == "*":
        return bool(issue["assignees"])
    return not (assignee and assignee.lower() not in {a.lower() for a in issue["assignees"]})


@routes.add("GET", "/repos/{owner}/{repo}/issues")
def list_issues(req: ApiRequest) -> Reply:
    """Issues and pull requests (with ``pull_request``), newest first unless asked otherwise."""
    repo = repo_record(req)
    state = req.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise invalid("Issue", "state")
    sort = req.query.get("sort", "created") or "created"
    keys = {
        "created": lambda i: i["created_at"],
        "updated": lambda i: i["updated_at"],
        "comments": lambda i: comment_count(repo, i["number"]),
    }
    if sort not in keys:
        raise invalid("Issue", "sort")
    found = [i for i in repo["issues"].values() if matches_filters(req, i)]
    ordered = sort_by(found, keys[sort], direction_of(req, "desc"))
    return paginated(req, ordered, req.shapes.issue)


@routes.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}")
def get_issue(req: ApiRequest) -> Reply:
    return Reply(200, req.shapes.issue(issue_record(req)))


@routes.add("POST", "/repos/{owner}/{repo}/issues")
def create_issue(req: ApiRequest) -> Reply:
    require_auth(req)
    repo = repo_record(req)
    body = req.body_dict()
    title = body.get("title")
    if not isinstance(title, str | int) or str(title).strip() == "":
        raise invalid("Issue", "title", "missing_field")
    assignees = string_list(body.get("assignees"), "assignees", "Issue")
    if body.get("assignee"):
        assignees.append(body["assignee"])
    issue = req.state.add_issue(
        repo["full_name"],
        title=str(title),
        body=body.get("body"),
        user=actor(req),
        labels=string_list(body.get("labels"), "labels", "Issue"),
        assignees=assignees,
        created_at=now(),
    )
    record_label_changes(req, issue, [])
    return Reply(201, req.shapes.issue(issue))


@routes.add("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}")
def update_issue(req: ApiRequest) -> Reply:
    """Title, body, state (+ state_reason), labels and assignees, as ``issues/update``."""
    require_auth(req)
    issue = issue_record(req)
    body = req.body_dict()
    labels_before = list(issue["labels"])
    if "title" in body:
        if body["title"] is None or str(body["title"]).strip() == "":
            raise invalid("Issue", "title", "missing_field")
        issue["title"] = str(body["title"])
    if "body" in body:
        issue["body"] = body["body"]
    reason = body.get("state_reason")
    if reason is not None and reason not in STATE_REASONS:
        raise invalid("Issue", "state_reason")
    if "state" in body:
        state = body["state"]
        if state not in ("open", "closed"):
            raise invalid("Issue", "state")
        if state == "closed" and issue["state"] == "open":
            issue.update(state="closed", closed_at=now(), closed_by=actor(req))
            issue["state_reason"] = None if issue["pull"] else (reason or "completed")
            req.state.add_issue_event(
                issue["repo"],
                issue["number"],
                event="closed",
                actor=actor(req),
                state_reason=issue["state_reason"],
                created_at=issue["closed_at"],
            )
        elif state == "open" and issue["state"] == "closed":
            issue.update(state="open", closed_at=None, closed_by=None)
            issue["state_reason"] = None if issue["pull"] else "reopened"
            req.state.add_issue_event(
                issue["repo"], issue["number"], event="reopened", actor=actor(req), created_at=now()
            )
    elif reason is not None and issue["state"] == "closed" and not issue["pull"]:
        issue["state_reason"] = reason
    if "labels" in body:
        names = string_list(body["labels"], "labels", "Issue")
        issue["labels"] = [req.state.ensure_label(issue["repo"], n)["name"] for n in names]
    if "assignees" in body or "assignee" in body:
        logins = string_list(body.get("assignees"), "assignees", "Issue")
        if body.get("assignee"):
            logins.append(body["assignee"])
        issue["assignees"] = [req.state.ensure_user(login)["login"] for login in logins]
    record_label_changes(req, issue, labels_before)
    issue["updated_at"] = now()
    return Reply(200, req.shapes.issue(issue))
