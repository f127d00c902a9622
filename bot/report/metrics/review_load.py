"""Review load: who carries the reviews, and what was merged without any.

Definitions:

- *Reviews per reviewer*: submitted reviews of someone else's pull request in the window,
  per person (bots when excluded, ignored users and deleted accounts left out).
- *Merged without review*: pull requests merged in the window with no review by someone
  other than their author (not a bot) submitted before the merge.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.report.contributions import counted_reviews
from bot.report.conversations import Conversations
from bot.report.metrics.contributors import Count, ranked
from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.window import Window


@dataclass(frozen=True)
class MergedItem:
    repo: str
    number: int
    title: str
    url: str
    author: str


@dataclass(frozen=True)
class ReviewLoad:
    reviews: int
    reviewers: int
    per_reviewer: tuple[Count, ...]
    merged: int
    merged_without_review: int
    unreviewed: tuple[MergedItem, ...]


def review_load(
    dataset: Dataset,
    window: Window,
    policy: PeoplePolicy,
    *,
    conversations: Conversations | None = None,
    listed: int = 10,
) -> ReviewLoad:
    """Reviews per reviewer and merges without review in the window."""
    conversations = conversations or Conversations.of(dataset)
    per_reviewer = Counter(
        r.author.name for r in counted_reviews(dataset, policy) if r.submitted_at in window
    )
    merged = unreviewed = 0
    named: list[MergedItem] = []
    for item in sorted(dataset.items, key=lambda i: (i.merged_at or i.created_at, i.key)):
        if item.merged_at not in window or not policy.counts_item_by(item.author):
            continue
        merged += 1
        if conversations.first_review(item, policy, before=item.merged_at) is None:
            unreviewed += 1
            named.append(
                MergedItem(item.repo, item.number, item.title, item.html_url, item.author.name)
            )
    return ReviewLoad(
        reviews=sum(per_reviewer.values()),
        reviewers=len(per_reviewer),
        per_reviewer=ranked(per_reviewer, limit=len(per_reviewer)),
        merged=merged,
        merged_without_review=unreviewed,
        unreviewed=tuple(named[:listed]),
    )
