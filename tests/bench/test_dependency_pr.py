"""A dependency-bump PR: each side runs in its own environment, the comment names the bump.

A throw-away git repository whose ``requirements.txt`` pins ``tabulate`` (pure Python, two
versions on the local pip mirror, not installed in the dev environment): 0.8.10 on ``main``,
0.10.0 on ``bump``. The real ``maintbot bench pr`` runs on a 256-image slice for one epoch.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.bench import results
from tests.bench.builders import git, maintbot, reference_project

pytestmark = pytest.mark.slow
QUICK = ["--models", "mnist_mlp", "--seeds", "1", "--epochs", "1"]
QUICK += ["--train-limit", "256", "--test-limit", "256"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-deps") / "project"
    reference_project(root, {"requirements.txt": "tabulate==0.8.10\n"})
    git(root, "checkout", "-q", "-b", "bump")
    (root / "requirements.txt").write_text("tabulate==0.10.0\n")
    git(root, "commit", "-q", "-am", "Bump tabulate from 0.8.10 to 0.10.0")
    git(root, "checkout", "-q", "main")
    return root


def test_a_dependency_bump_runs_two_environments_and_names_both_versions(project, tmp_path):
    out = tmp_path / "artifact"
    done = maintbot(
        *("bench", "pr", "--base", "main", "--head", "bump", *QUICK, "--out", str(out)),
        cwd=project,
        timeout=900,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    assert "[deps] requirements.txt changed: one environment per side" in done.stderr
    assert "[deps] tabulate: 0.8.10 -> 0.10.0" in done.stderr
    base, head = results.load(out / "base.json"), results.load(out / "head.json")
    assert head["packages"] == {
        "files": ["requirements.txt"],
        "changes": [{"name": "tabulate", "base": "0.8.10", "head": "0.10.0"}],
        "change_count": 1,
    }
    assert "packages" not in base
    # Two environments ran the models: one interpreter per side, neither maintbot's own.
    [base_run], [head_run] = base["runs"], head["runs"]
    assert base_run["interpreter"] != head_run["interpreter"]
    assert sys.executable not in (base_run["interpreter"], head_run["interpreter"])
    comment = (out / "comment.md").read_text()
    assert "each side ran in its own environment" in comment
    assert "| tabulate | 0\\.8.10 | 0\\.10.0 | changed |" in comment
    # The dev environment was left alone: tabulate was installed into the sides only.
    check = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('tabulate'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "None"
    assert json.loads((out / "head.json").read_text())["packages"]["change_count"] == 1


def test_shared_env_keeps_one_environment(project, tmp_path):
    out = tmp_path / "artifact"
    done = maintbot(
        *("bench", "pr", "--base", "main", "--head", "bump", *QUICK, "--out", str(out)),
        "--shared-env",
        cwd=project,
        timeout=900,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    assert "[deps]" not in done.stderr
    base, head = results.load(out / "base.json"), results.load(out / "head.json")
    assert "packages" not in head
    assert base["runs"][0]["interpreter"] == head["runs"][0]["interpreter"]
