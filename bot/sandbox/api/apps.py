"""GitHub App endpoints: the App itself, its installations, installation access tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.sandbox.api.common import repo_record
from bot.sandbox.routing import ApiError, ApiRequest, Reply, RouteTable, not_found
from bot.sandbox.state import SandboxStateError, installation_covers
from bot.sandbox.timeutil import format_time

routes = RouteTable()


def _installation(req: ApiRequest) -> dict[str, Any]:
    found = req.state.installations.get(req.int_param("installation_id"))
    if found is None:
        raise not_found()
    return found


@routes.add("GET", "/app", app_jwt=True)
def get_app(req: ApiRequest) -> Reply:
    app = req.shapes.app()
    if app is None:
        raise not_found()
    return Reply(200, app)


@routes.add("GET", "/app/installations", app_jwt=True)
def list_installations(req: ApiRequest) -> Reply:
    ordered = sorted(req.state.installations.values(), key=lambda i: i["id"])
    return Reply(200, [req.shapes.installation(i) for i in ordered])


@routes.add("GET", "/app/installations/{installation_id}", app_jwt=True)
def get_installation(req: ApiRequest) -> Reply:
    return Reply(200, req.shapes.installation(_installation(req)))


@routes.add("GET", "/repos/{owner}/{repo}/installation", app_jwt=True)
def get_repo_installation(req: ApiRequest) -> Reply:
    record = repo_record(req)
    try:
        installation = req.state.installation_for(record["full_name"])
    except SandboxStateError as exc:
        raise not_found() from exc
    return Reply(200, req.shapes.installation(installation))


@routes.add("POST", "/app/installations/{installation_id}/access_tokens", app_jwt=True)
def create_installation_token(req: ApiRequest) -> Reply:
    """Mint a ``ghs_`` token valid for one hour for the installation's repositories."""
    installation = _installation(req)
    app = req.state.app
    if app is None:
        raise ApiError(401, "A JSON web token could not be decoded")
    issued = req.sandbox.auth.issue_installation_token(installation["id"], f"{app['slug']}[bot]")
    body: dict[str, Any] = {
        "token": issued.token,
        "expires_at": format_time(datetime.fromtimestamp(int(issued.expires_at), UTC)),
        "permissions": dict(installation["permissions"]),
        "repository_selection": "all" if installation["repositories"] is None else "selected",
    }
    if installation["repositories"] is not None:
        body["repositories"] = [
            req.shapes.repo(name)
            for name in installation["repositories"]
            if name in req.state.repos
        ]
    return Reply(201, body)


@routes.add("GET", "/installation/repositories")
def list_installation_repos(req: ApiRequest) -> Reply:
    """The repositories an installation token can reach."""
    if req.identity.kind != "installation":
        raise ApiError(403, "Resource not accessible by integration")
    installation = req.state.installations[req.identity.installation_id]
    repos = [
        req.shapes.repo(repo["full_name"])
        for repo in req.state.repos.values()
        if installation_covers(installation, repo)
    ]
    return Reply(
        200,
        {
            "total_count": len(repos),
            "repository_selection": "all" if installation["repositories"] is None else "selected",
            "repositories": repos,
        },
    )
