"""Harvesting labelled issues from a repository (the sandbox GitHub on loopback), cached."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config.schema import Config
from bot.settings import Settings
from bot.store.database import Store
from bot.triage.corrections import BotPrediction, Feedback, LabelEvent
from bot.triage.harvest import issue_type, select_training, training_label

REPO = "octo/widgets"
TYPES = {"bug": "bug", "feature": "enhancement", "question": "question"}


@pytest.fixture
def settings(sandbox, tmp_path):
    """Settings that reach the sandbox GitHub on loopback, with the default config and a
    store of their own."""
    settings = Settings(api_url=sandbox.base_url, token="t")
    settings._cache["config"] = Config.default()
    settings._cache["store"] = Store.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    return settings


def test_issue_type_needs_exactly_one_type_label():
    assert issue_type(["Bug", "good first issue"], TYPES) == "bug"
    assert issue_type(["bug", "enhancement"], TYPES) is None
    assert issue_type([], TYPES) is None


def test_relabelled_issues_move_and_untyped_ones_drop_out():
    issues = {
        "1": {"title": "a", "body": "", "labels": ["question"]},
        "2": {"title": "b", "body": "", "labels": ["wontfix"]},
    }
    chosen, left_out = select_training(issues, {}, {}, TYPES)
    assert chosen == {"1": {"title": "a", "body": "", "label": "question"}}
    assert left_out == {}


BOT = "maintbot[bot]"


def _ev(action: str, label: str, actor: str, minute: int) -> LabelEvent:
    kind = "Bot" if actor.endswith("[bot]") else "User"
    return LabelEvent(action, label, actor, datetime(2024, 5, 1, 10, minute, tzinfo=UTC), kind)


MAINTBOT_BUG = BotPrediction("bug", ("bug",), at=datetime(2024, 5, 1, 10, tzinfo=UTC), bot=BOT)


def test_training_label_leaves_out_what_only_maintbot_said():
    bots = [_ev("labeled", "bug", BOT, 0)]
    assert training_label(["bug"], TYPES, MAINTBOT_BUG, bots) == (
        None,
        "labelled by a bot, never confirmed or corrected by a person",
    )
    # no event listed (older history), but the marker says maintbot added it
    assert training_label(["bug"], TYPES, MAINTBOT_BUG, [])[0] is None
    # another bot's label with no marker is not a person's either
    assert (
        training_label(["bug"], TYPES, None, [_ev("labeled", "bug", "labeler[bot]", 0)])[0] is None
    )
    # a person's relabel: the corrected type
    relabel = [*bots, _ev("unlabeled", "bug", "maria", 5), _ev("labeled", "question", "maria", 5)]
    assert training_label(["question"], TYPES, MAINTBOT_BUG, relabel) == (
        "question",
        "labelled by a person",
    )
    # a person put maintbot's label back: confirmed
    confirmed = [*bots, _ev("unlabeled", "bug", "maria", 5), _ev("labeled", "bug", "maria", 9)]
    assert training_label(["bug"], TYPES, MAINTBOT_BUG, confirmed)[0] == "bug"
    # `/type question` by a maintainer: maintbot relabels; only the marker tells who chose
    by_command = BotPrediction(
        "bug",
        ("bug",),
        bot=BOT,
        correction=Feedback("bug", "question", "maria", datetime(2024, 5, 2, tzinfo=UTC), "bug"),
    )
    relabelled_by_bot = [
        *bots,
        _ev("unlabeled", "bug", BOT, 30),
        _ev("labeled", "question", BOT, 30),
    ]
    assert training_label(["question"], TYPES, by_command, relabelled_by_bot) == (
        "question",
        "correction by maria",
    )
    # a type label set before the event history shows anything: a person's, as before
    assert training_label(["enhancement"], TYPES, None, []) == (
        "feature",
        "labelled before the event history",
    )


def test_harvest_reads_labelled_issues_and_then_only_updates(sandbox, settings):
    from bot.triage.harvest import harvest_repository

    sandbox.state.add_pull(REPO, title="A pull request labelled bug", body="", labels=["bug"])
    issues = harvest_repository(settings, REPO)
    # seed_widgets: #1 bug, #2 enhancement (feature), #3 question (closed), #4 unlabelled
    assert [(i.number, i.label) for i in issues] == [(1, "bug"), (2, "feature"), (3, "question")]
    assert issues[0].title == "Widget crashes on empty input"
    sandbox.clear_requests()
    again = harvest_repository(settings, REPO)
    assert [(i.number, i.label) for i in again] == [(1, "bug"), (2, "feature"), (3, "question")]
    issue_reads = [r for r in sandbox.requests if r.route.endswith("/issues")]
    assert issue_reads and all("since" in r.query for r in issue_reads)


def test_train_pools_files_and_harvested_repositories(settings, tmp_path, capsys):
    """`triage train --data F --repo R`: the file's issues and the repository's, together,
    each source's count reported (the issues a maintainer adds to a pooled model)."""
    from bot.triage.cli import _issues

    export = tmp_path / "export.jsonl"
    export.write_text(
        '{"title": "Widget crashes on empty input", "label": "bug", "repo": "octo/widgets", '
        '"number": 1}\n{"title": "Docs typo", "label": "docs", "repo": "octo/widgets"}\n'
    )
    issues = _issues(settings, (export,), (REPO,), "train")
    # the harvest's #1 is the file's #1: counted once, from the file
    assert [(i.label, i.number) for i in issues] == [
        ("bug", 1),
        ("docs", None),
        ("feature", 2),
        ("question", 3),
    ]
    err = capsys.readouterr().err
    assert f"{export}: 2 issues (bug 1, docs 1)" in err
    assert f"{REPO}: 3 issues (bug 1, feature 1, question 1)" in err
    assert "train: 4 issues from 2 sources; 1 held by two sources, counted once" in err


