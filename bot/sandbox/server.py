"""The sandbox GitHub server: ``Sandbox`` serves the fake REST API on loopback.

``Sandbox.dispatch`` is the whole request pipeline (introspection, faults, authentication,
routing with or without GitHub Enterprise's ``/api/v3``, ``Accept`` media types, conditional
requests, rate limits, recording); the ``http.server`` handler around it only moves bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.errors import UsageError
from bot.sandbox.api import build_routes
from bot.sandbox.auth import BAD_JWT, Authenticator
from bot.sandbox.faults import SECONDARY_MESSAGE, Fault, FaultError, FaultPlan
from bot.sandbox.media import DEFAULT_FORMAT, BodyFormat, body_format, media_type_header
from bot.sandbox.ratelimit import WINDOWS, Bucket, RateLimiter
from bot.sandbox.recorder import UNMATCHED, RequestLog, RequestRecord
from bot.sandbox.routing import ApiError, ApiRequest, Identity, Route, split_api_prefix
from bot.sandbox.seeds import load_seed
from bot.sandbox.shapes import Shapes
from bot.sandbox.state import DEFAULT_LOGIN, SandboxState, SandboxStateError

JSON_TYPE = "application/json; charset=utf-8"
SAFE_METHODS = ("GET", "HEAD")

Response = tuple[int, dict[str, str], bytes]


def _etag(payload: bytes) -> str:
    return '"' + hashlib.sha256(payload).hexdigest()[:40] + '"'


def _etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` may list several tags, weak or strong, or ``*``."""
    if not header:
        return False
    wanted = etag.strip('"')
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.removeprefix("W/").strip('"') == wanted:
            return True
    return False


def avatar_svg(login: str) -> bytes:
    """A small generated avatar (initial on a colour from the login), so reports render offline."""
    hue = int(hashlib.sha256(login.encode()).hexdigest()[:4], 16) % 360
    initial = (login[:1] or "?").upper().replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f'<rect width="64" height="64" rx="32" fill="hsl({hue},55%,55%)"/>'
        '<text x="32" y="42" font-family="sans-serif" font-size="28" text-anchor="middle" '
        f'fill="#fff">{initial}</text></svg>'
    ).encode()


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _reply_bytes(body: Any) -> bytes:
    """A route's body on the wire: bytes as they are (an artifact's zip), the rest as JSON."""
    if isinstance(body, bytes):
        return body
    return b"" if body is None else _json_bytes(body)


