"""Faults to inject on the next N requests of a route: 5xx, slow answers, rate limits."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

FAULT_KINDS = ("status", "timeout", "secondary_rate_limit", "primary_rate_limit")
MAX_DELAY_S = 60.0  # a "timeout" fault sleeps at most this long, so no test can hang on it

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)


class FaultError(ValueError):
    """A fault was described with an unknown kind or impossible values."""


@dataclass
class Fault:
    """Answer the next ``times`` requests of ``route`` (or every route: ``"*"``) with ``kind``."""

    route: str = "*"
    kind: str = "status"
    times: int = 1
    status: int = 502
    retry_after: int = 1
    reset_in: int = 3600
    delay: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(
                f"fault kind must be one of {', '.join(FAULT_KINDS)}, not {self.kind!r}"
            )
        if self.times < 1:
            raise FaultError(f"a fault must apply to at least one request, not {self.times}")
        if not 100 <= int(self.status) <= 599:
            raise FaultError(f"fault status must be an HTTP status, not {self.status}")
        if not 0 <= float(self.delay) <= MAX_DELAY_S:
            raise FaultError(f"fault delay must be between 0 and {MAX_DELAY_S} s, not {self.delay}")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """The faults still waiting to fire, oldest first."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, route_key: str | None) -> Fault | None:
        """The fault that applies to this request (spending one of its ``times``), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.route == "*" or fault.route == route_key:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return Fault(**{**asdict(fault), "times": 1})
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [Fault(**asdict(f)) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
