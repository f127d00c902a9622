"""The welcome beside the type label on one new issue: one comment with both sections, and a
redelivery of the event writes nothing (the routers composed as bot/handlers.py does)."""

from __future__ import annotations

from bot.commands.handlers import router as commands
from bot.config.loader import parse_config
from bot.events.router import Router, dispatch
from bot.github.comments import comment_sections
from bot.triage.comment import ISSUE_COMMENT_KEY
from bot.triage.handlers import router as triage
from bot.triage.missing_info_handlers import router as missing_info
from bot.triage.policy import read_prediction_marker
from bot.welcome.handlers import router as welcome
from tests.commands.events import (
    comment_event,
    comments_with_key,
    context,
    issue_opened_event,
    label_events,
    writes,
)

REPO = "octo/widgets"
ROUTER = Router(triage, welcome, commands)


def test_a_new_issue_gets_its_type_and_a_welcome_in_one_comment(sandbox, shared_dir):
    number = sandbox.state.add_issue(
        REPO,
        title="Crash: IndexError when calling widget() on an empty list",
        body="Traceback (most recent call last):\nIndexError: list index out of range",
        user="newbie",
    )["number"]
    event = issue_opened_event(shared_dir, sandbox, REPO, number)
    outcome = dispatch(ROUTER, event, context(sandbox))
    assert outcome.ok, outcome.summary()
    (comment,) = comments_with_key(sandbox, REPO, number, ISSUE_COMMENT_KEY)
    sections = comment_sections(comment["body"])
    assert "Welcome, @newbie" in sections["welcome"]
    assert list(sections) == ["welcome", "type"]  # welcome first, whichever wrote first
    events = label_events(sandbox, REPO, number)

    sandbox.clear_requests()
    assert dispatch(ROUTER, event, context(sandbox)).ok
    assert writes(sandbox) == []
    assert label_events(sandbox, REPO, number) == events

    # a maintainer corrects the bot's label: relabelled, and the marker remembers it
    predicted = read_prediction_marker(comment["body"])["label"]
    wanted = "question" if predicted != "question" else "feature"
    fix = comment_event(shared_dir, sandbox, REPO, number, f"/type {wanted}", user="maintainer")
    assert dispatch(ROUTER, fix, context(sandbox)).ok
    (comment,) = comments_with_key(sandbox, REPO, number, ISSUE_COMMENT_KEY)
    marker = read_prediction_marker(comment["body"])
    assert (marker["label"], marker["corrected_to"]) == (predicted, wanted)
    assert "Welcome, @newbie" in comment_sections(comment["body"])["welcome"]


FULL = Router(triage, missing_info, welcome, commands)


def test_a_newcomers_bug_report_is_asked_for_its_versions_once(sandbox, shared_dir):
    """The welcome leaves the versions to the missing-information check when it asked for
    them in the same comment; without that check the welcome names them itself."""
    crash = "Traceback (most recent call last):\nIndexError: list index out of range"
    title = "Crash: IndexError when calling widget() on an empty list"
    number = sandbox.state.add_issue(REPO, title=title, body=crash, user="newbie")["number"]
    event = issue_opened_event(shared_dir, sandbox, REPO, number)
    outcome = dispatch(FULL, event, context(sandbox))
    assert outcome.ok, outcome.summary()
    (comment,) = comments_with_key(sandbox, REPO, number, ISSUE_COMMENT_KEY)
    sections = comment_sections(comment["body"])
    assert "version" in sections["missing_info"].lower()
    assert "version" not in sections["welcome"]
    assert "listed below" in sections["welcome"]

    off = parse_config("triage:\n  missing_info:\n    enabled: false\n")
    other = sandbox.state.add_issue(REPO, title=title, body=crash, user="newcomer")["number"]
    event = issue_opened_event(shared_dir, sandbox, REPO, other)
    assert dispatch(FULL, event, context(sandbox, off)).ok
    (comment,) = comments_with_key(sandbox, REPO, other, ISSUE_COMMENT_KEY)
    sections = comment_sections(comment["body"])
    assert "missing_info" not in sections
    assert "the versions you use (Python, TensorFlow" in sections["welcome"]