class Sandbox:
    """A stateful fake of GitHub's REST API v3 that PyGithub can be pointed at.

    ``data`` seeds it (a path, ``"demo"``, or a seed document; see ``bot.sandbox.seeds``).
    With ``app_id`` and ``app_public_key_pem`` it verifies GitHub App JWTs for real.
    ``tokens`` (token -> login) restricts which user tokens are accepted; by default any
    token is a user token of ``default_login``. ``rate_limit_window`` shortens the core
    quota's hour to that many seconds (``x-ratelimit-reset`` says so), so that a test or a
    load benchmark can spend a quota and see it come back.
    """

    def __init__(
        self,
        data: str | Path | dict[str, Any] | list[Any] | None = None,
        app_id: int | None = None,
        app_public_key_pem: str | bytes | None = None,
        rate_limit: int = 5000,
        *,
        rate_limit_window: int | None = None,
        tokens: Mapping[str, str] | None = None,
        default_login: str = DEFAULT_LOGIN,
        app_slug: str = "maintbot",
    ) -> None:
        self.state = SandboxState(default_login=default_login)
        self.limiter = (
            RateLimiter(rate_limit)
            if rate_limit_window is None
            else WindowedRateLimiter(rate_limit, window_s=rate_limit_window)
        )
        self.auth = Authenticator(
            default_login=default_login,
            app_id=app_id,
            app_public_key_pem=app_public_key_pem,
            tokens=tokens,
        )
        self.faults = FaultPlan()
        self.log = RequestLog()
        self.routes = build_routes()
        if app_id is not None:
            self.state.set_app(app_id, slug=app_slug, name=app_slug)
        if data is not None:
            load_seed(self.state, data)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._base_url: str | None = None

    @classmethod
    def demo(cls, **kwargs: Any) -> Sandbox:
        """A sandbox holding the embedded demo repository ``octo-lab/mnist-playground``."""
        return cls(data="demo", **kwargs)

    # ------------------------------------------------------------------- lifecycle

    def start(self, port: int = 0, host: str = "127.0.0.1") -> Sandbox:
        """Serve on ``host:port`` (0: a free port) in a background thread."""
        if self._server is not None:
            raise UsageError("the sandbox is already running", hint="call stop() first")
        try:
            server = _Server((host, port), _Handler)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="choose another --port, or 0 for any free port",
            ) from exc
        server.sandbox = self
        self._stopping.clear()
        self._server = server
        bound_host, bound_port = server.server_address[:2]
        self._base_url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"sandbox-{bound_port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests sleeping in a ``timeout`` fault are cut short."""
        self._stopping.set()
        if self._server is not None:
            server = self._server
            stopper = threading.Thread(target=server.shutdown, daemon=True)
            stopper.start()
            with contextlib.suppress(OSError):  # wake the accept loop now, not at its next poll
                socket.create_connection(server.server_address[:2], timeout=0.5).close()
            stopper.join(timeout=5)
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Sandbox:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: ``Github(base_url=...)``, ``GitHubEnterprise(url=...)``."""
        if self._base_url is None:
            raise UsageError("the sandbox is not running", hint="call start() first")
        return self._base_url

    # ---------------------------------------------------------------- test helpers

    @property
    def requests(self) -> list[RequestRecord]:
        """Every API request answered so far, faulted ones included."""
        return self.log.records()

    def request_counts(self) -> dict[str, int]:
        """Requests per route template, e.g. ``{"GET /repos/{owner}/{repo}/issues": 3}``."""
        return self.log.counts()

    def clear_requests(self) -> None:
        self.log.clear()

    def inject_fault(
        self,
        route: str = "*",
        kind: str = "status",
        times: int = 1,
        status: int = 502,
        retry_after: int = 1,
        reset_in: int = 3600,
        delay: float = 5.0,
    ) -> Fault:
        """Answer the next ``times`` requests of ``route`` (a template key or ``"*"``) badly.

        ``kind``: ``status`` (that HTTP ``status`` with a JSON body), ``timeout`` (sleep
        ``delay`` seconds, at most 60, then answer normally), ``secondary_rate_limit`` (403
        with ``Retry-After: retry_after``), ``primary_rate_limit`` (403 with
        ``x-ratelimit-remaining: 0`` and a reset ``reset_in`` seconds from now).
        """
        if route != "*" and route not in self.routes.route_keys():
            raise UsageError(
                f"no sandbox route {route!r}",
                hint='name a route as "GET /repos/{owner}/{repo}/issues", or "*" for all',
            )
        try:
            fault = Fault(
                route, kind, int(times), int(status), int(retry_after), int(reset_in), float(delay)
            )
        except FaultError as exc:
            raise UsageError(str(exc), hint="see Sandbox.inject_fault's docstring") from exc
        return self.faults.inject(fault)

    def seed(self, data: str | Path | dict[str, Any] | list[Any]) -> int:
        """Load more records into the running sandbox."""
        with self.state.lock:
            return load_seed(self.state, data)

    # ------------------------------------------------------------------- pipeline

    def dispatch(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Answer one HTTP request: ``(status, headers, body bytes)``."""
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path.startswith("/_sandbox/"):
            return self._introspect(method, url.path, body)
        prefix, path = split_api_prefix(url.path)
        matched = self.routes.match("GET" if method == "HEAD" else method, path)
        route = matched[0] if matched else None
        route_key = route.key if route else UNMATCHED
        record = {"method": method, "path": url.path, "route": route_key, "query": query}
        fault = self.faults.take(route_key)
        if fault is not None and fault.kind != "timeout":
            response = self._faulted(fault)
            self._record(record, response[0], fault=fault.kind)
            return response
        if fault is not None:
            self._stopping.wait(fault.delay)
        identity = Identity("anonymous")
        try:
            identity = self.auth.identify(headers.get("Authorization"))
            record["identity"] = identity.kind + (f":{identity.login}" if identity.login else "")
            response, not_modified = self._answer(
                method, path, query, headers, body, identity, matched, prefix
            )
        except ApiError as exc:
            response, not_modified = self._error(exc, self._peek(identity, "core")), False
        self._record(
            record, response[0], fault=fault.kind if fault else None, not_modified=not_modified
        )
        return response

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        body: bytes,
        identity: Identity,
        matched: tuple[Route, dict[str, str]] | None,
        prefix: str = "",
    ) -> tuple[Response, bool]:
        if matched is None:
            raise ApiError(404, "Not Found", headers=self._take_quota(identity, "core").headers())
        route, params = matched
        with self.state.lock:
            self._authorize(route, params, identity)
        resource = route.resource
        try:
            parsed = json.loads(body) if body.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(400, "Problems parsing JSON") from exc
        if self._base_url is None:
            raise ApiError(503, "the sandbox is not serving")
        bucket: Bucket | None = None
        if resource is not None and method not in SAFE_METHODS:
            bucket = self._take_quota(identity, resource)  # before anything is written
        fmt = body_format(headers.get("Accept"))
        request = ApiRequest(
            method=method,
            path=path,
            params=params,
            query=query,
            body=parsed,
            identity=identity,
            state=self.state,
            shapes=Shapes(self.state, self._base_url, api_prefix=prefix, body_format=fmt),
            base_url=self._base_url + prefix,
            sandbox=self,
        )
        with self.state.lock:
            try:
                reply = route.handler(request)
                payload = _reply_bytes(reply.body)
            except SandboxStateError:
                failure = ApiError(404, "Not Found")
            except ApiError as exc:
                failure = exc
            else:
                failure = None
        if failure is not None:  # errors cost quota too, as on GitHub
            if resource is not None:
                bucket = bucket or self._take_quota(identity, resource)
                failure.headers = {**bucket.headers(), **failure.headers}
            raise failure
        response_headers = dict(reply.headers)
        if reply.body is not None:
            response_headers.setdefault("Content-Type", JSON_TYPE)
        if method in SAFE_METHODS and reply.status == 200:
            etag = _etag(payload)
            response_headers["ETag"] = etag
            if _etag_matches(headers.get("If-None-Match"), etag):  # 304s are free
                peeked = self._peek(identity, resource or "core")
                return (304, {**self._common_headers(peeked, fmt), "ETag": etag}, b""), True
        if bucket is None:
            bucket = (
                self._take_quota(identity, resource) if resource else self._peek(identity, "core")
            )
        common = self._common_headers(bucket, fmt)
        return (reply.status, {**common, **response_headers}, payload), False

    def _authorize(self, route: Route, params: dict[str, str], identity: Identity) -> None:
        """Who may call what: App JWT routes, writes, installation scope, private repos."""
        if route.app_jwt:
            if identity.kind != "app":
                raise ApiError(401, BAD_JWT)
            return
        if identity.kind == "app":
            raise ApiError(403, "Resource not accessible by integration")
        if "owner" in params and "repo" in params:
            full_name = f"{params['owner']}/{params['repo']}"
            repo = self.state.repos.get(full_name.lower())
            if repo is None:
                return  # the handler answers 404
            if not identity.can_see(self.state, repo):
                raise ApiError(404, "Not Found")

    # ------------------------------------------------------------- rate limiting

    def _peek(self, identity: Identity, resource: str) -> Bucket:
        return self.limiter.bucket(
            identity.quota_key, resource, anonymous=identity.kind == "anonymous"
        )

    def _take_quota(self, identity: Identity, resource: str) -> Bucket:
        """Spend one request of quota, or answer GitHub's 403 when none is left."""
        spent, bucket = self.limiter.try_spend(
            identity.quota_key, resource, anonymous=identity.kind == "anonymous"
        )
        if not spent:
            who = identity.login or "this IP address"
            message = f"API rate limit exceeded for {who}."
            if identity.kind == "anonymous":
                message += (
                    " (But here's the good news: Authenticated requests get a higher rate limit.)"
                )
            raise ApiError(403, message, headers=bucket.headers())
        return bucket

    @staticmethod
    def _common_headers(bucket: Bucket, fmt: BodyFormat = DEFAULT_FORMAT) -> dict[str, str]:
        return {
            **bucket.headers(),
            "X-GitHub-Media-Type": media_type_header(fmt),
            "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            "X-GitHub-Api-Version-Selected": "2022-11-28",
        }

    def _error(self, error: ApiError, bucket: Bucket) -> Response:
        headers = {**self._common_headers(bucket), "Content-Type": JSON_TYPE, **error.headers}
        return error.status, headers, _json_bytes(error.body())

    def _faulted(self, fault: Fault) -> Response:
        """The answer an injected fault stands for."""
        now = int(time.time())
        if fault.kind == "status":
            message = "Server Error" if fault.status >= 500 else "Injected fault"
            headers = {"Content-Type": JSON_TYPE}
            body = {
                "message": message,
                "documentation_url": "https://docs.github.com/rest",
                "status": str(fault.status),
            }
            return fault.status, headers, _json_bytes(body)
        if fault.kind == "secondary_rate_limit":
            bucket = Bucket("core", self.limiter.core_limit, 1, now + 3600)
            headers = {
                **self._common_headers(bucket),
                "Content-Type": JSON_TYPE,
                "Retry-After": str(fault.retry_after),
            }
            body = {
                "message": SECONDARY_MESSAGE,
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            }
            return 403, headers, _json_bytes(body)
        limit = self.limiter.core_limit
        bucket = Bucket("core", limit, limit, now + fault.reset_in)
        headers = {**self._common_headers(bucket), "Content-Type": JSON_TYPE}
        body = {
            "message": f"API rate limit exceeded for {self.state.default_login}.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        }
        return 403, headers, _json_bytes(body)

    def _record(
        self,
        fields: dict[str, Any],
        status: int,
        *,
        fault: str | None = None,
        not_modified: bool = False,
    ) -> None:
        self.log.append(
            RequestRecord(
                status=status, fault=fault, not_modified=not_modified, time=time.time(), **fields
            )
        )

    # ------------------------------------------------------------ introspection

    def _introspect(self, method: str, path: str, body: bytes) -> Response:
        """``/_sandbox/...``: request log, faults, seeding. Not recorded, costs no quota."""
        if path.startswith("/_sandbox/avatars/") and method in SAFE_METHODS:
            login = unquote(path.removeprefix("/_sandbox/avatars/"))
            return 200, {"Content-Type": "image/svg+xml"}, avatar_svg(login)
        headers = {"Content-Type": JSON_TYPE}
        try:
            document = json.loads(body) if body.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return 400, headers, _json_bytes({"message": "Problems parsing JSON"})
        try:
            if path == "/_sandbox/requests" and method == "GET":
                records = [r.as_json() for r in self.requests]
                return (
                    200,
                    headers,
                    _json_bytes({"requests": records, "counts": self.request_counts()}),
                )
            if path == "/_sandbox/requests" and method == "DELETE":
                self.clear_requests()
                return 204, {}, b""
            if path == "/_sandbox/faults" and method == "POST":
                fault = self.inject_fault(**(document or {}))
                return 201, headers, _json_bytes(fault.as_json())
            if path == "/_sandbox/faults" and method == "GET":
                return 200, headers, _json_bytes([f.as_json() for f in self.faults.pending()])
            if path == "/_sandbox/faults" and method == "DELETE":
                self.faults.clear()
                return 204, {}, b""
            if path == "/_sandbox/seed" and method == "POST":
                if document is None:
                    raise UsageError("POST /_sandbox/seed needs a seed document as its body")
                return 201, headers, _json_bytes({"loaded": self.seed(document)})
        except (UsageError, TypeError) as exc:
            return 422, headers, _json_bytes({"message": str(exc)})
        return 404, headers, _json_bytes({"message": "Not Found"})


class WindowedRateLimiter(RateLimiter):
    """GitHub's quotas with a core window of ``window_s`` seconds instead of an hour."""

    def __init__(self, core_limit: int, *, window_s: int) -> None:
        super().__init__(core_limit)
        self.window_s = window_s

    def bucket(self, key: str, resource: str, *, anonymous: bool) -> Bucket:
        now = int(self.clock())
        with self._lock:
            found = self._buckets.get((key, resource))
            if found is None or now >= found.reset:
                window = self.window_s if resource == "core" else WINDOWS.get(resource, 3600)
                found = Bucket(resource, self.limit_for(resource, anonymous), 0, now + window)
                self._buckets[(key, resource)] = found
            return Bucket(found.resource, found.limit, found.used, found.reset)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a request asleep in a timeout fault must not hold up stop()
    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    """Moves bytes between the socket and ``Sandbox.dispatch``."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, headers, payload = self.server.sandbox.dispatch(
                self.command, self.path, self.headers, body
            )
        except Exception:  # noqa: BLE001 - a bug in the sandbox must still answer
            traceback.print_exc(file=sys.stderr)
            status, headers = 500, {"Content-Type": JSON_TYPE}
            payload = _json_bytes({"message": "sandbox internal error (see its stderr)"})
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout fired)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the request log is ``Sandbox.requests``, not stderr."""
