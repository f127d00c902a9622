"""A small, hand-built repository history whose report values are worked out by hand.

Window: March 2024, ``[2024-03-01, 2024-04-01)``; the previous window is
``[2024-01-30, 2024-03-01)``. 2024-03-01 is a Friday; 2024 is a leap year.

People: alice, bob (maintainers, active since 2023), carol (first contribution in March),
dave and erin (first contributions in February; dave comes back in March, erin does not),
frank (contributor since 2023), "Zed Example" (a commit with no GitHub account),
dependabot[bot] (a bot), ghost (a deleted account), spammer (in the ignore list).

Every expected value in the tests is derived in comments there from the lists below, never
from the code under test.

This module is the one place the report tests share: the scenario, the builders it is made
of (``issue``, ``pull``, ``comment``, ``review``, ``commit``, ``t``), the March window and
policy the metric tests measure it with, and ``assert_stats``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.report.compose import Report, ReportOptions, compose_report
from bot.report.people import PeoplePolicy
from bot.report.records import (
    GHOST,
    Actor,
    ActorKind,
    BenchPoint,
    Comment,
    CommentKind,
    Commit,
    Dataset,
    Item,
    ItemKind,
    Review,
    TriagePrediction,
)
from bot.report.stats import DurationStats
from bot.report.window import Window

REPO = "octo/lab"
HOSTILE = '@everyone <script>alert("x")</script> fixes #12 ![img](http://evil.example/x.png)'
ALICE, BOB, CAROL = Actor("alice"), Actor("bob"), Actor("carol")
DAVE, ERIN, FRANK = Actor("dave"), Actor("erin"), Actor("frank")
ZED = Actor("Zed Example", ActorKind.UNLINKED)
BOT = Actor("dependabot[bot]", ActorKind.BOT)
SPAMMER = Actor("spammer")


def t(text: str) -> datetime:
    """``"2024-03-02 10:00"`` in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def issue(number: int, author: Actor, created: str, **kw: object) -> Item:
    return _item(ItemKind.ISSUE, number, author, created, **kw)


def pull(number: int, author: Actor, created: str, **kw: object) -> Item:
    return _item(ItemKind.PULL, number, author, created, **kw)


def _item(kind: ItemKind, number: int, author: Actor, created: str, **kw: object) -> Item:
    times = {k: t(v) for k, v in kw.items() if k.endswith("_at") and isinstance(v, str)}
    if "merged_at" in times:
        times.setdefault("closed_at", times["merged_at"])  # merging closes a pull request
    rest = {k: v for k, v in kw.items() if k not in times}
    return Item(
        repo=REPO,
        number=number,
        kind=kind,
        title=f"{kind} {number}",
        author=author,
        created_at=t(created),
        updated_at=t(created),
        html_url=f"https://github.com/{REPO}/issues/{number}",
        **times,
        **rest,
    )


_comment_ids = iter(range(1000, 2000))


def comment(number: int, author: Actor, at: str, kind: CommentKind = CommentKind.ISSUE) -> Comment:
    return Comment(REPO, next(_comment_ids), number, author, t(at), kind)


def review(number: int, author: Actor, at: str, state: str = "APPROVED") -> Review:
    return Review(REPO, next(_comment_ids), number, author, t(at), state)


def commit(author: Actor, at: str) -> Commit:
    return Commit(REPO, f"{next(_comment_ids):040x}", author, t(at))


