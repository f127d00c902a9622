"""The type-label handlers end to end: GitHub's real ``issues`` payloads, the sandbox over
HTTP, the built-in model. Opened issues are labelled and explained in the one comment;
an edit re-labels only while the label is still the bot's own; a person's label is never
removed; a replay writes nothing; dry-run only reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config.schema import Config
from bot.events.context import context_for_event
from bot.events.router import Event, Router, dispatch
from bot.github.client import build_github
from bot.triage.handlers import router as types
from bot.triage.policy import read_prediction_marker
from tests.fixtures.sandbox import DEFAULT_REPO

QUESTION = (
    "How do I load a saved checkpoint?",
    "I saved a model with save(). How can I load it back?",
)
FEATURE = (
    "Feature request: support exporting models to ONNX",
    "It would be great to add an option to export trained models to ONNX so we can serve them.",
)
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.fixture
def github(sandbox):
    return build_github(token="t", api_url=sandbox.base_url, seconds_between_writes=0)


def payload(shared_dir, action: str, issue: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """GitHub's example delivery for ``issues.<action>``, pointed at the sandbox's issue."""
    body = json.loads((shared_dir / f"github/webhooks/issues/{action}.json").read_text())
    body["issue"].update(
        number=issue["number"],
        title=issue["title"],
        body=issue["body"],
        labels=[{"name": n} for n in issue["labels"]],
    )
    body["repository"].update(full_name=DEFAULT_REPO)
    body.update(extra)
    return body


def run(github, event_payload: dict[str, Any], action: str, *, dry_run: bool = False):
    event = Event("issues", {**event_payload, "action": action})
    ctx = context_for_event(event, github=github, dry_run=dry_run, config=Config())
    return dispatch(Router(types), event, ctx), ctx


def labels(sandbox, number: int) -> list[str]:
    with sandbox.state.lock:
        return sorted(sandbox.state.issue(DEFAULT_REPO, number)["labels"])


def bot_comments(github, number: int) -> list[Any]:
    issue = github.get_repo(DEFAULT_REPO).get_issue(number)
    return [c for c in issue.get_comments() if c.body.startswith("<!-- maintbot:triage -->")]


def test_opened_then_edited_relabels_only_the_bots_own_label(sandbox, github, shared_dir):
    number = sandbox.state.add_issue(
        DEFAULT_REPO, title=QUESTION[0], body=QUESTION[1], user="erin"
    )["number"]
    issue = {"number": number, "title": QUESTION[0], "body": QUESTION[1], "labels": []}
    result, _ = run(github, payload(shared_dir, "opened", issue), "opened")
    assert result.ok and result.outcomes[0].kind == "ok", result.summary()
    assert labels(sandbox, number) == ["question"]
    (comment,) = bot_comments(github, number)
    assert read_prediction_marker(comment.body)["labels"] == ["question"]

    # the author rewrites it as a feature request: the bot swaps its own label, same comment
    edited = {**issue, "title": FEATURE[0], "body": FEATURE[1], "labels": ["question"]}
    changes = {"title": {"from": QUESTION[0]}, "body": {"from": QUESTION[1]}}
    sandbox.state.issue(DEFAULT_REPO, number).update(title=FEATURE[0], body=FEATURE[1])
    result, _ = run(github, payload(shared_dir, "edited", edited, changes=changes), "edited")
    assert result.outcomes[0].kind == "ok", result.summary()
    assert labels(sandbox, number) == ["enhancement"]
    (again,) = bot_comments(github, number)
    assert again.id == comment.id and "`enhancement`" in again.body

    # the same edit delivered again: nothing written
    sandbox.clear_requests()
    result, _ = run(github, payload(shared_dir, "edited", edited, changes=changes), "edited")
    assert result.outcomes[0].status == "skipped: still classified as feature"
    assert not [r for r in sandbox.requests if r.method in WRITES]

    # a person adds their own type label: later edits leave the issue alone
    sandbox.state.issue(DEFAULT_REPO, number)["labels"].append("bug")
    sandbox.state.issue(DEFAULT_REPO, number).update(title=QUESTION[0], body=QUESTION[1])
    sandbox.clear_requests()
    result, _ = run(github, payload(shared_dir, "edited", edited, changes=changes), "edited")
    assert "a person changed" in result.outcomes[0].status
    assert labels(sandbox, number) == ["bug", "enhancement"]
    assert not [r for r in sandbox.requests if r.method in WRITES]


def test_an_edit_of_neither_title_nor_body_is_skipped(sandbox, github, shared_dir):
    issue = {"number": 4, "title": "Widgets are slow", "body": "x", "labels": []}
    edit = payload(shared_dir, "edited", issue, changes={"milestone": {"from": None}})
    result, _ = run(github, edit, "edited")
    assert result.outcomes[0].status == "skipped: the edit changed neither the title nor the body"


def test_dry_run_only_reads_and_plans_the_exact_labels_and_text(sandbox, github, shared_dir):
    number = sandbox.state.add_issue(DEFAULT_REPO, title=FEATURE[0], body=FEATURE[1], user="erin")[
        "number"
    ]
    issue = {"number": number, "title": FEATURE[0], "body": FEATURE[1], "labels": []}
    sandbox.clear_requests()
    result, ctx = run(github, payload(shared_dir, "opened", issue), "opened", dry_run=True)
    assert result.ok
    assert not [r for r in sandbox.requests if r.method in WRITES]
    planned = {item["action"]: item for item in ctx.planned}
    assert planned["label"]["labels"] == ["enhancement"]
    assert "labelled this issue `enhancement`" in planned["comment"]["body"]
    assert labels(sandbox, number) == []


def test_triage_run_and_backfill_from_the_cli(sandbox, shared_dir):
    for title, body in (QUESTION, FEATURE):
        sandbox.state.add_issue(DEFAULT_REPO, title=title, body=body, user="erin")
    base = ["--api-url", sandbox.base_url, "--token", "t"]
    sandbox.clear_requests()
    dry = CliRunner().invoke(
        cli, [*base, "--dry-run", "triage", "backfill", "--repo", DEFAULT_REPO, "--limit", "2"]
    )
    assert dry.exit_code == 0, dry.output
    assert "would label {'labels': ['enhancement'], 'remove': []}" in dry.output
    assert "labelled this issue `enhancement`" in dry.output
    assert not [r for r in sandbox.requests if r.method in WRITES]

    one = CliRunner().invoke(
        cli, [*base, "--json", "triage", "run", "--repo", DEFAULT_REPO, "--issue", "6"]
    )
    assert one.exit_code == 0, one.output
    assert json.loads(one.output.strip().splitlines()[-1])["handlers"][0]["status"] == "ok"
    with sandbox.state.lock:
        assert sandbox.state.issue(DEFAULT_REPO, 6)["labels"] == ["enhancement"]

    # issues #1-#3 and #6 are sorted; #4 and #5 get labels; the rest is skipped with reasons
    done = CliRunner().invoke(cli, [*base, "--json", "triage", "backfill", "--repo", DEFAULT_REPO])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output.strip().splitlines()[-1])
    assert summary["issues"] == 5 and summary["failed"] == 0  # #3 is closed
    assert summary["outcomes"]["skipped"] >= 3
