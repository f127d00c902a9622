"""Stopping early: after each seed, can the seeds still to run change a model's verdict?

Deterministic curtailment under one stated assumption. The seeds still to run (``remaining``
per side) each produce, for every metric, a value inside that side's *envelope*: the range
seen so far, widened on both ends by that range (at least 0.1 % of the side's mean; never
below 0, accuracy never above 1), and they do not fail. Under it the final means lie in an
interval (linear in the new values), the final variances between the observed sum of squares
(the new values at the mean) and the largest vertex of the envelope box (variance is convex
and symmetric, so its maximum is at a split of the new values between the two ends), Welch's
degrees of freedom between ``min(n) - 1`` and ``n_base + n_head - 2``, and Welch's one-sided
p-value between the values these bounds give (``t.sf`` is monotone in t and in the degrees
of freedom). A metric's possible statuses follow from :func:`bot.bench.compare.compare_metric`'s
rule applied to these intervals; the model's verdict is the worst over metrics.

A model stops when every completion gives the same verdict *and* it is the verdict of the
runs so far (what the comment reports), so stopping never reports a verdict that the full
run would contradict under the assumption. "Improved" and "pass" count as one verdict (both
pass the check). The bounds are loose (each interval is taken independently), so the rule
errs towards running on: it stops on clear regressions and clear passes, not close calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.bench.compare import METRICS, MetricSpec, Status, Thresholds, compare_metric, worst

MIN_SEEDS = 2  # fewer runs a side say nothing about noise: never stop before
ENVELOPE_FLOOR = 0.001  # the envelope's widening is at least this fraction of the side's mean


@dataclass(frozen=True)
class StopDecision:
    """Whether a model's remaining seeds can be skipped, the verdict they cannot change, why."""

    stop: bool
    status: Status | None
    reason: str


def decide(
    base_runs: Sequence[dict[str, Any]],
    head_runs: Sequence[dict[str, Any]],
    remaining: int,
    thresholds: Thresholds,
    *,
    base_failed: bool = False,
    head_failed: bool = False,
    min_seeds: int = MIN_SEEDS,
) -> StopDecision:
    """Whether ``remaining`` more seeds a side can change one model's verdict (pure)."""
    if remaining <= 0:
        return StopDecision(True, None, "every seed ran")
    if head_failed:
        return StopDecision(
            True, Status.REGRESSION, "the head failed to train it: no seed can undo that"
        )
    if min(len(base_runs), len(head_runs)) < max(min_seeds, 2):
        return StopDecision(False, None, f"fewer than {max(min_seeds, 2)} seeds a side so far")
    floor = Status.INCONCLUSIVE if base_failed else Status.PASS
    now = worst(
        [
            floor,
            *(
                _merged(compare_metric(s, list(base_runs), list(head_runs), thresholds).status)
                for s in METRICS
            ),
        ]
    )
    lowest, highest = [floor], [floor]
    for spec in METRICS:
        possible = metric_outcomes(spec, base_runs, head_runs, remaining, thresholds)
        lowest.append(min(possible, key=lambda s: s.rank))
        highest.append(max(possible, key=lambda s: s.rank))
    low, high = worst(lowest), worst(highest)
    if low is high is now:
        return StopDecision(
            True, now, f"{remaining} more seed(s) a side cannot change the verdict ({now.value})"
        )
    return StopDecision(False, None, f"the verdict could still be {low.value} to {high.value}")


def metric_outcomes(
    spec: MetricSpec,
    base_runs: Sequence[dict[str, Any]],
    head_runs: Sequence[dict[str, Any]],
    remaining: int,
    thresholds: Thresholds,
) -> set[Status]:
    """Every status one metric can end with after ``remaining`` more seeds a side (a superset)."""
    everything = {Status.PASS, Status.INCONCLUSIVE, spec.severity}
    if any(r.get(spec.key) is None for r in head_runs) and spec.severity is Status.REGRESSION:
        return {Status.REGRESSION}  # a diverged head stays a regression, whatever follows
    base = [float(r[spec.key]) for r in base_runs if r.get(spec.key) is not None]
    head = [float(r[spec.key]) for r in head_runs if r.get(spec.key) is not None]
    if len(base) < 2 or len(head) < 2:
        return everything
    upper = 1.0 if spec.key == "test_accuracy" else math.inf
    b, h = _Side.of(base, remaining, upper), _Side.of(head, remaining, upper)
    change_low, change_high = _change_range(spec, b, h)
    if change_low is None or change_high is None:
        return everything
    if spec.better == "higher":
        worse_low, worse_high = -change_high, -change_low
        diff_low, diff_high = b.mean_low - h.mean_high, b.mean_high - h.mean_low
    else:
        worse_low, worse_high = change_low, change_high
        diff_low, diff_high = h.mean_low - b.mean_high, h.mean_high - b.mean_low
    se_low = math.sqrt(b.var_low / b.n + h.var_low / h.n)
    se_high = math.sqrt(b.var_high / b.n + h.var_high / h.n)
    dfs = (min(b.n, h.n) - 1.0, b.n + h.n - 2.0)
    limit = getattr(thresholds, spec.threshold)
    possible: set[Status] = set()
    if worse_high >= limit:  # it can end over the threshold: significant or not?
        p_low, p_high = _p_range(diff_low, diff_high, se_low, se_high, dfs)
        if p_low < thresholds.alpha:
            possible.add(spec.severity)
        if p_high >= thresholds.alpha:
            possible.add(Status.INCONCLUSIVE)
    if worse_low < limit:
        possible.add(Status.PASS)  # or improved: the same verdict here
    return possible


