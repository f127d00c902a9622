"""Contributor absence factor: how few people carry half the work (CHAOSS; was "bus factor").

Definition: the smallest number of contributors who together made at least 50 % of the
window's commits (and, separately, of its reviews of someone else's pull request). A
factor of 1 means one person's absence would halve the work. Contributors are taken from
the most active down; commits of bots (when ``bots_excluded``), ignored users and deleted
accounts are not counted in the total either. None when there were no commits (reviews).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.report.contributions import Contribution, Kind, contributions
from bot.report.metrics.contributors import Count, ranked
from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.window import Window

SHARE = 0.5


@dataclass(frozen=True)
class Absence:
    """``factor`` people hold ``SHARE`` of ``total``; ``holders`` are those people."""

    factor: int | None
    total: int
    holders: tuple[Count, ...]


@dataclass(frozen=True)
class AbsenceFactor:
    commits: Absence
    reviews: Absence


def absence(counts: Counter[str], share: float = SHARE) -> Absence:
    """The fewest people, most active first, whose counts reach ``share`` of the total."""
    total = sum(counts.values())
    if total == 0:
        return Absence(None, 0, ())
    held = 0
    holders: list[Count] = []
    for holder in ranked(counts, limit=len(counts)):
        held += holder.count
        holders.append(holder)
        if held >= share * total:
            break
    return Absence(len(holders), total, tuple(holders))


def absence_factor(
    dataset: Dataset,
    window: Window,
    policy: PeoplePolicy,
    *,
    found: list[Contribution] | None = None,
) -> AbsenceFactor:
    """The absence factor of commits and of reviews in the window.

    ``found``: the contributions, when the caller computed them already for other metrics.
    """
    per_kind = {Kind.COMMIT: Counter[str](), Kind.REVIEW: Counter[str]()}
    found = found if found is not None else contributions(dataset, policy)
    for c in found:
        if c.kind in per_kind and c.at in window:
            per_kind[c.kind][c.who] += 1
    return AbsenceFactor(absence(per_kind[Kind.COMMIT]), absence(per_kind[Kind.REVIEW]))
