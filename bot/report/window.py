"""The time window a report covers: ``[start, end)``, so consecutive windows never overlap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.errors import UsageError


@dataclass(frozen=True)
class Window:
    """A half-open interval of UTC time: ``start`` is inside it, ``end`` is not.

    Half-open because a monthly report must count an event at midnight on the 1st exactly
    once: in the month that begins there.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise UsageError(
                f"the report window is empty: it ends ({self.end:%Y-%m-%d %H:%M}) before or "
                f"when it starts ({self.start:%Y-%m-%d %H:%M})",
                hint="give --since earlier than --until",
            )

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Window:
        """The window of the same length just before this one (for retention)."""
        return Window(self.start - self.length, self.start)

    @property
    def label(self) -> str:
        """``2024-01-01 – 2024-01-31``: the inclusive dates, as people name a period."""
        last = self.end - timedelta(microseconds=1)
        return f"{self.start:%Y-%m-%d} – {last:%Y-%m-%d}"


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """A date (``2024-01-31``) or an ISO 8601 time; naive times are UTC.

    With ``end_of_day`` a plain date means the end of that day (the next midnight), so
    ``--until 2024-01-31`` includes the 31st.
    """
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            moment = datetime.combine(day, time(0), tzinfo=UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{text!r} is not a date",
            hint="write dates as YYYY-MM-DD or an ISO 8601 time such as 2024-01-31T12:00:00Z",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_window(
    since: str | None, until: str | None, *, window_days: int, now: datetime
) -> Window:
    """The window from ``--since``/``--until``.

    ``--since`` alone runs until ``now``; ``--until`` alone covers the ``window_days`` before
    it; with neither, the window is the last ``window_days`` whole days before today (UTC), so
    a scheduled monthly run reports whole days.
    """
    if until is not None:
        end = parse_moment(until, end_of_day=True)
    elif since is not None:
        end = now.astimezone(UTC)
    else:
        end = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    start = parse_moment(since) if since is not None else end - timedelta(days=window_days)
    return Window(start, end)
