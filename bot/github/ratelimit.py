"""Reads GitHub's rate-limit headers and says, in words, when the quota comes back.

Pure functions over header values and a clock reading, so the retry decision and the error
explanations share one reading of ``x-ratelimit-*`` and ``Retry-After``.
See https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.errors import RateLimitError

RATE_LIMIT_STATUSES = frozenset({403, 429})

APP_HINT = (
    "wait until then, or authenticate as a GitHub App installation (MAINTBOT_APP_ID and "
    "MAINTBOT_APP_PRIVATE_KEY_FILE), whose hourly limit is higher than a personal or an "
    "Actions token's"
)


#: GitHub: after a secondary rate limit without ``Retry-After``, "wait at least one minute".
SECONDARY_MIN_WAIT_S = 60.0


class RateLimitedUntil(RateLimitError):
    """A rate limit with the moment the quota is back: what a scheduler needs to wait for.

    ``kind`` is ``primary`` (the hourly quota, back at ``x-ratelimit-reset``) or
    ``secondary`` (back after ``Retry-After``, or GitHub's documented minute).
    """

    def __init__(self, message: str, *, kind: str, resume_at: float, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.kind = kind
        self.resume_at = resume_at


@dataclass(frozen=True)
class RateLimitHeaders:
    """What one response says about the quota; ``None`` where GitHub did not say."""

    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    reset_at: float | None = None  # epoch seconds
    resource: str | None = None  # core, search, graphql, ...
    retry_after: float | None = None  # seconds from now

    @property
    def exhausted(self) -> bool:
        """The primary quota is spent (GitHub sends ``x-ratelimit-remaining: 0``)."""
        return self.remaining == 0


def lower_keys(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Header names are case-insensitive; PyGithub lowercases them, urllib3 does not."""
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


def parse_rate_limit(headers: Mapping[str, str] | None, now: float) -> RateLimitHeaders:
    """Reads ``x-ratelimit-*`` and ``Retry-After`` from one response's headers."""
    h = lower_keys(headers)
    reset = _int(h.get("x-ratelimit-reset"))
    return RateLimitHeaders(
        limit=_int(h.get("x-ratelimit-limit")),
        remaining=_int(h.get("x-ratelimit-remaining")),
        used=_int(h.get("x-ratelimit-used")),
        reset_at=float(reset) if reset is not None else None,
        resource=h.get("x-ratelimit-resource"),
        retry_after=parse_retry_after(h.get("retry-after"), now),
    )


def is_secondary_rate_limit_message(message: str | None) -> bool:
    """GitHub's wordings for a secondary (abuse) limit when no header says so."""
    text = (message or "").lower()
    return (
        "secondary rate limit" in text
        or "abuse detection" in text
        or text.rstrip().endswith("please retry your request again later.")
        or text.rstrip().endswith("please wait a few minutes before you try again.")
    )


def is_primary_rate_limit_message(message: str | None) -> bool:
    return (message or "").lower().startswith("api rate limit exceeded")


def describe_moment(at: float, now: float) -> str:
    """``2024-05-01 12:00:00 UTC (in 42 min)``: an absolute time and how far away it is."""
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    seconds = at - now
    if seconds <= 0:
        return f"{stamp} (now)"
    if seconds < 60:
        return f"{stamp} (in {math.ceil(seconds)} s)"
    return f"{stamp} (in {math.ceil(seconds / 60)} min)"


def resume_time(state: RateLimitHeaders, now: float, *, primary: bool) -> float:
    """When to ask GitHub again: ``Retry-After``, else the reset, else a minute from now."""
    if state.retry_after is not None:
        return now + state.retry_after
    if primary and state.reset_at is not None:
        return max(now, state.reset_at)
    return now + SECONDARY_MIN_WAIT_S


def primary_rate_limit_error(state: RateLimitHeaders, now: float) -> RateLimitError:
    """The quota is spent and we will not wait for the reset: say when it resets."""
    resource = f" for '{state.resource}'" if state.resource else ""
    used = f" (all {state.limit} requests{resource})" if state.limit else resource
    resume_at = resume_time(state, now, primary=True)
    if state.reset_at is None:
        return RateLimitedUntil(
            f"GitHub's API rate limit is used up{used}, and GitHub did not say when it resets",
            kind="primary",
            resume_at=resume_at,
            hint="wait up to an hour, or authenticate as a GitHub App installation "
            "(MAINTBOT_APP_ID and MAINTBOT_APP_PRIVATE_KEY_FILE), whose hourly limit is higher",
        )
    return RateLimitedUntil(
        f"GitHub's API rate limit is used up{used}; it resets at "
        f"{describe_moment(state.reset_at, now)}",
        kind="primary",
        resume_at=resume_at,
        hint=APP_HINT,
    )


def secondary_rate_limit_error(wait: float | None, now: float) -> RateLimitError:
    """GitHub's secondary limit asks for a pause longer than we are willing to sleep."""
    when = (
        f"; GitHub asks to wait until {describe_moment(now + wait, now)}"
        if wait is not None
        else "; GitHub asks to wait at least a minute"
    )
    return RateLimitedUntil(
        f"GitHub's secondary rate limit stopped the requests (too many in a short time){when}",
        kind="secondary",
        resume_at=now + (wait if wait is not None else SECONDARY_MIN_WAIT_S),
        hint="run again later and make fewer concurrent or write requests, or raise the retry "
        "policy's max_retry_after if waiting that long is acceptable",
    )
