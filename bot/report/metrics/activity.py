"""Activity over time: what happened in each day, week or month of the window (for charts).

Definition: the window is cut into consecutive periods from its start (a day each for
windows up to 31 days, a week up to 31 weeks, else 30 days; the last may be shorter);
each period counts issues opened, pull requests opened, issues closed, pull requests merged
and comments written in it. Items of ignored users (and bots when excluded) and comments of
bots (when excluded) and ignored users are left out, as in the other metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.window import Window

SERIES = ("issues_opened", "pulls_opened", "issues_closed", "pulls_merged", "comments")


@dataclass(frozen=True)
class Period:
    start: datetime
    counts: dict[str, int]


@dataclass(frozen=True)
class Activity:
    period_days: int
    periods: tuple[Period, ...]


def period_days(window: Window) -> int:
    if window.length <= timedelta(days=31):
        return 1
    return 7 if window.length <= timedelta(weeks=31) else 30


def activity(dataset: Dataset, window: Window, policy: PeoplePolicy) -> Activity:
    """Counts per period of the window (see the module docstring)."""
    step = timedelta(days=period_days(window))
    starts: list[datetime] = []
    moment = window.start
    while moment < window.end:
        starts.append(moment)
        moment += step
    counts = [dict.fromkeys(SERIES, 0) for _ in starts]

    def count(series: str, at: datetime | None) -> None:
        if at in window:
            counts[(at - window.start) // step][series] += 1

    for item in dataset.items:
        if not policy.counts_item_by(item.author):
            continue
        if item.is_pull:
            count("pulls_opened", item.created_at)
            count("pulls_merged", item.merged_at)
        else:
            count("issues_opened", item.created_at)
            count("issues_closed", item.closed_at)
    for comment in dataset.comments:
        if policy.counts_item_by(comment.author):
            count("comments", comment.created_at)
    return Activity(step.days, tuple(Period(s, c) for s, c in zip(starts, counts, strict=True)))
