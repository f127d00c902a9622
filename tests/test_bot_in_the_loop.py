"""The bot in the loop, as a maintainer meets it: one repository, GitHub's real payloads,
every delivery through ``maintbot action`` (the composed router, the Action's store),
the sandbox over HTTP.

A newcomer reports an ML crash that repeats an open issue and gives no versions: it is
welcomed once, labelled bug and needs-info, and the one bot comment links the earlier
issue and lists what is missing; the newcomer's edit supplies the versions, so needs-info
goes and the same comment says thanks. A stranger's ``/type feature`` is refused with the
reason; a maintainer's relabels and is a correction that ``triage stats`` and the report
count. Every delivery replayed writes nothing; a dry run only reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.events.router import Event
from tests.commands.events import comment_event, issue_opened_event
from tests.fixtures.sandbox import DEFAULT_REPO
from tests.triage.test_missing_info import TF_NO_VERSIONS

VERSIONS = "\n\nTensorFlow 2.15.0, Python 3.11.6, CUDA 12.2, on Ubuntu 22.04.\n"
TITLE = "model.fit crashes with a ValueError on a ragged tensor"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.fixture
def env(monkeypatch, sandbox, tmp_path):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_API_URL", sandbox.base_url)
    monkeypatch.setenv("GITHUB_REPOSITORY", DEFAULT_REPO)
    monkeypatch.setenv("MAINTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'store.sqlite3'}")
    return monkeypatch


def deliver(env, tmp_path: Path, event: Event, *options: str) -> str:
    """The Action started by ``event``: GITHUB_EVENT_NAME / GITHUB_EVENT_PATH, then exit 0."""
    path = tmp_path / f"{event.delivery_id}.json"
    path.write_text(json.dumps(event.payload, default=str), encoding="utf-8")
    env.setenv("GITHUB_EVENT_NAME", event.name)
    env.setenv("GITHUB_EVENT_PATH", str(path))
    result = CliRunner().invoke(cli, [*options, "action"])
    assert result.exit_code == 0, result.output
    return result.output


def maintbot(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--json", *args])
    assert result.exit_code == 0, result.output
    text = result.stdout.strip()
    try:
        return json.loads(text)  # a document (the report)
    except json.JSONDecodeError:
        return json.loads(text.splitlines()[-1])  # a command's last line


def bot_comments(sandbox, number: int) -> list[dict[str, Any]]:
    with sandbox.state.lock:
        return [
            c
            for c in sandbox.state.repo(DEFAULT_REPO)["comments"].values()
            if c["issue_number"] == number and c["body"].startswith("<!-- maintbot:triage -->")
        ]


def labels(sandbox, number: int) -> list[str]:
    with sandbox.state.lock:
        return sorted(sandbox.state.issue(DEFAULT_REPO, number)["labels"])


def writes(sandbox) -> list[str]:
    return [r.route for r in sandbox.requests if r.method in WRITES]


def test_a_maintainers_day_with_the_bot(env, sandbox, shared_dir, tmp_path):
    state = sandbox.state
    earlier = state.add_issue(DEFAULT_REPO, title=TITLE, body=TF_NO_VERSIONS, user="erin")
    state.add_issue_comment(DEFAULT_REPO, earlier["number"], body="Same here.", user="erin")
    number = state.add_issue(
        DEFAULT_REPO,
        title="Training crashes: ValueError on ragged input in model.fit",
        body=TF_NO_VERSIONS,
        user="newbie",
    )["number"]
    opened = issue_opened_event(shared_dir, sandbox, DEFAULT_REPO, number)

    # a dry run first: the exact plan, nothing written
    sandbox.clear_requests()
    planned = deliver(env, tmp_path, opened, "--dry-run")
    assert writes(sandbox) == [] and "dry-run: would label" in planned

    out = deliver(env, tmp_path, opened)
    assert "label_new_issue: ok" in out and "ask_for_missing_info: ok" in out, out
    assert "welcome_issue_author: ok" in out and "find_duplicates: ok" in out, out
    assert labels(sandbox, number) == ["bug", "needs-info"]
    (comment,) = bot_comments(sandbox, number)
    body = comment["body"]
    assert f"/issues/{earlier['number']}" in body  # the likely duplicate, linked
    assert "- **Versions**" in body and "Welcome, @newbie" in body  # the ask, the welcome

    # the newcomer adds the versions: needs-info goes, the same comment says thanks
    with state.lock:
        state.issue(DEFAULT_REPO, number)["body"] = TF_NO_VERSIONS + VERSIONS
    edited = issue_opened_event(shared_dir, sandbox, DEFAULT_REPO, number)
    edited.payload.update(action="edited", changes={"body": {"from": TF_NO_VERSIONS}})
    edited = Event("issues", edited.payload, "delivery-edited")
    deliver(env, tmp_path, edited)
    assert labels(sandbox, number) == ["bug"]
    (after,) = bot_comments(sandbox, number)
    assert after["id"] == comment["id"] and "- **Versions**" not in after["body"]

    # a stranger's /type changes nothing and says why; a maintainer's relabels
    stranger = comment_event(
        shared_dir, sandbox, DEFAULT_REPO, number, "/type feature", user="mallory"
    )
    deliver(env, tmp_path, stranger)
    assert labels(sandbox, number) == ["bug"]
    maintainer = comment_event(
        shared_dir,
        sandbox,
        DEFAULT_REPO,
        number,
        "/type feature",
        user="maintainer",
        association="COLLABORATOR",
    )
    deliver(env, tmp_path, maintainer)
    assert labels(sandbox, number) == ["enhancement"]
    with state.lock:
        replies = [
            c["body"]
            for c in state.repo(DEFAULT_REPO)["comments"].values()
            if c["issue_number"] == number and c["body"].startswith("<!-- maintbot:command:")
        ]
    assert len(replies) == 2
    assert any("can only be used by people with the **triage** role" in r for r in replies)
    assert any("recorded as a correction" in r for r in replies)

    # every delivery again: not one write
    sandbox.clear_requests()
    for event in (opened, edited, stranger, maintainer):
        sandbox.clear_requests()
        out = deliver(env, tmp_path, event)
        assert writes(sandbox) == [], (event.key, out)

    # the correction counts: triage stats and the report
    stats = maintbot("triage", "stats", "--repo", DEFAULT_REPO)
    assert stats["labels"]["bug"]["predicted"] == 1
    assert stats["labels"]["bug"]["corrected"] == 1
    report = maintbot("report", "--repo", DEFAULT_REPO, "--since", "2000-01-01")
    precision = report["triage"]["precision"]
    assert {(p["label"], p["predicted"], p["kept"]) for p in precision} >= {("bug", 1, 0)}

    # a second issue by the same newcomer: no second welcome
    second = state.add_issue(
        DEFAULT_REPO, title="Docs typo", body="A typo in the README.", user="newbie"
    )["number"]
    out = deliver(env, tmp_path, issue_opened_event(shared_dir, sandbox, DEFAULT_REPO, second))
    assert "welcome_issue_author: skipped" in out
