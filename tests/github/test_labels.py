"""End to end: label writes through PyGithub against the sandbox, checked in its own state."""

from __future__ import annotations

import re

from bot.github.client import build_github
from bot.github.labels import apply_labels, default_color

REPO = "octo/widgets"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def client(sandbox):
    return build_github(token="t", api_url=sandbox.base_url, seconds_between_writes=0)


def repo_labels(sandbox) -> dict[str, dict]:
    with sandbox.state.lock:
        return {k: dict(v) for k, v in sandbox.state.repo(REPO)["labels"].items()}


def issue_labels(sandbox, number: int) -> list[str]:
    with sandbox.state.lock:
        return list(sandbox.state.issue(REPO, number)["labels"])


def writes(sandbox) -> list[str]:
    return [r.route for r in sandbox.requests if r.method in WRITES]


def test_adding_a_missing_label_creates_it_with_a_colour(sandbox):
    repo = client(sandbox).get_repo(REPO)
    issue = repo.get_issue(4)
    palette = {"needs-triage": ("#FBCA04", "Not sure yet")}

    result = apply_labels(repo, issue, add=["needs-triage", "Bug"], palette=palette)

    assert result.created == ("needs-triage",)
    assert set(result.added) == {"needs-triage", "bug"}  # the repository's spelling of "Bug"
    created = repo_labels(sandbox)["needs-triage"]
    assert (created["color"], created["description"]) == ("fbca04", "Not sure yet")
    assert sorted(issue_labels(sandbox, 4)) == ["bug", "needs-triage"]


def test_a_label_outside_the_palette_gets_a_real_colour_not_githubs_grey(sandbox):
    repo = client(sandbox).get_repo(REPO)
    apply_labels(repo, repo.get_issue(4), add=["good first issue"])
    color = repo_labels(sandbox)["good first issue"]["color"]
    assert re.fullmatch(r"[0-9a-f]{6}", color) and color == default_color("good first issue")


def test_a_rerun_writes_nothing(sandbox):
    repo = client(sandbox).get_repo(REPO)
    apply_labels(repo, repo.get_issue(2), add=["triaged"], remove=["enhancement"])
    issue = repo.get_issue(2)  # fresh copy, as the next event would load it
    sandbox.clear_requests()

    result = apply_labels(repo, issue, add=["triaged"], remove=["enhancement"])

    assert not result.changed
    assert writes(sandbox) == []
    assert sandbox.requests == []  # the issue already has it: not even the labels are listed


def test_remove_only_present_labels(sandbox):
    repo = client(sandbox).get_repo(REPO)
    issue = repo.get_issue(1)
    sandbox.clear_requests()

    result = apply_labels(repo, issue, remove=["BUG", "question"])

    assert result.removed == ("bug",)
    assert writes(sandbox) == ["DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"]
    assert issue_labels(sandbox, 1) == []


def test_dry_run_says_what_it_would_do_and_writes_nothing(sandbox):
    repo = client(sandbox).get_repo(REPO)
    issue = repo.get_issue(1)
    sandbox.clear_requests()

    result = apply_labels(repo, issue, add=["regression"], remove=["bug"], dry_run=True)

    assert (result.created, result.added, result.removed) == (
        ("regression",),
        ("regression",),
        ("bug",),
    )
    assert result.dry_run and writes(sandbox) == []
    assert "regression" not in repo_labels(sandbox) and issue_labels(sandbox, 1) == ["bug"]


def test_the_writes_of_one_event_list_the_repository_labels_once(sandbox):
    """Two label writes of one event (two handlers, or an issue and its twin): one listing
    of the repository's labels, which knows the label the first write created."""
    from bot.config.schema import Config
    from bot.events.context import HandlerContext

    ctx = HandlerContext(github=client(sandbox), config=Config())
    sandbox.clear_requests()
    first = ctx.apply_labels(REPO, 3, add=["fresh-label"])
    second = ctx.apply_labels(REPO, 4, add=["fresh-label", "bug"])

    assert first.created == ("fresh-label",) and second.created == ()
    assert "fresh-label" in issue_labels(sandbox, 4)
    assert [r.route for r in sandbox.requests].count("GET /repos/{owner}/{repo}/labels") == 1
    assert writes(sandbox).count("POST /repos/{owner}/{repo}/labels") == 1
