"""Reusing the base: the pure decision with plain values, and bench pr against a git data
branch in a real repository (a tiny stand-in model, no TensorFlow)."""

from __future__ import annotations

import io
import textwrap

import pytest

from bot.bench.baseline import (
    environment,
    fingerprint,
    model_hash,
    new_record,
    reusable,
    tree_entries,
)
from bot.bench.compare import Thresholds
from bot.bench.databranch import DataBranch
from bot.bench.history import export_records
from bot.bench.pr import bench_pr, bench_tree
from bot.bench.runner import RunSettings
from bot.config.schema import BenchPaths
from bot.errors import UsageError
from tests.bench.builders import BASE_SHA, git, make_results, make_run

SETTINGS = {
    "epochs": 5,
    "dataset": "mnist",
    "train_limit": None,
    "test_limit": None,
    "seeds": [0, 1],
}


def record(runs=None, *, fp="f" * 16, hashes=None, failures=()):
    doc = make_results(runs or [make_run(seed=0), make_run(seed=1)], failures=failures)
    rec = new_record(
        doc, branch="main", env={"python": "3"}, model_hashes=hashes or {"mnist_mlp": "h1"}
    )
    rec["fingerprint"] = fp
    return rec


def decide(rec, **changes):
    args = dict(
        base_sha=BASE_SHA,
        fingerprint_now="f" * 16,
        model_hashes={"mnist_mlp": "h1"},
        settings=SETTINGS,
    )
    args.update(changes)
    return reusable(rec, **args)


def test_a_matching_record_is_reused_and_the_comment_says_so():
    reuse = decide(record())
    assert reuse.models == ("mnist_mlp",)
    assert [r["seed"] for r in reuse.runs()] == [0, 1]
    assert reuse.line().startswith(
        f"base reused: the runs of mnist_mlp recorded for {BASE_SHA[:12]}"
    )


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"base_sha": "c" * 40}, "another commit"),
        ({"fingerprint_now": "e" * 16}, "environment differs"),
        ({"model_hashes": {"mnist_mlp": "h2"}}, "files"),
        ({"settings": {**SETTINGS, "epochs": 1}}, "another epochs"),
        ({"settings": {**SETTINGS, "seeds": [0, 1, 2]}}, "lacks some of its seeds"),
    ],
)
def test_anything_that_differs_trains_the_base(changes, why):
    reuse = decide(record(), **changes)
    assert reuse.models == () and reuse.line() is None
    assert why in reuse.reasons["mnist_mlp"]


def test_no_record_trains_the_base():
    assert decide(None).reasons == {"mnist_mlp": "no record of the base commit"}


def test_a_model_whose_base_failed_is_trained_again():
    rec = record(
        failures=[{"model": "mnist_mlp", "seed": 1, "reason": "boom"}], runs=[make_run(seed=0)]
    )
    assert decide(rec).models == ()


def test_the_model_hash_follows_its_files_only():
    tree = [("lab/tiny.py", "1"), ("README.md", "2"), ("pyproject.toml", "3")]
    shared = ("pyproject.toml",)
    first = model_hash(tree, "lab.tiny", shared=shared)
    assert model_hash([*tree[:1], ("README.md", "9"), tree[2]], "lab.tiny", shared=shared) == first
    assert model_hash([("lab/tiny.py", "5"), *tree[1:]], "lab.tiny", shared=shared) != first
    assert model_hash([*tree[:2], ("pyproject.toml", "7")], "lab.tiny", shared=shared) != first


def test_the_fingerprint_is_stable_and_sees_a_package_version():
    env = environment()
    assert fingerprint(env) == fingerprint(dict(env))
    assert fingerprint({**env, "packages": {"numpy": "0.0"}}) != fingerprint(env)


