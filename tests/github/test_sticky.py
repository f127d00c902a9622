"""End to end: sticky comments through PyGithub against the sandbox.

What is on "GitHub" is read from the sandbox's own state, and writes are counted from its
request log, so neither depends on the code under test.
"""

from __future__ import annotations

import re

import pytest

from bot.errors import UsageError
from bot.github.client import build_github
from bot.github.comments import MAX_COMMENT_CHARS, upsert_sticky_comment
from bot.sanitize import neutralize

REPO = "octo/widgets"
MARK = "<!-- maintbot:bench -->"
WRITES = ("POST", "PATCH", "PUT", "DELETE")
# GitHub's mention syntax: @login or @org/team after a non-word character.
GITHUB_MENTION = re.compile(r"(?:^|\W)@[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9_-]*)?", re.I)


def client(sandbox):
    return build_github(token="t", api_url=sandbox.base_url, seconds_between_writes=0)


def comments_on(sandbox, number: int) -> list[dict]:
    with sandbox.state.lock:
        everything = sandbox.state.repo(REPO)["comments"].values()
        return sorted(
            (dict(c) for c in everything if c["issue_number"] == number), key=lambda c: c["id"]
        )


def writes(sandbox) -> list[str]:
    return [r.route for r in sandbox.requests if r.method in WRITES]


def test_three_upserts_leave_one_comment_and_the_unchanged_one_writes_nothing(sandbox):
    issue = client(sandbox).get_repo(REPO).get_issue(1)
    before = len(comments_on(sandbox, 1))

    first = upsert_sticky_comment(issue, "bench", "accuracy 97.5 %")
    second = upsert_sticky_comment(issue, "bench", "accuracy 97.6 %")
    sandbox.clear_requests()
    third = upsert_sticky_comment(issue, "bench", "accuracy 97.6 %")

    assert (first.action, second.action, third.action) == ("created", "updated", "unchanged")
    assert first.comment_id == second.comment_id == third.comment_id
    assert writes(sandbox) == []  # the third upsert only read
    ours = [c for c in comments_on(sandbox, 1) if MARK in c["body"]]
    assert len(ours) == 1 and len(comments_on(sandbox, 1)) == before + 1
    assert ours[0]["body"] == MARK + "\naccuracy 97.6 %"


def test_old_duplicates_are_deleted_and_the_oldest_kept(sandbox):
    for text in ("v1", "v2", "v3"):
        sandbox.state.add_issue_comment(REPO, 2, body=f"{MARK}\n{text}", user="maintbot[bot]")
    sandbox.state.add_issue_comment(REPO, 2, body=f"quoting: {MARK}", user="mallory")
    oldest = comments_on(sandbox, 2)[0]["id"]
    issue = client(sandbox).get_repo(REPO).get_issue(2)

    result = upsert_sticky_comment(issue, "bench", "v4")

    assert result.action == "updated" and result.comment_id == oldest
    assert len(result.deleted) == 2
    bodies = [c["body"] for c in comments_on(sandbox, 2)]
    assert bodies == [f"{MARK}\nv4", f"quoting: {MARK}"]


def test_author_filter_ignores_a_copied_marker_from_someone_else(sandbox):
    sandbox.state.add_issue_comment(REPO, 4, body=f"{MARK}\nfake", user="mallory")
    issue = client(sandbox).get_repo(REPO).get_issue(4)
    me = client(sandbox).get_user().login

    result = upsert_sticky_comment(issue, "bench", "real", author=me)

    assert result.action == "created"
    assert [c["body"] for c in comments_on(sandbox, 4)] == [f"{MARK}\nfake", f"{MARK}\nreal"]


def test_dry_run_reports_and_writes_nothing(sandbox):
    issue = client(sandbox).get_repo(REPO).get_issue(4)
    sandbox.clear_requests()

    result = upsert_sticky_comment(issue, "triage", "would say this", dry_run=True)

    assert (result.action, result.dry_run, result.comment_id) == ("created", True, None)
    assert writes(sandbox) == []
    assert comments_on(sandbox, 4) == []


def test_echoed_mention_does_not_ping(sandbox):
    issue = client(sandbox).get_repo(REPO).get_issue(2)
    untrusted_title = "Ping @alice and @octo/maintainers, see #1 <b>now</b>"

    upsert_sticky_comment(issue, "triage", f"Possible duplicate: {neutralize(untrusted_title)}")

    (stored,) = [c["body"] for c in comments_on(sandbox, 2) if "maintbot:triage" in c["body"]]
    text_after_marker = stored.split("\n", 1)[1]
    assert not GITHUB_MENTION.search(text_after_marker)
    assert "<b>" not in text_after_marker
    assert "alice" in text_after_marker  # still readable


def test_a_huge_body_is_cut_to_fit_githubs_limit(sandbox):
    issue = client(sandbox).get_repo(REPO).get_issue(3)

    result = upsert_sticky_comment(issue, "report", "row\n" * 40_000)

    assert result.truncated
    (stored,) = comments_on(sandbox, 3)
    assert len(stored["body"]) <= MAX_COMMENT_CHARS and stored["body"].startswith(
        "<!-- maintbot:report -->"
    )


def test_sticky_comment_on_a_pull_request_goes_to_its_conversation(sandbox):
    number = sandbox.state.add_pull(REPO, title="Faster widgets", user="bob")["number"]
    pull = client(sandbox).get_repo(REPO).get_pull(number)

    upsert_sticky_comment(pull, "bench", "no regression")
    again = upsert_sticky_comment(pull, "bench", "no regression")

    assert again.action == "unchanged"
    assert [c["body"] for c in comments_on(sandbox, number)] == [f"{MARK}\nno regression"]


@pytest.mark.parametrize("key", ["", "has space", "x-->"])
def test_bad_keys_are_refused_before_any_request(sandbox, key):
    issue = client(sandbox).get_repo(REPO).get_issue(1)
    sandbox.clear_requests()
    with pytest.raises(UsageError, match="sticky comment key"):
        upsert_sticky_comment(issue, key, "x")
    assert sandbox.requests == []
