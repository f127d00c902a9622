"""A maintainer relabels what maintbot labelled: recorded, counted, and derivable from GitHub.

End to end over real HTTP: the sandbox GitHub on loopback, GitHub's real ``issues.opened`` /
``issues.labeled`` payloads (edited for the scenario), the type-label handler and the
correction handler dispatched through a ``Router``, and a real SQLite store.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from bot.config.loader import parse_config
from bot.events.context import HandlerContext
from bot.events.router import Event, Router, dispatch
from bot.github.client import build_github
from bot.report.metrics.triage import triage_precision
from bot.report.records import Dataset
from bot.report.window import Window
from bot.settings import Settings
from bot.store.database import Store
from bot.store.predictions import corrections
from bot.triage.correction_handlers import router as correction_router
from bot.triage.handlers import router as type_router
from bot.triage.policy import read_prediction_marker
from tests.fixtures.sandbox import DEFAULT_REPO

BOT_TOKEN, MAINTAINER_TOKEN = "bot-token", "maintainer-token"
TOKENS = {BOT_TOKEN: "maintbot[bot]", MAINTAINER_TOKEN: "maintainer"}
TITLE = "Crash: IndexError when calling widget() with an empty list"
BODY = (
    'Traceback (most recent call last):\n  File "x.py", line 3\nIndexError: list index out '
    "of range\n\nSteps to reproduce: call widget([]). Expected no crash."
)
ROUTER = Router(type_router, correction_router)


def payload(shared_dir, name: str) -> dict[str, Any]:
    return json.loads((shared_dir / "github" / "webhooks" / "issues" / name).read_text())


def issue_event(
    shared_dir, action: str, issue: dict[str, Any], sender: str, label: str | None = None
) -> Event:
    """GitHub's real payload for ``issues.<action>``, edited to speak of our issue."""
    body = copy.deepcopy(payload(shared_dir, "labeled.json" if label else "opened.json"))
    body["action"] = action
    body["repository"]["full_name"] = DEFAULT_REPO
    body["repository"]["name"] = DEFAULT_REPO.split("/")[1]
    body["repository"]["owner"]["login"] = "octo"
    body["issue"].update(
        number=issue["number"],
        title=issue["title"],
        body=issue["body"],
        labels=[{"name": n, "color": "ededed"} for n in issue["labels"]],
        updated_at=issue["updated_at"],
    )
    body["issue"]["user"]["login"] = issue["user"]
    body["sender"].update(login=sender, type="Bot" if sender.endswith("[bot]") else "User")
    if label:
        body["label"]["name"] = label
    return Event("issues", body, delivery_id=f"{action}-{label}")


