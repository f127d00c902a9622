"""Stage 18: the pooled learning curve, and what it says of a model trained on more issues.

Reads the JSON rows that ``finetune`` prints (files, or stdin), among them runs with
``--train-quarters``, and keeps one head's rows of single-seed, in-sample fits. Prints, per
number of training issues, each seed's five-fold mean macro-F1 (the mean over the projects
of a fold, then over the folds) and the seeds' mean; then a least-squares line through the
seeds' scores against log2(training issues): its gain per doubling of the issues, what it
predicts at ``--at`` (1,500 issues: what ``triage protocol --pooled`` trains on when TRAIN is
the whole NLBSE training split, where cross-validation trains on 1,200), and how many issues
it needs for ``--target``. The line has a level per seed (a seed measured at some sizes only
then neither raises nor lowers the slope) and predicts for the seeds' mean level. A straight
line in log-size is the usual shape of a learning curve over a range this short; read what
it predicts beyond the measured sizes as an estimate.

Usage:
    .venv/bin/python -m research.triage.learning_curve /tmp/curve.jsonl /tmp/members.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

DEFAULT_HEAD = "tuned issue + lexical (default, several repositories)"
FULL_TRAINING = 1200  # pooled rows printed before --train-quarters existed: four fifths of 1,500


def five_fold_means(rows: Iterable[dict], head: str) -> dict[tuple[int, int], float]:
    """(training issues, fine-tuning seed) -> the mean over folds of the mean over projects;
    pooled rows only, and only sizes and seeds with every one of the five folds."""
    scores: dict[tuple[int, int], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["protocol"] != "pooled" or row["head"] != head:
            continue
        if row.get("head_fit", "in-sample") != "in-sample":
            continue
        if len(row["finetune_seeds"]) != 1:
            continue
        key = (row.get("train_issues", FULL_TRAINING), row["finetune_seeds"][0])
        scores[key][row["fold"]].append(row["macro_f1"])
    return {
        key: float(np.mean([np.mean(projects) for projects in folds.values()]))
        for key, folds in scores.items()
        if len(folds) == 5
    }


def log_size_fit(means: dict[tuple[int, int], float]) -> tuple[float, float]:
    """(intercept, gain per doubling) of the score against log2(training issues), by least
    squares with a level of its own for each seed: the gain is measured within seeds, so a
    lucky seed measured at one size only does not tilt the line, and the intercept is the
    seeds' mean level."""
    seeds = sorted({seed for _, seed in means})
    keys = sorted(means)
    design = np.array(
        [[float(seed == s) for s in seeds] + [math.log2(size)] for size, seed in keys]
    )
    coefficients = np.linalg.lstsq(design, np.array([means[k] for k in keys]), rcond=None)[0]
    return float(np.mean(coefficients[:-1])), float(coefficients[-1])


def predicted(fit: tuple[float, float], size: float) -> float:
    """The fitted line's score at ``size`` training issues, for the seeds' mean level."""
    intercept, slope = fit
    return intercept + slope * math.log2(size)


def size_for(fit: tuple[float, float], target: float) -> float:
    """The training issues at which the fitted line reaches ``target`` (inf if it never
    rises)."""
    intercept, slope = fit
    return 2 ** ((target - intercept) / slope) if slope > 0 else math.inf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", type=Path, help="default: stdin")
    parser.add_argument("--head", default=DEFAULT_HEAD)
    parser.add_argument("--at", nargs="+", type=int, default=[1500])
    parser.add_argument("--target", type=float, default=0.83)
    args = parser.parse_args()
    lines = [
        line
        for source in (args.rows or [None])
        for line in (source.read_text() if source else sys.stdin.read()).splitlines()
        if line.strip()
    ]
    means = five_fold_means((json.loads(line) for line in lines), args.head)
    if not means:
        sys.exit(f"no five-fold single-seed rows of the head {args.head!r}")
    by_size: dict[int, dict[int, float]] = defaultdict(dict)
    for (size, seed), score in means.items():
        by_size[size][seed] = score
    seeds_mean = {size: float(np.mean(list(s.values()))) for size, s in by_size.items()}
    for size in sorted(by_size):
        per_seed = ", ".join(f"seed {s} {v:.3f}" for s, v in sorted(by_size[size].items()))
        print(f"{size:>5} issues: {per_seed}; mean {seeds_mean[size]:.3f}")
    if len(seeds_mean) < 2:
        return
    fit = log_size_fit(means)
    print(f"fit: {fit[0]:.3f} + {fit[1]:.4f} x log2(issues): {fit[1]:+.3f} per doubling")
    for size in args.at:
        print(f"predicted at {size} issues: {predicted(fit, size):.3f}")
    print(f"{args.target} reached at about {size_for(fit, args.target):.0f} issues")


if __name__ == "__main__":
    main()
