"""The audit trail of work done: one job per handler run or command, with how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.store.models import Job, JobStatus, WebhookDelivery, utcnow


def start_job(
    session: Session,
    kind: str,
    *,
    repo: str | None = None,
    delivery_id: str | None = None,
    at: datetime | None = None,
) -> Job:
    """Records that work of ``kind`` began (for a webhook delivery when ``delivery_id`` is set)."""
    job = Job(
        kind=kind,
        repo=repo,
        delivery_id=delivery_id,
        status=JobStatus.RUNNING,
        started_at=at or utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def start_attempt_job(
    session: Session,
    kind: str,
    *,
    delivery_id: str,
    attempt: int,
    repo: str | None = None,
    at: datetime | None = None,
) -> Job:
    """The job row of one attempt at a delivery, running: new, or the same row again.

    A rerun of an attempt that a dead worker left (its row ``running`` or marked lost)
    takes that row back instead of adding a second one; the unique (delivery, attempt)
    index keeps it so. Only the worker holding the delivery's claim calls this.
    """
    statement = select(Job).where(Job.delivery_id == delivery_id, Job.attempt == attempt)
    job = session.execute(statement).scalar()
    if job is None:
        job = Job(kind=kind, repo=repo, delivery_id=delivery_id, attempt=attempt)
        session.add(job)
    job.status = JobStatus.RUNNING
    job.started_at = at or utcnow()
    job.finished_at = None
    job.error = None
    job.summary = None
    session.flush()
    return job


def fail_orphaned_jobs(session: Session, *, now: datetime | None = None) -> int:
    """Marks failed the delivery jobs left ``running`` by a worker that is gone.

    A job is orphaned when no live lease holds its delivery (the worker died, its lease
    expired). The delivery itself is queued again by recovery; its rerun takes this row back.
    """
    now = now or utcnow()
    live = select(WebhookDelivery.delivery_id).where(
        WebhookDelivery.lease_owner.is_not(None), WebhookDelivery.lease_expires_at >= now
    )
    statement = (
        update(Job)
        .where(
            Job.status == JobStatus.RUNNING,
            Job.delivery_id.is_not(None),
            Job.delivery_id.not_in(live),
        )
        .values(
            status=JobStatus.FAILED,
            finished_at=now,
            error="the worker stopped before finishing (its lease expired); queued again",
        )
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(statement).rowcount or 0)


def finish_job(
    session: Session,
    job: Job,
    *,
    error: str | None = None,
    summary: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Job:
    """Closes a job: failed when ``error`` is given, done otherwise."""
    job = session.merge(job)
    job.status = JobStatus.FAILED if error else JobStatus.DONE
    job.error = error
    job.summary = summary
    job.finished_at = at or utcnow()
    session.flush()
    return job


def jobs_for_delivery(session: Session, delivery_id: str) -> list[Job]:
    """Every job a delivery caused, in the order they started."""
    statement = (
        select(Job)
        .where(Job.delivery_id == delivery_id)
        .order_by(Job.attempt, Job.started_at, Job.id)
    )
    return list(session.execute(statement).scalars())
