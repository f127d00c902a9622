"""A whole report: every metric computed over one dataset and one window, as plain data."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.config.schema import DEFAULT_TYPE_LABELS
from bot.report.business_hours import BusinessHours
from bot.report.contributions import contributions
from bot.report.conversations import Conversations
from bot.report.metrics.absence_factor import AbsenceFactor, absence_factor
from bot.report.metrics.activity import Activity, activity
from bot.report.metrics.backlog import Backlog, backlog
from bot.report.metrics.bench_trend import ModelTrend, bench_trend
from bot.report.metrics.contributors import Contributors, contributor_counts
from bot.report.metrics.first_response import (
    FirstResponse,
    response_histogram,
    time_to_first_response,
)
from bot.report.metrics.retention import Retention, first_timer_retention
from bot.report.metrics.review_load import ReviewLoad, review_load
from bot.report.metrics.time_to_close import Closing, time_to_close
from bot.report.metrics.triage import Triage, triage
from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.window import Window


@dataclass(frozen=True)
class ReportOptions:
    """What the configuration says about counting (``report.*`` and ``labels.*``)."""

    policy: PeoplePolicy = field(default_factory=PeoplePolicy)
    business_hours: BusinessHours | None = None
    type_labels: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TYPE_LABELS))


@dataclass(frozen=True)
class Report:
    repos: tuple[str, ...]
    window: Window
    generated_at: datetime
    first_response: FirstResponse
    response_histogram: tuple[tuple[str, int], ...]
    closing: Closing
    backlog: Backlog
    contributors: Contributors
    retention: Retention
    absence_factor: AbsenceFactor
    review_load: ReviewLoad
    activity: Activity
    triage: Triage
    bench: tuple[ModelTrend, ...]

    @property
    def title_repos(self) -> str:
        return ", ".join(self.repos) if len(self.repos) <= 3 else f"{len(self.repos)} repositories"


def compose_report(
    dataset: Dataset, window: Window, options: ReportOptions, *, generated_at: datetime
) -> Report:
    """Computes every metric once; rendering only formats this."""
    policy = options.policy
    conversations = Conversations.of(dataset)
    found = contributions(dataset, policy)
    first = time_to_first_response(
        dataset, window, policy, conversations=conversations, hours=options.business_hours
    )
    return Report(
        repos=tuple(dataset.repos),
        window=window,
        generated_at=generated_at,
        first_response=first,
        response_histogram=response_histogram(first.durations),
        closing=time_to_close(dataset, window, policy),
        backlog=backlog(dataset, window, policy, conversations=conversations),
        contributors=contributor_counts(dataset, window, policy, found=found),
        retention=first_timer_retention(dataset, window, policy, found=found),
        absence_factor=absence_factor(dataset, window, policy, found=found),
        review_load=review_load(dataset, window, policy, conversations=conversations),
        activity=activity(dataset, window, policy),
        triage=triage(dataset, window, policy, options.type_labels),
        bench=bench_trend(dataset, window),
    )


def to_plain(value: Any) -> Any:
    """The report as JSON-ready data: datetimes in ISO 8601, tuples as lists.

    Fields marked ``metadata={"json": False}`` (raw chart inputs) are left out.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("json", True)
        }
    if hasattr(value, "_asdict"):  # a NamedTuple such as Count: an object in JSON
        return {k: to_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in value]
    return value
