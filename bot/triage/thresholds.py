"""Per-label confidence thresholds for a target precision, chosen from validation data.

Below its label's threshold an issue is left as ``needs-triage`` (the runtime decision is
:func:`bot.triage.policy.decide`): a maintainer would rather label a few issues by hand than
undo wrong labels. Thresholds are chosen on held-out predictions (never on the issues the head
was fitted on, whose confidences are inflated).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from bot.triage.policy import NEVER

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
    stated: bool = True,
) -> float:
    """The lowest confidence at which the predictions kept (confidence >= it) reach
    ``target`` precision by ``estimate``, counting at least ``min_support`` of them;
    ``NEVER`` if none does.

    With ``stated``, the kept predictions' mean confidence must reach the target too: the
    calibrated confidences are a second estimate of the same precision that does not hang
    on which few of the predictions happened to be right, so a lucky sample alone cannot
    set a low threshold. ``confidence`` and ``correct`` describe the held-out issues
    *predicted* as one label (or as any label, for a shared threshold)."""
    order = np.argsort(-np.asarray(confidence, dtype=float), kind="stable")
    conf = np.asarray(confidence, dtype=float)[order]
    hits = np.cumsum(np.asarray(correct, dtype=float)[order])
    claimed = np.cumsum(conf)
    kept = np.arange(1, len(conf) + 1)
    best = NEVER
    for i in range(len(conf)):
        # only cut between distinct confidences: ties are kept or dropped together
        if i + 1 < len(conf) and conf[i + 1] == conf[i]:
            continue
        if kept[i] < min_support or estimate(hits[i], kept[i]) < target:
            continue
        if not stated or claimed[i] / kept[i] >= target:
            best = float(conf[i])
    return best


# held-out predictions of a label before it gets a threshold of its own (not tuned: a
# project's validation split predicts each label about 20 times, a model of several
# projects about 80; docs/triage-why.md)
OWN_THRESHOLD_SUPPORT = 30


def choose_thresholds(
    probabilities: np.ndarray,
    truth: Sequence[int],
    labels: Sequence[str],
    target: float,
    *,
    min_support: int = 5,
    own_support: float = OWN_THRESHOLD_SUPPORT,
    estimate: PrecisionEstimate = observed_precision,
    stated: bool = True,
) -> dict[str, float]:
    """One threshold per label from held-out probabilities (rows: issues, columns: labels).

    A label predicted at least ``own_support`` times gets a threshold from its own
    predictions; the others share the one found on every label's predictions together.
    On about 20 predictions the cut lands wherever the sample happened to look best (held
    out, such thresholds gave 0.879 precision for a promised 0.9); the shared curve has
    three times the evidence (with ``stated``, 0.899 held out, at a little more coverage;
    docs/triage-why.md)."""
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    right = predicted == np.asarray(truth)
    cut = partial(
        threshold_for_precision,
        target=target,
        min_support=min_support,
        estimate=estimate,
        stated=stated,
    )
    shared = cut(confidence, right)
    out = {}
    for index, label in enumerate(labels):
        mine = predicted == index
        out[label] = cut(confidence[mine], right[mine]) if mine.sum() >= own_support else shared
    return out
