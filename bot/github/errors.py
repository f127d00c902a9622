"""Turns PyGithub's exceptions into one sentence a person can act on, with a hint.

The CLI, the Action and the App worker call :func:`explain_github_error` on whatever PyGithub
(or requests underneath it) raised, so a 401, a missing permission or a spent quota reads the
same everywhere and never shows a token.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from github import GithubException
from requests import RequestException

from bot.errors import ExitCode, GitHubError, MaintbotError, RateLimitError, UsageError
from bot.github.ratelimit import (
    RATE_LIMIT_STATUSES,
    SECONDARY_MIN_WAIT_S,
    RateLimitedUntil,
    is_primary_rate_limit_message,
    is_secondary_rate_limit_message,
    lower_keys,
    parse_rate_limit,
    primary_rate_limit_error,
    secondary_rate_limit_error,
)

PERMISSIONS_HEADER = "x-accepted-github-permissions"
OAUTH_SCOPES_HEADER = "x-accepted-oauth-scopes"


def explain_github_error(
    exc: BaseException, *, action: str | None = None, now: float | None = None
) -> MaintbotError:
    """The :class:`MaintbotError` to show for ``exc``; ``action`` says what we were doing.

    ``action`` reads as a verb phrase: ``"add labels to octo/repo#12"``.
    """
    now = time.time() if now is None else now
    if isinstance(exc, MaintbotError):
        return exc
    if isinstance(exc, RequestException):
        return _network_error(exc, action)
    if not isinstance(exc, GithubException):
        return GitHubError(
            _prefix(action) + f"unexpected error: {type(exc).__name__}: {exc}",
            hint="run again with -vv to see the requests; report it if it persists",
        )

    status = exc.status
    headers = lower_keys(exc.headers)
    message = _github_message(exc.data)
    docs = _documentation_url(exc.data)
    prefix = _prefix(action)

    if status in RATE_LIMIT_STATUSES:
        limit = _rate_limit_error(status, headers, message, now)
        if limit is not None:
            if isinstance(limit, RateLimitedUntil):
                return RateLimitedUntil(
                    prefix + limit.message,
                    kind=limit.kind,
                    resume_at=limit.resume_at,
                    hint=limit.hint,
                )
            return RateLimitError(prefix + limit.message, hint=limit.hint)
    if status == 401:
        return GitHubError(
            prefix + f"GitHub rejected the credentials (401 {message or 'Unauthorized'})",
            hint="check --token / GITHUB_TOKEN: it may be mistyped, expired or revoked, or made "
            "for another GitHub host than --api-url; for an App, check MAINTBOT_APP_ID and its key",
        )
    if status == 403:
        return GitHubError(
            prefix + f"GitHub refused the request (403 {message or 'Forbidden'})",
            hint=_permission_hint(headers, docs),
        )
    if status == 404:
        return GitHubError(
            prefix + "GitHub answered 404 Not Found: the repository or object does not exist, "
            "or these credentials cannot see it (GitHub answers 404, not 403, for private "
            "repositories outside a token's reach)",
            hint="check the owner/name and number, and that the token or App installation has "
            "access to this repository",
        )
    if status == 422:
        details = _validation_details(exc.data)
        return GitHubError(
            prefix
            + f"GitHub rejected the data (422 {message or 'Unprocessable Entity'})"
            + (f": {details}" if details else ""),
            hint=_with_docs(
                "fix the value GitHub names; it is usually a name, state or "
                "label that does not exist or is already taken",
                docs,
            ),
        )
    if status >= 500:
        return GitHubError(
            prefix + f"GitHub failed with {status} {message or 'Server Error'} (after retries)",
            hint="GitHub may be having trouble (https://www.githubstatus.com); run again later",
        )
    return GitHubError(
        prefix + f"GitHub refused the request ({status} {message or 'error'})",
        hint=_with_docs("check the request's target and arguments", docs),
    )


def _prefix(action: str | None) -> str:
    return f"cannot {action}: " if action else ""


def _github_message(data: Any) -> str | None:
    if isinstance(data, dict):
        value = data.get("message") or data.get("data")
        return str(value).strip() if value else None
    if isinstance(data, str) and data.strip():
        return data.strip()[:200]
    return None


def _documentation_url(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("documentation_url"), str):
        return data["documentation_url"]
    return None


def _with_docs(hint: str, docs: str | None) -> str:
    return f"{hint} (GitHub's docs: {docs})" if docs else hint


def _rate_limit_error(
    status: int, headers: dict[str, str], message: str | None, now: float
) -> RateLimitError | None:
    """The same reading as the retry decision: Retry-After, then remaining 0, then message."""
    state = parse_rate_limit(headers, now)
    if state.retry_after is not None:
        return secondary_rate_limit_error(state.retry_after, now)
    if state.exhausted or is_primary_rate_limit_message(message):
        return primary_rate_limit_error(state, now)
    if is_secondary_rate_limit_message(message):
        return secondary_rate_limit_error(None, now)
    if status == 429:
        return secondary_rate_limit_error(None, now)
    return None


def _permission_hint(headers: dict[str, str], docs: str | None) -> str:
    """Names the permission GitHub wanted, from the headers it sends with a 403."""
    accepted = headers.get(PERMISSIONS_HEADER, "").strip()
    scopes = headers.get(OAUTH_SCOPES_HEADER, "").strip()
    if accepted:
        return (
            f"the credentials lack a permission; GitHub accepts: {accepted}. In a workflow add "
            "it under `permissions:`; for the App, grant it in the App's settings and accept "
            "the new permissions on the installation"
        )
    if scopes:
        return f"the token lacks a scope; GitHub accepts: {scopes}"
    return _with_docs(
        "the credentials may lack a permission for this call (a workflow's `permissions:`, "
        "the App's permissions, or the token's scopes), or the resource is locked or archived",
        docs,
    )


def _validation_details(data: Any) -> str:
    """GitHub's ``errors`` list, e.g. ``Label.name already_exists``."""
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return ""
    parts: list[str] = []
    for item in data["errors"][:5]:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict):
            if item.get("message"):
                parts.append(str(item["message"]))
            else:
                where = ".".join(str(item[k]) for k in ("resource", "field") if item.get(k))
                parts.append(" ".join(p for p in (where, str(item.get("code") or "")) if p))
    return "; ".join(p for p in parts if p)


