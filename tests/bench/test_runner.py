"""The runner, with tiny stand-in model modules (no TensorFlow, so fast).

A timeout stops the run, a crash keeps its reason, the code must come from the tree under
test, and the schedule interleaves the sides.
"""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from bot.bench.runner import RunFailed, RunSettings, Side, run_all, run_model, schedule

FAKE_METRICS = """
import argparse, json, sys
from pathlib import Path
parser = argparse.ArgumentParser()
for name in ("--seed", "--epochs", "--dataset", "--out", "--train-limit", "--test-limit"):
    parser.add_argument(name)
args = parser.parse_args()
print("[fake seed %s] epoch 1/1: loss 0.1, accuracy 0.9 (0.0 s)" % args.seed, file=sys.stderr)
CODE_PATH = str(Path(__file__).resolve())
metrics = {
    "metrics_format": 1, "model": Path(__file__).stem, "dataset": "mnist",
    "seed": int(args.seed), "epochs": 1, "batch_size": 32, "train_examples": 10,
    "test_examples": 10, "data_source": "fake", "test_accuracy": 0.9, "test_loss": 0.1,
    "history": [{"epoch": 1, "loss": 0.1, "accuracy": 0.9, "seconds": 0.01}],
    "train_seconds": 0.01, "total_seconds": 0.02, "parameters": 10, "peak_rss_bytes": 1000,
    "environment": {"python": "3", "tensorflow": "none", "cpu_model": "x", "cpu_count": 1,
                    "threads": {}},
    "code_path": CODE_PATH,
}
Path(args.out).write_text(json.dumps(metrics))
"""


def tree(tmp_path, name):
    root = tmp_path / name
    (root / "reference_models").mkdir(parents=True)
    (root / "reference_models" / "__init__.py").write_text("")
    return root


def add_model(root, model, body):
    (root / "reference_models" / f"{model}.py").write_text(textwrap.dedent(body))


SETTINGS = RunSettings(epochs=1, timeout_s=60)


def test_a_run_returns_a_results_run_with_the_harness_wall_time(tmp_path):
    root = tree(tmp_path, "a")
    add_model(root, "fake", FAKE_METRICS)
    echoed = []
    run = run_model(root, "fake", 3, SETTINGS, echo=echoed.append)
    assert run["seed"] == 3 and run["test_accuracy"] == 0.9 and run["wall_seconds"] > 0
    assert "code_path" not in run
    assert echoed == ["[fake seed 3] epoch 1/1: loss 0.1, accuracy 0.9 (0.0 s)"]


def test_a_hung_run_is_stopped_at_the_timeout(tmp_path):
    root = tree(tmp_path, "a")
    add_model(root, "hung", "import time\ntime.sleep(120)\n")
    started = time.monotonic()
    with pytest.raises(RunFailed, match="did not finish within"):
        run_model(root, "hung", 0, RunSettings(epochs=1, timeout_s=1.5))
    assert time.monotonic() - started < 60  # stopped, not waited for


def test_a_crash_keeps_the_error_as_its_reason(tmp_path):
    root = tree(tmp_path, "a")
    add_model(root, "crash", "print('working...')\nraise ValueError('learning rate too high')\n")
    with pytest.raises(RunFailed) as caught:
        run_model(root, "crash", 0, SETTINGS)
    first_line = caught.value.reason.splitlines()[0]
    assert first_line == ("crash seed 0 exited with code 1: ValueError: learning rate too high")


def test_model_code_from_outside_the_tree_is_refused(tmp_path):
    root = tree(tmp_path, "a")
    elsewhere = tmp_path / "elsewhere.py"
    add_model(
        root,
        "shadow",
        FAKE_METRICS.replace(
            "CODE_PATH = str(Path(__file__).resolve())", f"CODE_PATH = {str(elsewhere)!r}"
        ),
    )
    with pytest.raises(RunFailed, match="an installed copy shadows it"):
        run_model(root, "shadow", 0, SETTINGS)


def test_unreadable_metrics_are_a_failed_run(tmp_path):
    root = tree(tmp_path, "a")
    add_model(root, "silent", "import sys\n")
    with pytest.raises(RunFailed, match="wrote no readable metrics"):
        run_model(root, "silent", 0, SETTINGS)
    with pytest.raises(RunFailed, match="has no reference_models/absent.py"):
        run_model(root, "absent", 0, SETTINGS)


