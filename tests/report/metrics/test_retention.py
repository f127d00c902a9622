"""First-timer retention (bot/report/metrics/retention.py) from February to March."""

from __future__ import annotations

from bot.report.metrics.retention import first_timer_retention
from tests.report.scenario import MARCH, POLICY, scenario


def test_first_timer_retention():
    result = first_timer_retention(scenario(), MARCH, POLICY)
    # New in February (2024-01-30 – 2024-02-29): erin (Feb 5) and dave (Feb 10); alice's
    # February commit is not her first. dave is back in March (#11), erin is not.
    assert (result.previous_new, result.retained, result.rate) == (2, 1, 0.5)
    assert result.retained_names == ("dave",)
