"""When to retry a GitHub request, how long to wait first, and when to give up: one pure decision.

``decide_retry`` takes plain values (the attempt, its status and headers, or the kind of network
failure, a clock reading, a random number) and answers retry-after-N-seconds, hand the response
back unchanged, or fail now with a :class:`RateLimitError`. ``bot.github.http_retry`` wires it
into urllib3, underneath PyGithub. Rules, after GitHub's guidance on rate limits:

- 5xx (500, 502, 503, 504) and connection failures or read timeouts: exponential backoff with
  jitter, at most ``max_attempts`` tries. A POST is not repeated after a 5xx or a read timeout
  (GitHub may have done it already: a second comment) unless ``retry_unsafe_methods``.
- ``Retry-After`` on a 403/429 (secondary rate limit) or 503: wait that long, when it is at most
  ``max_retry_after``; otherwise fail now with a message saying when.
- ``x-ratelimit-remaining: 0`` on a 403/429 (primary rate limit): wait until ``x-ratelimit-reset``
  only when that is at most ``max_reset_wait`` away; otherwise fail now saying when it resets.
- a 403/429 whose message names a secondary rate limit but no header says how long: wait
  ``secondary_wait`` (GitHub: "at least one minute"), doubling on each repeat, within the bounds.
- anything else (404, 422, a 403 for a missing permission...) goes back to the caller as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.errors import RateLimitError, UsageError
from bot.github.ratelimit import (
    RATE_LIMIT_STATUSES,
    is_primary_rate_limit_message,
    is_secondary_rate_limit_message,
    parse_rate_limit,
    primary_rate_limit_error,
    secondary_rate_limit_error,
)

RETRYABLE_SERVER_STATUSES = frozenset({500, 502, 503, 504})
# GitHub's PUT, PATCH and DELETE set state to a value, so doing one twice is harmless.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
RESET_CLOCK_SLACK_S = 1.0  # x-ratelimit-reset is a whole second; our clock may differ a little

Failure = Literal["connect", "read"]


@dataclass(frozen=True)
class RetryPolicy:
    """How patient the client is. The defaults suit a CLI run or an Action job.

    Tests shrink the waits (e.g. ``backoff_initial=0.05``); the App may lower ``max_attempts``.
    """

    max_attempts: int = 5  # tries in all, the first included
    backoff_initial: float = 1.0  # seconds before the 2nd try; doubles for each next one
    backoff_max: float = 30.0
    jitter: float = 0.5  # each backoff is shortened by up to this fraction, at random
    max_retry_after: float = 120.0  # the longest Retry-After / secondary-limit pause we sleep
    secondary_wait: float = 60.0  # the pause for a secondary limit that names no duration
    max_reset_wait: float = 60.0  # wait for a primary-limit reset only when it is this close
    retry_unsafe_methods: bool = False  # repeat a POST after a 5xx or a read timeout

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise UsageError(
                f"retry policy: max_attempts must be at least 1, not {self.max_attempts}",
                hint="use 1 to never retry",
            )
        if not 0.0 <= self.jitter <= 1.0:
            raise UsageError(
                f"retry policy: jitter is a fraction between 0 and 1, not {self.jitter}",
                hint="0.5 shortens each backoff by up to half, at random",
            )
        for name in ("backoff_initial", "backoff_max", "max_retry_after", "secondary_wait"):
            if getattr(self, name) < 0:
                raise UsageError(
                    f"retry policy: {name} cannot be negative",
                    hint="give seconds as a number >= 0",
                )


#: The App's worker: a rate limit never puts a worker thread to sleep inside a request; it
#: fails at once with the moment the quota is back (``RateLimitedUntil``), and the queue
#: schedules the delivery for then, spending no attempt. Server errors and network failures
#: are retried a little here, then by the queue with its longer backoff.
APP_WORKER_POLICY = RetryPolicy(
    max_attempts=3,
    backoff_initial=0.5,
    backoff_max=5.0,
    max_retry_after=0.0,
    max_reset_wait=0.0,
)


@dataclass(frozen=True)
class Attempt:
    """One finished try, as plain values: a response (status, headers, message) or a failure."""

    method: str
    number: int  # 1 for the first try
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None  # GitHub's "message" from the body, when it was read
    failure: Failure | None = None  # "connect": never reached GitHub; "read": no answer in time


@dataclass(frozen=True)
class RetryDecision:
    """``retry`` after ``wait`` s, ``return`` the outcome as is, or ``fail`` with ``error``."""

    action: Literal["retry", "return", "fail"]
    reason: str
    wait: float = 0.0
    error: RateLimitError | None = None


def needs_message(status: int, headers: Mapping[str, str]) -> bool:
    """Only a 403/429 with no rate-limit header needs its body read to tell a limit apart."""
    if status not in RATE_LIMIT_STATUSES:
        return False
    h = {k.lower(): v for k, v in headers.items()}
    return "retry-after" not in h and h.get("x-ratelimit-remaining") != "0"


def backoff_seconds(policy: RetryPolicy, number: int, rand: float) -> float:
    """Exponential backoff with jitter: ``initial * 2**(n-1)``, capped, shortened at random."""
    base = min(policy.backoff_max, policy.backoff_initial * 2 ** max(0, number - 1))
    return base * (1.0 - policy.jitter * min(max(rand, 0.0), 1.0))


def decide_retry(
    policy: RetryPolicy, attempt: Attempt, *, now: float, rand: float
) -> RetryDecision:
    """The whole retry policy: what to do after ``attempt`` (see the module docstring)."""
    method = attempt.method.upper()
    safe_to_repeat = method in IDEMPOTENT_METHODS or policy.retry_unsafe_methods
    exhausted = attempt.number >= policy.max_attempts
    tries = f"after {attempt.number} of {policy.max_attempts} tries"

    if attempt.failure is not None:
        what = "could not connect" if attempt.failure == "connect" else "no answer in time"
        # A failed connect never reached GitHub: repeating even a POST is safe.
        if attempt.failure == "read" and not safe_to_repeat:
            return RetryDecision("return", f"{what}; a {method} is not repeated blindly")
        if exhausted:
            return RetryDecision("return", f"{what}; giving up {tries}")
        wait = backoff_seconds(policy, attempt.number, rand)
        return RetryDecision("retry", f"{what}; backing off", wait=wait)

    status = attempt.status
    if status in RATE_LIMIT_STATUSES:
        return _decide_rate_limit(policy, attempt, now=now, exhausted=exhausted, tries=tries)

    if status in RETRYABLE_SERVER_STATUSES:
        if not safe_to_repeat:
            return RetryDecision("return", f"{status} on a {method}; not repeated blindly")
        if exhausted:
            return RetryDecision("return", f"{status}; giving up {tries}")
        retry_after = parse_rate_limit(attempt.headers, now).retry_after
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                return RetryDecision("return", f"{status} with Retry-After {retry_after:.0f} s")
            return RetryDecision("retry", f"{status} with Retry-After", wait=retry_after)
        wait = backoff_seconds(policy, attempt.number, rand)
        return RetryDecision("retry", f"{status}; backing off", wait=wait)

    return RetryDecision("return", f"{status} is not retried")


def _decide_rate_limit(
    policy: RetryPolicy, attempt: Attempt, *, now: float, exhausted: bool, tries: str
) -> RetryDecision:
    """403/429: GitHub's order is Retry-After first, then x-ratelimit-remaining: 0, then message."""
    state = parse_rate_limit(attempt.headers, now)

    if state.retry_after is not None:
        if state.retry_after > policy.max_retry_after:
            return RetryDecision(
                "fail",
                "secondary rate limit",
                error=secondary_rate_limit_error(state.retry_after, now),
            )
        if exhausted:
            return RetryDecision("return", f"secondary rate limit; giving up {tries}")
        return RetryDecision("retry", "secondary rate limit (Retry-After)", wait=state.retry_after)

    if state.exhausted or is_primary_rate_limit_message(attempt.message):
        if state.reset_at is None:
            return RetryDecision(
                "fail", "rate limit without reset", error=primary_rate_limit_error(state, now)
            )
        wait = max(0.0, state.reset_at - now) + RESET_CLOCK_SLACK_S
        if wait > policy.max_reset_wait:
            return RetryDecision(
                "fail", "rate limit resets too late", error=primary_rate_limit_error(state, now)
            )
        if exhausted:
            return RetryDecision("return", f"rate limit; giving up {tries}")
        return RetryDecision("retry", "rate limit resets soon", wait=wait)

    if is_secondary_rate_limit_message(attempt.message):
        wait = policy.secondary_wait * 2 ** max(0, attempt.number - 1)
        if wait > policy.max_retry_after:
            return RetryDecision(
                "fail", "secondary rate limit", error=secondary_rate_limit_error(None, now)
            )
        if exhausted:
            return RetryDecision("return", f"secondary rate limit; giving up {tries}")
        return RetryDecision("retry", "secondary rate limit (no Retry-After)", wait=wait)

    return RetryDecision("return", f"{attempt.status} is not a rate limit")
