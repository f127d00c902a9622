"""Timestamps as GitHub writes them: UTC, whole seconds, ISO 8601 with a trailing ``Z``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def utcnow() -> datetime:
    """Now, truncated to whole seconds because GitHub never sends fractions."""
    return datetime.now(UTC).replace(microsecond=0)


def parse_time(value: str | datetime | date | None) -> datetime | None:
    """Read a seed or request timestamp; a naive value is taken as UTC, a bare date as midnight."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def format_time(moment: datetime | None) -> str | None:
    """The wire format: ``2024-05-01T12:00:00Z`` (or None, which the schema allows)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_bounds(text: str) -> tuple[datetime, datetime]:
    """The half-open interval a search date covers: a whole day, or one second for a time."""
    moment = parse_time(text)
    assert moment is not None
    if "T" in text:
        return moment, moment + timedelta(seconds=1)
    return moment, moment + timedelta(days=1)
