"""Exactly-once effect per delivery under concurrency (#26, item 1).

Real pieces: the sandbox GitHub over HTTP, the store on SQLite and PostgreSQL, huey's SQLite
queue with consumer threads, and the receiver served by uvicorn. Copies of one delivery,
simultaneous tasks and a redelivery while it runs must run the handlers once: one label
write, one comment, one job row.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bot.app.receiver import create_receiver
from bot.app.worker import queue_delivery
from bot.store.deliveries import record_delivery
from bot.store.jobs import jobs_for_delivery
from bot.store.models import DeliveryStatus, JobStatus
from tests.app.worker_support import (
    COMMENT_ROUTE,
    LABEL_ROUTE,
    SECRET,
    LabelAndComment,
    ServedApp,
    app_settings,
    consumers_fixture,  # noqa: F401 - the consumers fixture
    make_parts,
    open_issues,
    opened_payload,
    router_with,
    signed,
    wait_until_finished,
    writes_per_issue,
)


def test_simultaneous_attempts_at_one_delivery_run_the_handlers_once(
    store, make_sandbox, app_keys, shared_dir, tmp_path
):
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    installation = sb.state.add_installation(account="octo")["id"]
    numbers = open_issues(sb, 6)
    handler = LabelAndComment(pause_s=0.2)
    parts = make_parts(app_settings(sb, app_keys, tmp_path), store, router_with(handler))
    worker = parts.worker()
    for number in numbers:
        with store.session() as session:
            record_delivery(
                session, f"d-{number}", "issues", opened_payload(shared_dir, installation, number)
            )

    def attempt(delivery_id: str, barrier: threading.Barrier) -> object:
        barrier.wait()
        return worker.perform(delivery_id)

    with ThreadPoolExecutor(5) as pool:
        for number in numbers:  # five workers take the same delivery at the same moment
            barrier = threading.Barrier(5)
            futures = [pool.submit(attempt, f"d-{number}", barrier) for _ in range(5)]
            assert sum(f.result() is not None for f in futures) == 1

    assert set(handler.calls.values()) == {1} and len(handler.calls) == len(numbers)
    assert set(writes_per_issue(sb, COMMENT_ROUTE).values()) == {1}
    assert set(writes_per_issue(sb, LABEL_ROUTE).values()) == {1}
    with store.session() as session:
        for number in numbers:
            jobs = jobs_for_delivery(session, f"d-{number}")
            assert [(j.attempt, j.status) for j in jobs] == [(1, JobStatus.DONE)]


def test_bursts_of_copies_through_the_receiver_are_handled_once(
    store, make_sandbox, app_keys, shared_dir, tmp_path, consumers
):
    """30 bursts of 5 simultaneous signed copies of a delivery, over HTTP, 4 worker threads."""
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    installation = sb.state.add_installation(account="octo")["id"]
    numbers = open_issues(sb, 30)
    handler = LabelAndComment(pause_s=0.05)
    parts = make_parts(app_settings(sb, app_keys, tmp_path), store, router_with(handler))
    parts.worker()
    consumers.append(parts.start_consumer(threads=4))
    receiver = create_receiver(
        store=store, queue=parts.queue, router=parts.router, secrets=[SECRET]
    )
    answers: list[int] = []
    with ServedApp(receiver) as served, httpx.Client(base_url=served.url, timeout=30) as client:

        def post(body: bytes, headers: dict[str, str], barrier: threading.Barrier) -> int:
            barrier.wait()
            return client.post("/webhook", content=body, headers=headers).status_code

        with ThreadPoolExecutor(5) as pool:
            for number in numbers:
                body = json.dumps(opened_payload(shared_dir, installation, number)).encode()
                headers = signed(body, "issues", f"burst-{number}")
                barrier = threading.Barrier(5)
                futures = [pool.submit(post, body, headers, barrier) for _ in range(5)]
                answers += [f.result() for f in futures]
        finished = wait_until_finished(store, [f"burst-{n}" for n in numbers])

    assert set(answers) <= {200, 202} and answers.count(202) >= len(numbers)
    assert {row.status for row in finished.values()} == {DeliveryStatus.DONE}
    assert {row.attempts for row in finished.values()} == {1}
    assert sorted(handler.calls.values()) == [1] * len(numbers)
    comments = writes_per_issue(sb, COMMENT_ROUTE)
    labels = writes_per_issue(sb, LABEL_ROUTE)
    assert sorted(comments.values()) == [1] * len(numbers)
    assert sorted(labels.values()) == [1] * len(numbers)
    with store.session() as session:
        for number in numbers:
            assert len(jobs_for_delivery(session, f"burst-{number}")) == 1


def test_a_copy_queued_while_the_first_runs_does_nothing(
    store, make_sandbox, app_keys, shared_dir, tmp_path, consumers
):
    """The race the issue saw: a copy queued again while the first is still running."""
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    installation = sb.state.add_installation(account="octo")["id"]
    (number,) = open_issues(sb, 1)
    handler = LabelAndComment(pause_s=1.0)
    parts = make_parts(app_settings(sb, app_keys, tmp_path), store, router_with(handler))
    parts.worker()
    with store.session() as session:
        record_delivery(
            session, "d-copy", "issues", opened_payload(shared_dir, installation, number)
        )
    assert queue_delivery(store, parts.queue, "d-copy")
    assert not queue_delivery(store, parts.queue, "d-copy")  # a second copy is not queued
    parts.queue.enqueue("d-copy")  # yet a task arrives twice (a recovery, a second receiver)
    parts.queue.enqueue("d-copy")
    consumer = parts.start_consumer(threads=3)
    consumers.append(consumer)

    wait_until_finished(store, ["d-copy"])
    deadline = time.monotonic() + 30
    while parts.queue.huey.pending_count():  # every copy of the task has been taken...
        assert time.monotonic() < deadline
        time.sleep(0.05)
    consumer.stop(graceful=True)  # ...and has finished
    done = wait_until_finished(store, ["d-copy"])["d-copy"]
    assert (done.status, done.attempts) == (DeliveryStatus.DONE, 1)
    assert handler.calls["d-copy"] == 1
    assert writes_per_issue(sb, COMMENT_ROUTE)[str(number)] == 1
