"""Time to close and time to merge: how long issues and pull requests stay open.

Definitions (github/issue-metrics, CHAOSS "Change Request Duration"):

- *Time to close*: for each issue closed in the window, ``closed_at − created_at``.
- *Time to merge*: for each pull request merged in the window, ``merged_at`` minus the moment
  it was ready for review (its opening, or leaving draft).
- Pull requests closed in the window without being merged are counted separately
  (``closed_unmerged``), not timed.

Items opened by ignored users (and by bots when ``bots_excluded``) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.stats import DurationStats
from bot.report.window import Window


@dataclass(frozen=True)
class Closing:
    """Statistics in seconds."""

    time_to_close: DurationStats
    time_to_merge: DurationStats
    closed_unmerged: int


def time_to_close(dataset: Dataset, window: Window, policy: PeoplePolicy) -> Closing:
    """Times every issue closed and every pull request merged in the window."""
    close_times: list[float] = []
    merge_times: list[float] = []
    closed_unmerged = 0
    for item in dataset.items:
        if not policy.counts_item_by(item.author):
            continue
        if not item.is_pull:
            if item.closed_at in window:
                close_times.append((item.closed_at - item.created_at).total_seconds())
        elif item.merged_at in window:
            ready = item.ready_for_review_at or item.created_at
            merge_times.append(max(0.0, (item.merged_at - ready).total_seconds()))
        elif item.merged_at is None and item.closed_at in window:
            closed_unmerged += 1
    return Closing(DurationStats.of(close_times), DurationStats.of(merge_times), closed_unmerged)