def scenario() -> Dataset:
    global _comment_ids
    _comment_ids = iter(range(1000, 2000))  # the same ids and shas on every call
    items = [
        issue(1, CAROL, "2024-03-02 10:00", closed_at="2024-03-05 10:00", labels=("bug",)),
        issue(2, FRANK, "2024-03-10 00:00", labels=("question",)),
        issue(3, GHOST, "2024-03-15 12:00"),
        issue(4, DAVE, "2024-02-10 00:00", closed_at="2024-03-01 00:00"),  # closed on the edge
        issue(5, ERIN, "2024-02-05 00:00"),
        issue(6, ALICE, "2023-01-01 00:00", labels=("enhancement",)),
        issue(7, BOB, "2024-04-01 00:00"),  # opened exactly at the window's end: outside
        pull(10, CAROL, "2024-03-03 09:00", merged_at="2024-03-04 09:00"),
        pull(11, DAVE, "2024-03-05 00:00", ready_for_review_at="2024-03-06 00:00",
             merged_at="2024-03-07 00:00"),
        pull(12, FRANK, "2024-03-08 00:00", merged_at="2024-03-08 06:00"),
        pull(13, BOT, "2024-03-09 00:00", merged_at="2024-03-09 01:00"),
        pull(14, CAROL, "2024-03-20 00:00", draft=True),
        pull(15, BOB, "2024-03-25 00:00"),
        pull(16, ALICE, "2024-03-28 00:00", closed_at="2024-03-29 00:00"),
        pull(17, FRANK, "2024-02-20 00:00"),
    ]  # fmt: skip
    comments = [
        comment(1, BOT, "2024-03-02 10:05"),
        comment(1, CAROL, "2024-03-02 11:00"),
        comment(1, ALICE, "2024-03-02 13:00"),
        comment(2, SPAMMER, "2024-03-10 01:00"),
        comment(2, BOB, "2024-03-11 00:00"),
        comment(4, ALICE, "2024-02-11 00:00"),
        comment(6, BOB, "2023-01-02 00:00"),
        comment(7, ALICE, "2024-04-01 01:00"),
        comment(10, BOB, "2024-03-03 12:00", CommentKind.REVIEW),
        comment(11, BOB, "2024-03-05 01:00"),  # while #11 was still a draft
        comment(15, ALICE, "2024-03-26 00:00"),
    ]
    reviews = [
        review(10, ALICE, "2024-03-03 15:00"),
        review(11, ALICE, "2024-03-06 02:00"),
        review(15, BOB, "2024-03-25 01:00", "COMMENTED"),  # bob on his own pull request
        review(16, BOB, "2024-03-28 12:00", "CHANGES_REQUESTED"),
        review(17, GHOST, "2024-02-21 00:00"),
    ]
    commits = [
        *(commit(ALICE, f"2024-03-0{d} 12:00") for d in (2, 4, 6, 8)),
        commit(BOB, "2024-03-03 12:00"),
        commit(BOB, "2024-03-05 12:00"),
        commit(CAROL, "2024-03-04 12:00"),
        commit(ZED, "2024-03-10 12:00"),
        commit(BOT, "2024-03-09 12:00"),
        commit(FRANK, "2023-06-01 12:00"),
        commit(ALICE, "2024-02-01 12:00"),
    ]
    predictions = [
        TriagePrediction(REPO, 1, "bug", t("2024-03-02 10:01")),
        TriagePrediction(REPO, 2, "question", t("2024-03-10 00:01"), corrected_to="bug"),
        TriagePrediction(REPO, 3, "bug", t("2024-03-15 12:01")),
        TriagePrediction(REPO, 4, "docs", t("2024-02-10 00:01"), corrected_to="bug"),
    ]
    bench = [
        BenchPoint(REPO, "mnist_mlp", "a" * 40, t("2024-02-20 00:00"), accuracy=0.9700),
        BenchPoint(REPO, "mnist_mlp", "b" * 40, t("2024-03-02 00:00"), accuracy=0.9756),
        BenchPoint(REPO, "mnist_mlp", "c" * 40, t("2024-03-20 00:00"), accuracy=0.9712),
        BenchPoint(REPO, "mnist_cnn", "d" * 40, t("2024-03-20 00:00"), accuracy=0.9100),
    ]
    return Dataset(items, comments, reviews, commits, predictions, bench, repos=(REPO,))


