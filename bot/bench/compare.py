"""The benchmark's regression policy: per model and metric, is the head worse than the base?

Pure decisions over two validated results documents, tested with plain values in
tests/bench/test_compare.py. A metric is a regression (or, for time and size, a warning) only
when the head is worse by at least the configured threshold AND a one-sided Welch's t-test
over the seeds says the difference is unlikely to be noise. Over the threshold but not
significant is "inconclusive": a warning, never a failed PR. What the comment says is
:mod:`bot.bench.render`; where and when it is posted, :mod:`bot.bench.publish`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from bot.bench.stats import Summary, summarize, welch_p_value

ENVIRONMENT_FIELDS = (  # what makes timings (and sometimes numerics) comparable
    ("tensorflow", "TensorFlow"),
    ("keras", "Keras"),
    ("numpy", "NumPy"),
    ("python", "Python"),
    ("platform", "platform"),
    ("cpu_model", "CPU"),
    ("cpu_count", "CPU count"),
    ("usable_cpus", "usable CPUs"),
    ("threads", "thread settings"),
)
SETTING_FIELDS = ("epochs", "dataset", "train_limit", "test_limit")


class Status(StrEnum):
    """Verdict of one metric, one model or the whole comparison (worst wins)."""

    PASS = "pass"
    IMPROVED = "improved"
    INCONCLUSIVE = "inconclusive"
    WARNING = "warning"
    REGRESSION = "regression"

    @property
    def rank(self) -> int:
        return list(Status).index(self)

    @property
    def icon(self) -> str:
        return {"regression": "❌", "warning": "⚠️", "inconclusive": "⚠️"}.get(self.value, "✅")


@dataclass(frozen=True)
class Thresholds:
    """How much worse counts; the defaults are those of ``.github/maintbot.yml``."""

    accuracy_drop_points: float = 0.5
    loss_increase_pct: float = 5.0
    time_increase_pct: float = 20.0
    size_increase_pct: float = 10.0
    alpha: float = 0.05

    @classmethod
    def from_config(cls, thresholds: Any) -> Thresholds:
        """From ``config.bench.thresholds`` (any object with the same attribute names)."""
        return cls(**{name: float(getattr(thresholds, name)) for name in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class MetricSpec:
    """One compared metric: where it is in a run, which way is better, what threshold applies."""

    key: str
    label: str
    better: Literal["higher", "lower"]
    unit: Literal["points", "percent"]  # how the change is measured against the threshold
    threshold: str  # attribute of Thresholds
    severity: Status  # what crossing it significantly means
    fmt: str  # how a value is shown


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        key="test_accuracy",
        label="test accuracy",
        better="higher",
        unit="points",
        threshold="accuracy_drop_points",
        severity=Status.REGRESSION,
        fmt="percent",
    ),
    MetricSpec(
        key="test_loss",
        label="test loss",
        better="lower",
        unit="percent",
        threshold="loss_increase_pct",
        severity=Status.REGRESSION,
        fmt="decimal",
    ),
    MetricSpec(
        key="train_seconds",
        label="training time",
        better="lower",
        unit="percent",
        threshold="time_increase_pct",
        severity=Status.WARNING,
        fmt="seconds",
    ),
    MetricSpec(
        key="parameters",
        label="parameters",
        better="lower",
        unit="percent",
        threshold="size_increase_pct",
        severity=Status.WARNING,
        fmt="integer",
    ),
)


@dataclass(frozen=True)
class MetricVerdict:
    """One metric of one model: both sides' summaries, the change, the test, the verdict."""

    spec: MetricSpec
    status: Status
    base: Summary
    head: Summary
    change: float | None  # head − base: points for accuracy, percent of base otherwise
    p_value: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.spec.key,
            "label": self.spec.label,
            "better": self.spec.better,
            "unit": self.spec.unit,
            "threshold": self.spec.threshold,
            "status": self.status.value,
            "base": self.base.to_dict(),
            "head": self.head.to_dict(),
            "change": self.change,
            "p_value": self.p_value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ModelVerdict:
    """Every metric of one model, the failures seen, and per-epoch accuracy for the chart."""

    model: str
    status: Status
    metrics: tuple[MetricVerdict, ...]
    notes: tuple[str, ...]
    base_epoch_accuracy: tuple[float, ...]
    head_epoch_accuracy: tuple[float, ...]
    head_failed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "status": self.status.value,
            "head_failed": self.head_failed,
            "metrics": [m.to_dict() for m in self.metrics],
            "notes": list(self.notes),
            "base_epoch_accuracy": list(self.base_epoch_accuracy),
            "head_epoch_accuracy": list(self.head_epoch_accuracy),
        }


