"""The webhook receiver over real HTTP: uvicorn on a free loopback port, httpx as GitHub.

Deliveries are GitHub's real example payloads, signed here with ``hmac``; the store is SQLite
and PostgreSQL, the queue a real huey SQLite file whose contents the tests read back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from github import Auth, Github

from bot.app.queue import DeliveryQueue
from bot.app.receiver import create_receiver
from bot.app.server import AppParts
from bot.app.settings import AppSettings
from bot.events.context import HandlerContext
from bot.events.router import Event, Router
from bot.store.database import Store
from bot.store.deliveries import get_delivery
from bot.store.models import DeliveryStatus
from tests.app.worker_support import ServedApp

SECRET = b"receiver-test-secret"
WAIT_S = 30.0


def example(shared_dir: Path, relative: str) -> bytes:
    return (shared_dir / "github" / "webhooks" / relative).read_bytes()


def signed(body: bytes, event: str, delivery: str, secret: bytes = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
        "User-Agent": "GitHub-Hookshot/test",
    }


def triage_router() -> Router:
    router = Router()
    router.on("issues", "opened")(lambda event, ctx: None)
    router.on("ping")(lambda event, ctx: None)
    return router


def sqlite_queue(tmp_path: Path, name: str = "queue.sqlite3") -> DeliveryQueue:
    settings = AppSettings(queue_file=tmp_path / name, retries=0, retry_delay_s=0)
    return DeliveryQueue.from_settings(settings)


def stored(store: Store, delivery_id: str) -> Any:
    with store.session() as session:
        return get_delivery(session, delivery_id)


@pytest.fixture
def queue(tmp_path: Path) -> DeliveryQueue:
    return sqlite_queue(tmp_path)


@pytest.fixture
def served_sqlite(sqlite_store: Store, queue: DeliveryQueue) -> Iterator[ServedApp]:
    app = create_receiver(
        store=sqlite_store,
        queue=queue,
        router=triage_router(),
        secrets=[SECRET],
        max_body_bytes=64_000,
    )
    with ServedApp(app) as running:
        yield running


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """For tests where the backend does not matter: what is refused never reaches the store."""
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}") as opened:
        yield opened


@pytest.fixture
def served(store: Store, queue: DeliveryQueue) -> Iterator[ServedApp]:
    app = create_receiver(
        store=store, queue=queue, router=triage_router(), secrets=[SECRET], max_body_bytes=64_000
    )
    with ServedApp(app) as running:
        yield running


def test_a_delivery_is_stored_and_queued_once_even_when_delivered_twice(
    served, store, queue, shared_dir
):
    body = example(shared_dir, "issues/opened.json")
    headers = signed(body, "issues", "72d3162e-cc78-11e3-81ab-4c9367dc0958")

    first = httpx.post(f"{served.url}/webhook", content=body, headers=headers, timeout=10)
    second = httpx.post(f"{served.url}/webhook", content=body, headers=headers, timeout=10)

    assert first.status_code == 202
    assert first.json() == {
        "outcome": "accepted",
        "reason": "queued",
        "event": "issues.opened",
        "delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    }
    assert second.status_code == 200
    assert second.json()["outcome"] == "duplicate"
    delivery = stored(store, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert delivery.status is DeliveryStatus.QUEUED
    assert delivery.event == "issues"
    assert delivery.action == "opened"
    assert delivery.payload == json.loads(body)  # kept whole, for the worker and for replays
    assert queue.huey.pending_count() == 1
    assert queue.waiting_ids() == {"72d3162e-cc78-11e3-81ab-4c9367dc0958"}


def test_unsigned_or_forged_deliveries_are_401_and_leave_no_trace(
    served_sqlite, sqlite_store, queue, shared_dir
):
    body = example(shared_dir, "issues/opened.json")
    unsigned = {k: v for k, v in signed(body, "issues", "d-1").items() if "Signature" not in k}
    forged = signed(body, "issues", "d-2", secret=b"guessed")

    for headers in (unsigned, forged):
        answer = httpx.post(
            f"{served_sqlite.url}/webhook", content=body, headers=headers, timeout=10
        )
        assert answer.status_code == 401
        assert answer.json()["outcome"] == "rejected"
    assert stored(sqlite_store, "d-1") is None
    assert stored(sqlite_store, "d-2") is None
    assert queue.huey.pending_count() == 0


def test_secrets_from_the_environment_rotate_and_ignore_a_trailing_newline(
    sqlite_store, queue, shared_dir
):
    """``old,new`` as an operator writes it, the new one read from a file with its newline."""
    old, new = "old-webhook-secret-0123", "new-webhook-secret-4567"
    settings = AppSettings.from_env({"MAINTBOT_WEBHOOK_SECRET": f" {old} ,{new}\n"})
    settings.require_receiver(insecure_no_secret=False)
    parts = AppParts(settings, sqlite_store, queue, triage_router())
    body = example(shared_dir, "ping/event.json")
    with ServedApp(parts.receiver()) as served:
        answers = {
            delivery: httpx.post(
                f"{served.url}/webhook",
                content=body,
                headers=signed(body, "ping", delivery, secret=signer),
                timeout=10,
            ).status_code
            for delivery, signer in (
                ("d-old", old.encode()),
                ("d-new", new.encode()),
                ("d-newline", (new + "\n").encode()),
                ("d-both", f"{old},{new}".encode()),
            )
        }
    assert answers == {"d-old": 202, "d-new": 202, "d-newline": 401, "d-both": 401}
    assert stored(sqlite_store, "d-old").status is DeliveryStatus.QUEUED
    assert stored(sqlite_store, "d-new").status is DeliveryStatus.QUEUED
    assert stored(sqlite_store, "d-newline") is None
    assert queue.waiting_ids() == {"d-old", "d-new"}


def test_events_without_a_handler_are_acknowledged_but_neither_stored_nor_queued(
    served_sqlite, sqlite_store, queue, shared_dir
):
    body = example(shared_dir, "release/published.json")
    answer = httpx.post(
        f"{served_sqlite.url}/webhook",
        content=body,
        headers=signed(body, "release", "d-r"),
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "ignored"
    assert stored(sqlite_store, "d-r") is None
    assert queue.huey.pending_count() == 0


def test_oversized_bodies_are_413_whether_announced_or_streamed(served_sqlite, sqlite_store, queue):
    big = b'{"zen": "' + b"x" * 70_000 + b'"}'
    announced = httpx.post(
        f"{served_sqlite.url}/webhook",
        content=big,
        headers=signed(big, "ping", "d-big"),
        timeout=10,
    )
    assert announced.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the receiver must count itself
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = httpx.post(
        f"{served_sqlite.url}/webhook",
        content=chunks(),
        headers=signed(big, "ping", "d-big"),
        timeout=10,
    )
    assert streamed.status_code == 413
    assert stored(sqlite_store, "d-big") is None


@pytest.mark.parametrize(
    ("body", "reason_part"),
    [
        (b'{"zen": ' + b"[" * 1_000 + b"]" * 1_000 + b"}", "nests 1001 levels deep"),
        (b'{"zen": "hi", "installation": {"id": 9223372036854775808}}', "64 bits"),
        (b'{"zen": "hi", "installation": {"id": "7"}}', "installation.id"),
    ],
    ids=["1000-deep", "id-2**63", "id-string"],
)
def test_payloads_that_can_never_succeed_are_400_and_leave_no_trace(
    served_sqlite, sqlite_store, queue, body, reason_part
):
    """Not 500 or 503: GitHub would redeliver those, and the store would fail them again."""
    for attempt in range(2):
        answer = httpx.post(
            f"{served_sqlite.url}/webhook",
            content=body,
            headers=signed(body, "ping", "d-bad"),
            timeout=10,
        )
        assert answer.status_code == 400, attempt
        assert answer.json()["outcome"] == "rejected"
        assert reason_part in answer.json()["reason"]
    assert stored(sqlite_store, "d-bad") is None
    assert queue.huey.pending_count() == 0


def test_healthz_says_ok_and_nothing_else(served):
    answer = httpx.get(f"{served.url}/healthz", timeout=10)
    assert answer.status_code == 200
    assert answer.content == b'{"status":"ok"}'  # no store kind, no version: anyone may ask


def test_healthz_is_503_when_the_store_cannot_be_reached(tmp_path, queue):
    path = tmp_path / "store.sqlite3"
    store = Store.open(f"sqlite:///{path}")
    app = create_receiver(store=store, queue=queue, router=triage_router(), secrets=[SECRET])
    with ServedApp(app) as served:
        assert httpx.get(f"{served.url}/healthz", timeout=10).status_code == 200
        store.close()  # drop the pooled connections, then leave a folder where the file was
        path.unlink()
        path.mkdir()
        answer = httpx.get(f"{served.url}/healthz", timeout=10)
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable"}


def test_a_queue_outage_is_503_and_a_redelivery_queues_it_once_the_queue_is_back(
    store, tmp_path, shared_dir
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    from huey import RedisHuey

    unreachable = DeliveryQueue(
        RedisHuey("maintbot", url=f"redis://127.0.0.1:{dead_port}/0", results=False),
        retries=0,
        retry_delay_s=0,
    )
    body = example(shared_dir, "ping/event.json")
    headers = signed(body, "ping", "d-outage")
    down = create_receiver(store=store, queue=unreachable, router=triage_router(), secrets=[SECRET])
    with ServedApp(down) as receiver:
        answer = httpx.post(f"{receiver.url}/webhook", content=body, headers=headers, timeout=30)
    assert answer.status_code == 503
    assert answer.json()["outcome"] == "deferred"
    assert stored(store, "d-outage").status is DeliveryStatus.RECEIVED  # recorded, not lost

    queue = sqlite_queue(tmp_path)
    up = create_receiver(store=store, queue=queue, router=triage_router(), secrets=[SECRET])
    with ServedApp(up) as receiver:  # GitHub's "Redeliver": same delivery id
        answer = httpx.post(f"{receiver.url}/webhook", content=body, headers=headers, timeout=10)
    assert answer.status_code == 202
    assert stored(store, "d-outage").status is DeliveryStatus.QUEUED
    assert queue.waiting_ids() == {"d-outage"}


def test_one_process_receives_queues_and_comments_as_the_app(
    store, make_sandbox, app_keys, shared_dir, tmp_path
):
    """What ``maintbot serve`` runs: receiver and worker threads, against the sandbox."""
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    installation_id = sb.state.add_installation(account="octo")["id"]
    payload = json.loads(example(shared_dir, "issues/opened.json"))
    payload["repository"].update(full_name="octo/widgets", name="widgets")
    payload["issue"]["number"] = 2
    payload["installation"] = {"id": installation_id}
    body = json.dumps(payload).encode()

    def welcome(event: Event, ctx: HandlerContext) -> None:
        repo = ctx.github.get_repo(event.repo_full_name)
        repo.get_issue(event.payload["issue"]["number"]).create_comment("Thanks, triaging soon.")

    router = Router()
    router.on("issues", "opened")(welcome)
    settings = AppSettings(
        webhook_secrets=[SECRET],
        app_id=str(app_keys.app_id),
        private_key=app_keys.private_pem,
        api_url=sb.base_url,
        queue_file=tmp_path / "queue.sqlite3",
        seconds_between_writes=0,
        retries=0,
        retry_delay_s=0,
    )
    parts = AppParts(settings, store, DeliveryQueue.from_settings(settings), router)
    parts.worker()
    consumer = parts.start_consumer(threads=2)
    try:
        with ServedApp(parts.receiver()) as receiver:
            answer = httpx.post(
                f"{receiver.url}/webhook",
                content=body,
                headers=signed(body, "issues", "d-live"),
                timeout=10,
            )
            assert answer.status_code == 202
            deadline = time.monotonic() + WAIT_S
            while stored(store, "d-live").status is not DeliveryStatus.DONE:
                assert stored(store, "d-live").status is not DeliveryStatus.FAILED, stored(
                    store, "d-live"
                ).last_error
                assert time.monotonic() < deadline, "the worker did not finish in time"
                time.sleep(0.05)
    finally:
        consumer.stop(graceful=True)

    reader = Github(
        auth=Auth.Token("reader"),
        base_url=sb.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    comments = list(reader.get_repo("octo/widgets").get_issue(2).get_comments())
    assert [(c.user.login, c.body) for c in comments] == [
        ("maintbot[bot]", "Thanks, triaging soon.")
    ]
