"""Issue types and live triage precision (bot/report/metrics/triage.py)."""

from __future__ import annotations

import pytest

from bot.report.metrics.triage import triage
from bot.report.records import Actor, Dataset
from tests.report.scenario import MARCH, POLICY, REPO, TYPE_LABELS, issue, pull, scenario


def test_triage_distribution_and_precision():
    result = triage(scenario(), MARCH, POLICY, TYPE_LABELS)
    # Issues opened in March: #1 bug, #2 question, #3 no type label.
    assert result.type_counts == (
        ("bug", 1),
        ("feature", 0),
        ("question", 1),
        ("docs", 0),
        ("unlabelled", 1),
    )
    # March predictions: bug on #1 kept, question on #2 corrected, bug on #3 kept.
    per_label = {p.label: (p.predicted, p.kept, p.precision) for p in result.precision}
    assert per_label == {"bug": (2, 2, 1.0), "question": (1, 0, 0.0)}
    assert (result.overall.predicted, result.overall.kept) == (3, 2)
    assert result.overall.precision == pytest.approx(2 / 3)


def test_an_issue_counts_under_its_first_type_in_the_configured_order():
    amy = Actor("amy")
    data = Dataset(
        items=[
            issue(1, amy, "2024-03-04 00:00", labels=("question", "bug")),  # bug comes first
            issue(2, amy, "2024-03-05 00:00", labels=("Documentation",)),  # any letter case
            issue(3, amy, "2024-03-06 00:00", labels=("wontfix",)),  # not a type label
            pull(4, amy, "2024-03-07 00:00", labels=("bug",)),  # pull requests are not counted
        ],
        repos=(REPO,),
    )
    result = triage(data, MARCH, POLICY, TYPE_LABELS)
    assert result.type_counts == (
        ("bug", 1),
        ("feature", 0),
        ("question", 0),
        ("docs", 1),
        ("unlabelled", 1),
    )
    # No prediction was made: nothing to be precise about.
    assert (result.precision, result.overall.predicted, result.overall.precision) == ((), 0, None)