@dataclass(frozen=True)
class Difference:
    """A setting or an environment field that is not the same on both sides."""

    field: str
    base: str
    head: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "base": self.base, "head": self.head}


@dataclass(frozen=True)
class Comparison:
    """The whole verdict: worst status over models, plus what differs between the sides."""

    status: Status
    models: tuple[ModelVerdict, ...]
    environment_changes: tuple[Difference, ...]
    setting_changes: tuple[Difference, ...]
    only_on_one_side: tuple[str, ...]
    thresholds: Thresholds
    base_git: dict[str, Any] = field(default_factory=dict)
    head_git: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, int] = (0, 0)  # seeds per side (the largest model's)
    epochs: tuple[int, int] = (0, 0)

    @property
    def regressions(self) -> list[str]:
        """One line per regression ("mnist_mlp: test accuracy worse by ..."), for messages."""
        found = []
        for model in self.models:
            found += [
                f"{model.model}: {metric.spec.label} {metric.reason}"
                for metric in model.metrics
                if metric.status is Status.REGRESSION
            ]
            if model.head_failed:
                found.append(f"{model.model}: {model.notes[0]}")
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "models": [m.to_dict() for m in self.models],
            "environment_changes": [d.to_dict() for d in self.environment_changes],
            "setting_changes": [d.to_dict() for d in self.setting_changes],
            "only_on_one_side": list(self.only_on_one_side),
            "thresholds": self.thresholds.to_dict(),
            "base_git": self.base_git,
            "head_git": self.head_git,
            "seeds": list(self.seeds),
            "epochs": list(self.epochs),
        }


def compare(
    base: dict[str, Any], head: dict[str, Any], thresholds: Thresholds | None = None
) -> Comparison:
    """Compares two validated results documents model by model."""
    thresholds = thresholds or Thresholds()
    base_models = _models_of(base)
    head_models = _models_of(head)
    shared = [m for m in base_models if m in head_models]
    only = tuple(
        [f"{m} (base only)" for m in base_models if m not in head_models]
        + [f"{m} (head only)" for m in head_models if m not in base_models]
    )
    verdicts = tuple(compare_model(m, base, head, thresholds) for m in shared)
    status = worst(v.status for v in verdicts)
    return Comparison(
        status=status,
        models=verdicts,
        environment_changes=environment_changes(base, head),
        setting_changes=setting_changes(base, head),
        only_on_one_side=only,
        thresholds=thresholds,
        base_git=dict(base.get("git") or {}),
        head_git=dict(head.get("git") or {}),
        seeds=(len(base["settings"]["seeds"]), len(head["settings"]["seeds"])),
        epochs=(base["settings"]["epochs"], head["settings"]["epochs"]),
    )


def compare_model(
    model: str, base: dict[str, Any], head: dict[str, Any], thresholds: Thresholds
) -> ModelVerdict:
    """All metrics of one model; a head that failed to train is a regression in itself."""
    base_runs = [r for r in base["runs"] if r["model"] == model]
    head_runs = [r for r in head["runs"] if r["model"] == model]
    base_failed = [f for f in base["failures"] if f["model"] == model]
    head_failed = [f for f in head["failures"] if f["model"] == model]
    notes: list[str] = []
    status_floor = Status.PASS
    if head_failed:
        seeds = ", ".join(str(f["seed"]) for f in head_failed)
        notes.append(
            f"the head failed to train it (seed {seeds}): {_one_line(head_failed[0]['reason'])}"
        )
        status_floor = Status.REGRESSION
    if base_failed:
        seeds = ", ".join(str(f["seed"]) for f in base_failed)
        notes.append(
            f"the base failed to train it (seed {seeds}): {_one_line(base_failed[0]['reason'])}"
        )
        status_floor = max(status_floor, Status.INCONCLUSIVE, key=lambda s: s.rank)
    metrics = tuple(compare_metric(spec, base_runs, head_runs, thresholds) for spec in METRICS)
    status = worst([status_floor, *(m.status for m in metrics)])
    return ModelVerdict(
        model=model,
        status=status,
        metrics=metrics,
        notes=tuple(notes),
        base_epoch_accuracy=epoch_means(base_runs),
        head_epoch_accuracy=epoch_means(head_runs),
        head_failed=bool(head_failed),
    )


