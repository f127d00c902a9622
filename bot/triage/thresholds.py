"""Per-label confidence thresholds for a target precision, and the labelling decision.

Below its label's threshold an issue is left as ``needs-triage``: a maintainer would rather
label a few issues by hand than undo wrong labels. Thresholds are chosen on held-out
predictions (never on the issues the head was fitted on, whose confidences are inflated).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from bot.triage.metrics import NEEDS_TRIAGE

NEVER = 1.01  # a threshold no probability reaches: the label is never given automatically

PrecisionEstimate = Callable[[float, int], float]  # (right, kept) -> the precision to test


def observed_precision(right: float, kept: int) -> float:
    """The share of the kept predictions that are right: training's estimate."""
    return right / kept


def threshold_for_precision(
    confidence: Sequence[float],
    correct: Sequence[bool],
    target: float,
    *,
    min_support: int = 5,
    estimate: PrecisionEstimate = observed_precision,
) -> float:
    """The lowest confidence at which the predictions kept (confidence >= it) reach
    ``target`` precision by ``estimate``, counting at least ``min_support`` of them;
    ``NEVER`` if none does.

    ``confidence`` and ``correct`` describe the held-out issues *predicted* as one label."""
    order = np.argsort(-np.asarray(confidence, dtype=float), kind="stable")
    conf = np.asarray(confidence, dtype=float)[order]
    hits = np.cumsum(np.asarray(correct, dtype=float)[order])
    kept = np.arange(1, len(conf) + 1)
    best = NEVER
    for i in range(len(conf)):
        # only cut between distinct confidences: ties are kept or dropped together
        if i + 1 < len(conf) and conf[i + 1] == conf[i]:
            continue
        if kept[i] >= min_support and estimate(hits[i], kept[i]) >= target:
            best = float(conf[i])
    return best


def choose_thresholds(
    probabilities: np.ndarray,
    truth: Sequence[int],
    labels: Sequence[str],
    target: float,
    *,
    min_support: int = 5,
    estimate: PrecisionEstimate = observed_precision,
) -> dict[str, float]:
    """One threshold per label from held-out probabilities (rows: issues, columns: labels)."""
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    truth_arr = np.asarray(truth)
    out = {}
    for index, label in enumerate(labels):
        mine = predicted == index
        out[label] = threshold_for_precision(
            confidence[mine],
            truth_arr[mine] == index,
            target,
            min_support=min_support,
            estimate=estimate,
        )
    return out


def decide(
    probabilities: Mapping[str, float], thresholds: Mapping[str, float]
) -> tuple[str, float]:
    """The label to apply (or ``needs-triage``) and the confidence it rests on."""
    label = max(probabilities, key=lambda k: probabilities[k])
    confidence = probabilities[label]
    if confidence >= thresholds.get(label, NEVER):
        return label, confidence
    return NEEDS_TRIAGE, confidence
