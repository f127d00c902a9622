"""Slash commands end to end: real payloads, dispatched through the router, against the
sandbox GitHub over HTTP on loopback; what changed is read back from the sandbox."""

from __future__ import annotations

import dataclasses

import pytest

from bot.commands import permissions
from bot.commands.handlers import reply_key
from bot.commands.handlers import router as commands_router
from bot.config.schema import CommandsConfig, Config
from bot.events.router import Router, Skipped, dispatch
from bot.github.comments import marker, merge_section
from bot.triage.comment import ISSUE_COMMENT_KEY, SECTIONS
from bot.triage.policy import read_prediction_marker, type_section
from tests.commands.events import comment_event, comments_with_key, context, label_events, writes

REPO = "octo/widgets"  # seeded by the sandbox fixture: #1 bug, #2 enhancement, #4 unlabelled
ROUTER = Router(commands_router)


@pytest.fixture(autouse=True)
def _fresh_roles():
    permissions.clear_cache()
    yield
    permissions.clear_cache()


@pytest.fixture
def sb(sandbox):
    sandbox.state.set_collaborator(REPO, "tria", "triage")
    sandbox.state.set_collaborator(REPO, "reader", "read")
    sandbox.state.add_user("stranger")
    return sandbox


def run(sb, event, ctx=None):
    """Dispatches ``event`` and returns the commands handler's result."""
    ctx = ctx or context(sb)
    outcome = dispatch(ROUTER, event, ctx)
    assert outcome.ok, outcome.summary()
    (handler,) = outcome.outcomes
    return handler.result


def labels(sb, number):
    return sorted(sb.state.issue(REPO, number)["labels"])


def reply(sb, event) -> str:
    number = event.payload["issue"]["number"]
    (comment,) = comments_with_key(sb, REPO, number, reply_key(event.payload["comment"]["id"]))
    return comment["body"]


def test_type_from_a_user_without_permission_changes_nothing_and_says_why(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 1, "/type feature", user="stranger")
    sb.clear_requests()
    result = run(sb, event)
    assert result["allowed"] is False and result["role"] == "read"
    assert labels(sb, 1) == ["bug"]
    assert label_events(sb, REPO, 1) == []
    text = reply(sb, event)
    assert "**triage** role or higher" in text and "your role here: read" in text
    assert "Nothing was changed" in text
    assert writes(sb) == ["POST /repos/{owner}/{repo}/issues/{issue_number}/comments"]


def test_read_role_is_refused_and_triage_role_is_allowed(sb, shared_dir):
    refused = comment_event(shared_dir, sb, REPO, 4, "/label question", user="reader")
    assert run(sb, refused)["allowed"] is False
    allowed = comment_event(shared_dir, sb, REPO, 4, "/label question", user="tria")
    result = run(sb, allowed)
    assert result["allowed"] is True and result["role"] == "triage"
    assert labels(sb, 4) == ["question"]
    assert "labelled question" in reply(sb, allowed)


def test_min_permission_is_read_from_the_config(sb, shared_dir):
    config = dataclasses.replace(Config.default(), commands=CommandsConfig(min_permission="write"))
    event = comment_event(shared_dir, sb, REPO, 4, "/label question", user="tria")
    assert run(sb, event, context(sb, config))["allowed"] is False
    assert "**write** role or higher" in reply(sb, event)
    assert labels(sb, 4) == []


def test_commands_can_be_switched_off(sb, shared_dir):
    config = dataclasses.replace(Config.default(), commands=CommandsConfig(enabled=False))
    event = comment_event(shared_dir, sb, REPO, 4, "/label question", user="maintainer")
    result = run(sb, event, context(sb, config))
    assert result == Skipped("commands.enabled is false")
    assert labels(sb, 4) == []


def test_type_sets_an_unlabelled_issue_and_accepts_the_repository_label(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 4, "/type enhancement", user="maintainer")
    result = run(sb, event)
    assert labels(sb, 4) == ["enhancement"]
    assert result["outcomes"][0]["ok"] is True
    assert "the type is feature (label enhancement)" in reply(sb, event)
    assert "was" not in reply(sb, event)  # no type before


