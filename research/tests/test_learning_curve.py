"""The stage 18 learning-curve fit (research/triage/learning_curve.py): pure arithmetic."""

import math

import pytest

from research.triage.learning_curve import (
    DEFAULT_HEAD,
    five_fold_means,
    log_size_fit,
    predicted,
    size_for,
)


def test_the_fit_recovers_the_gain_within_seeds():
    """Three seeds on one line with their own levels; a lucky seed measured at one size only
    leaves the slope alone and the prediction is for the seeds' mean level."""
    levels = {0: 0.010, 1: -0.005, 2: -0.005, 3: 0.050}
    sizes = {0: [300, 600, 1200], 1: [600, 1200], 2: [1200, 2400], 3: [1200]}
    means = {
        (n, seed): 0.5 + levels[seed] + 0.02 * math.log2(n)
        for seed, ns in sizes.items()
        for n in ns
    }
    intercept, slope = log_size_fit(means)
    assert slope == pytest.approx(0.02)
    assert intercept == pytest.approx(0.5 + sum(levels.values()) / 4)
    assert predicted((intercept, slope), 2400) - predicted((intercept, slope), 1200) == (
        pytest.approx(0.02)
    )
    assert predicted((intercept, slope), size_for((intercept, slope), 0.8)) == pytest.approx(0.8)
    assert size_for((0.9, 0.0), 0.95) == math.inf


def test_five_fold_means_average_projects_then_folds_and_skip_partial_runs():
    def row(fold, repo_score, issues=None, seeds=(0,), head=DEFAULT_HEAD, protocol="pooled"):
        r = {"protocol": protocol, "head": head, "head_fit": "in-sample", "fold": fold}
        r["finetune_seeds"] = list(seeds)
        if issues:
            r["train_issues"] = issues
        return {**r, "macro_f1": repo_score}

    rows = [row(k, s) for k in range(5) for s in (0.7, 0.9)]  # two projects a fold
    rows += [row(k, 0.5, issues=600) for k in range(4)]  # fold 4 missing: left out
    rows += [row(k, 0.1, head="tuned issue alone") for k in range(5)]
    rows += [row(k, 0.1, seeds=(0, 1)) for k in range(5)]  # an ensemble: left out
    rows += [row(k, 0.1, protocol="strict") for k in range(5)]  # one project's model: left out
    assert five_fold_means(rows, DEFAULT_HEAD) == {(1200, 0): pytest.approx(0.8)}


def test_train_quarters_are_nested_and_balanced_per_project_and_label():
    """Each size of the curve adds issues to the smaller one (the points differ by data, not
    by which issues were drawn), and each quarter takes a fourth of every project-label group,
    rounded up or down."""
    from collections import Counter
    from itertools import pairwise

    import numpy as np

    from bot.triage.data import LabelledIssue
    from research.triage.finetune import train_quarters

    issues = [
        LabelledIssue(f"t{i}", "", label, repo)
        for repo in ("a/x", "b/y")
        for label in ("bug", "feature", "question")
        for i in range(8)
    ]
    train = np.arange(2, len(issues))[::-1]  # a/x's bugs: 6 of 8; no sorted order
    sizes = [train_quarters(issues, train, q, seed=0) for q in (1, 2, 3, 4)]
    for small, large in pairwise(sizes):
        assert set(small) < set(large)
    assert sorted(sizes[-1]) == sorted(train)

    def groups(rows):
        return Counter((issues[i].repo, issues[i].label) for i in rows)

    whole = groups(train)
    for q, (small, large) in enumerate(pairwise([[], *sizes]), start=1):
        quarter = groups(set(large) - set(small))
        assert all(n // 4 <= quarter[g] <= -(-n // 4) for g, n in whole.items()), (q, quarter)
