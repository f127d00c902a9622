"""What the App's load and fault tests share: an App on the sandbox, issues to open, a handler
that writes, the receiver served over real HTTP, and signed deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.app.queue import DeliveryQueue
from bot.app.server import AppParts, EmbeddedConsumer
from bot.app.settings import AppSettings
from bot.events.context import HandlerContext
from bot.events.router import Event, Router
from bot.store.database import Store
from bot.store.deliveries import get_delivery
from bot.store.models import DeliveryStatus, WebhookDelivery

REPO = "octo/widgets"
SECRET = b"load-test-secret-0123456789"
LABEL_ROUTE = "POST /repos/{owner}/{repo}/issues/{issue_number}/labels"
COMMENT_ROUTE = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"


def app_settings(sb: Any, app_keys: Any, tmp_path: Path, **overrides: Any) -> AppSettings:
    values: dict[str, Any] = {
        "webhook_secrets": (SECRET,),
        "app_id": str(app_keys.app_id),
        "private_key": app_keys.private_pem,
        "api_url": sb.base_url,
        "queue_file": tmp_path / "queue.sqlite3",
        "seconds_between_writes": 0,
        "retries": 2,
        "retry_delay_s": 0,
        "lease_s": 5.0,
        "write_settle_s": 1.0,
    }
    return AppSettings(**{**values, **overrides})


@pytest.fixture(name="consumers")
def consumers_fixture() -> Iterator[list[EmbeddedConsumer]]:
    """Consumers a test starts, stopped (gracefully) after it."""
    started: list[EmbeddedConsumer] = []
    yield started
    for consumer in started:
        consumer.stop(graceful=True)


@pytest.fixture(name="sqlite_store")
def sqlite_store_fixture(tmp_path: Path) -> Iterator[Store]:
    """For tests where the backend does not matter."""
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}") as opened:
        yield opened


def issue_labels(sb: Any, number: int) -> list[str]:
    """The issue's labels, as GitHub (the sandbox) has them now."""
    import httpx

    answer = httpx.get(f"{sb.base_url}/repos/{REPO}/issues/{number}", timeout=10)
    return [label["name"] for label in answer.json()["labels"]]


def make_parts(settings: AppSettings, store: Store, router: Router) -> AppParts:
    return AppParts(settings, store, DeliveryQueue.from_settings(settings), router)


def opened_payload(shared_dir: Path, installation_id: int, number: int) -> dict[str, Any]:
    """GitHub's real ``issues.opened`` example, pointed at the sandbox's issue ``number``."""
    payload = json.loads((shared_dir / "github/webhooks/issues/opened.json").read_text())
    payload["repository"]["full_name"] = REPO
    payload["repository"]["name"] = "widgets"
    payload["repository"]["owner"]["login"] = "octo"
    payload["issue"]["number"] = number
    payload["issue"]["labels"] = []
    payload["installation"] = {"id": installation_id, "node_id": "MDIz"}
    return payload


def open_issues(sb: Any, count: int) -> list[int]:
    return [
        sb.state.add_issue(REPO, title=f"Load issue {n}", body="It breaks.", user="dave")["number"]
        for n in range(count)
    ]


class LabelAndComment:
    """Labels the issue ``bug`` (reading its labels first, as apply_labels does) and posts a
    plain comment: a comment is not idempotent, so a second run shows as a second comment."""

    def __init__(self, pause_s: float = 0.0) -> None:
        self.pause_s = pause_s
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, event: Event, ctx: HandlerContext) -> str:
        from bot.github.labels import apply_labels

        with self._lock:
            self.calls[event.delivery_id or ""] += 1
        repo = ctx.repo(event.repo_full_name or "")
        issue = repo.get_issue(int(event.payload["issue"]["number"]))
        apply_labels(repo, issue, add=["bug"])
        if self.pause_s:
            time.sleep(self.pause_s)  # a slow handler: copies arrive while it runs
        issue.create_comment(f"Handled delivery {event.delivery_id}.")
        return "labelled"


def router_with(handler: Callable[[Event, HandlerContext], Any]) -> Router:
    router = Router()
    router.on("issues", "opened")(handler)
    return router


def signed(body: bytes, event: str, delivery: str, secret: bytes = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
        "User-Agent": "GitHub-Hookshot/test",
    }


class ServedApp:
    """An ASGI app served by uvicorn in a thread on 127.0.0.1 and a free port."""

    def __init__(self, app: Any) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


def all_deliveries(store: Store) -> list[WebhookDelivery]:
    with store.session() as session:
        return list(session.query(WebhookDelivery).order_by(WebhookDelivery.id))


def wait_until_finished(
    store: Store, delivery_ids: list[str], timeout_s: float = 90.0
) -> dict[str, WebhookDelivery]:
    """Waits until every delivery is done or failed; fails the test with what is left."""
    deadline = time.monotonic() + timeout_s
    while True:
        with store.session() as session:
            found = {d: get_delivery(session, d) for d in delivery_ids}
        left = [
            d
            for d, row in found.items()
            if row is None or row.status not in (DeliveryStatus.DONE, DeliveryStatus.FAILED)
        ]
        if not left:
            return found  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(left)} deliveries unfinished after {timeout_s} s: {left[:5]}"
            )
        time.sleep(0.1)


def writes_per_issue(sb: Any, route: str) -> Counter[str]:
    """How many requests of ``route`` the sandbox carried out for each issue (from its log):
    those it refused (a rate limit, an injected error) wrote nothing and do not count."""
    return Counter(
        r.path.rsplit("/", 2)[-2]
        for r in sb.requests
        if r.route == route and r.status < 400 and r.fault in (None, "timeout")
    )