def test_type_replaces_needs_triage(sb, shared_dir):
    sb.state.add_issue(REPO, title="Unsure", user="eve", labels=["needs-triage"])
    event = comment_event(shared_dir, sb, REPO, 5, "/type question", user="maintainer")
    ctx = context(sb, dry_run=True)
    run(sb, event, ctx)
    planned = [p for p in ctx.planned if p["action"] == "label"]
    assert planned == [
        {
            "action": "label",
            "repo": REPO,
            "issue": 5,
            "add": ["question"],
            "remove": ["needs-triage"],
        }
    ]


def test_an_unknown_type_is_explained(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 1, "/type banana", user="maintainer")
    run(sb, event)
    assert labels(sb, 1) == ["bug"]
    assert "banana is not an issue type here" in reply(sb, event)
    assert "feature (label enhancement)" in reply(sb, event)


def bot_labelled(sb, number: int, issue_type: str = "bug") -> None:
    """Issue ``number`` as maintbot leaves it: its type label and its one comment, whose
    hidden marker records the prediction (what a correction is measured against)."""
    config = Config.default()
    label = config.labels.label_for(issue_type)
    prediction = {
        "decision": issue_type,
        "confidence": 0.97,
        "probabilities": {issue_type: 0.97, "question": 0.03},
    }
    section = type_section(config, [label], prediction, {"name": "built-in", "version": "1"})
    body = marker(ISSUE_COMMENT_KEY) + "\n" + merge_section(None, "type", section, SECTIONS)
    sb.state.issue(REPO, number)["labels"] = [label]
    sb.state.add_issue_comment(REPO, number, body=body, user=sb.state.default_login)


def bot_marker(sb, number: int) -> dict:
    (comment,) = comments_with_key(sb, REPO, number, ISSUE_COMMENT_KEY)
    return read_prediction_marker(comment["body"])


def test_type_from_a_maintainer_relabels_and_records_a_correction(sb, shared_dir):
    bot_labelled(sb, 1, "bug")
    event = comment_event(shared_dir, sb, REPO, 1, "/type feature", user="maintainer")
    result = run(sb, event)
    assert result["allowed"] is True and result["role"] == "write"
    assert labels(sb, 1) == ["enhancement"]
    assert label_events(sb, REPO, 1) == [("labeled", "enhancement"), ("unlabeled", "bug")]
    assert "the type is feature (label enhancement), was bug; recorded as a correction" in (
        reply(sb, event)
    )
    recorded = bot_marker(sb, 1)
    assert recorded["label"] == "bug"  # what the bot predicted stays
    assert (recorded["corrected_to"], recorded["corrected_by"]) == ("feature", "maintainer")
    # the same delivery again: no second label event, no second reply, marker unchanged
    run(sb, event)
    assert label_events(sb, REPO, 1) == [("labeled", "enhancement"), ("unlabeled", "bug")]
    assert bot_marker(sb, 1) == recorded


def test_a_replayed_delivery_writes_nothing_twice(sb, shared_dir):
    event = comment_event(
        shared_dir, sb, REPO, 4, "/label question\n/duplicate #2", user="maintainer"
    )
    run(sb, event)
    first_events = label_events(sb, REPO, 4)
    assert first_events == [("labeled", "question"), ("labeled", "possible-duplicate")]
    sb.clear_requests()
    again = run(sb, event)
    assert isinstance(again, Skipped) and "already answered" in again.reason
    assert writes(sb) == []
    assert label_events(sb, REPO, 4) == first_events
    assert len(comments_with_key(sb, REPO, 4, reply_key(event.payload["comment"]["id"]))) == 1


def test_a_rerun_after_a_lost_reply_adds_no_label_twice(sb, shared_dir):
    """A first run that died before replying: the labels are compared, the reply written once."""
    event = comment_event(shared_dir, sb, REPO, 4, "/label question", user="maintainer")
    run(sb, event)
    key = reply_key(event.payload["comment"]["id"])
    (lost,) = comments_with_key(sb, REPO, 4, key)
    del sb.state.repo(REPO)["comments"][lost["id"]]
    run(sb, event)
    assert label_events(sb, REPO, 4) == [("labeled", "question")]
    assert len(comments_with_key(sb, REPO, 4, key)) == 1


def test_an_edited_comment_runs_nothing(sb, shared_dir):
    event = comment_event(
        shared_dir, sb, REPO, 4, "/label question", user="maintainer", action="edited"
    )
    assert dispatch(ROUTER, event, context(sb)).outcomes == []
    assert labels(sb, 4) == []


