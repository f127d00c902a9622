"""Pull requests and what hangs off them: files, commits, reviews, review comments."""

from __future__ import annotations

from typing import Any

from bot.sandbox.api.common import (
    actor,
    direction_of,
    now,
    paginated,
    pull_record,
    query_time,
    repo_record,
    require_auth,
    sort_by,
)
from bot.sandbox.routing import ApiRequest, Reply, RouteTable, invalid, not_found

routes = RouteTable()

REVIEW_EVENTS = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}


def _matches(req: ApiRequest, issue: dict[str, Any]) -> bool:
    state = req.query.get("state", "open") or "open"
    if state != "all" and issue["state"] != state:
        return False
    pull = issue["pull"]
    base = req.query.get("base")
    if base and pull["base_ref"] != base:
        return False
    head = req.query.get("head")
    if head:
        owner, _, ref = head.rpartition(":")
        head_owner = pull["head_repo"].split("/", 1)[0]
        if ref != pull["head_ref"] or (owner and owner.lower() != head_owner.lower()):
            return False
    return True


@routes.add("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(req: ApiRequest) -> Reply:
    repo = repo_record(req)
    state = req.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise invalid("PullRequest", "state")
    sort = req.query.get("sort", "created") or "created"
    keys = {
        "created": lambda i: i["created_at"],
        "updated": lambda i: i["updated_at"],
        "popularity": lambda i: sum(
            1 for c in repo["comments"].values() if c["issue_number"] == i["number"]
        ),
        "long-running": lambda i: i["updated_at"] - i["created_at"],
    }
    if sort not in keys:
        raise invalid("PullRequest", "sort")
    found = [i for i in repo["issues"].values() if i["pull"] and _matches(req, i)]
    ordered = sort_by(found, keys[sort], direction_of(req, "desc"))
    return paginated(req, ordered, lambda i: req.shapes.pull(i, simple=True))


@routes.add("GET", "/repos/{owner}/{repo}/pulls/comments")
def list_repo_review_comments(req: ApiRequest) -> Reply:
    repo = repo_record(req)
    since = query_time(req, "since")
    sort = req.query.get("sort", "created") or "created"
    if sort not in ("created", "updated"):
        raise invalid("PullRequestReviewComment", "sort")
    found = [
        c for c in repo["review_comments"].values() if since is None or c["updated_at"] >= since
    ]
    ordered = sort_by(found, lambda c: c[f"{sort}_at"], direction_of(req, "asc"))
    return paginated(req, ordered, req.shapes.review_comment)


@routes.add("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def get_review_comment(req: ApiRequest) -> Reply:
    found = repo_record(req)["review_comments"].get(req.int_param("comment_id"))
    if found is None:
        raise not_found()
    return Reply(200, req.shapes.review_comment(found))


@routes.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull(req: ApiRequest) -> Reply:
    return Reply(200, req.shapes.pull(pull_record(req)))


@routes.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
def list_pull_files(req: ApiRequest) -> Reply:
    issue = pull_record(req)
    sha = issue["pull"]["head_sha"]
    files = issue["pull"]["files"]
    return paginated(req, files, lambda f: req.shapes.diff_entry(issue["repo"], sha, f))


@routes.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits")
def list_pull_commits(req: ApiRequest) -> Reply:
    issue = pull_record(req)
    commits = repo_record(req)["commits"]
    found = [commits[sha] for sha in issue["pull"]["commits"] if sha in commits]
    return paginated(req, found, req.shapes.commit)


@routes.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def list_pull_reviews(req: ApiRequest) -> Reply:
    issue = pull_record(req)
    ordered = sort_by(issue["pull"]["reviews"], lambda r: r["submitted_at"], "asc")
    return paginated(req, ordered, req.shapes.review)


@routes.add("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def create_pull_review(req: ApiRequest) -> Reply:
    """Submit a review (``event`` APPROVE / REQUEST_CHANGES / COMMENT)."""
    require_auth(req)
    issue = pull_record(req)
    body = req.body_dict()
    event = str(body.get("event", "COMMENT")).upper()
    if event not in REVIEW_EVENTS:
        raise invalid("PullRequestReview", "event")
    if event != "APPROVE" and not body.get("body"):
        raise invalid("PullRequestReview", "body", "missing_field")
    review = req.state.add_review(
        issue["repo"],
        issue["number"],
        user=actor(req),
        state=REVIEW_EVENTS[event],
        body=body.get("body") or "",
        commit_id=body.get("commit_id"),
        submitted_at=now(),
    )
    return Reply(200, req.shapes.review(review))


@routes.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def list_pull_review_comments(req: ApiRequest) -> Reply:
    issue = pull_record(req)
    since = query_time(req, "since")
    found = [
        c
        for c in repo_record(req)["review_comments"].values()
        if c["pull_number"] == issue["number"] and (since is None or c["updated_at"] >= since)
    ]
    ordered = sort_by(found, lambda c: c["created_at"], direction_of(req, "asc"))
    return paginated(req, ordered, req.shapes.review_comment)
