"""Harvesting labelled issues from a repository (the sandbox GitHub on loopback), cached."""

from __future__ import annotations

from bot.config import Config
from bot.settings import Settings
from bot.store import Store
from bot.triage.harvest import issue_type, merge

REPO = "octo/widgets"
TYPES = {"bug": "bug", "feature": "enhancement", "question": "question"}


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


def test_harvest_reads_labelled_issues_and_then_only_updates(sandbox, tmp_path):
    from bot.triage.harvest import harvest_repository

    sandbox.state.add_pull(REPO, title="A pull request labelled bug", body="", labels=["bug"])
    settings = Settings(api_url=sandbox.base_url, token="t")
    settings._cache["config"] = Config.default()
    settings._cache["store"] = Store.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    issues = harvest_repository(settings, REPO)
    # seed_widgets: #1 bug, #2 enhancement (feature), #3 question (closed), #4 unlabelled
    assert [(i.number, i.label) for i in issues] == [(1, "bug"), (2, "feature"), (3, "question")]
    assert issues[0].title == "Widget crashes on empty input"
    sandbox.clear_requests()
    again = harvest_repository(settings, REPO)
    assert [(i.number, i.label) for i in again] == [(1, "bug"), (2, "feature"), (3, "question")]
    issue_reads = [r for r in sandbox.requests if r.route.endswith("/issues")]
    assert issue_reads and all("since" in r.query for r in issue_reads)
