"""The audit trail of work done: one job per handler run or command, with how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import Job, JobStatus, utcnow


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
    statement = select(Job).where(Job.delivery_id == delivery_id).order_by(Job.started_at, Job.id)
    return list(session.execute(statement).scalars())
