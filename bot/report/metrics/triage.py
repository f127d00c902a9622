"""Issue types and triage precision: what is reported, and how well the bot labels it.

Definitions:

- *Type-label distribution*: issues (not pull requests) opened in the window, by their type
  label (the repository's label names for bug, feature, question, docs... as configured); an
  issue carrying several type labels counts under the first in the configured order; one
  with none is ``unlabelled``.
- *Live triage precision* ("labels kept by maintainers"): of the type labels the triage bot
  applied in the window (its latest decision per issue), the share that maintainers kept,
  per label and overall. Not kept: a person relabelled the issue to another type, removed
  the bot's label, or said ``/type`` with another type; a person putting the bot's label
  back is a confirmation and counts as kept. The records are the store's predictions and
  corrections, completed from GitHub (the bot's comment markers and the label events) when
  no store survived, the same as ``maintbot triage stats`` (``bot.triage.corrections``,
  docs/corrections.md). ``precision`` is None when the bot labelled nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.window import Window

UNLABELLED = "unlabelled"


@dataclass(frozen=True)
class LabelPrecision:
    label: str
    predicted: int
    kept: int
    precision: float | None


@dataclass(frozen=True)
class Triage:
    type_counts: tuple[tuple[str, int], ...]
    precision: tuple[LabelPrecision, ...]
    overall: LabelPrecision


def type_label_distribution(
    dataset: Dataset, window: Window, policy: PeoplePolicy, type_labels: Mapping[str, str]
) -> tuple[tuple[str, int], ...]:
    """Issues opened in the window per type; ``type_labels`` maps a type to its label name."""
    by_label = {label.lower(): kind for kind, label in type_labels.items()}
    order = list(type_labels)
    counts: Counter[str] = Counter({kind: 0 for kind in order})
    for item in dataset.items:
        if item.is_pull or item.created_at not in window:
            continue
        if not policy.counts_item_by(item.author):
            continue
        kinds = {by_label[lab.lower()] for lab in item.labels if lab.lower() in by_label}
        counts[min(kinds, key=order.index) if kinds else UNLABELLED] += 1
    return tuple((kind, counts[kind]) for kind in [*order, UNLABELLED] if kind in counts)


def _precision(label: str, predicted: int, kept: int) -> LabelPrecision:
    return LabelPrecision(label, predicted, kept, kept / predicted if predicted else None)


def triage_precision(
    dataset: Dataset, window: Window
) -> tuple[tuple[LabelPrecision, ...], LabelPrecision]:
    """Per-label and overall precision of the predictions made in the window."""
    predicted: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    for p in dataset.predictions:
        if p.created_at not in window:
            continue
        predicted[p.label] += 1
        if p.corrected_to is None or p.corrected_to == p.label:
            kept[p.label] += 1
    per_label = tuple(_precision(lab, predicted[lab], kept[lab]) for lab in sorted(predicted))
    overall = _precision("all", sum(predicted.values()), sum(kept.values()))
    return per_label, overall


def triage(
    dataset: Dataset, window: Window, policy: PeoplePolicy, type_labels: Mapping[str, str]
) -> Triage:
    per_label, overall = triage_precision(dataset, window)
    return Triage(type_label_distribution(dataset, window, policy, type_labels), per_label, overall)