def test_harvest_leaves_out_maintbots_unconfirmed_labels_with_bounded_requests(sandbox, settings):
    """Three listings per harvest whatever the number of issues: issues, comments (the
    markers) and the repository's issue events; nothing per issue."""
    from bot.triage.harvest import harvest_repository
    from tests.triage.test_stats_cli import seed_history

    # #10 bug by maintbot, kept but never confirmed; #11 bug -> question by a maintainer;
    # #12 feature confirmed; #13 needs-triage; #14 question -> feature by /type (marker)
    seed_history(sandbox)
    sandbox.clear_requests()
    issues = harvest_repository(settings, REPO)
    assert [(i.number, i.label) for i in issues] == [
        (1, "bug"),
        (2, "feature"),
        (3, "question"),
        (11, "question"),
        (12, "feature"),
        (14, "feature"),
    ]
    # (and once per process GET /user: which account the token is, so that only markers the
    # bot's own account or a bot account wrote are read)
    routes = sorted(r.route for r in sandbox.requests if r.route != "GET /user")
    assert routes == [
        "GET /repos/{owner}/{repo}/issues",
        "GET /repos/{owner}/{repo}/issues/comments",
        "GET /repos/{owner}/{repo}/issues/events",
    ]

    # a maintainer confirms #10 later: the next harvest learns it, with as few requests
    sandbox.clear_requests()
    with sandbox.state.lock:
        sandbox.state.issue(REPO, 10)["updated_at"] = datetime.now(UTC)
    sandbox.state.add_issue_event(
        REPO, 10, event="unlabeled", label="bug", actor="maintainer", created_at=datetime.now(UTC)
    )
    sandbox.state.add_issue_event(
        REPO, 10, event="labeled", label="bug", actor="maintainer", created_at=datetime.now(UTC)
    )
    again = harvest_repository(settings, REPO)
    assert (10, "bug") in [(i.number, i.label) for i in again]
    assert len(sandbox.requests) == 3