def _stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def seed_sandbox(state: object, dataset: Dataset, repo: str = REPO) -> None:
    """Writes ``dataset`` into a sandbox's state as GitHub would hold it.

    ``updated_at`` of each item is its last activity (GitHub bumps it on every comment and
    review); a pull request that left draft gets its ``ready_for_review`` event.
    """
    state.add_repo(repo)  # type: ignore[attr-defined]
    last: dict[int, datetime] = {}
    for c in dataset.comments:
        last[c.number] = max(last.get(c.number, c.created_at), c.created_at)
    for r in dataset.reviews:
        last[r.number] = max(last.get(r.number, r.submitted_at), r.submitted_at)
    for item in sorted(dataset.items, key=lambda i: i.number):
        moments = [item.created_at, item.closed_at, item.merged_at, last.get(item.number)]
        common = {
            "title": item.title,
            "user": item.author.name,
            "labels": list(item.labels),
            "created_at": _stamp(item.created_at),
            "updated_at": _stamp(max(m for m in moments if m is not None)),
            "closed_at": _stamp(item.closed_at),
            "number": item.number,
            "state": "closed" if item.closed_at else "open",
        }
        if item.is_pull:
            state.add_pull(repo, draft=item.draft, merged_at=_stamp(item.merged_at), **common)  # type: ignore[attr-defined]
        else:
            state.add_issue(repo, **common)  # type: ignore[attr-defined]
        if item.ready_for_review_at is not None:
            state.add_issue_event(  # type: ignore[attr-defined]
                repo, item.number, event="ready_for_review", actor=item.author.name,
                created_at=_stamp(item.ready_for_review_at),
            )  # fmt: skip
    for c in dataset.comments:
        when = _stamp(c.created_at)
        if c.kind is CommentKind.REVIEW:
            state.add_review_comment(  # type: ignore[attr-defined]
                repo, c.number, body="Looks off by one.", path="model.py", user=c.author.name,
                created_at=when,
            )  # fmt: skip
        else:
            state.add_issue_comment(
                repo, c.number, body="Thanks!", user=c.author.name, created_at=when
            )  # type: ignore[attr-defined]
    for r in dataset.reviews:
        state.add_review(
            repo, r.number, user=r.author.name, state=r.state, submitted_at=_stamp(r.submitted_at)
        )  # type: ignore[attr-defined]
    for c in dataset.commits:
        linked = c.author.kind is not ActorKind.UNLINKED
        state.add_commit(  # type: ignore[attr-defined]
            repo, message=f"change {c.sha[:7]}", sha=c.sha, date=_stamp(c.committed_at),
            author=c.author.name if linked else None,
            author_name=None if linked else c.author.name,
            parents=[],
        )  # fmt: skip


MARCH = Window(t("2024-03-01 00:00"), t("2024-04-01 00:00"))
POLICY = PeoplePolicy.build(["spammer"])
H = 3600.0
D = 86400.0
TYPE_LABELS = {
    "bug": "bug",
    "feature": "enhancement",
    "question": "question",
    "docs": "documentation",
}


def assert_stats(actual: DurationStats, count: int, mean: float, median: float, p90: float) -> None:
    """Count, mean, median and 90th percentile (seconds) as worked out by hand."""
    expected = (count, mean, median, p90)
    assert (actual.count, actual.mean, actual.median, actual.p90) == pytest.approx(expected)


def march_report(data: Dataset | None = None) -> Report:
    """The report of March 2024 over ``data`` (the scenario), ignoring spammer."""
    data = data or scenario()
    options = ReportOptions(policy=POLICY)
    return compose_report(data, MARCH, options, generated_at=t("2024-04-02 06:00"))


def hostile_report() -> Report:
    """The scenario with an unanswered issue whose title tries to ping, inject and link."""
    data = scenario()
    data.items = [dataclasses.replace(i, title=HOSTILE) if i.number == 5 else i for i in data.items]
    return march_report(data)
