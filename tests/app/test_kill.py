"""Kill test (#26, items 5 and 6): SIGKILL the worker process of ``maintbot serve`` mid-load.

``maintbot serve`` runs for real (a receiver process starting a worker process), with the
real handlers (the built-in triage model labelling new issues), against the sandbox, on
SQLite and on PostgreSQL. The worker process is killed twice while deliveries are in hand;
``serve`` starts a new one, which frees the dead one's claims when their lease expires.
Afterwards no job row is ``running``, no delivery has two rows for one attempt, no issue has
two predictions or two bot comments, and every delivery is finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import httpx

from bot.store.database import Store
from bot.store.models import DeliveryStatus, Job, JobStatus, Prediction
from tests.app.worker_support import (
    COMMENT_ROUTE,
    SECRET,
    all_deliveries,
    open_issues,
    opened_payload,
    signed,
    writes_per_issue,
)

SERVE_SCRIPT = textwrap.dedent(
    """
    import sys
    from bot.app.cli import serve
    from bot.settings import Settings, configure_logging

    configure_logging(1)
    api_url, *args = sys.argv[1:]
    serve.main(args, obj=Settings(api_url=api_url), prog_name="maintbot")
    """
)
DELIVERIES = 40


def children(pid: int) -> list[int]:
    """The live processes ``pid`` started, from any of its threads (Linux: /proc)."""
    found: list[int] = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            found += [int(p) for p in path.read_text().split()]
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, what: str, timeout_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} after {timeout_s} s\n{log_path.read_text()[-4000:]}")
        time.sleep(0.1)


def test_killed_workers_leave_nothing_running_and_nothing_twice(
    database_url, make_sandbox, app_keys, shared_dir, tmp_path
):
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    installation = sb.state.add_installation(account="octo")["id"]
    numbers = open_issues(sb, DELIVERIES)
    key_file = tmp_path / "app.pem"
    key_file.write_text(app_keys.private_pem)
    port = free_port()
    env = {
        **os.environ,
        "MAINTBOT_WEBHOOK_SECRET": SECRET.decode(),
        "MAINTBOT_APP_ID": str(app_keys.app_id),
        "MAINTBOT_APP_PRIVATE_KEY_FILE": str(key_file),
        "MAINTBOT_DATABASE_URL": database_url,
        "MAINTBOT_QUEUE_FILE": str(tmp_path / "queue.sqlite3"),
        "MAINTBOT_LEASE_SECONDS": "2",
        "MAINTBOT_RETRY_DELAY": "1",
        "MAINTBOT_SECONDS_BETWEEN_WRITES": "0",
    }
    log_path = tmp_path / "serve.log"
    command = [sys.executable, "-c", SERVE_SCRIPT, sb.base_url, "--port", str(port)]
    command += ["--workers", "2", "--worker-processes", "1"]
    with open(log_path, "wb") as log:
        serve = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    killed: list[int] = []
    try:
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return serve.poll() is not None and False

        wait_for(healthy, "serve did not answer /healthz", 60, log_path)
        with httpx.Client(base_url=url, timeout=10) as client:
            for number in numbers:
                body = json.dumps(opened_payload(shared_dir, installation, number)).encode()
                answer = client.post(
                    "/webhook", content=body, headers=signed(body, "issues", f"k-{number}")
                )
                assert answer.status_code == 202, answer.text

        with Store.open(database_url) as store:

            def done_count() -> int:
                return sum(d.status is DeliveryStatus.DONE for d in all_deliveries(store))

            for least in (5, 10):  # kill the worker process while it works, twice
                wait_for(lambda n=least: done_count() >= n, "no progress", 120, log_path)
                wait_for(lambda: children(serve.pid), "no worker process", 60, log_path)
                (worker_pid,) = children(serve.pid)
                os.kill(worker_pid, signal.SIGKILL)
                killed.append(worker_pid)

            def finished() -> bool:
                rows = all_deliveries(store)
                return len(rows) == DELIVERIES and all(
                    d.status in (DeliveryStatus.DONE, DeliveryStatus.FAILED) for d in rows
                )

            wait_for(finished, "deliveries left unfinished", 240, log_path)
            rows = all_deliveries(store)
            with store.session() as session:
                jobs = list(session.query(Job))
                predictions = list(session.query(Prediction))
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait(timeout=10)

    output = log_path.read_text()
    assert len(killed) == 2 and "starting another" in output  # serve replaced its worker
    assert not children(serve.pid)  # and stopped the last one with itself
    assert [d.delivery_id for d in rows if d.status is not DeliveryStatus.DONE] == [], [
        d.last_error for d in rows if d.last_error
    ]
    assert sum(d.lost_leases for d in rows) >= 1  # a kill did catch deliveries in hand
    assert [j for j in jobs if j.status is JobStatus.RUNNING] == []
    attempts = Counter((j.delivery_id, j.attempt) for j in jobs)
    assert max(attempts.values()) == 1  # no attempt has two job rows
    per_delivery = Counter(j.delivery_id for j in jobs)
    assert all(per_delivery[d.delivery_id] == d.attempts for d in rows)
    per_issue = Counter((p.repo, p.issue_number) for p in predictions)
    assert per_issue and max(per_issue.values()) == 1  # no duplicate prediction rows
    assert max(writes_per_issue(sb, COMMENT_ROUTE).values()) == 1  # one bot comment each
    assert SECRET.decode() not in output
