"""Business hours (bot/report/business_hours.py): working time between two moments."""

from __future__ import annotations

from datetime import time

import pytest

from bot.report.business_hours import BusinessHours, business_seconds
from tests.report.scenario import H, t


@pytest.mark.parametrize(
    ("zone", "start", "end", "expected_hours"),
    [
        ("UTC", "2024-03-01 16:00", "2024-03-04 10:00", 2),  # Fri 1 h + Mon 1 h
        ("UTC", "2024-03-02 08:00", "2024-03-03 20:00", 0),  # a weekend
        ("UTC", "2024-03-04 08:00", "2024-03-04 18:00", 8),  # a whole Monday
        ("UTC", "2024-03-04 12:00", "2024-03-04 12:00", 0),
        ("UTC", "2024-01-01 09:00", "2025-01-06 09:00", 265 * 8),  # 53 weeks of 5 days
        # Berlin: 16:00 CET Friday is 15:00 UTC; clocks jump on Sunday 31 March; Tuesday
        # 10:00 CEST is 08:00 UTC. Friday 1 h + Monday 8 h + Tuesday 1 h.
        ("Europe/Berlin", "2024-03-29 15:00", "2024-04-02 08:00", 10),
    ],
)
def test_business_seconds(zone, start, end, expected_hours):
    hours = BusinessHours.build(zone, ["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00")
    assert business_seconds(t(start), t(end), hours) == expected_hours * H


def test_business_hours_read_the_configured_spelling():
    hours = BusinessHours.build("UTC", ["Monday", "wed"], "08:30", "12:00")
    assert hours.working_days == frozenset({0, 2})
    assert (hours.start, hours.end) == (time(8, 30), time(12, 0))
