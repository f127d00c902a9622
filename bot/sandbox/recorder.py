"""The log of every API request the sandbox answered, so tests can count calls per route."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

UNMATCHED = "(unmatched)"


@dataclass(frozen=True)
class RequestRecord:
    """One request: ``route`` is its template key, e.g. ``"GET /repos/{owner}/{repo}/issues"``."""

    method: str
    path: str
    route: str
    query: dict[str, str] = field(default_factory=dict)
    status: int = 200
    not_modified: bool = False  # answered 304 to a matching If-None-Match
    time: float = 0.0
    fault: str | None = None
    identity: str = "anonymous"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Append-only list of records, safe across the server's threads."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def counts(self) -> dict[str, int]:
        """Requests per route template."""
        with self._lock:
            return dict(Counter(r.route for r in self._records))

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
