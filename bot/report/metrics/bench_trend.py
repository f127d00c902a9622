"""Benchmark trend on the default branch: did the reference models get better or worse?

Definition: per reference model, the benchmark results recorded on the default branch in
the window, oldest first, and the change in test accuracy from the first to the last of
them (in percentage points). ``change_points`` is None with fewer than two results.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from bot.report.records import BenchPoint, Dataset
from bot.report.window import Window


@dataclass(frozen=True)
class ModelTrend:
    model: str
    points: tuple[tuple[datetime, str, float | None], ...]  # (when, sha, accuracy)
    change_points: float | None


def bench_trend(dataset: Dataset, window: Window) -> tuple[ModelTrend, ...]:
    """One trend per model that has results in the window, by model name."""
    per_model: dict[str, list[BenchPoint]] = defaultdict(list)
    for point in dataset.bench:
        if point.created_at in window:
            per_model[point.model].append(point)
    trends = []
    for model in sorted(per_model):
        points = sorted(per_model[model], key=lambda p: p.created_at)
        measured = [p.accuracy for p in points if p.accuracy is not None]
        change = (measured[-1] - measured[0]) * 100 if len(measured) >= 2 else None
        series = tuple((p.created_at, p.sha, p.accuracy) for p in points)
        trends.append(ModelTrend(model, series, change))
    return tuple(trends)
