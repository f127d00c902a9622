"""First-timer retention: do the people who arrived last period come back?

Definition: among the *new contributors of the previous window* (the window of the same
length just before this one: first contribution ever inside it), the share who are *active*
again in this window. ``rate`` is None when the previous window had no new contributor.
Contributions and who counts are as for the contributor metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.report.contributions import Contribution, active_in, contributions, first_contribution
from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.window import Window


@dataclass(frozen=True)
class Retention:
    previous_new: int
    retained: int
    rate: float | None
    retained_names: tuple[str, ...]


def first_timer_retention(
    dataset: Dataset,
    window: Window,
    policy: PeoplePolicy,
    *,
    found: list[Contribution] | None = None,
) -> Retention:
    """Share of the previous window's new contributors who are active in this one.

    ``found``: the contributions, when the caller computed them already for other metrics.
    """
    found = found if found is not None else contributions(dataset, policy)
    previous = window.previous()
    newcomers = {who for who, at in first_contribution(found).items() if at in previous}
    retained = sorted(newcomers & active_in(found, window), key=str.lower)
    rate = len(retained) / len(newcomers) if newcomers else None
    return Retention(len(newcomers), len(retained), rate, tuple(retained))
