"""Time to first response: how long people wait before someone answers them.

Definition (github/issue-metrics): for each issue or pull request opened in the window, the
time from its opening to the earliest comment, diff comment or review written by someone
other than its author and not by a bot (nor by an ignored user). A pull request opened as a
draft starts the clock when it is marked ready for review, and replies before that do not
count. Only replies before the window's end count, so a report is reproducible. Items with
no response by then are left out of the statistics and counted as ``without_response``;
pull requests still in draft at the end are counted as ``drafts``. Items opened by ignored
users (and by bots when ``bots_excluded``) are left out.

Optionally the same wait is measured in business hours (configured time zone, working days
and hours), which github/issue-metrics does not offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.report.business_hours import BusinessHours, business_seconds
from bot.report.conversations import Conversations
from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.stats import DurationStats
from bot.report.window import Window


@dataclass(frozen=True)
class FirstResponse:
    """Statistics in seconds; ``durations`` are all measured waits (for the chart)."""

    issues: DurationStats
    pulls: DurationStats
    overall: DurationStats
    without_response: int
    drafts: int
    business_hours: DurationStats | None = None
    durations: tuple[float, ...] = field(default=(), repr=False, metadata={"json": False})


def time_to_first_response(
    dataset: Dataset,
    window: Window,
    policy: PeoplePolicy,
    *,
    conversations: Conversations | None = None,
    hours: BusinessHours | None = None,
) -> FirstResponse:
    """Measures every item whose clock starts in the window (see the module docstring)."""
    conversations = conversations or Conversations.of(dataset)
    issue_waits: list[float] = []
    pull_waits: list[float] = []
    business_waits: list[float] = []
    without_response = drafts = 0
    for item in dataset.items:
        if not policy.counts_item_by(item.author):
            continue
        clock_start = item.review_requested_at
        if clock_start is None or clock_start >= window.end:
            if item.is_pull and item.created_at in window:
                drafts += 1  # opened in the window, nobody has been asked to look yet
            continue
        if clock_start not in window:
            continue
        reply = conversations.first_response(item, policy, since=clock_start, before=window.end)
        if reply is None:
            without_response += 1
            continue
        wait = (reply.at - clock_start).total_seconds()
        (pull_waits if item.is_pull else issue_waits).append(wait)
        if hours is not None:
            business_waits.append(business_seconds(clock_start, reply.at, hours))
    return FirstResponse(
        issues=DurationStats.of(issue_waits),
        pulls=DurationStats.of(pull_waits),
        overall=DurationStats.of(issue_waits + pull_waits),
        without_response=without_response,
        drafts=drafts,
        business_hours=DurationStats.of(business_waits) if hours is not None else None,
        durations=tuple(issue_waits + pull_waits),
    )


HOUR = 3600.0
RESPONSE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", HOUR),
    ("1–4 h", 4 * HOUR),
    ("4–24 h", 24 * HOUR),
    ("1–3 d", 72 * HOUR),
    ("3–7 d", 168 * HOUR),
    ("7–30 d", 720 * HOUR),
    ("≥ 30 d", float("inf")),
)


def response_histogram(durations: tuple[float, ...]) -> tuple[tuple[str, int], ...]:
    """How many waits fall in each bucket (upper bounds exclusive), for the chart."""
    counts = dict.fromkeys((label for label, _ in RESPONSE_BUCKETS), 0)
    for wait in durations:
        label = next(label for label, upper in RESPONSE_BUCKETS if wait < upper)
        counts[label] += 1
    return tuple(counts.items())
