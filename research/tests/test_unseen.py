"""Stage 21's k-curve (research/triage/unseen.py) on synthetic projects: no model needed."""

from __future__ import annotations

import numpy as np
import pytest

from research.triage.unseen import (
    MAIN,
    VARIANTS,
    Project,
    cache_root,
    curve,
    summarise,
    threshold_rules,
)

LABELS = ["bug", "feature", "question"]


def project(repo: str, seed: int, n: int = 60) -> Project:
    """A project whose issues carry their label in their features, and whose base model
    predicts every label at random: a correction has something to learn."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = np.eye(3)[y] * 2 + rng.normal(scale=0.5, size=(n, 3))
    base = rng.normal(scale=0.1, size=(n, 3))
    return Project(
        repo=repo,
        labels=LABELS,
        y=y,
        base=base,
        grams={"all": x @ x.T, "embedding": x @ x.T},
        own_thresholds={label: 0.5 for label in LABELS},
        probabilities=np.exp(base) / np.exp(base).sum(1, keepdims=True),
    )


def test_curve_learns_from_the_labelled_issues():
    projects = {r: project(r, k) for k, r in enumerate(("a/one", "b/two", "c/three"))}
    rows = curve(projects, (0, 30), draws=2, target=0.9)
    # k = 0: one row per project (the base); k = 30: every variant for every draw
    assert len(rows) == 3 + 3 * 2 * len(VARIANTS)
    base = np.mean([r["macro_f1"] for r in rows if r["k"] == 0])
    adapted = np.mean([r["macro_f1"] for r in rows if r["variant"] == MAIN])
    assert adapted > base + 0.3
    main = [r for r in rows if r["variant"] == MAIN]
    assert all(r["n_test"] == 30 for r in main)
    # the main variant is scored with every kind of thresholds; the others are not
    assert {"own_labelled", "unseen_labelled", "oof_labelled", "max_labelled"} <= set(main[0])
    assert "oof_labelled" not in [r for r in rows if r["variant"] == "prior"][0]
    table = summarise(rows)
    assert f"| {MAIN} | 30 |" in table and "| 30 | max |" in table


def test_cache_root_needs_one_run(tmp_path):
    with pytest.raises(SystemExit, match="expected one unseen"):
        cache_root(tmp_path)
    (tmp_path / "unseen-abc").mkdir()
    assert cache_root(tmp_path).name == "unseen-abc"


def test_threshold_rules_are_nested_and_cover_every_issue():
    projects = {r: project(r, k) for k, r in enumerate(("a/one", "b/two", "c/three"))}
    rows = threshold_rules(projects, targets=(0.5, 0.9))
    assert [(r["target"], r["rule"]) for r in rows] == [
        (0.5, "per label"),
        (0.5, "shared"),
        (0.9, "per label"),
        (0.9, "shared"),
    ]
    assert all(0.0 <= r["coverage"] <= 1.0 and set(r["per_repo"]) == set(projects) for r in rows)
