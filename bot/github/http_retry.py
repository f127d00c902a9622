"""Plugs :func:`bot.github.retry.decide_retry` into urllib3, where PyGithub's requests retry.

PyGithub hands ``Github(retry=...)`` to requests' ``HTTPAdapter`` as a urllib3 ``Retry``; urllib3
calls ``is_retry`` for each response, ``increment`` to get the next ``Retry`` (or an exception),
then ``sleep``. This subclass lets the pure decision answer each of those, and otherwise keeps
urllib3's bookkeeping (history, the response draining and connection reuse).

When the decision is to hand a response back, ``increment`` raises ``MaxRetryError`` with
``raise_on_status=False`` so urllib3 returns the response untouched and PyGithub raises its usual
exception. A 403/429 whose body had to be read to recognise a secondary limit cannot be handed
back (the body is consumed), so its PyGithub exception is raised here, built the way PyGithub
builds it.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from github.Requester import Requester
from urllib3 import Retry
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import RequestHistory

from bot.github.ratelimit import RATE_LIMIT_STATUSES, lower_keys
from bot.github.retry import (
    RETRYABLE_SERVER_STATUSES,
    Attempt,
    Failure,
    RetryDecision,
    RetryPolicy,
    decide_retry,
    needs_message,
)

log = logging.getLogger(__name__)


class PolicyRetry(Retry):
    """A urllib3 ``Retry`` that asks :func:`decide_retry` what to do after every try."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        attempt: int = 1,
        next_wait: float = 0.0,
        clock: Callable[[], float] = time.time,
        sleeper: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        **kwargs: Any,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.attempt = attempt
        self.next_wait = next_wait
        self._clock = clock
        self._sleeper = sleeper
        self._rand = rand
        # The policy bounds the tries; urllib3's own counters stay out of the way.
        kwargs["total"] = None
        kwargs["redirect"] = 0
        kwargs["allowed_methods"] = None
        kwargs["raise_on_status"] = False
        kwargs["respect_retry_after_header"] = False
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> PolicyRetry:
        kw.setdefault("policy", self.policy)
        kw.setdefault("attempt", self.attempt)
        kw.setdefault("next_wait", 0.0)
        kw.setdefault("clock", self._clock)
        kw.setdefault("sleeper", self._sleeper)
        kw.setdefault("rand", self._rand)
        return super().new(**kw)  # type: ignore[return-value]

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Every status the policy might retry goes to :meth:`increment`, which decides."""
        return status_code in RATE_LIMIT_STATUSES or status_code in RETRYABLE_SERVER_STATUSES

    def is_exhausted(self) -> bool:
        return False  # the policy says when to stop, in increment

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: TracebackType | None = None,
    ) -> PolicyRetry:
        verb = (method or "GET").upper()
        if error is not None:
            return self._after_error(verb, url, error, _pool)
        assert response is not None, "urllib3 passes a response or an error"
        return self._after_response(verb, url, response, _pool)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.next_wait > 0:
            self._sleeper(self.next_wait)

    # -- the two cases -------------------------------------------------------------------

    def _after_error(self, verb: str, url: str | None, error: Exception, pool: Any) -> PolicyRetry:
        failure: Failure | None = None
        if self._is_connection_error(error):
            failure = "connect"
        elif self._is_read_error(error):
            failure = "read"
        if failure is None:  # TLS and the like: retrying will not help
            raise error
        decision = self._decide(Attempt(verb, self.attempt, failure=failure))
        if decision.action == "retry":
            self._log_retry(verb, url, decision)
            return self._next(verb, url, decision, error=error)
        if self.attempt > 1:  # say that we tried, as urllib3 does ("Max retries exceeded")
            raise MaxRetryError(pool, url or "", error) from error
        raise error

    def _after_response(
        self, verb: str, url: str | None, response: BaseHTTPResponse, pool: Any
    ) -> PolicyRetry:
        headers = lower_keys(dict(response.headers))
        body: Any = None
        message: str | None = None
        body_read = needs_message(response.status, headers)
        if body_read:
            body = _read_json_body(response)
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                message = body["message"]
        decision = self._decide(
            Attempt(verb, self.attempt, status=response.status, headers=headers, message=message)
        )
        if decision.action == "retry":
            self._log_retry(verb, url, decision, status=response.status)
            return self._next(verb, url, decision, status=response.status)
        if decision.action == "fail":
            assert decision.error is not None
            log.info("GitHub %s %s: %s", verb, _path(url), decision.error.message)
            _release(response)
            raise decision.error
        if body_read:  # the body is spent: raise what PyGithub would have raised from it
            _release(response)
            raise Requester.createException(response.status, headers, body)
        # Hand the response back untouched (raise_on_status=False makes urllib3 return it).
        raise MaxRetryError(pool, url or "", ResponseError(decision.reason))

    # -- helpers -------------------------------------------------------------------------

    def _decide(self, attempt: Attempt) -> RetryDecision:
        return decide_retry(self.policy, attempt, now=self._clock(), rand=self._rand())

    def _next(
        self,
        verb: str,
        url: str | None,
        decision: RetryDecision,
        *,
        error: Exception | None = None,
        status: int | None = None,
    ) -> PolicyRetry:
        history = (*self.history, RequestHistory(verb, url, error, status, None))
        return self.new(attempt=self.attempt + 1, next_wait=decision.wait, history=history)

    def _log_retry(
        self, verb: str, url: str | None, decision: RetryDecision, status: int | None = None
    ) -> None:
        log.warning(
            "GitHub %s %s: %s; retrying in %.1f s (try %d of %d)",
            verb,
            _path(url),
            f"{status} {decision.reason}" if status else decision.reason,
            decision.wait,
            self.attempt + 1,
            self.policy.max_attempts,
        )


def _path(url: str | None) -> str:
    """The path only: query strings are harmless today, but nothing secret should reach a log."""
    return (url or "").split("?", 1)[0]


def _read_json_body(response: BaseHTTPResponse) -> Any:
    """GitHub's JSON error body (``None`` if empty), parsed as PyGithub parses it."""
    try:
        raw = response.read(decode_content=True, cache_content=True)
    except Exception:  # a broken body: decide on headers alone
        return None
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw or "")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"data": text}


def _release(response: BaseHTTPResponse) -> None:
    """Gives the connection back to the pool before we raise past urllib3."""
    try:
        response.drain_conn()
        response.release_conn()
    except Exception:  # the connection is discarded instead; nothing to report
        pass