def test_the_sides_alternate_seed_by_seed():
    a, b = Side("base", None), Side("head", None)
    order = [
        (side.label, model, seed) for side, model, seed in schedule([a, b], ["m1", "m2"], [0, 1])
    ]
    assert order == [
        ("base", "m1", 0),
        ("head", "m1", 0),
        ("base", "m2", 0),
        ("head", "m2", 0),
        ("base", "m1", 1),
        ("head", "m1", 1),
        ("base", "m2", 1),
        ("head", "m2", 1),
    ]


def test_run_all_keeps_failures_and_goes_on(tmp_path):
    base, head = tree(tmp_path, "base"), tree(tmp_path, "head")
    add_model(base, "fake", FAKE_METRICS)
    add_model(head, "fake", "raise SystemExit(3)\n")
    collected = run_all(
        [Side("base", base), Side("head", head)], ["fake"], [0, 1], SETTINGS, progress=None
    )
    assert [r["seed"] for r in collected["base"].runs] == [0, 1]
    assert [f["seed"] for f in collected["head"].failures] == [0, 1]
    assert "exited with code 3" in collected["head"].failures[0]["reason"]
    json.dumps(collected["head"].failures)  # plain data, ready for the results file


def add_own_model(root, module, body=FAKE_METRICS, *, reports=None):
    """A repository's own model at its module path (``lab.models.tiny``), outside
    reference_models/, reporting ``reports`` as its name (default: the module path)."""
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    name = reports or module
    path.write_text(textwrap.dedent(body).replace("Path(__file__).stem", repr(name)))
    return path


def test_a_repositorys_own_model_runs_by_its_module_path(tmp_path):
    root = tmp_path / "project"  # no reference_models/ at all
    add_own_model(root, "lab.models.tiny")
    run = run_model(root, "lab.models.tiny", 1, SETTINGS)
    assert (run["model"], run["seed"], run["test_accuracy"]) == ("lab.models.tiny", 1, 0.9)


def test_a_model_that_is_a_package_runs_its_main(tmp_path):
    root = tmp_path / "project"
    main = add_own_model(root, "lab.tiny.__main__", reports="lab.tiny")
    (main.parent / "__init__.py").write_text("")
    assert run_model(root, "lab.tiny", 0, SETTINGS)["model"] == "lab.tiny"


def test_an_own_model_must_report_the_name_it_is_listed_under(tmp_path):
    root = tmp_path / "project"
    add_own_model(root, "lab.tiny", reports="tiny")
    with pytest.raises(RunFailed) as caught:
        run_model(root, "lab.tiny", 0, SETTINGS)
    assert caught.value.reason == (
        "lab.tiny seed 0 reported model 'tiny' seed 0; a model reports the name it is listed "
        "under in bench.models and the seed it was given"
    )


def test_an_own_model_imported_from_elsewhere_is_refused(tmp_path):
    root = tmp_path / "project"
    body = FAKE_METRICS.replace(
        "CODE_PATH = str(Path(__file__).resolve())", f"CODE_PATH = {str(tmp_path / 'x.py')!r}"
    )
    add_own_model(root, "lab.tiny", body)
    with pytest.raises(RunFailed, match="an installed copy shadows it"):
        run_model(root, "lab.tiny", 0, SETTINGS)
    with pytest.raises(RunFailed, match="has no lab/absent.py"):
        run_model(root, "lab.absent", 0, SETTINGS)


def test_a_stop_rule_ends_a_models_seeds_and_the_others_run_on(tmp_path):
    base, head = tree(tmp_path, "base"), tree(tmp_path, "head")
    for root in (base, head):
        add_model(root, "fake", FAKE_METRICS)
        add_model(root, "other", FAKE_METRICS)
    asked = []

    def stop(model, collected, remaining):
        asked.append((model, len(collected["base"].runs), remaining))
        return "settled" if model == "fake" else None

    collected = run_all(
        [Side("base", base), Side("head", head)],
        ["fake", "other"],
        [0, 1, 2],
        SETTINGS,
        stop=stop,
    )
    for label in ("base", "head"):
        seen = [(r["model"], r["seed"]) for r in collected[label].runs]
        assert seen == [("fake", 0), ("other", 0), ("other", 1), ("other", 2)]
        assert collected[label].stopped == {"fake": "settled"}
    # asked after each seed but the last, and only about models still running
    assert asked == [("fake", 2, 2), ("other", 2, 2), ("other", 3, 1)]
