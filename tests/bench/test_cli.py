"""``maintbot bench compare`` and ``bench run`` as a user runs them: exit codes and output."""

from __future__ import annotations

import json

import pytest

from bot.bench import results
from tests.bench.builders import (
    ENVIRONMENT,
    HEAD_SHA,
    maintbot,
    make_results,
    make_run,
    side,
    write,
)


@pytest.fixture
def regression_files(tmp_path):
    base = write(tmp_path, "base.json", side([0.9760, 0.9740, 0.9756]))
    head = write(tmp_path, "head.json", side([0.9660, 0.9642, 0.9655], label="head", sha=HEAD_SHA))
    return base, head


def test_compare_exits_1_on_a_regression_and_names_it(regression_files):
    done = maintbot("bench", "compare", *map(str, regression_files))
    assert done.returncode == 1
    assert done.stdout.startswith("### ❌ maintbot benchmark: regression in mnist_mlp")
    assert "the head is worse than the base: mnist_mlp: test accuracy worse by 1.00" in done.stderr


def test_compare_exits_0_within_noise_and_speaks_json(tmp_path):
    base = write(tmp_path, "base.json", side([0.9760, 0.9740, 0.9756]))
    head = write(tmp_path, "head.json", side([0.9742, 0.9761, 0.9735], label="head", sha=HEAD_SHA))
    done = maintbot("bench", "compare", str(base), str(head), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "pass"


@pytest.mark.parametrize("where", ["before the command", "after it"])
def test_compare_speaks_json_with_the_global_flag_in_either_place(regression_files, where):
    command = ["bench", "compare", *map(str, regression_files)]
    done = maintbot(
        *(["--json", *command] if where == "before the command" else [*command, "--json"])
    )
    assert done.returncode == 1, done.stderr  # still the regression's exit code
    verdict = json.loads(done.stdout)
    assert verdict["status"] == "regression"
    assert verdict == json.loads(maintbot(*command, "--format", "json").stdout)


def test_compare_uses_the_configured_thresholds(regression_files, tmp_path):
    config = tmp_path / "maintbot.yml"
    config.write_text("version: 1\nbench:\n  thresholds:\n    accuracy_drop_points: 2.5\n")
    done = maintbot("--config", str(config), "bench", "compare", *map(str, regression_files))
    assert done.returncode == 0, done.stderr
    assert "test accuracy down ≥ 2.5 points" in done.stdout


def test_compare_reports_a_regression_without_failing_when_configured_so(
    regression_files, tmp_path
):
    config = tmp_path / "maintbot.yml"
    config.write_text("version: 1\nbench:\n  fail_on_regression: false\n")
    done = maintbot("--config", str(config), "bench", "compare", *map(str, regression_files))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("### ❌ maintbot benchmark: regression in mnist_mlp")


def test_pr_with_the_benchmark_switched_off_trains_nothing_and_says_so(tmp_path):
    config = tmp_path / "maintbot.yml"
    config.write_text("version: 1\nbench:\n  enabled: false\n")
    out = tmp_path / "artifact"
    done = maintbot(
        "--config", str(config), "bench", "pr", "--base", "main", "--out", str(out), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "skipped: bench.enabled is false" in done.stderr
    assert not out.exists()  # no artifact, no worktree, no run: tmp_path is not even a git repo


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"schema": "maintbot-bench-results", "schema_versi', "not valid JSON at line 1"),
        (json.dumps({**side([0.97]), "schema_version": 9}), "schema version 9"),
        (
            json.dumps(side([0.97])).replace('"AMD EPYC"', json.dumps("x" * 1_000_000)),
            "cpu_model is longer than 200 characters",
        ),
    ],
)
def test_compare_fails_cleanly_on_bad_files(tmp_path, content, message):
    base = write(tmp_path, "base.json", side([0.975, 0.976]))
    bad = write(tmp_path, "head.json", content)
    done = maintbot("bench", "compare", str(base), str(bad))
    assert done.returncode == 2
    assert message in done.stderr and "Hint:" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr) < 2000


def test_compare_renders_hostile_strings_inert(tmp_path):
    hostile = "@everyone <script>alert(1)</script> **bold** [x](https://evil.example)"
    env = dict(ENVIRONMENT, cpu_model=hostile[:200], tensorflow="<b>2.21</b>")
    head = make_results(
        [make_run(seed=s, environment=env) for s in range(2)],
        label="head",
        sha=HEAD_SHA,
        failures=[{"model": "mnist_mlp", "seed": 2, "reason": hostile}],
    )
    head["label"] = hostile
    base_path = write(tmp_path, "base.json", side([0.975, 0.976]))
    done = maintbot("bench", "compare", str(base_path), str(write(tmp_path, "head.json", head)))
    assert done.returncode == 1  # the failed seed is a regression
    for raw in ("@everyone", "<script>", "<b>", "](https://", "**bold**"):
        assert raw not in done.stdout


