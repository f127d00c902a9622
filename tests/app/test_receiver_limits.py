"""The receiver under unsigned and oversized traffic, over real HTTP (uvicorn on loopback).

What is checked: a body without a plausible signature is answered without being read; the
others stream through a running HMAC under a budget of unverified bodies and bytes, and whoever
would overdraw it gets 503 with Retry-After; the budget is given back whatever the answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.app.metrics import ReceiverMetrics
from bot.app.queue import DeliveryQueue
from bot.app.receiver import ReceiverLimits, create_receiver
from bot.store.database import Store
from tests.app.test_receiver import (
    SECRET,
    ServedApp,
    example,
    signed,
    sqlite_queue,
    stored,
    triage_router,
)


def serve(
    store: Store,
    queue: DeliveryQueue,
    *,
    bodies: int = 8,
    size: int = 1_000_000,
    metrics: ReceiverMetrics | None = None,
) -> ServedApp:
    app = create_receiver(
        store=store,
        queue=queue,
        router=triage_router(),
        secrets=[SECRET],
        max_body_bytes=200_000,
        limits=ReceiverLimits(max_unverified_bodies=bodies, max_unverified_bytes=size),
        metrics=metrics or ReceiverMetrics(),
    )
    return ServedApp(app)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}") as opened:
        yield opened


@pytest.fixture
def queue(tmp_path: Path) -> DeliveryQueue:
    return sqlite_queue(tmp_path)


def in_chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_signed_body_is_verified_as_it_streams_and_queued(
    sqlite_store, queue, shared_dir
):
    body = example(shared_dir, "issues/opened.json")
    with serve(sqlite_store, queue) as served:
        answer = httpx.post(
            f"{served.url}/webhook",
            content=in_chunks(body),  # no Content-Length: chunked transfer
            headers=signed(body, "issues", "d-chunked"),
            timeout=10,
        )
        assert served.server.config.app.state.budget.in_use() == (0, 0)
    assert answer.status_code == 202
    assert stored(sqlite_store, "d-chunked").payload == json.loads(body)
    assert queue.waiting_ids() == {"d-chunked"}


def test_a_well_formed_but_forged_signature_is_401_after_streaming_and_stores_nothing(
    sqlite_store, queue, shared_dir
):
    body = example(shared_dir, "issues/opened.json")
    headers = signed(body, "issues", "d-forged", secret=b"not-the-secret-at-all")
    with serve(sqlite_store, queue) as served:
        for content in (body, in_chunks(body)):
            answer = httpx.post(
                f"{served.url}/webhook", content=content, headers=headers, timeout=10
            )
            assert answer.status_code == 401
        assert served.server.config.app.state.budget.in_use() == (0, 0)
    assert stored(sqlite_store, "d-forged") is None
    assert queue.huey.pending_count() == 0


class SlowBody:
    """A request body that sends its first chunk, then waits until released."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.started = threading.Event()
        self.release = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield self.body[:100]
        self.started.set()
        assert self.release.wait(20)
        yield self.body[100:]


def test_over_the_count_of_unverified_bodies_a_request_is_503_with_retry_after(
    sqlite_store, queue, shared_dir
):
    body = example(shared_dir, "ping/event.json")
    slow = SlowBody(body)
    metrics = ReceiverMetrics()
    answers: dict[str, httpx.Response] = {}
    with serve(sqlite_store, queue, bodies=1, metrics=metrics) as served:

        def post_slow() -> None:
            answers["slow"] = httpx.post(
                f"{served.url}/webhook",
                content=iter(slow),
                headers=signed(body, "ping", "d-slow"),
                timeout=30,
            )

        first = threading.Thread(target=post_slow)
        first.start()
        assert slow.started.wait(10)
        budget = served.server.config.app.state.budget
        for _ in range(200):  # the server takes the first chunk a moment after it is sent
            if budget.in_use()[0] == 1:
                break
            threading.Event().wait(0.01)
        assert budget.in_use()[0] == 1
        refused = httpx.post(
            f"{served.url}/webhook",
            content=body,
            headers=signed(body, "ping", "d-refused"),
            timeout=10,
        )
        slow.release.set()
        first.join(30)
        after = httpx.post(
            f"{served.url}/webhook",
            content=body,
            headers=signed(body, "ping", "d-after"),
            timeout=10,
        )
        assert budget.in_use() == (0, 0)

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert refused.json()["outcome"] == "busy"
    assert answers["slow"].status_code == 202
    assert after.status_code == 202
    assert stored(sqlite_store, "d-refused") is None  # GitHub shows it failed: redeliver
    assert queue.waiting_ids() == {"d-slow", "d-after"}
    assert metrics.deliveries.value("-", "busy") == 1
    assert metrics.deliveries.value("ping", "accepted") == 2


def test_a_declared_length_over_the_byte_budget_is_503_before_a_byte_is_read(sqlite_store, queue):
    body = b'{"zen": "' + b"x" * 150_000 + b'"}'  # under the 200 kB cap, over the 100 kB budget
    with serve(sqlite_store, queue, size=100_000) as served:
        declared = httpx.post(
            f"{served.url}/webhook",
            content=body,
            headers=signed(body, "ping", "d-declared"),
            timeout=10,
        )
        chunked = httpx.post(
            f"{served.url}/webhook",
            content=in_chunks(body, 8192),
            headers=signed(body, "ping", "d-chunked"),
            timeout=10,
        )
        small = b'{"zen": "hi"}'
        fits = httpx.post(
            f"{served.url}/webhook",
            content=small,
            headers=signed(small, "ping", "d-small"),
            timeout=10,
        )
        assert served.server.config.app.state.budget.in_use() == (0, 0)
    assert (declared.status_code, declared.json()["outcome"]) == (503, "busy")
    assert (chunked.status_code, chunked.json()["outcome"]) == (503, "busy")
    assert fits.status_code == 202
    assert stored(sqlite_store, "d-declared") is None
    assert stored(sqlite_store, "d-chunked") is None


def test_unsigned_bodies_are_refused_before_they_are_read(sqlite_store, queue):
    """A 24 MB body with no signature header is answered from its headers alone."""
    big = b'{"zen": "' + b"x" * 24_000_000 + b'"}'
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-unsigned"}
    metrics = ReceiverMetrics()
    with serve(sqlite_store, queue, bodies=1, size=1_000, metrics=metrics) as served:
        declared = httpx.post(f"{served.url}/webhook", content=big, headers=headers, timeout=30)
        chunked = [
            httpx.post(
                f"{served.url}/webhook",
                content=in_chunks(big, 1 << 20),
                headers=headers,
                timeout=30,
            )
            for _ in range(3)
        ]
    # Read, the chunked ones would have met the 1 kB budget (503) or the 200 kB cap (413).
    assert declared.status_code == 413  # its Content-Length says it is over the cap
    assert [a.status_code for a in chunked] == [401, 401, 401]
    assert all("missing" in a.json()["reason"] for a in chunked)
    assert metrics.deliveries.value("-", "rejected") == 4
    assert metrics.ack.count == 0  # ack times are for verified deliveries only
