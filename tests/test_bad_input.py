"""Bad input everywhere: every event the router handles, with GitHub's real example payloads
damaged one way at a time (a top-level key missing, an issue body of binary junk, a 1 MB
body or comment, a command naming a label that does not exist), goes through the composed
router against the sandbox. Each handler ends ``ok``, ``skipped`` with its reason, or
``failed`` with maintbot's own error (a message and a hint) — never a Python crash."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.config.schema import Config
from bot.events.context import HandlerContext
from bot.events.router import Event, dispatch
from bot.github.client import build_github
from bot.handlers import build_router
from tests.fixtures.sandbox import DEFAULT_REPO

CRASHES = (
    "KeyError",
    "TypeError",
    "AttributeError",
    "IndexError",
    "ValueError",
    "UnboundLocalError",
    "RecursionError",
    "AssertionError",
    "UnicodeDecodeError",
)
JUNK = bytes(range(256)).decode("latin-1") * 4 + "\x00\ud800".encode(
    "utf-8", "surrogatepass"
).decode("utf-8", "replace")
MEGABYTE = ("Traceback (most recent call last):\n  File x\nValueError: boom\n" * 20_000)[:1_000_000]


SIBLINGS = {
    "unlabeled": "labeled",
    "closed": "opened",
    "deleted": "opened",
    "transferred": "opened",
}


def example(shared_dir: Path, event: str, action: str | None) -> dict[str, Any]:
    """GitHub's example for the event; an action without one borrows its sibling's body."""
    folder = shared_dir / "github" / "webhooks" / event
    path = folder / (f"{action}.json" if action else "event.json")
    if not path.exists() and action in SIBLINGS:
        path = folder / f"{SIBLINGS[action]}.json"
    payload = json.loads(path.read_text(encoding="utf-8"))
    if action is not None:
        payload["action"] = action
    payload["repository"]["full_name"] = DEFAULT_REPO
    payload.pop("installation", None)
    if isinstance(payload.get("issue"), dict):
        # the sandbox's unlabelled #4, opened by a newcomer: the handlers do their whole work
        payload["issue"].update(number=4, labels=[], author_association="NONE")
        payload["issue"]["user"] = {"login": "erin", "type": "User"}
    if isinstance(payload.get("comment"), dict):
        payload["comment"]["user"] = {"login": "maintainer", "type": "User"}
    payload["sender"] = {"login": "maintainer", "type": "User"}
    return payload


def variants(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for key in payload:
        damaged = copy.deepcopy(payload)
        del damaged[key]
        out.append((f"without {key}", damaged))
    for field, value in (("body", JUNK), ("body", MEGABYTE), ("title", None), ("body", 42)):
        for outer in ("issue", "comment"):
            if isinstance(payload.get(outer), dict):
                damaged = copy.deepcopy(payload)
                damaged[outer][field] = value
                out.append((f"{outer}.{field}={str(value)[:12]!r}", damaged))
    if isinstance(payload.get("comment"), dict):
        damaged = copy.deepcopy(payload)
        damaged["comment"]["body"] = "/label no-such-label-anywhere\n/type banana"
        out.append(("commands naming nothing that exists", damaged))
    return out


ROUTES = sorted({(event, action) for event, action, _ in build_router().routes()})


@pytest.mark.parametrize(("event", "action"), [r for r in ROUTES if r[0] != "schedule"])
def test_damaged_payloads_end_cleanly(event, action, shared_dir, sandbox):
    github = build_github(token="t", api_url=sandbox.base_url, seconds_between_writes=0, retry=None)
    router = build_router()
    kinds = set()
    for what, payload in variants(example(shared_dir, event, action)):
        ctx = HandlerContext(github=github, config=Config())
        result = dispatch(router, Event(event, payload, delivery_id=f"bad-{what}"), ctx)
        assert result.handled or what.startswith("without action"), what
        for outcome in result.outcomes:
            kinds.add(outcome.kind)
            if outcome.kind == "failed":
                kind = (outcome.error or "").split(":", 1)[0]
                assert kind not in CRASHES, (
                    f"{event}.{action} {what}: {outcome.handler}: {outcome.error}"
                )
    if (event, action) in WORKING:  # the damage reached the handlers' work, not only a check
        assert "ok" in kinds, kinds


WORKING = {
    ("issues", "opened"),
    ("issues", "reopened"),
    ("issue_comment", "created"),
    ("ping", None),
}
