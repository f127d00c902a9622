"""The App's worker end to end: stored delivery -> App token -> handler -> comment on the sandbox.

Everything is real: the store (SQLite and PostgreSQL), the huey queue (a SQLite file, or a
Redis server this module starts when ``redis-server`` is installed), the sandbox GitHub that
verifies the App's JWT, and PyGithub writing the comment.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from github import Auth, Github

from bot.app.queue import DeliveryQueue, open_huey
from bot.app.server import AppParts, EmbeddedConsumer
from bot.app.settings import AppSettings
from bot.app.worker import judge_dispatch, queue_delivery, recover, requeue_failed
from bot.errors import ConfigError, ExitCode, GitHubError, MaintbotError
from bot.events.context import HandlerContext
from bot.events.router import DispatchResult, Event, HandlerOutcome, Router
from bot.store.database import Store
from bot.store.deliveries import get_delivery, mark_delivery, record_delivery
from bot.store.jobs import jobs_for_delivery
from bot.store.models import DeliveryStatus, JobStatus, WebhookDelivery
from tests.app.worker_support import router_with
from tests.fixtures.databases import start_private_redis

REPO = "octo/widgets"
ISSUE = 4  # "Widgets are slow", open, no comments in the seed
MINT_ROUTE = "POST /app/installations/{installation_id}/access_tokens"
WAIT_S = 30.0


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def app_sandbox(make_sandbox, app_keys):
    """The sandbox with ``octo/widgets``, verifying JWTs of the test App installed on ``octo``."""
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    installation = sb.state.add_installation(account="octo")
    return sb, installation["id"]


def app_settings(sb, app_keys, tmp_path: Path, **overrides: Any) -> AppSettings:
    values: dict[str, Any] = {
        "webhook_secrets": (b"test-secret-0123456789",),
        "app_id": str(app_keys.app_id),
        "private_key": app_keys.private_pem,
        "api_url": sb.base_url,
        "queue_file": tmp_path / "queue.sqlite3",
        "seconds_between_writes": 0,
        "retries": 2,
        "retry_delay_s": 0,
    }
    return AppSettings(**{**values, **overrides})


def opened_issue_payload(shared_dir: Path, installation_id: int | None) -> dict[str, Any]:
    """GitHub's real ``issues.opened`` example, pointed at the sandbox's issue #4."""
    payload = json.loads((shared_dir / "github/webhooks/issues/opened.json").read_text())
    payload["repository"]["full_name"] = REPO
    payload["repository"]["name"] = "widgets"
    payload["repository"]["owner"]["login"] = "octo"
    payload["issue"]["number"] = ISSUE
    if installation_id is None:
        payload.pop("installation", None)
    else:
        payload["installation"] = {"id": installation_id, "node_id": "MDIz"}
    return payload


def store_delivery(store: Store, delivery_id: str, payload: dict[str, Any], event="issues"):
    with store.session() as session:
        assert record_delivery(session, delivery_id, event, payload)


def delivery(store: Store, delivery_id: str) -> WebhookDelivery:
    with store.session() as session:
        found = get_delivery(session, delivery_id)
    assert found is not None
    return found


def wait_for_delivery(
    store: Store, delivery_id: str, done: Callable[[WebhookDelivery], bool]
) -> WebhookDelivery:
    deadline = time.monotonic() + WAIT_S
    while True:
        current = delivery(store, delivery_id)
        if done(current):
            return current
        if time.monotonic() > deadline:
            pytest.fail(f"delivery {delivery_id} still {current.status} after {WAIT_S}s")
        time.sleep(0.05)


