"""Contributors: new, returning and active, and the top contributors to thank by name.

Definitions (CHAOSS "New Contributors", "Inactive/Returning Contributors"), where a
contribution is opening an issue or pull request, a comment, a review of someone else's
pull request, or a commit on the default branch:

- *Active*: at least one contribution in the window.
- *New*: active, with the first contribution ever inside the window and none before it.
- *Returning*: active, and contributed before the window too (active = new + returning).
- *Most active*: the people with the most contributions of any kind in the window.
- *Top contributors*, per kind: the most commits, pull requests merged (by their author,
  counted when merged in the window), reviews, issues opened and comments in the window; ties
  in alphabetical order. Recognition is a community practice, so they are named.

Bots (when ``bots_excluded``), ignored users and deleted accounts (``ghost``) are not counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from bot.report.contributions import (
    Contribution,
    Kind,
    active_in,
    contributions,
    first_contribution,
)
from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.window import Window

TOP = 10
MERGED = "pulls_merged"
TOP_KINDS = ("commits", MERGED, "reviews", "issues", "comments")


class Count(NamedTuple):
    """A person and how many of something they did."""

    name: str
    count: int


@dataclass(frozen=True)
class Contributors:
    active: int
    new: int
    returning: int
    new_names: tuple[str, ...]
    most_active: tuple[Count, ...]
    top: dict[str, tuple[Count, ...]]


def ranked(counts: Counter[str], limit: int = TOP) -> tuple[Count, ...]:
    """Highest count first, ties in alphabetical order (case-insensitive), at most ``limit``."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower(), kv[0]))
    return tuple(Count(name, n) for name, n in ordered[:limit] if n > 0)


def contributor_counts(
    dataset: Dataset,
    window: Window,
    policy: PeoplePolicy,
    *,
    found: list[Contribution] | None = None,
) -> Contributors:
    """Counts and names the window's contributors (see the module docstring).

    ``found``: the contributions, when the caller computed them already for other metrics.
    """
    found = found if found is not None else contributions(dataset, policy)
    first = first_contribution(found)
    active = active_in(found, window)
    new = sorted((who for who in active if first[who] >= window.start), key=str.lower)
    per_kind: dict[str, Counter[str]] = {kind: Counter() for kind in TOP_KINDS}
    overall: Counter[str] = Counter()
    for c in found:
        if c.at not in window:
            continue
        overall[c.who] += 1
        if c.kind is not Kind.PULL:
            per_kind[c.kind.value][c.who] += 1
    for item in dataset.items:
        if item.merged_at in window and policy.counts_as_contributor(item.author):
            per_kind[MERGED][item.author.name] += 1
    return Contributors(
        active=len(active),
        new=len(new),
        returning=len(active) - len(new),
        new_names=tuple(new),
        most_active=ranked(overall),
        top={kind: ranked(counter) for kind, counter in per_kind.items()},
    )
