"""Issue age and backlog: what is still open when the window ends, and who is still waiting.

Definitions:

- *Open at the end*: opened before the window's end and not closed before it.
- *Age*: the window's end minus the opening time, counted in buckets
  (under 7 days, 7–30, 30–90, 90–365, a year or more).
- *Oldest unanswered issues*: open issues with no response (a comment or review by someone
  other than the author, not a bot) before the end, oldest first.
- *Pull requests awaiting review*: open pull requests, ready for review, with no review by
  someone other than the author before the end, longest waiting first.

Items opened by ignored users (and by bots when ``bots_excluded``) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.report.conversations import Conversations
from bot.report.people import PeoplePolicy
from bot.report.records import Dataset, Item
from bot.report.window import Window

DAY = 86400.0
AGE_BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("< 7 days", 0.0, 7 * DAY),
    ("7–30 days", 7 * DAY, 30 * DAY),
    ("30–90 days", 30 * DAY, 90 * DAY),
    ("90–365 days", 90 * DAY, 365 * DAY),
    ("≥ 1 year", 365 * DAY, None),
)
LISTED = 10


@dataclass(frozen=True)
class AgeBucket:
    label: str
    issues: int
    pulls: int


@dataclass(frozen=True)
class WaitingItem:
    """An item to name in the report; ``waiting_seconds`` is measured at the window's end."""

    repo: str
    number: int
    title: str
    url: str
    author: str
    since: datetime
    waiting_seconds: float


@dataclass(frozen=True)
class Backlog:
    open_issues: int
    open_pulls: int
    buckets: tuple[AgeBucket, ...]
    unanswered_issues: tuple[WaitingItem, ...]
    unanswered_issues_total: int
    awaiting_review: tuple[WaitingItem, ...]
    awaiting_review_total: int


def is_open_at(item: Item, moment: datetime) -> bool:
    """Opened before ``moment`` and not closed by then."""
    return item.created_at < moment and (item.closed_at is None or item.closed_at >= moment)


def _bucket_label(age_seconds: float) -> str:
    for label, low, high in AGE_BUCKETS:
        if age_seconds >= low and (high is None or age_seconds < high):
            return label
    return AGE_BUCKETS[0][0]


def _waiting(item: Item, since: datetime, end: datetime) -> WaitingItem:
    return WaitingItem(
        repo=item.repo,
        number=item.number,
        title=item.title,
        url=item.html_url,
        author=item.author.name,
        since=since,
        waiting_seconds=(end - since).total_seconds(),
    )


def _longest_waiting_first(waiting: WaitingItem) -> tuple[datetime, str, int]:
    return (waiting.since, waiting.repo, waiting.number)


def backlog(
    dataset: Dataset,
    window: Window,
    policy: PeoplePolicy,
    *,
    conversations: Conversations | None = None,
    listed: int = LISTED,
) -> Backlog:
    """The backlog at ``window.end`` (see the module docstring)."""
    conversations = conversations or Conversations.of(dataset)
    end = window.end
    counts = {label: [0, 0] for label, _, _ in AGE_BUCKETS}
    unanswered: list[WaitingItem] = []
    awaiting: list[WaitingItem] = []
    for item in dataset.items:
        if not policy.counts_item_by(item.author) or not is_open_at(item, end):
            continue
        counts[_bucket_label((end - item.created_at).total_seconds())][int(item.is_pull)] += 1
        if not item.is_pull:
            reply = conversations.first_response(item, policy, since=item.created_at, before=end)
            if reply is None:
                unanswered.append(_waiting(item, item.created_at, end))
            continue
        ready = item.review_requested_at
        waiting = ready is not None and ready < end
        if waiting and conversations.first_review(item, policy, before=end) is None:
            awaiting.append(_waiting(item, ready, end))
    unanswered.sort(key=_longest_waiting_first)
    awaiting.sort(key=_longest_waiting_first)
    return Backlog(
        open_issues=sum(c[0] for c in counts.values()),
        open_pulls=sum(c[1] for c in counts.values()),
        buckets=tuple(AgeBucket(label, c[0], c[1]) for label, c in counts.items()),
        unanswered_issues=tuple(unanswered[:listed]),
        unanswered_issues_total=len(unanswered),
        awaiting_review=tuple(awaiting[:listed]),
        awaiting_review_total=len(awaiting),
    )