def test_dry_run_sends_only_get_requests(sb, shared_dir):
    bot_labelled(sb, 1, "bug")
    body = "/type feature\n/label question\n/duplicate #2\n/unlabel bug\n/help"
    event = comment_event(shared_dir, sb, REPO, 1, body, user="maintainer")
    sb.clear_requests()
    ctx = context(sb, dry_run=True)
    result = run(sb, event, ctx)
    assert all(o["ok"] for o in result["outcomes"]), result
    assert writes(sb) == []
    assert {r.method for r in sb.requests} == {"GET"}
    assert labels(sb, 1) == ["bug"]
    actions = [p["action"] for p in ctx.planned]
    assert actions == ["label", "comment", "label", "label", "label", "comment"]
    assert "corrected_to" in ctx.planned[1]["body"]  # the marker's update, planned
    assert "maintbot commands" in ctx.planned[-1]["body"]


def test_a_label_that_does_not_exist_is_named_never_created(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 4, "/label wontfix\n/unlabel nope", user="tria")
    result = run(sb, event)
    assert [o["ok"] for o in result["outcomes"]] == [False, False]
    text = reply(sb, event)
    assert (
        "no label named wontfix here; existing: bug, documentation, enhancement, question" in text
    )
    assert "no label named nope here" in text
    assert "wontfix" not in sb.state.repo(REPO)["labels"]
    assert labels(sb, 4) == []


def test_duplicate_checks_the_other_issue_and_not_duplicate_undoes_it(sb, shared_dir):
    missing = comment_event(shared_dir, sb, REPO, 4, "/duplicate #99", user="maintainer")
    run(sb, missing)
    assert "there is no issue #99" in reply(sb, missing)
    itself = comment_event(shared_dir, sb, REPO, 4, "/duplicate 4", user="maintainer")
    run(sb, itself)
    assert "cannot duplicate itself" in reply(sb, itself)
    assert labels(sb, 4) == []
    marked = comment_event(shared_dir, sb, REPO, 4, "/duplicate #2", user="maintainer")
    run(sb, marked)
    assert labels(sb, 4) == ["possible-duplicate"]
    assert "duplicate of #2 (label possible-duplicate)" in reply(sb, marked)
    undone = comment_event(shared_dir, sb, REPO, 4, "/not-duplicate", user="maintainer")
    run(sb, undone)
    assert labels(sb, 4) == []


def test_help_is_for_everyone_and_asks_no_permission(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 1, "/help", user="stranger")
    sb.clear_requests()
    run(sb, event)
    assert not any(r.route.endswith("/permission") for r in sb.requests)
    text = reply(sb, event)
    assert "/type <type or label>" in text and "/not-duplicate" in text
    assert "Everyone may use `/help`" in text


def test_refusal_still_answers_help(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 1, "/help\n/label question", user="stranger")
    run(sb, event)
    text = reply(sb, event)
    assert "Nothing was changed" in text and "maintbot commands" in text
    assert labels(sb, 1) == ["bug"]


def test_bots_are_ignored(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 4, "/label question", user="renovate[bot]")
    assert run(sb, event) == Skipped("comment by a bot (renovate[bot])")
    assert labels(sb, 4) == []


def test_the_role_is_asked_once_per_person_and_cached(sb, shared_dir):
    for body in ("/label question", "/unlabel question"):
        run(sb, comment_event(shared_dir, sb, REPO, 4, body, user="tria"))
    asked = [r for r in sb.requests if r.route.endswith("/permission")]
    assert len(asked) == 1


def test_echoed_text_cannot_ping_or_inject(sb, shared_dir):
    event = comment_event(
        shared_dir, sb, REPO, 4, "/label @octo/team <!-- x --> [a](http://e)", user="maintainer"
    )
    run(sb, event)
    text = reply(sb, event)
    assert "@octo" not in text and "@\u200docto" in text
    assert "[a](http://e)" not in text and "\\[a\\](http:\u200d//e)" in text


def test_unknown_commands_and_too_many_commands_are_reported(sb, shared_dir):
    body = "/frob\n" + "\n".join(f"/unlabel x{i}" for i in range(9))
    event = comment_event(shared_dir, sb, REPO, 4, body, user="maintainer")
    result = run(sb, event)
    assert result["unknown"] == ["frob"] and result["ignored"] == 5
    text = reply(sb, event)
    assert "Unknown command(s): /frob" in text
    assert "5 more command(s) ignored" in text