@pytest.mark.slow
def test_run_writes_a_valid_results_file_with_progress(tmp_path):
    out = tmp_path / "results.json"
    done = maintbot(
        "bench",
        "run",
        "--models",
        "mnist_mlp",
        "--seeds",
        "2",
        "--epochs",
        "1",
        "--train-limit",
        "1500",
        "--test-limit",
        "500",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    doc = results.load(out)
    assert [(r["model"], r["seed"]) for r in doc["runs"]] == [("mnist_mlp", 0), ("mnist_mlp", 1)]
    assert doc["settings"]["train_limit"] == 1500 and doc["failures"] == []
    run = doc["runs"][0]
    assert run["train_examples"] == 1500 and run["wall_seconds"] >= run["total_seconds"]
    assert "[1/2 run] mnist_mlp seed 0: training 1 epoch(s)" in done.stderr
    assert "[2/2 run] [mnist_mlp seed 1] epoch 1/1" in done.stderr


def test_run_rejects_unknown_models_before_training():
    done = maintbot("bench", "run", "--models", "mnist_mlp,resnet")
    assert done.returncode == 2
    assert "unknown model(s): resnet" in done.stderr


@pytest.mark.slow
def test_run_trains_a_model_of_the_repositorys_own_by_its_module_path(tmp_path):
    """examples/my_model.py, the documented example of the contract, runs through bench run."""
    out = tmp_path / "results.json"
    tiny = ["--seeds", "1", "--epochs", "1", "--train-limit", "256", "--test-limit", "256"]
    done = maintbot("bench", "run", "--models", "examples.my_model", *tiny, "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    [run] = results.load(out)["runs"]
    assert (run["model"], run["seed"], run["train_examples"]) == ("examples.my_model", 0, 256)
    assert run["parameters"] == 28 * 28 * 10 + 10  # Flatten → Dense(10): softmax regression
    assert "[1/1 run] [examples.my_model seed 0] epoch 1/1" in done.stderr


def test_run_names_a_module_that_is_not_there(tmp_path):
    done = maintbot("bench", "run", "--models", "examples.absent", "--tree", str(tmp_path))
    assert done.returncode == 2
    assert "has no examples/absent.py" in done.stderr


def test_model_names_are_checked_the_same_everywhere():
    done = maintbot("bench", "run", "--models", "examples/my_model.py")
    assert done.returncode == 2 and "is not a Python module path" in done.stderr
    done = maintbot("bench", "history", "--repo", "o/r", "--model", "mnist_mpl")
    assert done.returncode == 2 and "did you mean 'mnist_mlp'?" in done.stderr


def test_merge_writes_one_side_from_its_shards(tmp_path):
    first = write(tmp_path, "mlp-0.json", side([0.975, 0.976], label="head", sha=HEAD_SHA))
    cnn = make_results(
        [make_run("mnist_cnn", seed, 0.985) for seed in (0, 1)], label="head", sha=HEAD_SHA
    )
    second = write(tmp_path, "cnn-0.json", cnn)
    out = tmp_path / "merged" / "head.json"
    done = maintbot("bench", "merge", str(first), str(second), "--out", str(out))
    assert done.returncode == 0, done.stderr
    merged = results.load(out)
    assert merged["settings"]["models"] == ["mnist_mlp", "mnist_cnn"]
    assert len(merged["runs"]) == 4
    assert f"wrote {out}: 4 run(s), 0 failure(s) from 2 file(s)" in done.stderr


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (side([0.97], label="base"), "differ in their label"),
        (side([0.97, 0.98], label="head", sha=HEAD_SHA), "both hold model mnist_mlp seed 0"),
        ('{"schema": "maintbot-bench-results"', "not valid JSON"),
    ],
)
def test_merge_refuses_what_is_not_one_sides_shards(tmp_path, second, message):
    first = write(tmp_path, "a.json", side([0.975], label="head", sha=HEAD_SHA))
    other = write(tmp_path, "b.json", second)
    out = tmp_path / "head.json"
    done = maintbot("bench", "merge", str(first), str(other), "--out", str(out))
    assert done.returncode == 2
    assert message in done.stderr and "Hint:" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed-list", "0,1", "--seeds", "2"], "--seeds and --seed-list both choose the seeds"),
        (["--seed-list", "0,-1"], "is not a list of seeds"),
        (["--seed-list", "1,1"], "repeats a seed"),
    ],
)
def test_run_refuses_a_bad_seed_list_before_training(args, message):
    done = maintbot("bench", "run", "--models", "examples.my_model", *args)
    assert done.returncode == 2
    assert message in done.stderr and "Hint:" in done.stderr


@pytest.mark.slow
def test_two_seed_shards_merge_into_what_one_run_would_hold(tmp_path):
    tiny = ["--epochs", "1", "--train-limit", "256", "--test-limit", "256", "--label", "head"]
    files = []
    for seeds in ("1", "0"):
        out = tmp_path / f"shard-{seeds}.json"
        done = maintbot(
            "bench", "run", "--models", "examples.my_model", "--seed-list", seeds, *tiny,
            "--out", str(out),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert results.load(out)["settings"]["seeds"] == [int(seeds)]
        files.append(str(out))
    merged = tmp_path / "head.json"
    done = maintbot("bench", "merge", *files, "--out", str(merged))
    assert done.returncode == 0, done.stderr
    doc = results.load(merged)
    assert doc["settings"]["seeds"] == [0, 1] and doc["label"] == "head"
    assert [(r["model"], r["seed"]) for r in doc["runs"]] == [
        ("examples.my_model", 0),
        ("examples.my_model", 1),
    ]
