"""Webhook deliveries: recorded once (redeliveries are dropped), then marked as work proceeds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.errors import MaintbotError
from bot.store.models import DeliveryStatus, WebhookDelivery, utcnow
from bot.store.upsert import insert_unless_present

FINISHED = (DeliveryStatus.DONE, DeliveryStatus.FAILED)


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