def test_pull_requests_take_labels_but_not_types(sb, shared_dir):
    sb.state.add_pull(REPO, title="Faster widgets", user="bob", head="fast", base="main")
    number = max(sb.state.repo(REPO)["issues"])
    event = comment_event(
        shared_dir, sb, REPO, number, "/type bug\n/label enhancement", user="maintainer"
    )
    result = run(sb, event)
    assert [o["ok"] for o in result["outcomes"]] == [False, True]
    assert labels(sb, number) == ["enhancement"]
    assert "/type works on issues only" in reply(sb, event)


def test_bad_payloads_get_a_clear_outcome(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 4, "/label question", user="maintainer")
    for broken in (
        {k: v for k, v in event.payload.items() if k != "comment"},
        {**event.payload, "issue": {"number": "four"}},
        {**event.payload, "repository": None},
    ):
        result = run(sb, type(event)("issue_comment", broken))
        assert isinstance(result, Skipped) and "payload lacks" in result.reason
    huge = comment_event(
        shared_dir, sb, REPO, 4, "/label question\n" + "x" * 1_000_000, user="maintainer"
    )
    assert run(sb, huge)["outcomes"][0]["ok"] is True
    assert labels(sb, 4) == ["question"]


def test_without_a_github_client_nothing_is_decided(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 4, "/label question", user="maintainer")
    result = run(None, event, context(None))
    assert isinstance(result, Skipped) and "role cannot be checked" in result.reason
    assert result.details["commands"] == ["/label question"]


def test_triage_reruns_the_type_label_handler(sb, shared_dir):
    sb.state.add_issue(
        REPO,
        title="Crash: IndexError when calling widget() on an empty list",
        body="Traceback (most recent call last):\n  File x.py\nIndexError: list index out of range",
        user="eve",
    )
    number = max(sb.state.repo(REPO)["issues"])
    event = comment_event(shared_dir, sb, REPO, number, "/triage", user="maintainer")
    result = run(sb, event)
    (outcome,) = result["outcomes"]
    assert outcome["ok"] is True, outcome
    text = reply(sb, event)
    assert "triaged again" in text or "triage left the issue as it is" in text
    # an issue a person already typed is left alone by the type-label handler
    typed = comment_event(shared_dir, sb, REPO, 1, "/triage", user="maintainer")
    run(sb, typed)
    assert "already triaged" in reply(sb, typed)
    assert labels(sb, 1) == ["bug"]


def test_status_labels_are_not_created_when_create_missing_is_off(sb, shared_dir):
    config = dataclasses.replace(
        Config.default(), labels=dataclasses.replace(Config.default().labels, create_missing=False)
    )
    event = comment_event(shared_dir, sb, REPO, 4, "/duplicate #2", user="maintainer")
    run(sb, event, context(sb, config))
    assert "no label named possible-duplicate here" in reply(sb, event)
    assert "possible-duplicate" not in sb.state.repo(REPO)["labels"]


def test_a_path_at_the_start_of_a_line_gets_no_reply_from_a_stranger(sb, shared_dir):
    event = comment_event(shared_dir, sb, REPO, 1, "/tmp is full on my machine", user="stranger")
    result = run(sb, event)
    assert isinstance(result, Skipped) and "only unknown commands (tmp)" in result.reason
    assert comments_with_key(sb, REPO, 1, reply_key(event.payload["comment"]["id"])) == []
    typo = comment_event(shared_dir, sb, REPO, 1, "/lable bug", user="maintainer")
    run(sb, typo)
    assert "Unknown command(s): /lable" in reply(sb, typo)


def test_type_relabels_but_records_nothing_with_learn_from_corrections_off(sb, shared_dir):
    bot_labelled(sb, 1, "bug")
    base = Config.default()
    off = dataclasses.replace(
        base, triage=dataclasses.replace(base.triage, learn_from_corrections=False)
    )
    event = comment_event(shared_dir, sb, REPO, 1, "/type feature", user="maintainer")
    run(sb, event, context(sb, off))
    assert labels(sb, 1) == ["enhancement"]
    assert "recorded as a correction" not in reply(sb, event)
    assert "corrected_to" not in bot_marker(sb, 1)
