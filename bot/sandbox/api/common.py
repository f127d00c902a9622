"""Helpers every route module shares: lookups that 404, pagination, sorting, time filters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bot.sandbox.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE, link_header, page_slice
from bot.sandbox.routing import ApiError, ApiRequest, Reply, invalid, not_found
from bot.sandbox.state import SandboxStateError
from bot.sandbox.timeutil import parse_time, utcnow


def repo_record(req: ApiRequest) -> dict[str, Any]:
    """The repository of the path, or 404."""
    try:
        return req.state.repo(req.repo_name())
    except SandboxStateError as exc:
        raise not_found() from exc


# GitHub's ``permission`` field predates the triage and maintain roles and still answers in
# the four old levels: triage reads as read, maintain as write (``role_name`` tells them apart).
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}


def role(repo: dict[str, Any], login: str) -> str:
    """GitHub's ``role_name``: admin (the owner), the collaborator's own role (read, triage,
    write, maintain or admin), read for anyone else on a public repository, or none."""
    if login.lower() == repo["owner"].lower():
        return "admin"
    roles: dict[str, str] = repo.get("roles") or {}
    if login.lower() in roles:
        return roles[login.lower()]
    if login.lower() in repo["collaborators"]:
        return "write"
    return "none" if repo["private"] else "read"


def permission(repo: dict[str, Any], login: str) -> str:
    """GitHub's ``permission``: admin, write, read or none (the role in the old levels)."""
    return LEGACY_PERMISSION[role(repo, login)]


def issue_record(req: ApiRequest, param: str = "issue_number") -> dict[str, Any]:
    """The issue (or PR) of the path, or 404."""
    try:
        return req.state.issue(req.repo_name(), req.int_param(param))
    except SandboxStateError as exc:
        raise not_found() from exc


def pull_record(req: ApiRequest) -> dict[str, Any]:
    """The pull request of the path; an issue number is a 404 here, as on GitHub."""
    try:
        return req.state.pull(req.repo_name(), req.int_param("pull_number"))
    except SandboxStateError as exc:
        raise not_found() from exc


def paginated(req: ApiRequest, items: list[Any], render: Callable[[Any], Any]) -> Reply:
    """One page of ``items`` rendered, with GitHub's ``Link`` header."""
    per_page = req.query_int("per_page", DEFAULT_PER_PAGE, high=MAX_PER_PAGE)
    page = req.query_int("page", 1)
    body = [render(item) for item in page_slice(items, page, per_page)]
    reply = Reply(200, body)
    link = link_header(req.base_url + req.path, req.query, page, per_page, len(items))
    if link:
        reply.headers["Link"] = link
    return reply


def query_time(req: ApiRequest, name: str) -> datetime | None:
    """An ISO 8601 query parameter (``since``, ``until``); a bad one is GitHub's 422."""
    raw = req.query.get(name)
    if not raw:
        return None
    try:
        return parse_time(raw)
    except ValueError as exc:
        raise invalid("Query", name, message=f"{name} is not a valid ISO 8601 timestamp") from exc


def sort_by(
    records: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Any], direction: str
) -> list[dict[str, Any]]:
    """Sort by ``key`` then id, so ties (same second) order by creation in either direction."""
    return sorted(records, key=lambda r: (key(r), r.get("id", 0)), reverse=direction == "desc")


def direction_of(req: ApiRequest, default: str) -> str:
    direction = req.query.get("direction", default) or default
    if direction not in ("asc", "desc"):
        raise invalid("Query", "direction")
    return direction


def require_auth(req: ApiRequest) -> None:
    """Writes need a token; GitHub answers 401 in its basic-error shape."""
    if req.identity.kind == "anonymous":
        raise ApiError(401, "Requires authentication")


def actor(req: ApiRequest) -> str:
    """The login that a write is attributed to (a user, or the App's bot account)."""
    return req.identity.login or req.state.default_login


def now() -> datetime:
    return utcnow()


def record_label_changes(req: ApiRequest, issue: dict[str, Any], before: list[str]) -> None:
    """Add the ``labeled``/``unlabeled`` events GitHub records when an issue's labels change."""
    had = {n.lower() for n in before}
    has = {n.lower() for n in issue["labels"]}
    removed = [name for name in before if name.lower() not in has]
    added = [name for name in issue["labels"] if name.lower() not in had]
    for event, names in (("unlabeled", removed), ("labeled", added)):
        for name in names:
            req.state.add_issue_event(
                issue["repo"],
                issue["number"],
                event=event,
                actor=actor(req),
                label=name,
                created_at=now(),
            )


def string_list(value: Any, field_name: str, resource: str) -> list[str]:
    """A list of names from a body that may send strings or ``{"name": ...}`` objects."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise invalid(resource, field_name)
    names = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])
        elif isinstance(item, str):
            names.append(item)
        else:
            raise invalid(resource, field_name)
    return names
