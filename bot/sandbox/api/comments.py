"""Issue comments: per issue and repository-wide; create, read, edit, delete."""

from __future__ import annotations

from typing import Any

from bot.sandbox.api.common import (
    actor,
    direction_of,
    issue_record,
    now,
    paginated,
    query_time,
    repo_record,
    require_auth,
    sort_by,
)
from bot.sandbox.routing import ApiRequest, Reply, RouteTable, invalid, not_found

routes = RouteTable()


def _comment(req: ApiRequest) -> dict[str, Any]:
    found = repo_record(req)["comments"].get(req.int_param("comment_id"))
    if found is None:
        raise not_found()
    return found


def _body_text(req: ApiRequest) -> str:
    text = req.body_dict().get("body")
    if not isinstance(text, str) or text == "":
        raise invalid("IssueComment", "body", "missing_field")
    return text


@routes.add("GET", "/repos/{owner}/{repo}/issues/comments")
def list_repo_comments(req: ApiRequest) -> Reply:
    """Every issue comment of the repository; ``since`` filters on ``updated_at``."""
    repo = repo_record(req)
    since = query_time(req, "since")
    sort = req.query.get("sort", "created") or "created"
    if sort not in ("created", "updated"):
        raise invalid("IssueComment", "sort")
    found = [c for c in repo["comments"].values() if since is None or c["updated_at"] >= since]
    ordered = sort_by(found, lambda c: c[f"{sort}_at"], direction_of(req, "asc"))
    return paginated(req, ordered, req.shapes.issue_comment)


@routes.add("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(req: ApiRequest) -> Reply:
    return Reply(200, req.shapes.issue_comment(_comment(req)))


@routes.add("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def update_comment(req: ApiRequest) -> Reply:
    require_auth(req)
    comment = _comment(req)
    comment["body"] = _body_text(req)
    comment["updated_at"] = now()
    return Reply(200, req.shapes.issue_comment(comment))


@routes.add("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def delete_comment(req: ApiRequest) -> Reply:
    require_auth(req)
    comment = _comment(req)
    del repo_record(req)["comments"][comment["id"]]
    return Reply(204)


@routes.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_issue_comments(req: ApiRequest) -> Reply:
    issue = issue_record(req)
    since = query_time(req, "since")
    found = [
        c
        for c in repo_record(req)["comments"].values()
        if c["issue_number"] == issue["number"] and (since is None or c["updated_at"] >= since)
    ]
    ordered = sort_by(found, lambda c: c["created_at"], "asc")
    return paginated(req, ordered, req.shapes.issue_comment)


@routes.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_comment(req: ApiRequest) -> Reply:
    """Post a comment; like GitHub, this bumps the issue's ``updated_at``."""
    require_auth(req)
    issue = issue_record(req)
    text = _body_text(req)
    moment = now()
    comment = req.state.add_issue_comment(
        issue["repo"], issue["number"], body=text, user=actor(req), created_at=moment
    )
    issue["updated_at"] = moment
    return Reply(201, req.shapes.issue_comment(comment))
