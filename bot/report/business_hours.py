"""Elapsed working time: only the configured working hours of working days count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessHours:
    """Working hours ``[start, end)`` on ``working_days`` (0 = Monday), in wall-clock ``timezone``.

    Wall-clock hours are what a maintainer lives by: on the day clocks change, 09:00–17:00
    is still the working day.
    """

    timezone: str
    working_days: frozenset[int]
    start: time
    end: time

    @classmethod
    def build(
        cls, timezone: str, working_days: list[str] | tuple[str, ...], start: str, end: str
    ) -> BusinessHours:
        """From the configuration's spelling: day names (``mon``...) and ``HH:MM`` times."""
        days = frozenset(DAY_NAMES.index(d.strip().lower()[:3]) for d in working_days)
        return cls(timezone, days, time.fromisoformat(start), time.fromisoformat(end))

    @property
    def seconds_per_day(self) -> float:
        return _seconds(self.end) - _seconds(self.start)


def _seconds(moment: time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


def _working_days_between(first: date, last: date, working_days: frozenset[int]) -> int:
    """Working days in ``[first, last)`` without walking every day (spans may be years)."""
    total = (last - first).days
    if total <= 0:
        return 0
    weeks, extra = divmod(total, 7)
    count = weeks * len(working_days)
    start_weekday = first.weekday()
    count += sum(1 for i in range(extra) if (start_weekday + i) % 7 in working_days)
    return count


def business_seconds(start: datetime, end: datetime, hours: BusinessHours) -> float:
    """Seconds of working time between two instants (0 when ``end`` is not after ``start``)."""
    if end <= start:
        return 0.0
    zone = ZoneInfo(hours.timezone)
    local_start = start.astimezone(zone).replace(tzinfo=None)
    local_end = end.astimezone(zone).replace(tzinfo=None)
    open_s, close_s = _seconds(hours.start), _seconds(hours.end)

    def overlap(day: date, from_s: float, to_s: float) -> float:
        if day.weekday() not in hours.working_days:
            return 0.0
        return max(0.0, min(to_s, close_s) - max(from_s, open_s))

    first_day, last_day = local_start.date(), local_end.date()
    start_s, end_s = _seconds(local_start.time()), _seconds(local_end.time())
    if first_day == last_day:
        return overlap(first_day, start_s, end_s)
    whole_days = _working_days_between(first_day + timedelta(days=1), last_day, hours.working_days)
    return (
        overlap(first_day, start_s, 86400.0)
        + whole_days * hours.seconds_per_day
        + overlap(last_day, 0.0, end_s)
    )
