"""Benchmark history comes back newest first, per repository, model and branch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store.bench import add_bench_result, bench_history

T0 = datetime(2024, 3, 1, tzinfo=UTC)
ENVIRONMENT = {"python": "3.11.9", "tensorflow": "2.21.0", "cpu": "x86_64"}


def _add(session, sha, *, hours, model="mnist_mlp", branch="main", repo="o/r", accuracy=0.9756):
    return add_bench_result(
        session,
        repo=repo,
        ref=f"refs/heads/{branch}",
        sha=sha,
        branch=branch,
        model_name=model,
        metrics={"accuracy": accuracy, "loss": 0.08, "train_seconds": 41.5},
        environment=ENVIRONMENT,
        created_at=T0 + timedelta(hours=hours),
    )


def test_history_is_newest_first_and_filtered(store):
    with store.session() as session:
        _add(session, "b" * 40, hours=2)
        _add(session, "a" * 40, hours=1)
        _add(session, "d" * 40, hours=4)
        _add(session, "c" * 40, hours=3)
        _add(session, "e" * 40, hours=9, model="fashion_cnn")
        _add(session, "f" * 40, hours=9, branch="dev")
        _add(session, "0" * 40, hours=9, repo="other/repo")
    with store.session() as session:
        main = [result.sha[0] for result in bench_history(session, "o/r", "mnist_mlp", "main")]
        any_branch = [result.sha[0] for result in bench_history(session, "o/r", "mnist_mlp")]
        latest_two = [r.sha[0] for r in bench_history(session, "o/r", "mnist_mlp", "main", 2)]
    assert main == ["d", "c", "b", "a"]
    assert any_branch == ["f", "d", "c", "b", "a"]
    assert latest_two == ["d", "c"]


def test_runs_at_the_same_instant_come_last_inserted_first(store):
    with store.session() as session:
        for sha in ("1", "2", "3"):
            _add(session, sha * 40, hours=0)
    with store.session() as session:
        order = [result.sha[0] for result in bench_history(session, "o/r", "mnist_mlp", "main")]
    assert order == ["3", "2", "1"]


def test_metrics_and_environment_round_trip(store):
    with store.session() as session:
        _add(session, "a" * 40, hours=0, accuracy=0.9761)
    with store.session() as session:
        (result,) = bench_history(session, "o/r", "mnist_mlp", "main")
    assert result.metrics == {"accuracy": 0.9761, "loss": 0.08, "train_seconds": 41.5}
    assert result.environment == ENVIRONMENT
    assert result.created_at == T0
    assert result.ref == "refs/heads/main"
