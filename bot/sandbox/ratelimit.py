"""Per-token API quotas with GitHub's windows and headers (``x-ratelimit-*``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# GitHub's documented quotas: core per hour, search per minute; anonymous callers get less.
WINDOWS = {"core": 3600, "search": 60}
ANONYMOUS_LIMITS = {"core": 60, "search": 10}
TOKEN_LIMITS = {"search": 30}


@dataclass
class Bucket:
    """One token's quota for one resource within the current window."""

    resource: str
    limit: int
    used: int
    reset: int  # epoch seconds when the window restarts

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        """The headers GitHub puts on every answer."""
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": self.resource,
        }

    def as_json(self) -> dict[str, int]:
        """The ``rate-limit`` object of ``GET /rate_limit``."""
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "reset": self.reset,
        }


class RateLimiter:
    """Counts requests per (token, resource); a window starts at its first request."""

    def __init__(self, core_limit: int = 5000, clock: Callable[[], float] = time.time) -> None:
        self.core_limit = core_limit
        self.clock = clock
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._lock = threading.Lock()

    def limit_for(self, resource: str, anonymous: bool) -> int:
        if anonymous:
            return min(ANONYMOUS_LIMITS.get(resource, 60), self.core_limit)
        return min(TOKEN_LIMITS.get(resource, self.core_limit), self.core_limit)

    def bucket(self, key: str, resource: str, *, anonymous: bool) -> Bucket:
        """The current bucket, restarted when its window has passed."""
        now = int(self.clock())
        with self._lock:
            found = self._buckets.get((key, resource))
            if found is None or now >= found.reset:
                found = Bucket(
                    resource=resource,
                    limit=self.limit_for(resource, anonymous),
                    used=0,
                    reset=now + WINDOWS.get(resource, 3600),
                )
                self._buckets[(key, resource)] = found
            return Bucket(found.resource, found.limit, found.used, found.reset)

    def try_spend(self, key: str, resource: str, *, anonymous: bool) -> tuple[bool, Bucket]:
        """Count one request if quota is left, atomically: ``(spent, bucket after)``."""
        self.bucket(key, resource, anonymous=anonymous)
        with self._lock:
            found = self._buckets[(key, resource)]
            spent = found.used < found.limit
            if spent:
                found.used += 1
            return spent, Bucket(found.resource, found.limit, found.used, found.reset)
