"""The API frugality bar, counted by the sandbox's request log on 10,000 issues and PRs.

First report: at most N/100 + 50 list requests for the items; comments and diff comments
are listed repository-wide (C/100 pages); reviews need one request per pull request
updated since the reviews horizon (GitHub has no repository-wide review list). A second run
right after needs at most 10 % of the first.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.github.client import build_github
from bot.report.collect import collect_repository
from bot.report.storage import RecordStore
from bot.store.database import Store

REPO = "octo/big"
ITEMS = 10_000
END = datetime(2024, 6, 1, tzinfo=UTC)  # the window is the 30 days before
HORIZON = END - timedelta(days=60)  # the previous window's start
ISSUES = "GET /repos/{owner}/{repo}/issues"
COMMENTS = "GET /repos/{owner}/{repo}/issues/comments"
REVIEW_COMMENTS = "GET /repos/{owner}/{repo}/pulls/comments"
REVIEWS = "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews"
COMMITS = "GET /repos/{owner}/{repo}/commits"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_big_repository(state) -> dict[str, int]:
    """10,000 items over two years, a comment on each, a review on each pull request.

    Returns the counts the bar is computed from (computed here, from what was seeded).
    """
    rng = random.Random(20240601)
    people = [f"person{i}" for i in range(400)]
    state.add_repo(REPO)
    expected = {"comments": 0, "review_comments": 0, "pulls_since_horizon": 0, "commits": 0}
    for number in range(1, ITEMS + 1):
        created = END - timedelta(minutes=rng.randrange(1, 730 * 24 * 60))
        author, other = rng.sample(people, 2)
        answered = created + timedelta(hours=rng.randrange(1, 96))
        common = {
            "title": f"Item {number}",
            "user": author,
            "number": number,
            "created_at": _stamp(created),
            "updated_at": _stamp(answered),
        }
        if number % 10 < 3:
            state.add_pull(REPO, **common)
            state.add_review(
                REPO, number, user=other, state="APPROVED", submitted_at=_stamp(answered)
            )
            if answered >= HORIZON:
                expected["pulls_since_horizon"] += 1
            if number % 50 == 0:
                state.add_review_comment(
                    REPO, number, body="nit", path="a.py", user=other, created_at=_stamp(answered)
                )
                expected["review_comments"] += 1
        else:
            state.add_issue(REPO, **common)
        state.add_issue_comment(
            REPO, number, body="Thanks!", user=other, created_at=_stamp(answered)
        )
        expected["comments"] += 1
    for index in range(250):
        when = END - timedelta(hours=index * 40 + 1)
        state.add_commit(
            REPO, message=f"c{index}", author=rng.choice(people), date=_stamp(when), parents=[]
        )
        expected["commits"] += 1
    return expected


def pages(count: int) -> int:
    return max(1, -(-count // 100))


def test_first_report_and_second_run_are_frugal(make_sandbox, tmp_path):
    sb = make_sandbox()
    expected = seed_big_repository(sb.state)
    github = build_github(token="test-token", api_url=sb.base_url)
    records = RecordStore(Store.open(f"sqlite:///{tmp_path / 'big.sqlite3'}"), REPO)

    progress: list[tuple[str, int, int | None]] = []
    dataset, first = collect_repository(
        github, records, reviews_horizon=HORIZON, progress=lambda *event: progress.append(event)
    )
    counts = sb.request_counts()
    assert len(dataset.items) == ITEMS
    assert counts[ISSUES] <= ITEMS / 100 + 50
    assert counts[ISSUES] == pages(ITEMS)
    assert counts[COMMENTS] == pages(expected["comments"])
    assert counts[REVIEW_COMMENTS] == pages(expected["review_comments"])
    assert counts[COMMITS] == pages(expected["commits"])
    # One review listing per pull request updated since the horizon, and no other.
    assert counts[REVIEWS] == expected["pulls_since_horizon"]
    # The progress bar is honest: from the first page on, its total is GitHub's page count.
    issue_pages = [(done, total) for name, done, total in progress if name == "issues"]
    assert issue_pages == [(page, pages(ITEMS)) for page in range(1, pages(ITEMS) + 1)]
    reviews = [(done, total) for name, done, total in progress if name == "reviews"]
    assert reviews[-1] == (counts[REVIEWS], counts[REVIEWS])
    first_total = sum(counts.values())
    assert first.total_requests == first_total

    sb.clear_requests()
    _, second = collect_repository(github, records, reviews_horizon=HORIZON)
    second_total = sum(sb.request_counts().values())
    assert second_total <= first_total / 10
    assert second.items <= 1 and REVIEWS not in sb.request_counts()