def comments_on_issue(sb) -> list[tuple[str, str]]:
    """(author, body) of every comment, read through PyGithub as an ordinary user."""
    gh = Github(
        auth=Auth.Token("reader"),
        base_url=sb.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    return [(c.user.login, c.body) for c in gh.get_repo(REPO).get_issue(ISSUE).get_comments()]


class Flaky:
    """A handler that comments on the issue, failing with a GitHub error while ``broken``."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.calls = 0

    def __call__(self, event: Event, ctx: HandlerContext) -> str:
        self.calls += 1
        if self.broken:
            raise GitHubError("GitHub answered 502 Bad Gateway", hint="retry later")
        issue = ctx.github.get_repo(event.repo_full_name).get_issue(
            event.payload["issue"]["number"]
        )
        issue.create_comment(f"Thanks for the report (delivery {event.delivery_id}).")
        return "commented"


@pytest.fixture
def consumers() -> Iterator[list[EmbeddedConsumer]]:
    started: list[EmbeddedConsumer] = []
    yield started
    for consumer in started:
        consumer.stop(graceful=True)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """For tests where the backend does not matter."""
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}") as opened:
        yield opened


def make_parts(settings: AppSettings, store: Store, router: Router) -> AppParts:
    return AppParts(settings, store, DeliveryQueue.from_settings(settings), router)


# ------------------------------------------------------------------------ pure verdicts


def outcome(ok: bool, code: ExitCode = ExitCode.OK) -> HandlerOutcome:
    return HandlerOutcome("h", ok, 0.0, error=None if ok else "boom", exit_code=code)


@pytest.mark.parametrize(
    ("outcomes", "final", "status", "retry"),
    [
        ([], False, DeliveryStatus.DONE, False),
        ([outcome(True)], False, DeliveryStatus.DONE, False),
        ([outcome(False, ExitCode.FINDING)], False, DeliveryStatus.DONE, False),
        ([outcome(False, ExitCode.EXTERNAL)], False, DeliveryStatus.FAILED, True),
        ([outcome(False, ExitCode.EXTERNAL)], True, DeliveryStatus.FAILED, False),
        ([outcome(False, ExitCode.USAGE)], False, DeliveryStatus.FAILED, False),
        ([outcome(True), outcome(False, ExitCode.EXTERNAL)], False, DeliveryStatus.FAILED, True),
    ],
)
def test_verdict_retries_only_failures_another_attempt_can_fix(outcomes, final, status, retry):
    verdict = judge_dispatch(DispatchResult("issues.opened", outcomes), final_attempt=final)
    assert (verdict.status, verdict.retry) == (status, retry)
    assert (verdict.error is None) == (status is DeliveryStatus.DONE)


# --------------------------------------------------------------------------- end to end


def test_worker_comments_as_the_app_installation(
    store, app_sandbox, app_keys, shared_dir, tmp_path
):
    sb, installation_id = app_sandbox
    store_delivery(store, "d-comment", opened_issue_payload(shared_dir, installation_id))
    handler = Flaky()
    parts = make_parts(app_settings(sb, app_keys, tmp_path), store, router_with(handler))

    parts.worker().perform("d-comment")

    assert comments_on_issue(sb) == [
        ("maintbot[bot]", "Thanks for the report (delivery d-comment).")
    ]
    assert sb.request_counts()[MINT_ROUTE] == 1  # the installation token, minted from the JWT
    done = delivery(store, "d-comment")
    assert (done.status, done.attempts, done.last_error) == (DeliveryStatus.DONE, 1, None)
    with store.session() as session:
        jobs = jobs_for_delivery(session, "d-comment")
    assert [(j.kind, j.repo, j.status) for j in jobs] == [
        ("webhook:issues.opened", REPO, JobStatus.DONE)
    ]

    parts.worker().perform("d-comment")  # a duplicate task for a finished delivery
    assert handler.calls == 1
    assert len(comments_on_issue(sb)) == 1


def test_failing_handler_is_retried_then_marked_failed_and_requeue_finishes_it(
    store, app_sandbox, app_keys, shared_dir, tmp_path, consumers
):
    sb, installation_id = app_sandbox
    store_delivery(store, "d-flaky", opened_issue_payload(shared_dir, installation_id))
    handler = Flaky(broken=True)
    parts = make_parts(app_settings(sb, app_keys, tmp_path, retries=2), store, router_with(handler))
    parts.worker()
    consumers.append(parts.start_consumer(threads=1))  # recovery queues the received delivery

    failed = wait_for_delivery(store, "d-flaky", lambda d: d.status is DeliveryStatus.FAILED)
    assert handler.calls == 3  # the first attempt and two retries, then no more
    assert failed.attempts == 3
    assert "502 Bad Gateway" in failed.last_error
    assert comments_on_issue(sb) == []
    with store.session() as session:
        assert [j.status for j in jobs_for_delivery(session, "d-flaky")] == [JobStatus.FAILED] * 3

    handler.broken = False  # GitHub is back
    assert requeue_failed(store, parts.queue) == ["d-flaky"]
    done = wait_for_delivery(store, "d-flaky", lambda d: d.status is DeliveryStatus.DONE)
    assert (done.attempts, done.last_error) == (4, None)
    assert handler.calls == 4
    assert [author for author, _ in comments_on_issue(sb)] == ["maintbot[bot]"]


def test_a_failed_attempt_waits_in_the_schedule_with_a_doubled_delay(
    sqlite_store, app_sandbox, app_keys, shared_dir, tmp_path, consumers
):
    sb, installation_id = app_sandbox
    store_delivery(sqlite_store, "d-later", opened_issue_payload(shared_dir, installation_id))
    handler = Flaky(broken=True)
    settings = app_settings(sb, app_keys, tmp_path, retries=3, retry_delay_s=30)
    parts = make_parts(settings, sqlite_store, router_with(handler))
    parts.worker()
    consumers.append(parts.start_consumer(threads=1))

    retry = wait_for_delivery(sqlite_store, "d-later", lambda d: d.attempts == 1)
    assert retry.status is DeliveryStatus.QUEUED  # back in line, not given up
    assert "502" in retry.last_error
    deadline = time.monotonic() + WAIT_S
    while parts.queue.huey.scheduled_count() == 0:
        assert time.monotonic() < deadline, "the retry was never scheduled"
        time.sleep(0.05)
    [scheduled] = parts.queue.huey.scheduled()
    assert scheduled.args == ("d-later",)
    assert scheduled.retries == 2  # one of three used
    assert scheduled.retry_delay == 60  # the next pause after this one doubles
    assert parts.queue.waiting_ids() == {"d-later"}  # recovery will not queue it twice
    assert handler.calls == 1


def test_a_broken_maintbot_yml_fails_the_delivery_without_retrying(
    sqlite_store, app_sandbox, app_keys, shared_dir, tmp_path, consumers
):
    sb, installation_id = app_sandbox
    sb.state.repo(REPO)["contents"][".github/maintbot.yml"] = "version: 1\nno_such_key: true\n"
    store_delivery(sqlite_store, "d-config", opened_issue_payload(shared_dir, installation_id))
    handler = Flaky()
    parts = make_parts(
        app_settings(sb, app_keys, tmp_path, retries=3), sqlite_store, router_with(handler)
    )
    parts.worker()
    consumers.append(parts.start_consumer(threads=1))

    failed = wait_for_delivery(
        sqlite_store, "d-config", lambda d: d.status is DeliveryStatus.FAILED
    )
    assert failed.attempts == 1  # the same file would fail every retry
    assert ConfigError.__name__ in failed.last_error
    assert "no_such_key" in failed.last_error
    assert handler.calls == 0


def test_an_event_without_installation_runs_with_defaults_and_no_client(
    sqlite_store, app_sandbox, app_keys, shared_dir, tmp_path
):
    sb, _ = app_sandbox
    ping = json.loads((shared_dir / "github/webhooks/ping/event.json").read_text())
    store_delivery(sqlite_store, "d-ping", ping, event="ping")
    seen: list[HandlerContext] = []
    router = Router()
    router.on("ping")(lambda event, ctx: seen.append(ctx))
    parts = make_parts(app_settings(sb, app_keys, tmp_path), sqlite_store, router)

    parts.worker().perform("d-ping")

    assert delivery(sqlite_store, "d-ping").status is DeliveryStatus.DONE
    assert seen[0].github is None
    assert seen[0].store is sqlite_store
    assert MINT_ROUTE not in sb.request_counts()


def test_start_requeues_what_a_crash_left_and_nothing_twice(
    store, app_sandbox, app_keys, shared_dir, tmp_path, consumers
):
    sb, installation_id = app_sandbox
    handler = Flaky()
    parts = make_parts(app_settings(sb, app_keys, tmp_path), store, router_with(handler))
    payload = opened_issue_payload(shared_dir, installation_id)
    # A worker took this one from the queue and died: "queued" in the store, gone from the queue.
    store_delivery(store, "d-taken", payload)
    with store.session() as session:
        mark_delivery(session, "d-taken", DeliveryStatus.QUEUED)
    # The receiver died between recording and queueing this one.
    store_delivery(store, "d-recorded", payload)
    # This one is still waiting in the queue: it must not be queued a second time.
    store_delivery(store, "d-waiting", payload)
    queue_delivery(store, parts.queue, "d-waiting")

    assert sorted(recover(store, parts.queue)) == ["d-recorded", "d-taken"]
    assert parts.queue.huey.pending_count() == 3
    assert recover(store, parts.queue) == []  # all three are in the queue now

    parts.worker()
    consumers.append(parts.start_consumer(threads=2))
    for delivery_id in ("d-taken", "d-recorded", "d-waiting"):
        wait_for_delivery(store, delivery_id, lambda d: d.status is DeliveryStatus.DONE)
    assert handler.calls == 3
    assert len(comments_on_issue(sb)) == 3


def test_open_huey_names_the_variable_when_redis_is_unreachable(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    settings = AppSettings(redis_url=f"redis://127.0.0.1:{port}/0", queue_file=tmp_path / "q")
    with pytest.raises(MaintbotError, match="MAINTBOT_REDIS_URL") as caught:
        open_huey(settings)
    assert caught.value.hint


# ------------------------------------------------------------------- Redis (scale-out)


def redis_unavailable(reason: str) -> None:
    """Skips the Redis tests visibly; fails them where CI sets MAINTBOT_TEST_REQUIRE_REDIS=1."""
    if os.environ.get("MAINTBOT_TEST_REQUIRE_REDIS", "") not in ("", "0"):
        pytest.fail(f"Redis is required (MAINTBOT_TEST_REQUIRE_REDIS is set) but {reason}")
    pytest.skip(f"Redis queue tests skipped: {reason}")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A private redis-server on a free loopback port, for this module only."""
    exe = shutil.which("redis-server")
    if exe is None:
        redis_unavailable("redis-server is not installed (Debian: apt-get install redis-server)")
    try:
        server, url = start_private_redis(exe, tmp_path_factory.mktemp("redis"))
    except RuntimeError as exc:
        redis_unavailable(str(exc))
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_receiver_and_worker_processes_share_a_redis_queue(
    store, app_sandbox, app_keys, shared_dir, tmp_path, redis_url, consumers
):
    sb, installation_id = app_sandbox
    settings = app_settings(sb, app_keys, tmp_path, redis_url=redis_url)
    handler = Flaky()
    receiving = make_parts(settings, store, router_with(handler))  # as in --receiver-only
    receiving.queue.huey.flush()
    store_delivery(store, "d-redis", opened_issue_payload(shared_dir, installation_id))
    queue_delivery(store, receiving.queue, "d-redis")
    assert receiving.queue.waiting_ids() == {"d-redis"}

    working = make_parts(settings, store, router_with(handler))  # as in --worker-only
    working.worker()
    consumers.append(working.start_consumer(threads=1))

    wait_for_delivery(store, "d-redis", lambda d: d.status is DeliveryStatus.DONE)
    assert handler.calls == 1
    assert comments_on_issue(sb)[0][0] == "maintbot[bot]"
