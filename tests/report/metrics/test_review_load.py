"""Review load (bot/report/metrics/review_load.py) over the scenario's March."""

from __future__ import annotations

from bot.report.metrics.review_load import review_load
from tests.report.scenario import MARCH, POLICY, scenario


def test_review_load():
    result = review_load(scenario(), MARCH, POLICY)
    assert (result.reviews, result.reviewers) == (3, 2)
    assert [tuple(r) for r in result.per_reviewer] == [("alice", 2), ("bob", 1)]
    # Merged in March by people: #10, #11 (both reviewed by alice before the merge), #12 (none).
    assert (result.merged, result.merged_without_review) == (3, 1)
    assert [m.number for m in result.unreviewed] == [12]
