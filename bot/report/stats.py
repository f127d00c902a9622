"""Summary statistics of durations: count, mean, median and 90th percentile."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile with linear interpolation between closest ranks.

    The same definition as NumPy's default and github/issue-metrics: rank ``p/100·(n−1)``
    in the sorted values, interpolated between its two neighbours.
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = p / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class DurationStats:
    """Durations in seconds; the statistics are None when there is nothing to summarise."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> DurationStats:
        if not seconds:
            return cls(0, None, None, None)
        return cls(
            count=len(seconds),
            mean=sum(seconds) / len(seconds),
            median=percentile(seconds, 50),
            p90=percentile(seconds, 90),
        )


def humanize_seconds(seconds: float | None) -> str:
    """``3d 4h``, ``5h 12m``, ``42m``, ``15s``: two units at most, for people to read."""
    if seconds is None:
        return "–"
    total = int(round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"
