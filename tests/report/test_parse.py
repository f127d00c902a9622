"""GitHub's JSON → report records, on GitHub's own example answers from ../shared."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from bot.report import parse
from bot.report.collect import is_maintbot_post, last_page_number, next_page_url, reviews_due
from bot.report.records import GHOST, Actor, ActorKind, CommentKind, ItemKind
from tests.report.scenario import pull, t


def example(shared_dir, operation: str):
    path = shared_dir / "github" / "rest" / "examples" / f"{operation}.json"
    document = json.loads(path.read_text())
    return document["responses"]["200"]["application/json"]["default"]["value"]


def test_issue_list_entry(shared_dir):
    raw = example(shared_dir, "issues/list-for-repo")[0]
    item = parse.item("octocat/Hello-World", raw)
    # The example is a pull request ("pull_request" present) opened by octocat, labelled bug.
    assert (item.number, item.kind, item.title) == (1347, ItemKind.PULL, "Found a bug")
    assert item.author == Actor("octocat")
    assert item.created_at == datetime(2011, 4, 22, 13, 33, 48, tzinfo=UTC)
    assert (item.closed_at, item.merged_at, item.draft) == (None, None, False)
    assert item.labels == ("bug",)


def test_plain_issue_and_merged_pull(shared_dir):
    raw = copy.deepcopy(example(shared_dir, "issues/list-for-repo")[0])
    merged = copy.deepcopy(raw)
    del raw["pull_request"]
    assert parse.item("o/r", raw).kind is ItemKind.ISSUE
    merged["pull_request"]["merged_at"] = "2011-04-23T10:00:00Z"
    merged["draft"] = True
    item = parse.item("o/r", merged)
    assert item.merged_at == datetime(2011, 4, 23, 10, tzinfo=UTC) and item.draft


def test_comment_review_and_commit(shared_dir):
    comment = parse.issue_comment("o/r", example(shared_dir, "issues/list-comments")[0])
    assert (comment.number, comment.author.name, comment.kind) == (
        1347,
        "octocat",
        CommentKind.ISSUE,
    )
    review = parse.review("o/r", 12, example(shared_dir, "pulls/list-reviews")[0])
    assert review is not None
    assert (review.number, review.state, review.submitted_at) == (
        12,
        "APPROVED",
        datetime(2019, 11, 17, 17, 43, 43, tzinfo=UTC),
    )
    commit = parse.commit("o/r", example(shared_dir, "repos/list-commits")[0])
    assert commit.author == Actor("octocat")
    assert commit.committed_at == datetime(2011, 4, 14, 16, 0, 49, tzinfo=UTC)


def test_pending_review_is_not_a_review(shared_dir):
    raw = dict(example(shared_dir, "pulls/list-reviews")[0], state="PENDING", submitted_at=None)
    assert parse.review("o/r", 1, raw) is None


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (None, GHOST),  # GitHub sends null for some deleted accounts
        ({"login": "ghost", "type": "User"}, GHOST),  # and the "ghost" account for others
        ({"login": "dependabot[bot]", "type": "Bot"}, Actor("dependabot[bot]", ActorKind.BOT)),
        ({"login": "renovate-bot", "type": "Bot"}, Actor("renovate-bot", ActorKind.BOT)),
        ({"login": "someone[bot]", "type": "User"}, Actor("someone[bot]", ActorKind.BOT)),
        ({"login": "alice", "type": "User"}, Actor("alice")),
    ],
)
def test_actors(user, expected):
    assert parse.actor(user) == expected


def test_unlinked_commit_keeps_the_git_name(shared_dir):
    raw = dict(example(shared_dir, "repos/list-commits")[0], author=None)
    assert parse.commit("o/r", raw).author == Actor("Monalisa Octocat", ActorKind.UNLINKED)


def test_ready_for_review_event():
    event = {
        "event": "ready_for_review",
        "created_at": "2024-03-06T00:00:00Z",
        "issue": {"number": 11},
    }
    assert parse.ready_for_review_event(event) == (11, t("2024-03-06 00:00"))
    assert parse.ready_for_review_event({**event, "event": "labeled"}) is None


def test_link_header():
    link = (
        '<https://api.github.com/repositories/1/issues?per_page=100&page=2>; rel="next", '
        '<https://api.github.com/repositories/1/issues?per_page=100&page=7>; rel="last"'
    )
    assert last_page_number(link) == 7
    assert next_page_url(link) == "https://api.github.com/repositories/1/issues?per_page=100&page=2"
    assert last_page_number(None) is None and next_page_url("") is None


def test_maintbot_posts_are_recognised():
    assert is_maintbot_post({"body": "<!-- maintbot:report:2024-03-01..2024-03-31 -->\n# Report"})
    assert not is_maintbot_post({"body": "I quote <!-- maintbot:x --> here"})
    assert not is_maintbot_post({"body": None})


def test_reviews_are_due_only_for_changed_pull_requests_since_the_horizon():
    old = pull(1, Actor("a"), "2024-01-01 00:00")
    fresh = pull(2, Actor("a"), "2024-03-10 00:00")
    seen = pull(3, Actor("a"), "2024-03-11 00:00")
    horizon = t("2024-03-01 00:00")
    fetched_for = {3: seen.updated_at}
    assert [i.number for i in reviews_due([seen, fresh, old], fetched_for, horizon)] == [2]
    assert [i.number for i in reviews_due([seen, fresh, old], {}, None)] == [1, 2, 3]
