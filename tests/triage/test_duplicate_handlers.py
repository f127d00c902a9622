"""Duplicate search end to end: real webhook payloads, the sandbox GitHub, a real store and the
built-in model (loaded once for the module)."""

from __future__ import annotations

import copy
import json

import pytest

from bot.config.loader import parse_config
from bot.events.context import HandlerContext
from bot.events.router import Event, Router, dispatch
from bot.github.client import build_github
from bot.store.database import Store
from bot.triage.duplicate_handlers import router as duplicates_router
from bot.triage.duplicates_index import index_status, load_embedder, load_index

REPO = "octo/widgets"
WRITES = ("POST", "PATCH", "PUT", "DELETE")
TRACE = """Traceback (most recent call last):
  File "/home/me/widgets/train.py", line 88, in fit
    logits = model(batch)
  File "/usr/lib/python3.11/site-packages/torch/nn/modules/linear.py", line 114, in forward
    return F.linear(input, self.weight, self.bias)
RuntimeError: mat1 and mat2 shapes cannot be multiplied (32x512 and 256x10)
"""
CONFIG = """
triage:
  duplicates:
    similarity_threshold: 0.6
    add_label: true
"""


@pytest.fixture(scope="module", autouse=True)
def _model_once():
    load_embedder("")  # the built-in model, once for the module


@pytest.fixture
def world(sandbox, tmp_path):
    """The sandbox's octo/widgets with three more issues: a crash with a traceback (#5), a
    lexically close but different problem (#6), and a new report of #5's crash (#7)."""
    state = sandbox.state
    state.add_issue(
        REPO,
        title="Training the widget model crashes with a shape error",
        body=f"Running `python train.py` on the sample data stops at once:\n\n```\n{TRACE}```",
        user="erin",
        created_at="2025-06-01T10:00:00Z",
    )
    state.add_issue(
        REPO,
        title="Training the widget model is slow on the sample data",
        body="Running train.py on the sample data takes an hour per epoch on my laptop.",
        user="frank",
        created_at="2025-06-02T10:00:00Z",
    )
    state.add_issue(
        REPO,
        title="fit() fails right away",
        body=f"Got this when I started fitting:\n\n```\n{TRACE.replace('32x512', '64x512')}```",
        user="gina",
        created_at="2025-06-03T10:00:00Z",
    )
    github = build_github(token="t", api_url=sandbox.base_url, seconds_between_writes=0)
    store = Store.open(f"sqlite:///{tmp_path / 'd.sqlite3'}")
    yield sandbox, github, store
    store.close()


def opened(shared_dir, sandbox, number: int, action: str = "opened") -> Event:
    """GitHub's real ``issues.opened`` payload, its issue replaced by the sandbox's."""
    payload = copy.deepcopy(
        json.loads((shared_dir / "github/webhooks/issues/opened.json").read_text())
    )
    with sandbox.state.lock:
        issue = sandbox.state.issue(REPO, number)
        fields = {k: issue.get(k) for k in ("title", "body", "state", "closed_at")}
    html_url = f"https://github.com/{REPO}/issues/{number}"
    payload["action"] = action
    payload["issue"].update(number=number, html_url=html_url, labels=[], **fields)
    payload["issue"]["user"] = {"login": "gina", "type": "User"}
    payload["repository"]["full_name"] = REPO
    payload["sender"] = {"login": "gina", "type": "User"}
    return Event("issues", payload)


def comments_of(github, number: int) -> list[str]:
    return [c.body for c in github.get_repo(REPO).get_issue(number).get_comments()]


def writes(sandbox) -> list[str]:
    return [f"{r.method} {r.route}" for r in sandbox.requests if r.method in WRITES]


def test_a_new_report_of_a_known_crash_gets_a_link_to_it_once(world, shared_dir):
    sandbox, github, store = world
    ctx = HandlerContext(github=github, config=parse_config(CONFIG), store=store)
    result = dispatch(Router(duplicates_router), opened(shared_dir, sandbox, 7), ctx)
    (outcome,) = result.outcomes
    assert outcome.kind == "ok", outcome.status
    found = outcome.result["matches"]
    assert found[0]["number"] == 5, found  # the crash, not the similar-sounding #6
    assert found[0]["parts"]["errors"] > 0.5
    assert "harvested" in outcome.result["index"]
    (comment,) = comments_of(github, 7)
    assert "#5 Training the widget model crashes with a shape error" in comment
    assert github.get_repo(REPO).get_issue(5).html_url in comment  # the link GitHub gave
    with sandbox.state.lock:
        assert "possible-duplicate" in sandbox.state.issue(REPO, 7)["labels"]
    status = index_status(store, REPO)
    assert status is not None and status.issues == 6  # #1 #2 #4 #5 #6 #7 (#3 closed long ago)

    # the same delivery again: nothing written to GitHub, nothing changed in the index
    sandbox.clear_requests()
    again = dispatch(Router(duplicates_router), opened(shared_dir, sandbox, 7), ctx)
    assert again.outcomes[0].kind == "ok"
    assert again.outcomes[0].result["comment"] == "unchanged"
    assert writes(sandbox) == []
    assert comments_of(github, 7) == [comment]
    assert index_status(store, REPO).version == status.version


