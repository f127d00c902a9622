"""Payload retention and file modes, on real SQLite and PostgreSQL stores and real files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.queue import DeliveryQueue
from bot.app.settings import AppSettings
from bot.errors import UsageError
from bot.store.database import Store
from bot.store.deliveries import get_delivery, mark_delivery, record_delivery
from bot.store.jobs import finish_job, jobs_for_delivery, start_job
from bot.store.retention import (
    DEFAULT_PAYLOAD_RETENTION_DAYS,
    PruneResult,
    RetentionPolicy,
    app_files,
    is_pruned,
    make_private,
    prune_payloads,
    retention_cutoff,
    secure_app_files,
    slim_job_summary,
    sqlite_files,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MARKER = "private-issue-text-7f3a9c"


def test_the_policy_defaults_to_14_days_and_reads_the_environment():
    assert RetentionPolicy.from_env({}).payload_days == DEFAULT_PAYLOAD_RETENTION_DAYS == 14
    env = "MAINTBOT_PAYLOAD_RETENTION_DAYS"
    assert RetentionPolicy.from_env({env: " 30\n"}).payload_days == 30
    assert RetentionPolicy.from_env({env: "0"}).payload_days == 0
    assert RetentionPolicy.from_env({env: "never"}).payload_days is None
    with pytest.raises(UsageError, match="not a number of days"):
        RetentionPolicy.from_env({env: "-3"})


def test_the_cutoff_is_n_days_back_or_none_when_payloads_are_kept():
    assert retention_cutoff(RetentionPolicy(14), NOW) == NOW - timedelta(days=14)
    assert retention_cutoff(RetentionPolicy(0), NOW) == NOW
    assert retention_cutoff(RetentionPolicy(None), NOW) is None


def test_a_slim_job_summary_keeps_outcomes_and_drops_what_came_from_the_payload():
    summary = {
        "event": "issues.opened",
        "ok": False,
        "handlers": [
            {
                "handler": "triage",
                "ok": True,
                "status": "done",
                "seconds": 0.2,
                "reason": None,
                "result": {"comment": MARKER},
                "error": None,
            },
            {
                "handler": "welcome",
                "ok": False,
                "status": "failed",
                "seconds": 0.1,
                "reason": None,
                "result": None,
                "error": f"404 on {MARKER}",
            },
        ],  # fmt: skip
        "planned": [f"comment: {MARKER}"],
    }
    slim = slim_job_summary(summary)
    assert slim == {
        "event": "issues.opened",
        "ok": False,
        "handlers": [
            {"handler": "triage", "ok": True, "status": "done", "seconds": 0.2},
            {"handler": "welcome", "ok": False, "status": "failed", "seconds": 0.1},
        ],
    }
    assert slim_job_summary(slim) == slim
    assert slim_job_summary(None) is None
    assert is_pruned({}) and not is_pruned({"zen": "z"}) and not is_pruned(None)


def payload(n: int) -> dict:
    return {
        "action": "opened",
        "issue": {"number": n, "title": MARKER, "body": MARKER * 400},  # spills to overflow pages
        "sender": {"login": f"{MARKER}-login"},
    }


def seed(store: Store) -> None:
    """d-old-done/failed finished 20 days ago; d-new 2 days ago; d-stuck never finished."""
    with store.session() as session:
        for delivery_id, status, finished_days_ago in (
            ("d-old-done", "done", 20),
            ("d-old-failed", "failed", 15),
            ("d-new", "done", 2),
            ("d-stuck", "queued", None),
        ):
            received = NOW - timedelta(days=21)
            record_delivery(session, delivery_id, "issues", payload(1), received_at=received)
            if finished_days_ago is None:
                mark_delivery(session, delivery_id, status)
                continue
            finished = NOW - timedelta(days=finished_days_ago)
            mark_delivery(session, delivery_id, status, at=finished)
            job = start_job(session, "webhook:issues.opened", delivery_id=delivery_id, at=received)
            finish_job(
                session,
                job,
                summary={"event": "issues.opened", "ok": True, "planned": [MARKER],
                         "handlers": [{"handler": "triage", "ok": True, "status": "done",
                                       "seconds": 1.0, "result": MARKER}]},
                at=finished,
            )  # fmt: skip


def test_pruning_empties_old_finished_payloads_and_keeps_the_rows(store):
    seed(store)
    result = prune_payloads(store, RetentionPolicy(14), now=NOW, batch_size=1)
    assert result == PruneResult(payloads=2, job_summaries=2)
    with store.session() as session:
        for delivery_id in ("d-old-done", "d-old-failed"):
            delivery = get_delivery(session, delivery_id)
            assert delivery.payload == {} and is_pruned(delivery.payload)
            assert delivery.event == "issues" and delivery.action == "opened"
            (job,) = jobs_for_delivery(session, delivery_id)
            assert MARKER not in str(job.summary)
            assert job.summary["handlers"][0]["handler"] == "triage"
        for delivery_id in ("d-new", "d-stuck"):
            assert get_delivery(session, delivery_id).payload == payload(1)
        (recent_job,) = jobs_for_delivery(session, "d-new")
        assert MARKER in str(recent_job.summary)
        # the row still dedupes a late redelivery of the pruned delivery
        assert record_delivery(session, "d-old-done", "issues", payload(1)) is False
    assert prune_payloads(store, RetentionPolicy(14), now=NOW) == PruneResult()
    assert prune_payloads(store, RetentionPolicy(None), now=NOW) == PruneResult()


def test_on_sqlite_the_pruned_text_leaves_the_files(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store.open(f"sqlite:///{path}") as store:
        seed(store)
        with store.session() as session:  # only the old deliveries will be pruned
            for delivery_id in ("d-new", "d-stuck"):
                session.delete(get_delivery(session, delivery_id))
                for job in jobs_for_delivery(session, delivery_id):
                    session.delete(job)
        assert prune_payloads(store, RetentionPolicy(0), now=NOW).payloads == 2
    written = b"".join(p.read_bytes() for p in sqlite_files(path) if p.exists())
    assert MARKER.encode() not in written


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual default mask, restored afterwards (the code under test may change it)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}


def use_store_and_queue(store_path: Path, queue_path: Path) -> None:
    with Store.open(f"sqlite:///{store_path}") as store, store.session() as session:
        record_delivery(session, "d-1", "issues", payload(1))
        # keep the store open while its -wal and -shm exist, and look at them then
        assert store_path.with_name(store_path.name + "-wal").exists()
    queue = DeliveryQueue.from_settings(
        AppSettings(queue_file=queue_path, retries=0, retry_delay_s=0)
    )
    queue.enqueue("d-1")
    assert queue.huey.pending_count() == 1


def test_made_private_first_the_databases_and_their_side_files_are_0600(tmp_path, umask_022):
    folder = tmp_path / "data"
    store_path, queue_path = folder / "maintbot.sqlite3", folder / "queue.sqlite3"
    assert make_private(store_path) and make_private(queue_path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    use_store_and_queue(store_path, queue_path)
    queue_wal = queue_path.with_name(queue_path.name + "-wal")
    assert queue_wal.exists()  # SQLite created it while the umask said 0644
    assert set(modes(folder).values()) == {0o600}, modes(folder)


def test_without_it_they_would_be_0644(tmp_path, umask_022):
    """The control: the same use with nothing made private leaves world-readable files."""
    use_store_and_queue(tmp_path / "maintbot.sqlite3", tmp_path / "queue.sqlite3")
    assert 0o644 in set(modes(tmp_path).values())


def test_files_an_older_version_left_readable_are_narrowed(tmp_path, umask_022):
    old = tmp_path / "maintbot.sqlite3"
    old.write_bytes(b"")
    os.chmod(old, 0o644)
    assert make_private(old)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert not make_private(old)  # already private: nothing to do
    assert not make_private(tmp_path / "absent-wal", create=False)
    assert not (tmp_path / "absent-wal").exists()


def test_secure_app_files_sets_a_private_umask_and_covers_store_and_queue(tmp_path, umask_022):
    settings = AppSettings(
        database_url=f"sqlite:///{tmp_path / 'store' / 'maintbot.sqlite3'}",
        queue_file=tmp_path / "queue" / "queue.sqlite3",
    )
    (tmp_path / "queue").mkdir()
    (tmp_path / "queue" / "queue.sqlite3-wal").write_bytes(b"")  # left by an older version
    os.chmod(tmp_path / "queue" / "queue.sqlite3-wal", 0o644)
    assert app_files(settings, {}) == [
        tmp_path / "store" / "maintbot.sqlite3",
        tmp_path / "queue" / "queue.sqlite3",
    ]
    changed = secure_app_files(settings, {})
    assert set(changed) == {
        tmp_path / "store" / "maintbot.sqlite3",
        tmp_path / "queue" / "queue.sqlite3",
        tmp_path / "queue" / "queue.sqlite3-wal",
    }
    assert os.umask(0o077) == 0o077  # what secure_app_files left in force
    (tmp_path / "dump.json").write_text("{}")  # any later file of the process: private too
    assert modes(tmp_path) == {"dump.json": 0o600}
    assert set(modes(tmp_path / "queue").values()) == {0o600}
    assert set(modes(tmp_path / "store").values()) == {0o600}


def test_postgresql_and_redis_leave_no_database_file_to_guard(tmp_path):
    settings = AppSettings(
        database_url="postgresql://maintbot@db/maintbot",
        redis_url="redis://queue:6379/0",
        queue_file=tmp_path / "queue.sqlite3",
    )
    assert app_files(settings, {}) == []
