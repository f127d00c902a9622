"""The report window (bot/report/window.py): half-open edges, parsing and resolution."""

from __future__ import annotations

import pytest

from bot.errors import UsageError
from bot.report.window import Window, parse_moment, resolve_window
from tests.report.scenario import MARCH, t


def test_window_edges_and_parsing():
    assert t("2024-03-01 00:00") in MARCH
    assert t("2024-04-01 00:00") not in MARCH
    assert MARCH.previous() == Window(t("2024-01-30 00:00"), t("2024-03-01 00:00"))
    assert MARCH.label == "2024-03-01 – 2024-03-31"
    assert parse_moment("2024-03-31", end_of_day=True) == t("2024-04-01 00:00")
    assert parse_moment("2024-03-31T12:00:00+02:00") == t("2024-03-31 10:00")
    now = t("2024-04-15 13:45")
    assert resolve_window("2024-03-01", "2024-03-31", window_days=30, now=now) == MARCH
    assert resolve_window(None, None, window_days=30, now=now) == Window(
        t("2024-03-16 00:00"), t("2024-04-15 00:00")
    )
    assert resolve_window("2024-04-01", None, window_days=30, now=now).end == now


def test_bad_window_is_a_usage_error():
    with pytest.raises(UsageError, match="not a date"):
        parse_moment("March")
    with pytest.raises(UsageError, match="empty"):
        resolve_window("2024-03-31", "2024-03-01", window_days=30, now=t("2024-04-15 00:00"))
