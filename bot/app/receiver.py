"""The webhook receiver: verify, record, queue, answer 202 at once; never do the work here.

Unlike bedevere, which runs its handlers inside the request (and answers 500 when one
fails), the receiver only stores the delivery and hands its id to the queue; GitHub gets its
answer in milliseconds and the worker takes its time. ``GET /healthz`` says whether the
store answers, for load balancers and orchestrators.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from bot.app.queue import DeliveryQueue
from bot.app.webhook import MAX_BODY_BYTES, Decision, Outcome, after_recording, decide
from bot.app.worker import queue_delivery
from bot.events.router import Event, Router
from bot.store.database import Store
from bot.store.deliveries import get_delivery, record_delivery
from bot.store.models import DeliveryStatus

log = logging.getLogger(__name__)


def create_receiver(
    *,
    store: Store,
    queue: DeliveryQueue,
    router: Router,
    secrets: Sequence[bytes] | None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The ASGI app: ``POST /webhook`` and ``GET /healthz``.

    A delivery signed with any of ``secrets`` is accepted (several during a rotation);
    ``secrets=None`` accepts unsigned deliveries (``--insecure-no-secret``, local tests only).
    """
    app = FastAPI(title="maintbot", docs_url=None, redoc_url=None, openapi_url=None)

    def handles(event: Event) -> bool:
        return bool(router.handlers_for(event))

    def record_and_queue(decision: Decision) -> Decision:
        event = decision.event
        assert event is not None and event.delivery_id is not None
        delivery_id = event.delivery_id
        try:
            with store.session() as session:
                inserted = record_delivery(session, delivery_id, event.name, event.payload)
                stored = None if inserted else get_delivery(session, delivery_id)
            final = after_recording(
                decision,
                inserted=inserted,
                stored_status=DeliveryStatus.RECEIVED if inserted else _status(stored),
            )
        except Exception as exc:  # GitHub must see a failure it can redeliver
            log.error("delivery %s: the store failed: %s", delivery_id, type(exc).__name__)
            return Decision(
                Outcome.DEFERRED, 503, "the store is unavailable; redeliver later", event
            )
        if final.outcome is not Outcome.ACCEPTED:
            return final
        try:
            queue_delivery(store, queue, delivery_id)
        except Exception as exc:
            log.error("delivery %s: the queue failed: %s", delivery_id, type(exc).__name__)
            return Decision(
                Outcome.DEFERRED,
                503,
                "recorded, but the queue is unavailable: it is queued when a worker starts "
                "or when GitHub redelivers it",
                event,
            )
        return final

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """Ok or not, nothing more: anyone can call it, so it names no store, queue or version."""
        try:
            with store.session() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            log.error("health check: the store failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            return _answer(Decision(Outcome.REJECTED, 413, f"body over {max_body_bytes} bytes"))
        body = await _read_at_most(request, max_body_bytes)
        if body is None:
            return _answer(Decision(Outcome.REJECTED, 413, f"body over {max_body_bytes} bytes"))
        decision = decide(
            request.headers, body, secrets=secrets, handles=handles, max_body_bytes=max_body_bytes
        )
        if decision.outcome is Outcome.ACCEPTED:
            decision = await run_in_threadpool(record_and_queue, decision)
        return _answer(decision)

    return app


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past ``limit`` (never buffered beyond it)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _status(delivery: object) -> DeliveryStatus | None:
    status = getattr(delivery, "status", None)
    return DeliveryStatus(status) if status is not None else None


def _answer(decision: Decision) -> JSONResponse:
    event = decision.event
    log.info(
        "webhook %s %s: %s (%s)",
        event.key if event else "-",
        event.delivery_id if event else "-",
        decision.outcome.value,
        decision.reason,
    )
    return JSONResponse(decision.body(), status_code=decision.status)
