"""Webhook deliveries are stored once per delivery id and move through their statuses."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import MaintbotError
from bot.store.deliveries import (
    claim_delivery,
    defer_claim,
    finish_claim,
    get_delivery,
    installation_hold,
    mark_delivery,
    pending_deliveries,
    record_delivery,
    release_expired_leases,
    renew_leases,
    stranded_deliveries,
    transition,
)
from bot.store.jobs import (
    fail_orphaned_jobs,
    finish_job,
    jobs_for_delivery,
    start_attempt_job,
    start_job,
)
from bot.store.models import DeliveryStatus, Job, JobStatus, utcnow

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _example(shared_dir, name):
    """A real webhook payload from octokit/webhooks (in ../shared)."""
    return json.loads((shared_dir / "github" / "webhooks" / name).read_text())


@pytest.fixture
def issue_opened(shared_dir):
    return _example(shared_dir, "issues/opened.json")


def test_same_delivery_twice_is_recorded_once(store, issue_opened):
    with store.session() as session:
        assert record_delivery(session, "guid-1", "issues", issue_opened) is True
    with store.session() as session:
        assert record_delivery(session, "guid-1", "issues", issue_opened) is False
        assert record_delivery(session, "guid-2", "issues", issue_opened) is True
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT delivery_id, COUNT(*) FROM webhook_deliveries GROUP BY delivery_id "
            "ORDER BY delivery_id"
        ).all()
    assert [tuple(row) for row in rows] == [("guid-1", 1), ("guid-2", 1)]


def test_payload_is_kept_whole_and_fields_come_from_it(store, issue_opened):
    with store.session() as session:
        record_delivery(session, "guid-1", "issues", issue_opened, received_at=T0)
    with store.session() as session:
        delivery = get_delivery(session, "guid-1")
    assert delivery is not None
    assert delivery.payload == issue_opened
    assert delivery.event == "issues"
    assert delivery.action == "opened"
    assert delivery.repo == "Codertocat/Hello-World"
    assert delivery.installation_id is None  # a repository webhook, not an App's
    assert delivery.status == DeliveryStatus.RECEIVED
    assert delivery.attempts == 0
    assert delivery.received_at == T0


def test_installation_id_comes_from_an_app_delivery(store, shared_dir):
    with store.session() as session:
        record_delivery(session, "g", "issues", _example(shared_dir, "issues/reopened.json"))
        delivery = get_delivery(session, "g")
    assert (delivery.action, delivery.installation_id) == ("reopened", 1)


def test_explicit_fields_override_the_payload(store):
    payload = {"action": "opened", "repository": {"full_name": "a/b"}}
    with store.session() as session:
        record_delivery(
            session, "g", "issues", payload, action="edited", repo="c/d", installation_id=2**40
        )
        delivery = get_delivery(session, "g")
    assert (delivery.action, delivery.repo, delivery.installation_id) == ("edited", "c/d", 2**40)


def test_marking_counts_attempts_and_keeps_the_last_error(store):
    with store.session() as session:
        record_delivery(session, "g", "ping", {"zen": "Keep it logically awesome."})
    with store.session() as session:
        mark_delivery(session, "g", DeliveryStatus.QUEUED)
    with store.session() as session:
        mark_delivery(session, "g", "failed", error="GitHub answered 502", at=T0)
    with store.session() as session:
        delivery = get_delivery(session, "g")
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
        assert (delivery.last_error, delivery.finished_at) == ("GitHub answered 502", T0)
        mark_delivery(session, "g", "done", at=T0 + timedelta(minutes=1))
    with store.session() as session:
        delivery = get_delivery(session, "g")
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DONE, 2)
    assert delivery.last_error is None
    assert delivery.finished_at == T0 + timedelta(minutes=1)


def test_marking_an_unknown_delivery_says_so(store):
    with pytest.raises(MaintbotError) as caught, store.session() as session:
        mark_delivery(session, "never-seen", "done")
    assert "never-seen" in caught.value.message
    assert caught.value.hint


def test_marking_with_an_unknown_status_is_refused(store):
    with store.session() as session:
        record_delivery(session, "g", "ping", {})
    with pytest.raises(ValueError), store.session() as session:
        mark_delivery(session, "g", "exploded")


def test_pending_are_unfinished_oldest_first(store):
    statuses = {
        "d-done": DeliveryStatus.DONE,
        "d-queued": DeliveryStatus.QUEUED,
        "d-failed": DeliveryStatus.FAILED,
        "d-received": None,
        "d-older-received": None,
    }
    received = {
        "d-done": T0,
        "d-queued": T0 + timedelta(seconds=3),
        "d-failed": T0 + timedelta(seconds=1),
        "d-received": T0 + timedelta(seconds=2),
        "d-older-received": T0 - timedelta(hours=1),
    }
    with store.session() as session:
        for delivery_id, status in statuses.items():
            record_delivery(session, delivery_id, "ping", {}, received_at=received[delivery_id])
            if status is not None:
                mark_delivery(session, delivery_id, status, error="boom")
    with store.session() as session:
        pending = [d.delivery_id for d in pending_deliveries(session)]
        with_retries = [d.delivery_id for d in pending_deliveries(session, retry_failed_below=2)]
        exhausted = [d.delivery_id for d in pending_deliveries(session, retry_failed_below=1)]
        first_two = [d.delivery_id for d in pending_deliveries(session, limit=2)]
    assert pending == ["d-older-received", "d-received", "d-queued"]
    assert with_retries == ["d-older-received", "d-failed", "d-received", "d-queued"]
    assert exhausted == pending
    assert first_two == ["d-older-received", "d-received"]


def test_jobs_are_linked_to_their_delivery(store):
    with store.session() as session:
        record_delivery(session, "g", "issues", {"action": "opened"})
        triage = start_job(session, "triage", repo="o/r", delivery_id="g", at=T0)
        duplicates = start_job(session, "duplicates", repo="o/r", delivery_id="g", at=T0)
        start_job(session, "report", repo="o/r")  # a command, not a delivery
    with store.session() as session:
        finish_job(session, triage, summary={"label": "bug"}, at=T0 + timedelta(seconds=2))
        finish_job(session, duplicates, error="model missing", at=T0 + timedelta(seconds=3))
    with store.session() as session:
        jobs = jobs_for_delivery(session, "g")
    assert [(job.kind, job.status) for job in jobs] == [
        ("triage", JobStatus.DONE),
        ("duplicates", JobStatus.FAILED),
    ]
    assert jobs[0].summary == {"label": "bug"}
    assert jobs[0].finished_at == T0 + timedelta(seconds=2)
    assert jobs[1].error == "model missing"


def test_payload_with_a_nul_character_is_kept(store):
    # Issue bodies can carry "\u0000" (pasted crash logs); PostgreSQL's jsonb would refuse it
    # and the delivery would be lost.
    payload = {"action": "opened", "issue": {"body": "core dump:\x00\x01 end", "number": 1}}
    with store.session() as session:
        assert record_delivery(session, "g", "issues", payload)
    with store.session() as session:
        assert get_delivery(session, "g").payload == payload


# ------------------------------------------------------------------------- claims (#26)


def _claim(store, delivery_id, owner, *, lease_s=60.0, now=T0):
    with store.session() as session:
        return claim_delivery(session, delivery_id, owner, lease_s=lease_s, now=now)


def _get(store, delivery_id):
    with store.session() as session:
        return get_delivery(session, delivery_id)


def test_one_claim_at_a_time_and_an_expired_lease_is_taken_over(store, issue_opened):
    with store.session() as session:
        record_delivery(session, "g", "issues", issue_opened)

    first = _claim(store, "g", "w1", lease_s=30)
    assert first is not None and (first.attempt, first.lost_leases) == (1, 0)
    assert first.payload == issue_opened and first.event == "issues"
    assert _claim(store, "g", "w2", now=T0 + timedelta(seconds=29)) is None  # still held

    taken = _claim(store, "g", "w2", now=T0 + timedelta(seconds=31))  # w1 died: lease ran out
    assert taken is not None and (taken.attempt, taken.lost_leases) == (1, 1)
    with store.session() as session:  # the dead worker's late finish changes nothing
        assert finish_claim(session, first, DeliveryStatus.DONE) is False
        assert finish_claim(session, taken, DeliveryStatus.DONE, now=T0) is True
    done = _get(store, "g")
    assert (done.status, done.attempts, done.lease_owner) == (DeliveryStatus.DONE, 1, None)
    assert _claim(store, "g", "w3", now=T0 + timedelta(hours=1)) is None  # finished


def test_the_heartbeat_keeps_a_lease_alive(store, issue_opened):
    with store.session() as session:
        record_delivery(session, "g", "issues", issue_opened)
    _claim(store, "g", "w1", lease_s=10)
    with store.session() as session:
        assert renew_leases(session, {"w1", "gone"}, lease_s=10, now=T0 + timedelta(seconds=8))
    assert _claim(store, "g", "w2", now=T0 + timedelta(seconds=12)) is None
    assert _claim(store, "g", "w2", now=T0 + timedelta(seconds=19)) is not None


def test_racing_claims_have_exactly_one_winner(store, issue_opened):
    """Eight threads, one delivery, each try at once: one claim, on both backends."""
    for n in range(10):
        with store.session() as session:
            record_delivery(session, f"race-{n}", "issues", issue_opened)
    barrier = threading.Barrier(8)

    def contend(delivery_id: str, owner: str) -> bool:
        barrier.wait()
        with store.session() as session:
            return claim_delivery(session, delivery_id, owner, lease_s=60) is not None

    with ThreadPoolExecutor(8) as pool:
        for n in range(10):
            futures = [pool.submit(contend, f"race-{n}", f"w{i}") for i in range(8)]
            assert sum(f.result() for f in futures) == 1


def test_retry_and_wait_for_a_rate_limit(store, issue_opened):
    payload = {**issue_opened, "installation": {"id": 7}}
    for delivery_id in ("a", "b"):
        with store.session() as session:
            record_delivery(session, delivery_id, "issues", payload)
    claim = _claim(store, "a", "w1")
    with store.session() as session:
        assert finish_claim(session, claim, DeliveryStatus.FAILED, error="502", retry=True)
    retried = _get(store, "a")
    assert (retried.status, retried.attempts, retried.last_error) == (
        DeliveryStatus.QUEUED,
        1,
        "502",
    )

    reset = T0 + timedelta(minutes=30)
    claim = _claim(store, "a", "w1")
    assert claim.attempt == 2
    with store.session() as session:
        assert defer_claim(session, claim, reset, reason="rate limit")
    waiting = _get(store, "a")
    assert (waiting.attempts, waiting.deferrals, waiting.not_before) == (1, 1, reset)
    with store.session() as session:  # the installation waits; another does not
        assert installation_hold(session, 7, now=T0) == reset
        assert installation_hold(session, 8, now=T0) is None
        assert installation_hold(session, 7, now=reset) is None
    claim = _claim(store, "a", "w1", now=reset)
    with store.session() as session:
        finish_claim(session, claim, DeliveryStatus.DONE, now=reset)
    assert _get(store, "a").not_before is None
    with store.session() as session:
        assert installation_hold(session, 7, now=T0) is None


def test_only_one_copy_moves_a_delivery_into_the_queue(store, issue_opened):
    with store.session() as session:
        record_delivery(session, "g", "issues", issue_opened)
    received = (DeliveryStatus.RECEIVED,)
    with store.session() as session:
        assert transition(session, "g", DeliveryStatus.QUEUED, from_statuses=received)
        assert not transition(session, "g", DeliveryStatus.QUEUED, from_statuses=received)


def test_recovery_frees_expired_claims_once_and_fails_their_running_jobs(store, issue_opened):
    for delivery_id in ("dead", "alive", "waiting"):
        with store.session() as session:
            record_delivery(session, delivery_id, "issues", issue_opened, received_at=T0)
            transition(
                session,
                delivery_id,
                DeliveryStatus.QUEUED,
                from_statuses=(DeliveryStatus.RECEIVED,),
            )
    now = utcnow()
    dead = _claim(store, "dead", "w-dead", lease_s=1, now=now - timedelta(seconds=5))
    alive = _claim(store, "alive", "w-alive", lease_s=60, now=now)
    with store.session() as session:
        for claim in (dead, alive):
            start_attempt_job(
                session,
                "webhook:issues.opened",
                delivery_id=claim.delivery_id,
                attempt=claim.attempt,
            )
    with store.session() as session:
        assert release_expired_leases(session, now=now) == ["dead"]
        assert release_expired_leases(session, now=now) == []  # once
        assert fail_orphaned_jobs(session, now=now) == 1
        stranded = {s.delivery_id for s in stranded_deliveries(session, now=now)}
    assert stranded == {"dead", "waiting"}
    with store.session() as session:
        statuses = {j.delivery_id: j.status for j in session.query(Job)}
    assert statuses == {"dead": JobStatus.FAILED, "alive": JobStatus.RUNNING}

    rerun = _claim(store, "dead", "w-new", now=now)  # the rerun takes the same job row back
    assert (rerun.attempt, rerun.lost_leases) == (1, 1)
    with store.session() as session:
        job = start_attempt_job(
            session, "webhook:issues.opened", delivery_id="dead", attempt=rerun.attempt
        )
        finish_job(session, job)
    with store.session() as session:
        jobs = jobs_for_delivery(session, "dead")
    assert [(j.attempt, j.status) for j in jobs] == [(1, JobStatus.DONE)]
