"""The webhook receiver: verify, record, queue, answer 202 at once; never do the work here.

Unlike bedevere, which runs its handlers inside the request (and answers 500 when one
fails), the receiver only stores the delivery and hands its id to the queue; GitHub gets its
answer in milliseconds and the worker takes its time. ``GET /healthz`` says whether the
store answers, for load balancers and orchestrators.

The signature is checked before a body is kept: a request with no plausible signature is
answered without reading its body, and the others are streamed through a running HMAC under
an :class:`~bot.app.webhook.UnverifiedBudget` (how many bodies, how many bytes may wait for
their verdict at once), so unsigned traffic cannot make the process buffer 25 MB bodies.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from bot.app.metrics import RECEIVER, ReceiverMetrics
from bot.app.queue import DeliveryQueue
from bot.app.webhook import (
    BUSY_RETRY_AFTER_S,
    DEFAULT_MAX_UNVERIFIED_BODIES,
    DEFAULT_MAX_UNVERIFIED_BYTES,
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    BodyVerifier,
    Decision,
    Outcome,
    UnverifiedBudget,
    after_recording,
    before_reading,
    busy,
    decide_verified,
    header,
    signature_mismatch,
)
from bot.app.worker import enqueue_marked, queue_delivery
from bot.errors import UsageError
from bot.events.router import Event, Router
from bot.store.database import Store
from bot.store.deliveries import get_delivery, record_delivery, transition
from bot.store.models import DeliveryStatus

log = logging.getLogger(__name__)

#: Bodies up to this size are parsed on the event loop (well under a millisecond); larger
#: ones in a thread, so a 25 MB body does not hold up the other requests.
INLINE_PARSE_BYTES = 256 * 1024
#: Store writes at once on PostgreSQL (SQLAlchemy's default pool holds 5 + 10 connections).
STORE_WRITERS = 8

MAX_UNVERIFIED_BODIES_ENV = "MAINTBOT_MAX_UNVERIFIED_BODIES"
MAX_UNVERIFIED_BYTES_ENV = "MAINTBOT_MAX_UNVERIFIED_BYTES"


@dataclass(frozen=True)
class ReceiverLimits:
    """How much unverified traffic the receiver holds at once (see :class:`UnverifiedBudget`)."""

    max_unverified_bodies: int = DEFAULT_MAX_UNVERIFIED_BODIES
    max_unverified_bytes: int = DEFAULT_MAX_UNVERIFIED_BYTES
    retry_after_s: int = BUSY_RETRY_AFTER_S

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReceiverLimits:
        env = os.environ if env is None else env
        return cls(
            max_unverified_bodies=_positive(env, MAX_UNVERIFIED_BODIES_ENV)
            or DEFAULT_MAX_UNVERIFIED_BODIES,
            max_unverified_bytes=_positive(env, MAX_UNVERIFIED_BYTES_ENV)
            or DEFAULT_MAX_UNVERIFIED_BYTES,
        )


def _positive(env: Mapping[str, str], name: str) -> int | None:
    text = (env.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{name}={text!r} is not a positive whole number", hint=f"unset {name}")
    return int(text)


def create_receiver(
    *,
    store: Store,
    queue: DeliveryQueue,
    router: Router,
    secrets: Sequence[bytes] | None,
    max_body_bytes: int = MAX_BODY_BYTES,
    limits: ReceiverLimits | None = None,
    metrics: ReceiverMetrics | None = None,
) -> FastAPI:
    """The ASGI app: ``POST /webhook`` and ``GET /healthz``.

    A delivery signed with any of ``secrets`` is accepted (several during a rotation);
    ``secrets=None`` accepts unsigned deliveries (``--insecure-no-secret``, local tests only).
    ``limits`` default to the environment's; answers are counted into ``metrics`` (the
    process-wide :data:`~bot.app.metrics.RECEIVER` unless given).
    """
    limits = limits if limits is not None else ReceiverLimits.from_env()
    metrics = metrics if metrics is not None else RECEIVER
    budget = UnverifiedBudget(limits.max_unverified_bodies, limits.max_unverified_bytes)
    metrics.in_flight = budget.in_use
    app = FastAPI(title="maintbot", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.budget = budget
    app.state.metrics = metrics

    def handles(event: Event) -> bool:
        return bool(router.handlers_for(event))

    def stored(session: Any, decision: Decision) -> tuple[bool, DeliveryStatus | None]:
        """Stores a new delivery already marked ``queued``: (inserted, status found).

        What :func:`~bot.app.worker.queue_delivery` does, with its first transaction folded
        into the insert: a delivery this call inserted has no other copy that could queue
        it. A redelivery found ``received`` goes through ``queue_delivery`` itself.
        """
        event = decision.event
        assert event is not None and event.delivery_id is not None
        inserted = record_delivery(session, event.delivery_id, event.name, event.payload)
        if inserted:
            transition(
                session,
                event.delivery_id,
                DeliveryStatus.QUEUED,
                from_statuses=(DeliveryStatus.RECEIVED,),
            )
            return True, DeliveryStatus.RECEIVED
        return False, _status(get_delivery(session, event.delivery_id))

    def queued(decision: Decision, inserted: bool, status: DeliveryStatus | None) -> Decision:
        """The answer once stored: queues what must be queued, as the store said."""
        event = decision.event
        assert event is not None and event.delivery_id is not None
        delivery_id = event.delivery_id
        final = after_recording(decision, inserted=inserted, stored_status=status)
        if final.outcome is not Outcome.ACCEPTED:
            return final
        try:
            if inserted:
                enqueue_marked(store, queue, delivery_id)
                moved = True
            else:
                moved = queue_delivery(store, queue, delivery_id)
        except Exception as exc:
            log.error("delivery %s: the queue failed: %s", delivery_id, type(exc).__name__)
            return Decision(
                Outcome.DEFERRED,
                503,
                "recorded, but the queue is unavailable: it is queued when a worker starts "
                "or when GitHub redelivers it",
                event,
            )
        if moved is False:  # a simultaneous copy of this delivery queued it first
            return after_recording(decision, inserted=False, stored_status=DeliveryStatus.QUEUED)
        return final

    def store_failed(decision: Decision, exc: BaseException) -> Decision:
        event = decision.event
        delivery_id = event.delivery_id if event is not None else "?"
        log.error("delivery %s: the store failed: %s", delivery_id, type(exc).__name__)
        return Decision(Outcome.DEFERRED, 503, "the store is unavailable; redeliver later", event)

    def record_and_queue(decision: Decision) -> Decision:
        """One delivery: stored in its own transaction, then queued."""
        try:
            with store.session() as session:
                inserted, status = stored(session, decision)
        except Exception as exc:  # GitHub must see a failure it can redeliver
            return store_failed(decision, exc)
        return queued(decision, inserted, status)

    def record_and_queue_batch(batch: list[Decision]) -> list[Decision]:
        """Deliveries that arrived together: stored in one transaction (one fsync), then
        queued; if that transaction fails, each is stored on its own, so one delivery the
        store refuses does not take the others with it."""
        try:
            with store.session() as session:
                found = [stored(session, decision) for decision in batch]
        except Exception:
            return [record_and_queue(decision) for decision in batch]
        return [
            queued(d, inserted, status) for d, (inserted, status) in zip(batch, found, strict=True)
        ]

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """Ok or not, nothing more: anyone can call it, so it names no store, queue or version."""
        try:
            with store.reading() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            log.error("health check: the store failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    # SQLite has one writer at a time and a commit waits for the disk: deliveries arriving
    # while one batch is written are written together in the next (GroupCommit), instead
    # of each waiting for its own fsync behind the others. PostgreSQL takes several writers.
    group = GroupCommit(record_and_queue_batch) if store.backend == "sqlite" else None
    limiter: list[anyio.CapacityLimiter] = []

    async def verified(headers: Mapping[str, str], chunks: list[bytes], size: int) -> Decision:
        """Parse (in a thread when the body is large), then store and queue one at a time."""
        if size <= INLINE_PARSE_BYTES:
            decision = decide_verified(headers, b"".join(chunks), handles=handles)
        else:
            decision = await run_in_threadpool(_decide_joined, headers, chunks, handles)
        if decision.outcome is not Outcome.ACCEPTED:
            return decision
        if group is not None:
            return await group.submit(decision)
        if not limiter:
            limiter.append(anyio.CapacityLimiter(STORE_WRITERS))
        return await anyio.to_thread.run_sync(record_and_queue, decision, limiter=limiter[0])

    async def receive(request: Request) -> Decision:
        early = before_reading(request.headers, secrets=secrets, max_body_bytes=max_body_bytes)
        if early is not None:
            return early  # the body is never read
        declared = request.headers.get("content-length", "").strip()
        reservation = budget.open(int(declared) if declared.isdigit() else None)
        if reservation is None:
            return busy(limits.retry_after_s)
        chunks: list[bytes] = []
        try:
            verifier = BodyVerifier(secrets or ())
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_body_bytes:
                    return Decision(Outcome.REJECTED, 413, f"body over {max_body_bytes} bytes")
                if not reservation.cover(size):
                    return busy(limits.retry_after_s)
                verifier.update(chunk)
                chunks.append(chunk)
            if secrets is not None and not verifier.matches(
                header(request.headers, SIGNATURE_HEADER)
            ):
                return signature_mismatch()
        finally:
            reservation.close()
        return await verified(request.headers, chunks, size)

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        started = time.perf_counter()
        decision = await receive(request)
        event = decision.event
        metrics.deliveries.inc(event.name if event is not None else "-", decision.outcome.value)
        if event is not None:  # verified: how long GitHub waits for its answer
            metrics.ack.observe(time.perf_counter() - started)
        return _answer(decision, retry_after_s=limits.retry_after_s)

    return app


def _decide_joined(
    headers: Mapping[str, str], chunks: list[bytes], handles: Callable[[Event], bool]
) -> Decision:
    body = b"".join(chunks)
    chunks.clear()  # one copy of a large body at a time
    return decide_verified(headers, body, handles=handles)


def _status(delivery: object) -> DeliveryStatus | None:
    status = getattr(delivery, "status", None)
    return DeliveryStatus(status) if status is not None else None


def _answer(decision: Decision, *, retry_after_s: int = BUSY_RETRY_AFTER_S) -> JSONResponse:
    event = decision.event
    log.info(
        "webhook %s %s: %s (%s)",
        event.key if event else "-",
        event.delivery_id if event else "-",
        decision.outcome.value,
        decision.reason,
    )
    headers = {"Retry-After": str(retry_after_s)} if decision.outcome is Outcome.BUSY else None
    return JSONResponse(decision.body(), status_code=decision.status, headers=headers)


class GroupCommit:
    """Writes what arrives while a write is running as one batch, in one worker thread.

    ``write`` takes a batch and returns one answer per item, in order. A batch holds what
    queued up during the previous write (at most ``max_batch``): one transaction and one
    fsync serve them all, so under load the wait for the disk is shared, not stacked.
    """

    def __init__(
        self, write: Callable[[list[Decision]], list[Decision]], *, max_batch: int = 64
    ) -> None:
        self.write = write
        self.max_batch = max_batch
        self._pending: list[tuple[Decision, asyncio.Future[Decision]]] = []
        self._writing = False

    async def submit(self, decision: Decision) -> Decision:
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._pending.append((decision, future))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        # one drain at a time (``_writing``), so one write at a time
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                items = [decision for decision, _ in batch]
                try:
                    answers = await anyio.to_thread.run_sync(self.write, items)
                except Exception as exc:  # each waiting request still gets an answer
                    log.error("storing %d deliveries failed: %s", len(items), exc)
                    answers = [
                        Decision(Outcome.DEFERRED, 503, "the store is unavailable", d.event)
                        for d in items
                    ]
                for (_, future), answer in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
        finally:
            self._writing = False