def compare_metric(
    spec: MetricSpec,
    base_runs: list[dict[str, Any]],
    head_runs: list[dict[str, Any]],
    thresholds: Thresholds,
) -> MetricVerdict:
    """Effect size against the threshold, then the significance test: both must agree."""
    base_values = [r[spec.key] for r in base_runs if r.get(spec.key) is not None]
    head_values = [r[spec.key] for r in head_runs if r.get(spec.key) is not None]
    head_diverged = len(head_runs) - len(head_values)
    base_summary, head_summary = summarize(base_values), summarize(head_values)
    limit = getattr(thresholds, spec.threshold)

    def verdict(
        status: Status, reason: str, change: float | None = None, p: float | None = None
    ) -> MetricVerdict:
        return MetricVerdict(spec, status, base_summary, head_summary, change, p, reason)

    if head_diverged and spec.severity is Status.REGRESSION:
        return verdict(
            Status.REGRESSION,
            f"training diverged on the head ({spec.label} not finite in {head_diverged} of "
            f"{len(head_runs)} seeds)",
        )
    if base_summary.mean is None or head_summary.mean is None:
        return verdict(Status.INCONCLUSIVE, "no finite values on one side to compare")
    change = _change(spec, base_summary.mean, head_summary.mean)
    worse_by = -change if spec.better == "higher" else change
    worse = "head_lower" if spec.better == "higher" else "head_higher"
    better = "head_higher" if worse == "head_lower" else "head_lower"
    unit = "points" if spec.unit == "points" else "%"
    if worse_by >= limit:
        p = welch_p_value(base_values, head_values, worse)
        if p is None:
            return verdict(
                Status.INCONCLUSIVE,
                f"worse by {worse_by:.2f} {unit} (threshold {limit:g}) but with fewer than 2 "
                "seeds a side there is no significance test",
                change,
            )
        if p < thresholds.alpha:
            return verdict(
                spec.severity,
                f"worse by {worse_by:.2f} {unit} (threshold {limit:g}), p = {p:.2g}",
                change,
                p,
            )
        return verdict(
            Status.INCONCLUSIVE,
            f"worse by {worse_by:.2f} {unit} (threshold {limit:g}) but within seed noise "
            f"(p = {p:.2g} ≥ {thresholds.alpha:g})",
            change,
            p,
        )
    if -worse_by >= limit:
        p = welch_p_value(base_values, head_values, better)
        if p is not None and p < thresholds.alpha:
            return verdict(
                Status.IMPROVED, f"better by {-worse_by:.2f} {unit}, p = {p:.2g}", change, p
            )
    return verdict(Status.PASS, f"within the threshold ({limit:g} {unit})", change)


def environment_changes(base: dict[str, Any], head: dict[str, Any]) -> tuple[Difference, ...]:
    """Fields of the environment that differ between (or within) the sides."""
    differences = []
    for key, label in ENVIRONMENT_FIELDS:
        base_values = _distinct(r["environment"].get(key) for r in base["runs"])
        head_values = _distinct(r["environment"].get(key) for r in head["runs"])
        if base_values and head_values and base_values != head_values:
            differences.append(Difference(label, " / ".join(base_values), " / ".join(head_values)))
    return tuple(differences)


def setting_changes(base: dict[str, Any], head: dict[str, Any]) -> tuple[Difference, ...]:
    """Run settings (epochs, data slice) that differ: then it is not like for like."""
    return tuple(
        Difference(name, str(base["settings"].get(name)), str(head["settings"].get(name)))
        for name in SETTING_FIELDS
        if base["settings"].get(name) != head["settings"].get(name)
    )


def epoch_means(runs: list[dict[str, Any]]) -> tuple[float, ...]:
    """Mean training accuracy per epoch over the seeds (epochs every run reached, finite)."""
    if not runs:
        return ()
    length = min(len(r["history"]) for r in runs)
    means = []
    for index in range(length):
        values = [r["history"][index]["accuracy"] for r in runs]
        finite = [v for v in values if v is not None]
        if len(finite) != len(values):
            break
        means.append(sum(finite) / len(finite))
    return tuple(means)


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status; PASS for none."""
    return max(statuses, key=lambda s: s.rank, default=Status.PASS)


def _change(spec: MetricSpec, base_mean: float, head_mean: float) -> float:
    if spec.unit == "points":
        return (head_mean - base_mean) * 100
    if base_mean == 0:
        return 0.0 if head_mean == 0 else float("inf") * (1 if head_mean > 0 else -1)
    return (head_mean - base_mean) / abs(base_mean) * 100


def _models_of(doc: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for name in [r["model"] for r in doc["runs"]] + [f["model"] for f in doc["failures"]]:
        if name not in names:
            names.append(name)
    return names


def _distinct(values: Iterable[Any]) -> list[str]:
    shown: list[str] = []
    for value in values:
        if value is None:
            continue
        text = (
            ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
            if isinstance(value, dict)
            else str(value)
        )
        if text not in shown:
            shown.append(text)
    return shown


def _one_line(text: str, max_len: int = 300) -> str:
    """Untrusted text (a failure reason) as one short line: it also goes to CI logs."""
    flat = " ".join(text.split())
    return flat if len(flat) <= max_len else flat[: max_len - 1] + "…"
