"""Classification scores as the NLBSE protocol defines them, with the coverage of thresholds
and the calibration of the stated confidence.

Pure functions over label lists: macro-F1 is the unweighted mean of the per-label F1 (a
label never predicted nor present scores 0, as in scikit-learn with ``zero_division=0``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

NEEDS_TRIAGE = "needs-triage"


def confusion(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> list[list[int]]:
    """``matrix[i][j]``: issues of label ``labels[i]`` predicted as ``labels[j]``."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        if t in index and p in index:
            matrix[index[t]][index[p]] += 1
    return matrix


def per_class(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each label."""
    scores = {}
    for label in labels:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p == label)
        n_pred = sum(1 for p in predicted if p == label)
        n_true = sum(1 for t in truth if t == label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_true}
    return scores


def macro_f1(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean of the per-label F1: the NLBSE'24 score."""
    scores = per_class(truth, predicted, labels)
    return sum(s["f1"] for s in scores.values()) / len(labels)


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of issues given their true label."""
    pairs = list(zip(truth, predicted, strict=True))
    return sum(1 for t, p in pairs if t == p) / len(pairs) if pairs else 0.0


def report(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """The full evaluation of one set of predictions (``eval --json`` shape)."""
    return {
        "n": len(truth),
        "accuracy": accuracy(truth, predicted),
        "macro_f1": macro_f1(truth, predicted, labels),
        "per_class": per_class(truth, predicted, labels),
        "labels": list(labels),
        "confusion": confusion(truth, predicted, labels),
    }


def coverage_report(
    truth: Sequence[str], decisions: Sequence[str], labels: Sequence[str] = ()
) -> dict[str, Any]:
    """Share of issues the thresholds let through (``coverage``), how many were labelled and
    how many of those rightly, and the precision of the labels given, overall and per label
    (the target precision is promised for every label, so each is checked on its own);
    ``needs-triage`` decisions count as not labelled."""
    given = [(t, d) for t, d in zip(truth, decisions, strict=True) if d != NEEDS_TRIAGE]
    per_label = {}
    for label in dict.fromkeys([*labels, *sorted({d for _, d in given})]):
        mine = [t for t, d in given if d == label]
        per_label[label] = _precision(sum(t == label for t in mine), len(mine))
    return {
        "n": len(truth),
        "coverage": len(given) / len(truth) if truth else 0.0,
        **_precision(sum(1 for t, d in given if t == d), len(given)),
        "per_label": per_label,
    }


def combine_coverage(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several ``coverage_report`` results as one, as if their issues had been scored
    together: what a maintainer of all those projects would see at the thresholds."""
    n = sum(r["n"] for r in reports)
    labelled = sum(r["labelled"] for r in reports)
    labels = dict.fromkeys(label for r in reports for label in r["per_label"])
    return {
        "n": n,
        "coverage": labelled / n if n else 0.0,
        **_precision(sum(r["correct"] for r in reports), labelled),
        "per_label": {
            label: _precision(
                sum(r["per_label"].get(label, {}).get("correct", 0) for r in reports),
                sum(r["per_label"].get(label, {}).get("labelled", 0) for r in reports),
            )
            for label in labels
        },
    }


def _precision(correct: int, labelled: int) -> dict[str, Any]:
    """Counts kept beside the ratio, so reports over several test sets can add them up."""
    return {
        "precision": correct / labelled if labelled else 0.0,
        "labelled": labelled,
        "correct": correct,
    }


def calibration(
    truth: Sequence[str],
    probabilities: Sequence[dict[str, float]],
    labels: Sequence[str],
    bins: int = 10,
) -> dict[str, Any]:
    """How far the stated confidence can be trusted: the expected calibration error (the
    gap between confidence and accuracy, averaged over equal-width confidence bins and
    weighted by their issues), the multi-class Brier score, the log-loss, and the
    reliability table behind the ECE (bins with no issue left out)."""
    rows = []
    brier = log_loss = 0.0
    for t, probs in zip(truth, probabilities, strict=True):
        top = max(labels, key=lambda label: probs.get(label, 0.0))
        rows.append((probs.get(top, 0.0), top == t))
        brier += sum((probs.get(label, 0.0) - (label == t)) ** 2 for label in labels)
        log_loss -= math.log(max(probs.get(t, 0.0), 1e-12))
    table = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(c, ok) for c, ok in rows if low < c <= high or (b == 0 and c == 0.0)]
        if members:
            table.append(
                {
                    "confidence_from": low,
                    "confidence_to": high,
                    "n": len(members),
                    "mean_confidence": sum(c for c, _ in members) / len(members),
                    "accuracy": sum(ok for _, ok in members) / len(members),
                }
            )
    n = max(len(rows), 1)
    gaps = sum(r["n"] * abs(r["mean_confidence"] - r["accuracy"]) for r in table)
    return {"ece": gaps / n, "brier": brier / n, "log_loss": log_loss / n, "reliability": table}
