"""Issue age and backlog (bot/report/metrics/backlog.py) at the end of the scenario's March."""

from __future__ import annotations

from bot.report.metrics.backlog import backlog
from tests.report.scenario import MARCH, POLICY, D, scenario


def test_backlog_at_the_end_of_the_window():
    result = backlog(scenario(), MARCH, POLICY)
    # Open on 2024-04-01: issues #2 (22 d), #3 (16.5 d), #5 (56 d), #6 (> 1 year); #7 opens at
    # the end. Pull requests #14 (12 d), #15 (7 d exactly: the 7–30 bucket), #17 (41 d).
    assert (result.open_issues, result.open_pulls) == (4, 3)
    buckets = {b.label: (b.issues, b.pulls) for b in result.buckets}
    assert buckets == {
        "< 7 days": (0, 0),
        "7–30 days": (2, 2),
        "30–90 days": (1, 1),
        "90–365 days": (0, 0),
        "≥ 1 year": (1, 0),
    }
    # Unanswered: #5 (oldest, Feb 5 → Apr 1 = 56 days) then #3; #2 and #6 got answers.
    assert [(w.number, w.waiting_seconds) for w in result.unanswered_issues] == [
        (5, 56 * D),
        (3, 16.5 * D),
    ]
    assert result.unanswered_issues[1].author == "ghost"
    # Awaiting review: #15 (only its author reviewed it), 7 days. #14 is a draft; #17 was
    # reviewed by a deleted account, which still is a review.
    assert [(w.number, w.waiting_seconds) for w in result.awaiting_review] == [(15, 7 * D)]
    assert (result.unanswered_issues_total, result.awaiting_review_total) == (2, 1)


def test_backlog_lists_are_capped_but_totals_are_not():
    result = backlog(scenario(), MARCH, POLICY, listed=1)
    assert [w.number for w in result.unanswered_issues] == [5]
    assert result.unanswered_issues_total == 2