def _network_error(exc: RequestException, action: str | None) -> MaintbotError:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or ""
    where = url.split("?", 1)[0] or "the GitHub API"
    if "Invalid URL" in str(exc) or "No connection adapters" in str(exc):
        return UsageError(
            _prefix(action) + f"the API URL is not valid: {where}",
            hint="set --api-url / GITHUB_API_URL to https://api.github.com or https://HOST/api/v3",
        )
    return GitHubError(
        _prefix(action) + f"cannot reach {where}: {type(exc).__name__}",
        hint="check --api-url / GITHUB_API_URL and the network; maintbot already retried "
        "with backoff",
    )


# ----------------------------------------------------------------- failure classes


class FailureKind(enum.StrEnum):
    """What another attempt can do about a failure: the worker's retry decision reads this."""

    PERMANENT = "permanent"  # fails the same way every time: end at once, with the reason
    TRANSIENT = "transient"  # may pass: retry with backoff
    UNKNOWN_OUTCOME = "unknown_outcome"  # a write may or may not have happened: settle, re-read
    RATE_LIMITED = "rate_limited"  # wait until the quota is back, spending no attempt


@dataclass(frozen=True)
class Failure:
    """A failure's class, a sentence saying why, and for a rate limit when to try again."""

    kind: FailureKind
    reason: str
    resume_at: float | None = None  # epoch seconds