@dataclass(frozen=True)
class _Side:
    """Bounds on one side's final mean and variance, given the envelope of its new values."""

    n: int
    mean_low: float
    mean_high: float
    var_low: float
    var_high: float

    @classmethod
    def of(cls, values: list[float], remaining: int, upper: float) -> _Side:
        n = len(values) + remaining
        mean = sum(values) / len(values)
        spread = max(values) - min(values)
        widen = max(spread, ENVELOPE_FLOOR * abs(mean))
        low, high = max(0.0, min(values) - widen), min(upper, max(values) + widen)
        squares = sum((v - mean) ** 2 for v in values)
        var_high = max(
            _variance(values + [low] * j + [high] * (remaining - j)) for j in range(remaining + 1)
        )
        return cls(
            n=n,
            mean_low=(sum(values) + remaining * low) / n,
            mean_high=(sum(values) + remaining * high) / n,
            var_low=squares / (n - 1),
            var_high=var_high,
        )


def _variance(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _change_range(spec: MetricSpec, b: _Side, h: _Side) -> tuple[float | None, float | None]:
    """Bounds on compare's change: points of accuracy, or percent of the base's mean."""
    if spec.unit == "points":
        return (h.mean_low - b.mean_high) * 100, (h.mean_high - b.mean_low) * 100
    if b.mean_low <= 0:
        return None, None  # a base mean that may reach 0 makes the percentage unbounded
    corners = [
        (hm - bm) / bm * 100 for hm in (h.mean_low, h.mean_high) for bm in (b.mean_low, b.mean_high)
    ]
    return min(corners), max(corners)


def _p_range(
    diff_low: float,
    diff_high: float,
    se_low: float,
    se_high: float,
    dfs: tuple[float, float],
) -> tuple[float, float]:
    """Bounds on the one-sided Welch p-value for a worse-direction difference in the ranges."""
    from scipy import stats

    t_high = max(_ratio(diff_high, se_low), _ratio(diff_high, se_high))
    t_low = min(_ratio(diff_low, se_low), _ratio(diff_low, se_high))
    p_low = min(float(stats.t.sf(t_high, df)) for df in dfs)
    p_high = max(float(stats.t.sf(t_low, df)) for df in dfs)
    return p_low, p_high


def _ratio(diff: float, se: float) -> float:
    """diff / se, with welch_p_value's rule for no spread: equal means give p = 1."""
    if se > 0:
        return diff / se
    return math.inf if diff > 0 else -math.inf


def _merged(status: Status) -> Status:
    return Status.PASS if status is Status.IMPROVED else status


def stop_rule(
    thresholds: Thresholds, *, base: str = "base", head: str = "head"
) -> Callable[[str, dict[str, Any], int], str | None]:
    """The runner's ``stop`` for a base/head benchmark: :func:`decide` over what has run."""

    def rule(model: str, collected: dict[str, Any], remaining: int) -> str | None:
        decision = _decide_for(model, collected[base], collected[head], remaining, thresholds)
        return decision.reason if decision.stop else None

    return rule


def stop_lines(
    base_doc: dict[str, Any], head_doc: dict[str, Any], thresholds: Thresholds
) -> list[str]:
    """One line per model that ran fewer seeds than planned, with why, for the comment.

    Decided again from the runs themselves (an artifact is untrusted): a model cut short
    although its verdict could still change is said to be so.
    """
    planned = len(head_doc["settings"]["seeds"])
    lines = []
    for model in head_doc["settings"]["models"]:
        ran = _seeds_of(head_doc, model)  # the base's runs may be reused, all of them
        if ran >= planned or ran == 0:
            continue
        decision = _decide_for(model, base_doc, head_doc, planned - ran, thresholds)
        if decision.stop:
            lines.append(
                f"{model}: stopped after {ran} of {planned} seeds a side, because "
                f"{decision.reason}."
            )
        else:
            lines.append(
                f"{model}: ran only {ran} of {planned} seeds a side, although "
                f"{decision.reason}: treat its verdict with care."
            )
    return lines


def _decide_for(
    model: str, base: Any, head: Any, remaining: int, thresholds: Thresholds
) -> StopDecision:
    """:func:`decide` for one model over two sides (results documents or runner results)."""

    def part(side: Any, key: str) -> list[dict[str, Any]]:
        items = side[key] if isinstance(side, dict) else getattr(side, key)
        return [item for item in items if item["model"] == model]

    return decide(
        part(base, "runs"),
        part(head, "runs"),
        remaining,
        thresholds,
        base_failed=bool(part(base, "failures")),
        head_failed=bool(part(head, "failures")),
    )


def _seeds_of(doc: dict[str, Any], model: str) -> int:
    return len(
        {r["seed"] for r in doc["runs"] if r["model"] == model}
        | {f["seed"] for f in doc["failures"] if f["model"] == model}
    )
