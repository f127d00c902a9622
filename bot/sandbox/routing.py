"""Route templates ("GET /repos/{owner}/{repo}/issues"), the request a handler sees, its reply.

Handlers are plain functions ``(ApiRequest) -> Reply`` registered on a ``RouteTable``; they
raise ``ApiError`` for GitHub's error answers. The HTTP server, rate limits, faults and
recording all live outside them, so a handler only decides what GitHub would answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from bot.sandbox.shapes import Shapes
from bot.sandbox.state import SandboxState, installation_covers

DOCS_URL = "https://docs.github.com/rest"

# GitHub Enterprise Server serves the REST API under this path; clients made for it (github3's
# ``GitHubEnterprise``, PyGithub with a GHE base URL) always add it.
ENTERPRISE_PREFIX = "/api/v3"

# Path parameters that may hold slashes: a file path, a label name such as "area/gpu"
# (PyGithub quotes label names but leaves their slashes as they are).
GREEDY_PARAMS = {"path", "name"}

# Path parameters that are numbers on GitHub: matching them as digits keeps
# ``/issues/comments`` from being read as an issue called "comments".
NUMERIC_PARAMS = {
    "issue_number",
    "pull_number",
    "comment_id",
    "check_run_id",
    "installation_id",
    "event_id",
}


class ApiError(Exception):
    """An error answer in GitHub's shape: ``basic-error``, or ``validation-error`` with errors."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body GitHub sends with this status."""
        body: dict[str, Any] = {"message": self.message, "documentation_url": DOCS_URL}
        if self.errors is not None:
            body["errors"] = self.errors
        else:
            body["status"] = str(self.status)
        return body


def split_api_prefix(path: str) -> tuple[str, str]:
    """``(prefix, route path)``: ``/api/v3/rate_limit`` is ``/rate_limit`` called the GHE way."""
    if path == ENTERPRISE_PREFIX or path.startswith(ENTERPRISE_PREFIX + "/"):
        return ENTERPRISE_PREFIX, path[len(ENTERPRISE_PREFIX) :] or "/"
    return "", path


def not_found() -> ApiError:
    """GitHub's 404, also its answer for things the caller may not see."""
    return ApiError(404, "Not Found")


def invalid(resource: str, field_name: str, code: str = "invalid", message: str = "") -> ApiError:
    """A 422 ``Validation Failed`` naming the resource and field, as GitHub does."""
    error = {"resource": resource, "field": field_name, "code": code}
    if message:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error])


@dataclass
class Identity:
    """Who is calling: ``anonymous``, a ``user`` token, an ``installation`` token or the ``app``."""

    kind: str
    login: str | None = None
    token: str | None = None
    installation_id: int | None = None

    @property
    def quota_key(self) -> str:
        """Rate limits are counted per token; anonymous callers share one bucket."""
        return self.token or "anonymous"

    def can_see(self, state: SandboxState, repo: dict[str, Any]) -> bool:
        """Anonymous callers see public repositories; installation tokens their installation's."""
        if self.kind == "anonymous":
            return not repo["private"]
        if self.kind == "installation":
            installation = state.installations.get(self.installation_id or -1)
            return installation is not None and installation_covers(installation, repo)
        return True


@dataclass
class ApiRequest:
    """What a handler needs: the matched route, the parsed request and the sandbox state."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    identity: Identity
    state: SandboxState
    shapes: Shapes
    base_url: str  # where this request's API lives: the server's root, plus ``/api/v3`` if used
    sandbox: Any = None  # the running ``Sandbox``: its rate limiter and authenticator

    def repo_name(self) -> str:
        """``owner/repo`` from the path (only for routes under ``/repos/{owner}/{repo}``)."""
        return f"{self.params['owner']}/{self.params['repo']}"

    def int_param(self, name: str) -> int:
        return int(self.params[name])

    def query_int(self, name: str, default: int, *, low: int = 1, high: int | None = None) -> int:
        """An integer query parameter, clamped as GitHub does (``per_page`` caps at 100)."""
        raw = self.query.get(name)
        try:
            value = int(raw) if raw not in (None, "") else default
        except ValueError:
            value = default
        value = max(low, value)
        return min(high, value) if high is not None else value

    def body_dict(self) -> dict[str, Any]:
        """The JSON body as an object, or GitHub's 400 for anything else."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.body


@dataclass
class Reply:
    """A handler's answer; ``body=None`` with 204 sends no content."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[ApiRequest], Reply]


@dataclass
class Route:
    """One operation: ``method`` + ``template``, and which quota bucket it spends."""

    method: str
    template: str
    handler: Handler
    resource: str | None = "core"  # None: costs nothing (``/rate_limit``)
    app_jwt: bool = False  # needs the App's own JWT, not a token
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        def param(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in GREEDY_PARAMS:
                return rf"(?P<{name}>.+)"
            if name in NUMERIC_PARAMS:
                return rf"(?P<{name}>\d+)"
            return rf"(?P<{name}>[^/]+)"

        regex = re.sub(r"\\\{(\w+)\\\}", param, re.escape(self.template))
        self.pattern = re.compile(f"^{regex}/?$")

    @property
    def key(self) -> str:
        """How requests are counted: ``"GET /repos/{owner}/{repo}/issues"``."""
        return f"{self.method} {self.template}"


class RouteTable:
    """Routes in registration order; the first whose method and template match wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, method: str, template: str, *, resource: str | None = "core", app_jwt: bool = False
    ) -> Callable[[Handler], Handler]:
        """Decorator registering a handler for ``method template``."""

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, template, handler, resource, app_jwt))
            return handler

        return register

    def extend(self, other: RouteTable) -> None:
        self.routes.extend(other.routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a request and its path parameters (URL-decoded), or None."""
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def route_keys(self) -> list[str]:
        return [route.key for route in self.routes]