def test_dry_run_sends_only_get_requests_and_plans_the_section(world, shared_dir):
    sandbox, github, store = world
    ctx = HandlerContext(github=github, config=parse_config(CONFIG), store=store, dry_run=True)
    sandbox.clear_requests()
    result = dispatch(Router(duplicates_router), opened(shared_dir, sandbox, 7), ctx)
    assert result.outcomes[0].kind == "ok", result.outcomes[0].status
    assert writes(sandbox) == []
    assert sandbox.requests and all(r.method == "GET" for r in sandbox.requests)
    planned = {p["action"]: p for p in ctx.planned}
    assert planned["comment"]["section"] == "duplicates" and "#5" in planned["comment"]["body"]
    assert planned["label"]["labels"] == ["possible-duplicate"]
    assert comments_of(github, 7) == []


def test_without_a_store_the_index_is_read_for_the_event(world, shared_dir):
    sandbox, github, _ = world
    ctx = HandlerContext(github=github, config=parse_config(CONFIG), store=None)
    result = dispatch(Router(duplicates_router), opened(shared_dir, sandbox, 7), ctx)
    (outcome,) = result.outcomes
    assert outcome.kind == "ok", outcome.status
    assert "no store" in outcome.result["index"]
    assert outcome.result["matches"][0]["number"] == 5


def test_an_issue_like_no_other_is_skipped_with_the_best_score(world, shared_dir):
    sandbox, github, store = world
    with sandbox.state.lock:
        sandbox.state.add_issue(REPO, title="Logo colours on the website", body="Use teal.")
    ctx = HandlerContext(github=github, config=parse_config(CONFIG), store=store)
    (outcome,) = dispatch(Router(duplicates_router), opened(shared_dir, sandbox, 8), ctx).outcomes
    assert outcome.kind == "skipped"
    assert outcome.result.reason.startswith("no issue scores 0.60 or more")
    assert comments_of(github, 8) == []


def test_switched_off_does_nothing(world, shared_dir):
    sandbox, github, store = world
    config = parse_config("triage:\n  duplicates:\n    enabled: false\n")
    ctx = HandlerContext(github=github, config=config, store=store)
    sandbox.clear_requests()
    (outcome,) = dispatch(Router(duplicates_router), opened(shared_dir, sandbox, 7), ctx).outcomes
    assert outcome.status == "skipped: triage.duplicates.enabled is false"
    assert sandbox.requests == [] and index_status(store, REPO) is None


def test_closed_and_deleted_keep_the_index_current(world, shared_dir):
    sandbox, github, store = world
    ctx = HandlerContext(github=github, config=parse_config(CONFIG), store=store)
    dispatch(Router(duplicates_router), opened(shared_dir, sandbox, 7), ctx)
    with sandbox.state.lock:
        sandbox.state.issue(REPO, 5).update(state="closed", closed_at="2099-01-01T00:00:00Z")
    (closed,) = dispatch(
        Router(duplicates_router), opened(shared_dir, sandbox, 5, "closed"), ctx
    ).outcomes
    assert closed.result == {"index": "updated", "issue": 5}
    assert {i.number: i.state for i in load_index(store, REPO).issues}[5] == "closed"
    (deleted,) = dispatch(
        Router(duplicates_router), opened(shared_dir, sandbox, 6, "deleted"), ctx
    ).outcomes
    assert deleted.result == {"index": "removed", "issue": 6}
    assert 6 not in {i.number for i in load_index(store, REPO).issues}


def test_the_handlers_of_one_event_share_their_reads_of_the_issue(world, shared_dir):
    """Type label, duplicates and missing information on one new issue: the conversation and
    the repository's labels are listed once, the issue read once and again only after a
    label write (so each handler sees the labels written before it), and every label
    written is on the issue."""
    from bot.handlers import triage_router

    sandbox, github, store = world
    ctx = HandlerContext(github=github, config=parse_config(CONFIG), store=store)
    sandbox.clear_requests()
    result = dispatch(triage_router(), opened(shared_dir, sandbox, 7), ctx)
    assert all(o.ok for o in result.outcomes), result.summary()
    counts = sandbox.request_counts()
    label_writes = counts.get("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", 0)
    assert label_writes >= 2  # the type and possible-duplicate at least
    assert counts["GET /repos/{owner}/{repo}/issues/{issue_number}/comments"] == 1
    assert counts["GET /repos/{owner}/{repo}/issues/{issue_number}"] <= 1 + label_writes
    assert counts["GET /repos/{owner}/{repo}/labels"] == 1  # one listing for every write
    written = {name for o in result.outcomes if o.kind == "ok" for name in o.result["labels"]}
    on_issue = {label.name for label in github.get_repo(REPO).get_issue(7).labels}
    assert written and written <= on_issue
    assert len(comments_of(github, 7)) == 1
