"""Harvesting labelled issues from a repository (the sandbox GitHub on loopback), cached."""

from __future__ import annotations

import pytest

from bot.config.schema import Config
from bot.settings import Settings
from bot.store.database import Store
from bot.triage.harvest import issue_type, merge

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


def test_merge_moves_relabelled_issues_and_drops_untyped_ones():
    cached = {
        "1": {"title": "a", "body": "", "label": "bug"},
        "2": {"title": "b", "body": "", "label": "bug"},
    }
    fresh = [
        {"number": 1, "title": "a", "body": "", "labels": ["question"]},
        {"number": 2, "title": "b", "body": "", "labels": ["wontfix"]},
    ]
    assert merge(cached, fresh, TYPES) == {"1": {"title": "a", "body": "", "label": "question"}}


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