def snapshot(sandbox, number: int) -> dict[str, Any]:
    """The issue as a webhook would carry it right now."""
    with sandbox.state.lock:
        record = sandbox.state.issue(DEFAULT_REPO, number)
        return {
            "number": number,
            "title": record["title"],
            "body": record["body"],
            "labels": list(record["labels"]),
            "user": record["user"],
            "updated_at": record["updated_at"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


@pytest.fixture
def world(make_sandbox, tmp_path):
    sb = make_sandbox(seed_default=True, tokens=TOKENS)
    sb.state.add_user("maintbot[bot]")
    sb.state.add_issue(DEFAULT_REPO, title=TITLE, body=BODY, user="alice")  # #5
    config = parse_config("triage:\n  model: ''\n")
    bot = build_github(token=BOT_TOKEN, api_url=sb.base_url, seconds_between_writes=0)
    person = build_github(token=MAINTAINER_TOKEN, api_url=sb.base_url, seconds_between_writes=0)
    store = Store.open(f"sqlite:///{tmp_path / 'maintbot.sqlite3'}")
    return sb, config, bot, person, store


def label_and_relabel(shared_dir, world, ctx: HandlerContext) -> list[Any]:
    """maintbot labels #5 bug; the maintainer replaces bug by question; both label events
    are delivered to the router. Returns the dispatch results of the two deliveries."""
    sb, _, _, person, _ = world
    opened = dispatch(ROUTER, issue_event(shared_dir, "opened", snapshot(sb, 5), "alice"), ctx)
    assert opened.ok, opened.summary()
    assert snapshot(sb, 5)["labels"] == ["bug"], opened.summary()
    gh_issue = person.get_repo(DEFAULT_REPO).get_issue(5)
    gh_issue.remove_from_labels("bug")
    removed = issue_event(shared_dir, "unlabeled", snapshot(sb, 5), "maintainer", label="bug")
    gh_issue.add_to_labels("question")
    added = issue_event(shared_dir, "labeled", snapshot(sb, 5), "maintainer", label="question")
    return [dispatch(ROUTER, removed, ctx), dispatch(ROUTER, added, ctx), removed, added]


def test_a_maintainers_relabel_is_recorded_once_and_counted(shared_dir, world):
    sb, config, bot, _, store = world
    ctx = HandlerContext(github=bot, config=config, store=store)
    first, second, removed, added = label_and_relabel(shared_dir, world, ctx)
    assert first.ok and second.ok
    assert [o.kind for o in first.outcomes] == ["ok"]
    assert [o.kind for o in second.outcomes] == ["ok"]

    with store.session() as session:
        (correction,) = corrections(session, repo=DEFAULT_REPO)
        assert correction.prediction.issue_number == 5
        assert correction.prediction.decision == "bug"
        assert (correction.from_label, correction.to_label) == ("bug", "question")
        assert correction.actor == "maintainer"
        assert correction.corrected_at.replace(tzinfo=UTC) >= datetime(2024, 1, 1, tzinfo=UTC)
    comment = next(iter(bot.get_repo(DEFAULT_REPO).get_issue(5).get_comments()))
    marker = read_prediction_marker(comment.body)
    assert (marker["label"], marker["corrected_to"], marker["corrected_by"]) == (
        "bug",
        "question",
        "maintainer",
    )

    # replaying both deliveries records nothing twice and writes nothing
    sb.clear_requests()
    for again in (removed, added):
        (outcome,) = dispatch(ROUTER, again, ctx).outcomes
        assert outcome.kind == "skipped" and outcome.result.reason == (
            "this change is already recorded"
        )
    assert not [r for r in sb.requests if r.method != "GET"]
    with store.session() as session:
        assert len(corrections(session, repo=DEFAULT_REPO)) == 1

    # the report's "labels kept by maintainers" counts it: 0 % of 1
    from bot.report.storage import triage_predictions

    dataset = Dataset(predictions=triage_predictions(store, DEFAULT_REPO), repos=(DEFAULT_REPO,))
    everything = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    per_label, overall = triage_precision(dataset, everything)
    assert [(p.label, p.predicted, p.kept) for p in per_label] == [("bug", 1, 0)]
    assert overall.precision == 0.0


def test_without_a_store_the_correction_lives_on_github(shared_dir, world):
    sb, config, bot, _, _ = world
    ctx = HandlerContext(github=bot, config=config, store=None)
    first, second, _, _ = label_and_relabel(shared_dir, world, ctx)
    assert [o.kind for o in (*first.outcomes, *second.outcomes)] == ["ok", "ok"]
    comment = next(iter(bot.get_repo(DEFAULT_REPO).get_issue(5).get_comments()))
    assert read_prediction_marker(comment.body)["corrected_to"] == "question"


def test_what_is_not_a_correction_is_skipped_with_its_reason(shared_dir, world):
    sb, config, bot, person, store = world
    ctx = HandlerContext(github=bot, config=config, store=store)
    dispatch(ROUTER, issue_event(shared_dir, "opened", snapshot(sb, 5), "alice"), ctx)

    def reason(event: Event, context: HandlerContext = ctx) -> str:
        (outcome,) = dispatch(ROUTER, event, context).outcomes
        assert outcome.kind == "skipped", outcome
        return outcome.result.reason

    now = snapshot(sb, 5)
    bots = issue_event(shared_dir, "labeled", now, "maintbot[bot]", label="bug")
    assert reason(bots) == "maintbot[bot] is a bot, not a person"
    other = issue_event(shared_dir, "labeled", now, "maintainer", label="good first issue")
    assert reason(other) == "label 'good first issue' is not a type label"
    # #1 was labelled bug by a person (seed): maintbot did not label it
    untouched = issue_event(shared_dir, "labeled", snapshot(sb, 1), "maintainer", label="question")
    assert reason(untouched) == "maintbot did not label this issue"
    off = parse_config("triage:\n  learn_from_corrections: false\n")
    relabel = issue_event(shared_dir, "labeled", now, "maintainer", label="question")
    assert reason(relabel, HandlerContext(github=bot, config=off, store=store)) == (
        "triage.learn_from_corrections is false"
    )
    with store.session() as session:
        assert corrections(session, repo=DEFAULT_REPO) == []


def test_dry_run_plans_the_correction_and_writes_nothing(shared_dir, world):
    sb, config, bot, person, store = world
    ctx = HandlerContext(github=bot, config=config, store=store)
    dispatch(ROUTER, issue_event(shared_dir, "opened", snapshot(sb, 5), "alice"), ctx)
    person.get_repo(DEFAULT_REPO).get_issue(5).add_to_labels("enhancement")
    relabel = issue_event(shared_dir, "labeled", snapshot(sb, 5), "maintainer", label="enhancement")
    sb.clear_requests()
    dry = HandlerContext(github=bot, config=config, store=store, dry_run=True)
    result = dispatch(ROUTER, relabel, dry)
    (outcome,) = result.outcomes
    assert outcome.kind == "ok" and outcome.result["to"] == "feature"
    assert [p["action"] for p in dry.planned] == ["record_correction", "comment"]
    assert not [r for r in sb.requests if r.method != "GET"]
    with store.session() as session:
        assert corrections(session, repo=DEFAULT_REPO) == []


def test_triage_stats_reads_the_store_and_else_github(shared_dir, world, tmp_path):
    sb, config, bot, _, store = world
    ctx = HandlerContext(github=bot, config=config, store=store)
    label_and_relabel(shared_dir, world, ctx)
    from bot.triage.stats_cli import stats

    def run(with_store: Store, *args: str) -> dict[str, Any]:
        settings = Settings(api_url=sb.base_url, token=BOT_TOKEN)
        settings._cache["config"] = config
        settings._cache["store"] = with_store
        done = CliRunner().invoke(stats, ["--repo", DEFAULT_REPO, "--json", *args], obj=settings)
        assert done.exit_code == 0, done.output
        return json.loads(done.stdout.strip().splitlines()[-1])

    from_store = run(store)
    assert from_store["source"] == "store"
    assert from_store["labels"]["bug"] == {
        "predicted": 1,
        "kept": 0,
        "corrected": 1,
        "confirmed": 0,
        "precision": 0.0,
    }
    empty = Store.open(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    from_github = run(empty)
    assert from_github["source"] == "github"
    assert from_github["labels"] == from_store["labels"]
    assert from_github["corrections"] == [
        {
            "issue": 5,
            "predicted": "bug",
            "corrected_to": "question",
            "actor": "maintainer",
            "at": from_github["corrections"][0]["at"],
        }
    ]


def test_record_correction_for_a_slash_command_is_idempotent(shared_dir, world):
    """What ``/type question`` calls: maintbot relabels itself, so no person's label event
    shows the correction; the store and the marker keep it, once."""
    from bot.triage.corrections import record_correction

    sb, config, bot, _, store = world
    ctx = HandlerContext(github=bot, config=config, store=None)  # an Action: no store yet
    dispatch(ROUTER, issue_event(shared_dir, "opened", snapshot(sb, 5), "alice"), ctx)
    at = datetime(2030, 1, 1, 12, tzinfo=UTC)
    args = {"repo": DEFAULT_REPO, "number": 5, "from_type": "bug", "to_type": "question"}
    first = record_correction(ctx, **args, actor="maintainer", at=at)
    assert (first["recorded"], first["kind"], first["marker"]) == (True, "correction", "recorded")
    again = record_correction(ctx, **args, actor="maintainer", at=at)
    assert (again["recorded"], again["marker"]) == (False, "unchanged")

    # a later run with a store: the prediction row is created from the marker
    with_store = HandlerContext(github=bot, config=config, store=store)
    stored = record_correction(with_store, **args, actor="maintainer", at=at)
    assert (stored["store"], stored["marker"]) == ("recorded", "unchanged")
    assert record_correction(with_store, **args, actor="maintainer", at=at)["store"] == (
        "duplicate"
    )
    with store.session() as session:
        (row,) = corrections(session, repo=DEFAULT_REPO)
        assert (row.prediction.decision, row.to_label, row.actor) == (
            "bug",
            "question",
            "maintainer",
        )

    # an issue maintbot did not label: nothing to correct
    untouched = record_correction(
        with_store, repo=DEFAULT_REPO, number=1, from_type="bug", to_type="question",
        actor="maintainer", at=at,
    )  # fmt: skip
    assert untouched == {"recorded": False, "reason": "maintbot did not label this issue"}