#: Statuses that say the request itself is wrong for this object: retrying cannot help.
PERMANENT_STATUSES = frozenset({400, 404, 410, 422})
#: Methods whose repetition changes nothing (GitHub's PUT/PATCH/DELETE set a state).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it (``raise ... from``, or raised while handling), once each."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify_failure(exc: BaseException, *, now: float | None = None) -> Failure:
    """Sorts a failure into :class:`FailureKind` by what raised it, GitHub's answer first.

    Reads the whole chain, so an explained error (``raise explain_github_error(e) from e``)
    is classed by the GitHub answer under it. Rules: a rate limit waits for its reset; 400,
    404, 410 and 422 are permanent (a deleted repository, a validation error), and so is a
    403 that is not a rate limit (a missing permission); 5xx, 401 and network failures are
    transient, except a timed-out or cut write (POST), whose outcome is unknown; a usage
    or configuration error is permanent; the database and OS failing are transient; any
    other exception (a bug, a payload the code cannot take) is permanent.
    """
    from requests import RequestException
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ConnectTimeout
    from sqlalchemy.exc import DBAPIError, OperationalError

    now = time.time() if now is None else now
    chain = list(_chain(exc))
    reason = f"{type(exc).__name__}: {exc.message if isinstance(exc, MaintbotError) else exc}"
    for item in chain:
        if isinstance(item, RateLimitedUntil):
            return Failure(FailureKind.RATE_LIMITED, reason, item.resume_at)
    for item in chain:
        if isinstance(item, RateLimitError):
            return Failure(FailureKind.RATE_LIMITED, reason, now + SECONDARY_MIN_WAIT_S)
        if isinstance(item, GithubException):
            return _classify_status(item, reason, now)
        if isinstance(item, RequestException):
            request = getattr(item, "request", None)
            method = str(getattr(request, "method", "") or "GET").upper()
            never_sent = isinstance(item, ConnectTimeout) or (
                isinstance(item, RequestsConnectionError) and _refused(item)
            )
            if method not in IDEMPOTENT and not never_sent:
                return Failure(
                    FailureKind.UNKNOWN_OUTCOME,
                    f"{reason} (a {method} whose outcome is unknown: checked before repeating)",
                )
            return Failure(FailureKind.TRANSIENT, reason)
    for item in chain:
        if isinstance(item, UsageError):
            return Failure(FailureKind.PERMANENT, reason)
        if isinstance(item, MaintbotError):
            external = item.exit_code is ExitCode.EXTERNAL
            kind = FailureKind.TRANSIENT if external else FailureKind.PERMANENT
            return Failure(kind, reason)
        if isinstance(item, OperationalError | DBAPIError | OSError | TimeoutError):
            return Failure(FailureKind.TRANSIENT, reason)
    return Failure(FailureKind.PERMANENT, f"{reason} (the same input fails the same way)")


def _classify_status(exc: GithubException, reason: str, now: float) -> Failure:
    status = exc.status
    if status in RATE_LIMIT_STATUSES:
        limit = _rate_limit_error(status, lower_keys(exc.headers), _github_message(exc.data), now)
        if isinstance(limit, RateLimitedUntil):
            return Failure(FailureKind.RATE_LIMITED, reason, limit.resume_at)
        if limit is not None:
            return Failure(FailureKind.RATE_LIMITED, reason, now + SECONDARY_MIN_WAIT_S)
        return Failure(FailureKind.PERMANENT, reason)  # a permission the App lacks
    if status in PERMANENT_STATUSES:
        return Failure(FailureKind.PERMANENT, reason)
    return Failure(FailureKind.TRANSIENT, reason)


def _refused(exc: BaseException) -> bool:
    """A connection that was never made (refused, no route): the request was never sent."""
    from urllib3.exceptions import NewConnectionError

    return any(isinstance(item, NewConnectionError) for item in _chain_args(exc))


def _chain_args(exc: BaseException) -> Iterator[BaseException]:
    # requests wraps urllib3's errors in its own args (MaxRetryError(reason=...)).
    stack: list[Any] = [exc]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend(item.args)
        stack.append(getattr(item, "reason", None))
        stack.append(item.__cause__)
        stack.append(item.__context__)