TINY = """
import argparse, json
from pathlib import Path
parser = argparse.ArgumentParser()
for name in ("--seed", "--epochs", "--dataset", "--out", "--train-limit", "--test-limit"):
    parser.add_argument(name)
args = parser.parse_args()
ACCURACY = 0.9
seed = int(args.seed)
metrics = {
    "metrics_format": 1, "model": "lab.tiny", "dataset": "mnist", "seed": seed, "epochs": 1,
    "batch_size": 32, "train_examples": 10, "test_examples": 10, "data_source": "fake",
    "test_accuracy": ACCURACY + seed / 1000, "test_loss": 0.1 + seed / 1000,
    "history": [{"epoch": 1, "loss": 0.1, "accuracy": 0.9, "seconds": 0.01}],
    "train_seconds": 1.0, "total_seconds": 1.0, "parameters": 10, "peak_rss_bytes": 1000,
    "environment": {"python": "3", "tensorflow": "none", "cpu_model": "x", "cpu_count": 1,
                    "threads": {}},
    "code_path": str(Path(__file__).resolve()),
}
Path(args.out).write_text(json.dumps(metrics))
"""


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    (root / "lab").mkdir(parents=True)
    (root / "lab" / "__init__.py").write_text("")
    (root / "lab" / "tiny.py").write_text(textwrap.dedent(TINY))
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "test")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tiny model")
    return root


RUN = RunSettings(epochs=1, timeout_s=60)


def record_main(root, data):
    """What the default branch's job does: bench run, then bench record --data-branch."""
    doc = bench_tree(root, label="main", models=["lab.tiny"], seeds=[0, 1], settings=RUN)
    tree = tree_entries(root, doc["git"]["sha"])
    hashes = {"lab.tiny": model_hash(tree, "lab.tiny", shared=BenchPaths().shared)}
    return data.write(new_record(doc, branch="main", env=environment(), model_hashes=hashes))


def run_pr(root, data):
    progress = io.StringIO()
    outcome = bench_pr(
        root,
        base_ref="main",
        head_ref=None,
        models=["lab.tiny"],
        seeds=[0, 1],
        settings=RUN,
        thresholds=Thresholds(),
        paths=BenchPaths(),
        base_records=data,
        progress=progress,
    )
    return outcome, progress.getvalue()


def test_bench_pr_reuses_a_recorded_base_and_trains_only_the_head(project):
    data = DataBranch(project)
    path = record_main(project, data)
    main = git(project, "rev-parse", "main").strip()
    assert path == f"records/{main}/{fingerprint(environment())}.json"
    assert git(project, "status", "--porcelain") == ""  # the working tree is untouched
    tiny = project / "lab" / "tiny.py"
    tiny.write_text(tiny.read_text().replace("ACCURACY = 0.9", "ACCURACY = 0.5"))
    outcome, progress = run_pr(project, data)
    assert outcome.reuse is not None and outcome.reuse.models == ("lab.tiny",)
    assert " base]" not in progress and progress.count(" head]") >= 2
    assert [r["test_accuracy"] for r in outcome.base["runs"]] == [0.9, 0.901]
    assert [r["test_accuracy"] for r in outcome.head["runs"]] == [0.5, 0.501]
    assert outcome.comparison.status.value == "regression"


def test_a_base_whose_files_changed_since_the_record_is_trained(project):
    data = DataBranch(project)
    record_main(project, data)
    (project / "lab" / "tiny.py").write_text((project / "lab" / "tiny.py").read_text() + "# x\n")
    git(project, "commit", "-q", "-am", "touch the model on main")
    (project / "lab" / "tiny.py").write_text((project / "lab" / "tiny.py").read_text() + "# y\n")
    outcome, progress = run_pr(project, data)
    assert outcome.reuse is None
    assert "no record of the base commit" in progress and " base]" in progress


def test_the_data_branch_travels_through_a_remote_and_feeds_bench_history(project, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(project, "remote", "add", "origin", str(remote))
    record_main(project, DataBranch(project, remote="origin"))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    records = list(DataBranch(clone, remote="origin").records())
    assert len(records) == 1
    rows = export_records(records, repo="o/r", model="lab.tiny", branch="main")
    assert rows[0]["sha"] == git(project, "rev-parse", "main").strip()
    assert rows[0]["metrics"]["test_accuracy"] == pytest.approx(0.9005)


def test_a_broken_record_is_a_clear_error(project):
    data = DataBranch(project)
    rec = new_record(make_results([make_run()]), branch="main", env={}, model_hashes={})
    rec["results"]["git"]["sha"] = BASE_SHA
    data.write(rec)
    with pytest.raises(UsageError, match="not a maintbot benchmark record"):
        data._parse('{"schema": "other"}', "records/x.json")
    assert data.read(BASE_SHA, rec["fingerprint"])["results"]["git"]["sha"] == BASE_SHA
