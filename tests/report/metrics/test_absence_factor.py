"""Contributor absence factor (bot/report/metrics/absence_factor.py): scenario and plain counts."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.report.metrics.absence_factor import absence, absence_factor
from tests.report.scenario import MARCH, POLICY, scenario


def test_absence_factor():
    result = absence_factor(scenario(), MARCH, POLICY)
    # Commits by people in March: alice 4, bob 2, carol 1, Zed 1 (the bot's is not counted):
    # alice alone holds 4 of 8, which reaches 50 %.
    assert (result.commits.factor, result.commits.total) == (1, 8)
    assert [tuple(h) for h in result.commits.holders] == [("alice", 4)]
    # Reviews: alice 2, bob 1; 2 ≥ 1.5.
    assert (result.reviews.factor, result.reviews.total) == (1, 3)


@pytest.mark.parametrize(
    ("counts", "factor"),
    [
        ({"a": 1, "b": 1, "c": 1, "d": 1}, 2),  # 2 of 4 is exactly half
        ({"a": 3, "b": 3, "c": 2, "d": 2, "e": 2}, 2),  # 6 of 12
        ({"a": 1, "b": 1, "c": 1}, 2),  # 1 of 3 is not enough, 2 of 3 is
        ({"a": 10}, 1),
    ],
)
def test_absence_is_the_fewest_people_holding_half(counts, factor):
    assert absence(Counter(counts)).factor == factor


def test_absence_of_nothing_is_none():
    assert absence(Counter()).factor is None
