"""Webhook deliveries: recorded once (redeliveries are dropped), claimed by one worker at a
time, then marked as work proceeds.

Every change a worker makes is a conditional ``UPDATE`` (``... WHERE status IN (...) AND
lease_owner = ...``): two workers, threads or processes, on SQLite or PostgreSQL, cannot both
win the same claim, and a worker that lost its claim cannot overwrite what the new holder
wrote.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from bot.errors import MaintbotError
from bot.store.models import DeliveryStatus, WebhookDelivery, utcnow
from bot.store.upsert import insert_unless_present

FINISHED = (DeliveryStatus.DONE, DeliveryStatus.FAILED)
UNFINISHED = (DeliveryStatus.RECEIVED, DeliveryStatus.QUEUED)


def record_delivery(
    session: Session,
    delivery_id: str,
    event: str,
    payload: Mapping[str, Any],
    *,
    action: str | None = None,
    repo: str | None = None,
    installation_id: int | None = None,
    received_at: datetime | None = None,
) -> bool:
    """Stores a delivery with its whole payload; False when this delivery id was seen before.

    ``action``, ``repo`` and ``installation_id`` default to what the payload says.
    """
    values = {
        "delivery_id": delivery_id,
        "event": event,
        "action": action if action is not None else _text(payload.get("action")),
        "repo": repo if repo is not None else _text(_field(payload, "repository", "full_name")),
        "installation_id": (
            installation_id
            if installation_id is not None
            else _integer(_field(payload, "installation", "id"))
        ),
        "payload": dict(payload),
        "status": DeliveryStatus.RECEIVED,
        "attempts": 0,
        "received_at": received_at or utcnow(),
    }
    return insert_unless_present(session, WebhookDelivery.__table__, values, unique=["delivery_id"])


def get_delivery(session: Session, delivery_id: str) -> WebhookDelivery | None:
    """The delivery with this id, or None."""
    statement = select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)
    return session.execute(statement.execution_options(populate_existing=True)).scalar()


def mark_delivery(
    session: Session,
    delivery_id: str,
    status: DeliveryStatus | str,
    *,
    error: str | None = None,
    at: datetime | None = None,
) -> WebhookDelivery:
    """Moves a delivery to ``status``; finishing it (done/failed) counts one attempt.

    ``error`` is kept as ``last_error`` when it fails, and cleared when it succeeds.
    """
    status = DeliveryStatus(status)
    delivery = get_delivery(session, delivery_id)
    if delivery is None:
        raise MaintbotError(
            f"no webhook delivery {delivery_id!r} is recorded, so it cannot be marked {status}.",
            hint="Record the delivery with record_delivery() before handing it to a worker.",
        )
    delivery.status = status
    if status in FINISHED:
        delivery.attempts += 1
        delivery.finished_at = at or utcnow()
        delivery.last_error = error if status is DeliveryStatus.FAILED else None
    else:
        delivery.finished_at = None
    session.flush()
    return delivery


def pending_deliveries(
    session: Session, *, limit: int = 100, retry_failed_below: int = 0
) -> list[WebhookDelivery]:
    """Deliveries not finished yet, oldest first: what a worker must (re)do after a restart.

    With ``retry_failed_below=N``, failed deliveries that were tried fewer than N times are
    included too.
    """
    unfinished = WebhookDelivery.status.in_([DeliveryStatus.RECEIVED, DeliveryStatus.QUEUED])
    retryable = (WebhookDelivery.status == DeliveryStatus.FAILED) & (
        WebhookDelivery.attempts < retry_failed_below
    )
    statement = (
        select(WebhookDelivery)
        .where(or_(unfinished, retryable) if retry_failed_below > 0 else unfinished)
        .order_by(WebhookDelivery.received_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


def _field(payload: Mapping[str, Any], outer: str, inner: str) -> Any:
    value = payload.get(outer)
    return value.get(inner) if isinstance(value, Mapping) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ------------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    """A delivery one worker holds: who (``owner``), which attempt, and what to run."""

    delivery_id: str
    owner: str
    attempt: int  # 1 for the first attempt; a rerun after a dead worker keeps the number
    event: str
    payload: dict[str, Any]
    installation_id: int | None
    repo: str | None
    lost_leases: int  # how often a worker died holding it (this claim took one over if > 0)
    deferrals: int
    received_at: datetime | None = None


def _lease_free(now: datetime) -> Any:
    return or_(
        WebhookDelivery.lease_owner.is_(None),
        WebhookDelivery.lease_expires_at.is_(None),
        WebhookDelivery.lease_expires_at < now,
    )


def claim_delivery(
    session: Session, delivery_id: str, owner: str, *, lease_s: float, now: datetime | None = None
) -> Claim | None:
    """Claims an unfinished delivery for ``owner`` until ``now + lease_s``; None if not won.

    One conditional ``UPDATE``: exactly one of several workers racing for the same delivery
    wins (SQLite serialises writers; PostgreSQL re-checks the condition on the locked row).
    A delivery that is finished, or held by a live lease, is not claimed. Taking over an
    expired lease counts a lost lease.
    """
    now = now or utcnow()
    statement = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.delivery_id == delivery_id,
            WebhookDelivery.status.in_(UNFINISHED),
            _lease_free(now),
        )
        .values(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_s),
            lost_leases=WebhookDelivery.lost_leases
            + case((WebhookDelivery.lease_owner.is_not(None), 1), else_=0),
        )
        .returning(
            WebhookDelivery.event,
            WebhookDelivery.payload,
            WebhookDelivery.installation_id,
            WebhookDelivery.repo,
            WebhookDelivery.attempts,
            WebhookDelivery.lost_leases,
            WebhookDelivery.deferrals,
            WebhookDelivery.received_at,
        )
        .execution_options(synchronize_session=False)
    )
    row = session.execute(statement).first()
    if row is None:
        return None
    return Claim(
        delivery_id=delivery_id,
        owner=owner,
        attempt=row.attempts + 1,
        event=row.event,
        payload=dict(row.payload),
        installation_id=row.installation_id,
        repo=row.repo,
        lost_leases=row.lost_leases,
        deferrals=row.deferrals,
        received_at=row.received_at,
    )


def renew_leases(
    session: Session, owners: Collection[str], *, lease_s: float, now: datetime | None = None
) -> int:
    """The heartbeat: extends the leases ``owners`` still hold; returns how many."""
    if not owners:
        return 0
    now = now or utcnow()
    statement = (
        update(WebhookDelivery)
        .where(WebhookDelivery.lease_owner.in_(list(owners)))
        .values(lease_expires_at=now + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(statement).rowcount or 0)


def _release(session: Session, claim: Claim, **values: Any) -> bool:
    statement = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.delivery_id == claim.delivery_id,
            WebhookDelivery.lease_owner == claim.owner,
        )
        .values(lease_owner=None, lease_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(statement).rowcount)


def finish_claim(
    session: Session,
    claim: Claim,
    status: DeliveryStatus,
    *,
    error: str | None = None,
    retry: bool = False,
    now: datetime | None = None,
) -> bool:
    """Ends an attempt: ``done``/``failed``, or back to ``queued`` when it will be retried.

    Counts the attempt and releases the claim; False when the claim was lost meanwhile (the
    lease expired and another worker took it over), in which case nothing is written.
    """
    now = now or utcnow()
    if retry:
        values: dict[str, Any] = {"status": DeliveryStatus.QUEUED, "finished_at": None}
    else:
        values = {"status": DeliveryStatus(status), "finished_at": now}
    return _release(
        session,
        claim,
        attempts=WebhookDelivery.attempts + 1,
        last_error=error if (retry or status is DeliveryStatus.FAILED) else None,
        not_before=None,
        **values,
    )


def defer_claim(
    session: Session, claim: Claim, until: datetime, *, reason: str | None = None
) -> bool:
    """Puts a claimed delivery back to wait until ``until`` without counting an attempt.

    ``not_before`` holds back every delivery of the same installation (see
    :func:`installation_hold`).
    """
    values: dict[str, Any] = {
        "status": DeliveryStatus.QUEUED,
        "not_before": until,
        "deferrals": WebhookDelivery.deferrals + 1,
    }
    if reason is not None:
        values["last_error"] = reason
    return _release(session, claim, **values)


def installation_hold(
    session: Session, installation_id: int | None, *, now: datetime | None = None
) -> datetime | None:
    """Until when the installation's deliveries wait for a rate limit (None: they need not).

    Another delivery of the installation met the limit and waits for its reset: asking
    GitHub again before then would only be refused.
    """
    if installation_id is None:
        return None
    now = now or utcnow()
    statement = select(func.max(WebhookDelivery.not_before)).where(
        WebhookDelivery.installation_id == installation_id,
        WebhookDelivery.status == DeliveryStatus.QUEUED,
        WebhookDelivery.not_before > now,
    )
    return session.execute(statement).scalar()


def transition(
    session: Session,
    delivery_id: str,
    to: DeliveryStatus,
    *,
    from_statuses: Collection[DeliveryStatus],
    only_unclaimed: bool = True,
) -> bool:
    """Moves a delivery to ``to`` only from one of ``from_statuses``; True if it moved.

    How a receiver queues a delivery once however many copies of it arrive together: only
    the copy that moves it from ``received`` to ``queued`` puts it in the queue.
    """
    conditions = [
        WebhookDelivery.delivery_id == delivery_id,
        WebhookDelivery.status.in_(list(from_statuses)),
    ]
    if only_unclaimed:
        conditions.append(WebhookDelivery.lease_owner.is_(None))
    values: dict[str, Any] = {"status": to}
    if to not in FINISHED:
        values["finished_at"] = None
    if DeliveryStatus.FAILED in from_statuses:  # a fresh start: its old waits and losses go
        values.update(lost_leases=0, deferrals=0, not_before=None)
    statement = (
        update(WebhookDelivery)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(statement).rowcount)


@dataclass(frozen=True)
class Stranded:
    """An unfinished delivery no live worker holds, and when it may run (None: now)."""

    delivery_id: str
    not_before: datetime | None


def release_expired_leases(session: Session, *, now: datetime | None = None) -> list[str]:
    """Frees the claims of dead workers (lease expired), counting each as a lost lease.

    One ``UPDATE`` per delivery, conditional on the same expired owner: when several workers
    recover at once, each delivery is released (and re-queued) by exactly one of them.
    """
    now = now or utcnow()
    expired = session.execute(
        select(WebhookDelivery.delivery_id, WebhookDelivery.lease_owner).where(
            WebhookDelivery.status.in_(UNFINISHED),
            WebhookDelivery.lease_owner.is_not(None),
            WebhookDelivery.lease_expires_at < now,
        )
    ).all()
    released: list[str] = []
    for delivery_id, owner in expired:
        statement = (
            update(WebhookDelivery)
            .where(
                WebhookDelivery.delivery_id == delivery_id,
                WebhookDelivery.lease_owner == owner,
                WebhookDelivery.lease_expires_at < now,
            )
            .values(
                lease_owner=None,
                lease_expires_at=None,
                lost_leases=WebhookDelivery.lost_leases + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if session.execute(statement).rowcount:
            released.append(delivery_id)
    return released


def stranded_deliveries(
    session: Session, *, limit: int = 100, now: datetime | None = None
) -> list[Stranded]:
    """Unfinished deliveries that no live lease holds, oldest first (what recovery queues)."""
    now = now or utcnow()
    statement = (
        select(WebhookDelivery.delivery_id, WebhookDelivery.not_before)
        .where(WebhookDelivery.status.in_(UNFINISHED), _lease_free(now))
        .order_by(WebhookDelivery.received_at, WebhookDelivery.id)
        .limit(limit)
    )
    return [
        Stranded(d, nb if nb is not None and nb > now else None)
        for d, nb in session.execute(statement)
    ]


def latest_lease_expiry(session: Session) -> datetime | None:
    """When the last claim held on an unfinished delivery expires (None: none is held)."""
    statement = select(func.max(WebhookDelivery.lease_expires_at)).where(
        WebhookDelivery.status.in_(UNFINISHED), WebhookDelivery.lease_owner.is_not(None)
    )
    return session.execute(statement).scalar()
