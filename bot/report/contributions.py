"""Contributions: every visible act of a person, the common ground of the people metrics.

A contribution is opening an issue or a pull request, a comment (conversation or diff), a
submitted review of someone else's pull request, or a commit on the default branch, at the
time it happened (a commit when it was committed). Only people count (see
:class:`~bot.report.people.PeoplePolicy`): no ghosts, no ignored users, no bots when excluded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.report.people import PeoplePolicy
from bot.report.records import Dataset, Review
from bot.report.window import Window


class Kind(StrEnum):
    COMMIT = "commits"
    PULL = "pulls"
    ISSUE = "issues"
    COMMENT = "comments"
    REVIEW = "reviews"


@dataclass(frozen=True)
class Contribution:
    who: str
    at: datetime
    kind: Kind


def counted_reviews(dataset: Dataset, policy: PeoplePolicy) -> Iterator[Review]:
    """Reviews that count as review work: by a person, on someone else's pull request."""
    authors = {item.key: item.author.name.lower() for item in dataset.items}
    for review in dataset.reviews:
        if not policy.counts_as_contributor(review.author):
            continue
        if authors.get((review.repo, review.number)) == review.author.name.lower():
            continue
        yield review


def contributions(dataset: Dataset, policy: PeoplePolicy) -> list[Contribution]:
    """Every contribution in the dataset by someone who counts as a contributor."""
    found: list[Contribution] = []
    person = policy.counts_as_contributor
    for item in dataset.items:
        if person(item.author):
            kind = Kind.PULL if item.is_pull else Kind.ISSUE
            found.append(Contribution(item.author.name, item.created_at, kind))
    found.extend(
        Contribution(c.author.name, c.created_at, Kind.COMMENT)
        for c in dataset.comments
        if person(c.author)
    )
    found.extend(
        Contribution(r.author.name, r.submitted_at, Kind.REVIEW)
        for r in counted_reviews(dataset, policy)
    )
    found.extend(
        Contribution(c.author.name, c.committed_at, Kind.COMMIT)
        for c in dataset.commits
        if person(c.author)
    )
    return found


def first_contribution(found: Iterable[Contribution]) -> dict[str, datetime]:
    """Each person's earliest contribution."""
    first: dict[str, datetime] = {}
    for c in found:
        if c.who not in first or c.at < first[c.who]:
            first[c.who] = c.at
    return first


def active_in(found: Iterable[Contribution], window: Window) -> set[str]:
    """People with at least one contribution in the window."""
    return {c.who for c in found if c.at in window}
