"""Time to close and time to merge (bot/report/metrics/time_to_close.py) over the scenario."""

from __future__ import annotations

from bot.report.metrics.time_to_close import time_to_close
from tests.report.scenario import MARCH, POLICY, D, H, assert_stats, scenario


def test_time_to_close_and_merge():
    result = time_to_close(scenario(), MARCH, POLICY)
    # Closed in March: #1 after 3 days; #4 on 2024-03-01 00:00 exactly (inside, the start is
    # included) after Feb 10 → Mar 1 of a leap year = 20 days.
    assert_stats(result.time_to_close, 2, 11.5 * D, 11.5 * D, 3 * D + 0.9 * 17 * D)
    # Merged: #10 24 h; #11 24 h from leaving draft; #12 6 h; #13 is a bot's.
    assert_stats(result.time_to_merge, 3, 18 * H, 24 * H, 24 * H)
    assert result.closed_unmerged == 1  # #16
