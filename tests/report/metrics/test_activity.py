"""Activity over time (bot/report/metrics/activity.py): March of the scenario, day by day."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from bot.report.metrics.activity import activity
from bot.report.records import Actor, Dataset
from bot.report.window import Window
from tests.report.scenario import MARCH, POLICY, REPO, issue, scenario, t


def test_activity_per_day():
    result = activity(scenario(), MARCH, POLICY)
    assert result.period_days == 1 and len(result.periods) == 31
    totals = Counter()
    for period in result.periods:
        totals.update(period.counts)
    # issues #1 #2 #3; pulls #10 #11 #12 #14 #15 #16 (not the bot's #13); closed #1 #4;
    # merged #10 #11 #12; comments: 6 (not the bot's, not spammer's, nothing outside March).
    assert dict(totals) == {
        "issues_opened": 3,
        "pulls_opened": 6,
        "issues_closed": 2,
        "pulls_merged": 3,
        "comments": 6,
    }
    assert result.periods[0].counts["issues_closed"] == 1  # #4 at the very start
    assert result.periods[1].counts["issues_opened"] == 1  # #1 on March 2


@pytest.mark.parametrize(
    ("days", "period_days", "periods"),
    [
        (31, 1, 31),  # up to 31 days: a day each
        (32, 7, 5),  # then a week each: 4 whole weeks and a last period of 4 days
        (31 * 7, 7, 31),  # up to 31 weeks
        (31 * 7 + 1, 30, 8),  # then 30 days each: 7 of them and a last period of 8 days
    ],
)
def test_the_period_grows_with_the_window(days, period_days, periods):
    start = t("2024-01-01 00:00")
    window = Window(start, start + timedelta(days=days))
    # Issue #1 opens on the 9th day: the 9th daily period, or the 2nd weekly or 1st 30-day one.
    data = Dataset(items=[issue(1, Actor("amy"), "2024-01-09 12:00")], repos=(REPO,))
    result = activity(data, window, POLICY)
    assert (result.period_days, len(result.periods)) == (period_days, periods)
    assert result.periods[-1].start == start + timedelta(days=(periods - 1) * period_days)
    opened = [p.counts["issues_opened"] for p in result.periods]
    assert opened.index(1) == 8 // period_days and sum(opened) == 1
