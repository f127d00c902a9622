"""Webhook deliveries are stored once per delivery id and move through their statuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import MaintbotError
from bot.store.deliveries import get_delivery, mark_delivery, pending_deliveries, record_delivery
from bot.store.jobs import finish_job, jobs_for_delivery, start_job
from bot.store.models import DeliveryStatus, JobStatus

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
