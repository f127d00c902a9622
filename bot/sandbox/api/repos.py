"""Repositories, file contents, users and ``/rate_limit``."""

from __future__ import annotations

import base64
from typing import Any

from bot.sandbox.api.common import permission, repo_record, role
from bot.sandbox.routing import ApiError, ApiRequest, Reply, RouteTable, not_found
from bot.sandbox.state import fake_sha

routes = RouteTable()


@routes.add("GET", "/rate_limit", resource=None)
def get_rate_limit(req: ApiRequest) -> Reply:
    """Quota of the calling token; asking costs nothing, as on GitHub."""
    limiter = req.sandbox.limiter
    anonymous = req.identity.kind == "anonymous"
    key = req.identity.quota_key
    core = limiter.bucket(key, "core", anonymous=anonymous).as_json()
    search = limiter.bucket(key, "search", anonymous=anonymous).as_json()
    graphql = {**core, "used": 0, "remaining": core["limit"]}
    return Reply(
        200,
        {
            "resources": {"core": core, "search": search, "graphql": graphql},
            "rate": core,
        },
    )


@routes.add("GET", "/user")
def get_authenticated_user(req: ApiRequest) -> Reply:
    if req.identity.kind == "anonymous":
        raise ApiError(401, "Requires authentication")
    if req.identity.kind != "user":
        raise ApiError(403, "Resource not accessible by integration")
    return Reply(200, req.shapes.full_user(req.identity.login or req.state.default_login))


@routes.add("GET", "/users/{username}")
def get_user(req: ApiRequest) -> Reply:
    login = req.params["username"]
    if login.lower() not in req.state.users:
        raise not_found()
    return Reply(200, req.shapes.full_user(login))


@routes.add("GET", "/repos/{owner}/{repo}")
def get_repo(req: ApiRequest) -> Reply:
    return Reply(200, req.shapes.repo(repo_record(req)["full_name"]))


def _file_json(req: ApiRequest, full_name: str, path: str, text: str, ref: str) -> dict[str, Any]:
    raw = text.encode()
    encoded = base64.encodebytes(raw).decode()  # GitHub wraps base64 at 60 columns with newlines
    api = f"{req.shapes.repo_url(full_name)}/contents/{path}"
    html = f"{req.shapes.web}/{full_name}/blob/{ref}/{path}"
    sha = fake_sha("blob", full_name, path, text)
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(raw),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": encoded,
        "sha": sha,
        "url": f"{api}?ref={ref}",
        "git_url": f"{req.shapes.repo_url(full_name)}/git/blobs/{sha}",
        "html_url": html,
        "download_url": f"{req.shapes.web}/{full_name}/raw/{ref}/{path}",
        "_links": {"self": f"{api}?ref={ref}", "git": f"{api}?ref={ref}", "html": html},
    }


@routes.add("GET", "/repos/{owner}/{repo}/contents/{path}")
def get_contents(req: ApiRequest) -> Reply:
    """A file (base64, as GitHub sends it) or a directory listing of the default branch."""
    record = repo_record(req)
    path = req.params["path"].strip("/")
    ref = req.query.get("ref") or record["default_branch"]
    files: dict[str, str] = record["contents"]
    if path in files:
        return Reply(200, _file_json(req, record["full_name"], path, files[path], ref))
    prefix = path + "/"
    children: dict[str, dict[str, Any]] = {}
    for name, text in sorted(files.items()):
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        child = rest.split("/", 1)[0]
        if "/" in rest:
            child_path = prefix + child
            api = f"{req.shapes.repo_url(record['full_name'])}/contents/{child_path}"
            children.setdefault(
                child,
                {
                    "type": "dir",
                    "size": 0,
                    "name": child,
                    "path": child_path,
                    "sha": fake_sha("tree", record["full_name"], child_path),
                    "url": f"{api}?ref={ref}",
                    "git_url": None,
                    "html_url": f"{req.shapes.web}/{record['full_name']}/tree/{ref}/{child_path}",
                    "download_url": None,
                    "_links": {"self": f"{api}?ref={ref}", "git": None, "html": None},
                },
            )
        else:
            entry = _file_json(req, record["full_name"], name, text, ref)
            del entry["content"], entry["encoding"]
            children[child] = entry
    if not children:
        raise not_found()
    return Reply(200, list(children.values()))


@routes.add("GET", "/repos/{owner}/{repo}/collaborators/{username}")
def check_collaborator(req: ApiRequest) -> Reply:
    """204 for the owner and collaborators (whatever their role), 404 for everyone else."""
    record = repo_record(req)
    login = req.params["username"].lower()
    if login == record["owner"].lower() or login in record["collaborators"]:
        return Reply(204)
    raise not_found()


# What each role may do: the ``permissions`` object of GitHub's ``collaborator`` schema.
ROLE_FLAGS = {
    "admin": {"pull": True, "triage": True, "push": True, "maintain": True, "admin": True},
    "maintain": {"pull": True, "triage": True, "push": True, "maintain": True, "admin": False},
    "write": {"pull": True, "triage": True, "push": True, "maintain": False, "admin": False},
    "triage": {"pull": True, "triage": True, "push": False, "maintain": False, "admin": False},
    "read": {"pull": True, "triage": False, "push": False, "maintain": False, "admin": False},
    "none": {"pull": False, "triage": False, "push": False, "maintain": False, "admin": False},
}


@routes.add("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
def get_collaborator_permission(req: ApiRequest) -> Reply:
    """``repository-collaborator-permission``: ``permission`` in the four old levels (admin,
    write, read, none) and ``role_name`` with triage and maintain, as GitHub answers."""
    repo = repo_record(req)
    login = req.params["username"]
    if login.lower() not in req.state.users:
        raise not_found()
    role_name = role(repo, login)
    user = req.shapes.user(login)
    assert user is not None
    collaborator = {**user, "permissions": dict(ROLE_FLAGS[role_name]), "role_name": role_name}
    return Reply(
        200,
        {"permission": permission(repo, login), "role_name": role_name, "user": collaborator},
    )
