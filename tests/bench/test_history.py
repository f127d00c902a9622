"""The default branch's benchmark history in the store (SQLite and PostgreSQL), and its export."""

from __future__ import annotations

import json

import pytest

from bot.bench import history
from bot.errors import UsageError
from tests.bench.builders import default_branch_results, maintbot, write

REPO_NAME = "octo/widgets"


def test_record_then_export_oldest_first_with_seed_means(store):
    with store.session() as session:
        assert (
            history.record(
                session,
                default_branch_results("1" * 40, [0.97, 0.98]),
                repo=REPO_NAME,
                branch="main",
            )
            == 2
        )
        history.record(
            session,
            default_branch_results("2" * 40, [0.975, 0.977], loss=0.07),
            repo=REPO_NAME,
            branch="main",
        )
        history.record(
            session,
            default_branch_results("3" * 40, [0.5, 0.5]),
            repo=REPO_NAME,
            branch="experiment",
        )
    with store.session() as session:
        rows = history.export(session, repo=REPO_NAME, model="mnist_mlp", branch="main")
    assert [row["sha"] for row in rows] == ["1" * 40, "2" * 40]
    first = rows[0]["metrics"]
    assert first["test_accuracy"] == pytest.approx((0.97 + 0.98) / 2)
    assert first["test_accuracy_per_seed"] == [0.97, 0.98]
    assert first["seeds"] == [0, 1] and first["epochs"] == 5 and first["failures"] == 0
    assert rows[1]["metrics"]["test_loss"] == pytest.approx(0.07)
    assert rows[0]["environment"]["tensorflow"] == "2.21.0"
    assert history.chart_points(rows) == [
        ("1" * 40, pytest.approx(0.975)),
        ("2" * 40, pytest.approx(0.976)),
    ]


def test_quick_check_results_and_results_without_a_commit_stay_out(store):
    sliced = default_branch_results("1" * 40, [0.97, 0.98])
    sliced["settings"]["train_limit"] = 3000
    no_commit = default_branch_results("1" * 40, [0.97, 0.98])
    no_commit["git"]["sha"] = None
    with store.session() as session:
        with pytest.raises(UsageError, match="data slice"):
            history.record(session, sliced, repo=REPO_NAME, branch="main")
        with pytest.raises(UsageError, match="no commit sha"):
            history.record(session, no_commit, repo=REPO_NAME, branch="main")
        assert history.export(session, repo=REPO_NAME, model="mnist_mlp", branch=None) == []


def test_record_and_history_commands(tmp_path):
    database = {"MAINTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    results_file = write(tmp_path, "main.json", default_branch_results("4" * 40, [0.97, 0.99]))
    done = maintbot(
        "bench", "record", str(results_file), "--repo", REPO_NAME, "--branch", "main", env=database
    )
    assert done.returncode == 0, done.stderr
    assert "recorded 2 model(s) of 444444444444 on main" in done.stderr
    done = maintbot(
        "bench",
        "history",
        "--repo",
        REPO_NAME,
        "--model",
        "mnist_mlp",
        "--branch",
        "main",
        env=database,
    )
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert row["sha"] == "4" * 40 and row["metrics"]["test_accuracy"] == pytest.approx(0.98)
