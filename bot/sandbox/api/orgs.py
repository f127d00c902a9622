"""Organizations: the organization itself and its repositories (``maintbot report --org``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sandbox.api.common import actor, direction_of, paginated, permission, sort_by
from bot.sandbox.routing import ApiRequest, Reply, RouteTable, invalid

routes = RouteTable()

# GitHub's ``type`` filter of GET /orgs/{org}/repos; ``login`` is the caller (None: anonymous).
REPO_TYPES: dict[str, Callable[[dict[str, Any], str | None], bool]] = {
    "all": lambda repo, login: True,
    "public": lambda repo, login: not repo["private"],
    "private": lambda repo, login: repo["private"],
    "forks": lambda repo, login: repo["fork"],
    "sources": lambda repo, login: not repo["fork"],
    "member": lambda repo, login: login is not None and login.lower() in repo["collaborators"],
}

REPO_SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "created": lambda repo: repo["created_at"],
    "updated": lambda repo: repo["updated_at"],
    "pushed": lambda repo: repo["pushed_at"],
    "full_name": lambda repo: repo["full_name"].lower(),
}


@routes.add("GET", "/orgs/{org}")
def get_organization(req: ApiRequest) -> Reply:
    """The organization; a user's login is a 404 here, as on GitHub."""
    return Reply(200, req.shapes.organization(req.params["org"]))


@routes.add("GET", "/orgs/{org}/repos")
def list_organization_repos(req: ApiRequest) -> Reply:
    """The repositories the caller can see, filtered by ``type``, newest first by default.

    ``direction`` defaults to ``asc`` for ``sort=full_name`` and to ``desc`` otherwise.
    """
    org = req.state.organization(req.params["org"])
    kind = req.query.get("type") or "all"
    if kind not in REPO_TYPES:
        raise invalid("Repository", "type")
    sort = req.query.get("sort") or "created"
    if sort not in REPO_SORTS:
        raise invalid("Repository", "sort")
    direction = direction_of(req, "asc" if sort == "full_name" else "desc")
    login = actor(req) if req.identity.kind == "user" else None
    found = [
        repo
        for repo in req.state.owned_repos(org["login"])
        if req.identity.can_see(req.state, repo) and REPO_TYPES[kind](repo, login)
    ]

    def render(repo: dict[str, Any]) -> dict[str, Any]:
        level = permission(repo, login) if login is not None else None
        return req.shapes.minimal_repo(repo["full_name"], level)

    return paginated(req, sort_by(found, REPO_SORTS[sort], direction), render)
