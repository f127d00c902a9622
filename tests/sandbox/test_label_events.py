"""The sandbox records ``labeled`` / ``unlabeled`` issue events, by the token's account.

Corrections are derived from these events (bot/triage/corrections.py), so every way the API
changes an issue's labels must leave them, attributed as GitHub attributes them: to the
account of the token that made the change (a ``[bot]`` account is a ``Bot``)."""

from __future__ import annotations

import pytest
from github import Github

from tests.fixtures.sandbox import DEFAULT_REPO

TOKENS = {"bot-token": "maintbot[bot]", "maintainer-token": "maintainer"}


@pytest.fixture
def sb(make_sandbox):
    return make_sandbox(seed_default=True, tokens=TOKENS)


def client(sb, token: str) -> Github:
    from bot.github.client import build_github

    return build_github(token=token, api_url=sb.base_url, seconds_between_writes=0)


def events_of(sb, number: int) -> list[tuple[str, str, str, str]]:
    """(event, label, actor login, actor type) as ``GET .../issues/{n}/events`` lists them."""
    listed = client(sb, "maintainer-token").requester.requestJsonAndCheck(
        "GET", f"/repos/{DEFAULT_REPO}/issues/{number}/events"
    )[1]
    return [
        (e["event"], e["label"]["name"], e["actor"]["login"], e["actor"]["type"])
        for e in listed
        if e["event"] in ("labeled", "unlabeled")
    ]


def test_every_label_write_leaves_events_by_the_tokens_account(sb):
    bot_issue = client(sb, "bot-token").get_repo(DEFAULT_REPO).get_issue(4)
    person_issue = client(sb, "maintainer-token").get_repo(DEFAULT_REPO).get_issue(4)
    bot_issue.add_to_labels("bug")  # POST .../labels
    bot_issue.add_to_labels("bug")  # already there: GitHub records nothing
    person_issue.remove_from_labels("bug")  # DELETE .../labels/{name}
    person_issue.set_labels("question", "gpu")  # PUT .../labels (gpu is created)
    person_issue.edit(labels=["question"])  # PATCH the issue's labels
    bot_issue.remove_from_labels("question")
    person_issue.delete_labels()  # DELETE .../labels, nothing left: no event
    assert events_of(sb, 4) == [
        ("labeled", "bug", "maintbot[bot]", "Bot"),
        ("unlabeled", "bug", "maintainer", "User"),
        ("labeled", "question", "maintainer", "User"),
        ("labeled", "gpu", "maintainer", "User"),
        ("unlabeled", "gpu", "maintainer", "User"),
        ("unlabeled", "question", "maintbot[bot]", "Bot"),
    ]


def test_an_issue_opened_with_labels_is_labelled_by_its_author(sb):
    created = (
        client(sb, "maintainer-token")
        .get_repo(DEFAULT_REPO)
        .create_issue("A crash", body="boom", labels=["bug"])
    )
    assert events_of(sb, created.number) == [("labeled", "bug", "maintainer", "User")]


def test_the_repository_listing_embeds_the_issue_newest_first(sb):
    issue = client(sb, "maintainer-token").get_repo(DEFAULT_REPO).get_issue(2)
    issue.add_to_labels("question")
    issue.remove_from_labels("enhancement")
    listed = client(sb, "bot-token").requester.requestJsonAndCheck(
        "GET", f"/repos/{DEFAULT_REPO}/issues/events"
    )[1]
    label_events = [e for e in listed if e["event"] in ("labeled", "unlabeled")]
    assert [(e["event"], e["label"]["name"], e["issue"]["number"]) for e in label_events] == [
        ("unlabeled", "enhancement", 2),
        ("labeled", "question", 2),
    ]
    required = {"id", "node_id", "url", "actor", "event", "commit_id", "commit_url", "created_at"}
    for event in label_events:
        assert required <= set(event)
        assert set(event["label"]) == {"name", "color"}
        assert event["created_at"].endswith("Z")


def test_a_refused_write_records_no_event(sb):
    issue = client(sb, "maintainer-token").get_repo(DEFAULT_REPO).get_issue(4)
    with pytest.raises(Exception) as refused:
        issue.remove_from_labels("bug")  # #4 has no labels: GitHub's 404
    assert getattr(refused.value, "status", None) == 404
    assert events_of(sb, 4) == []
