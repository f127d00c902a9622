"""Who answered each item and when: the comments and reviews of an item, in time order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.report.people import PeoplePolicy
from bot.report.records import Actor, Dataset, Item, Review

ItemKey = tuple[str, int]


@dataclass(frozen=True, order=True)
class Reply:
    """One comment or review on an item; ``via`` says which."""

    at: datetime
    actor: Actor
    via: str  # "comment", "review comment" or "review"


@dataclass(frozen=True)
class Conversations:
    """Replies and reviews indexed by item, built once per report."""

    replies: dict[ItemKey, list[Reply]]
    reviews: dict[ItemKey, list[Review]]

    @classmethod
    def of(cls, dataset: Dataset) -> Conversations:
        replies: dict[ItemKey, list[Reply]] = defaultdict(list)
        reviews: dict[ItemKey, list[Review]] = defaultdict(list)
        for comment in dataset.comments:
            via = "comment" if comment.kind == "issue" else "review comment"
            replies[(comment.repo, comment.number)].append(
                Reply(comment.created_at, comment.author, via)
            )
        for review in dataset.reviews:
            replies[(review.repo, review.number)].append(
                Reply(review.submitted_at, review.author, "review")
            )
            reviews[(review.repo, review.number)].append(review)
        for thread in replies.values():
            thread.sort()
        for thread in reviews.values():
            thread.sort(key=lambda r: r.submitted_at)
        return cls(dict(replies), dict(reviews))

    def first_response(
        self, item: Item, policy: PeoplePolicy, *, since: datetime, before: datetime
    ) -> Reply | None:
        """The earliest reply by someone else (not a bot) in ``[since, before)``."""
        return _first(
            (r for r in self.replies.get(item.key, ()) if since <= r.at < before),
            item.author,
            policy,
        )

    def first_review(self, item: Item, policy: PeoplePolicy, *, before: datetime) -> Review | None:
        """The earliest review of a pull request by someone else (not a bot) before ``before``."""
        for review in self.reviews.get(item.key, ()):
            if review.submitted_at >= before:
                return None
            if policy.is_response(review.author, item.author):
                return review
        return None


def _first(replies: Iterable[Reply], author: Actor, policy: PeoplePolicy) -> Reply | None:
    return next((r for r in replies if policy.is_response(r.actor, author)), None)
