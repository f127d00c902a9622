"""What the per-label thresholds deliver held out, and what a stricter rule would trade.

A threshold is the lowest confidence at which validation predictions reach the target
precision (``threshold_for_precision``). A project's validation split holds 48-60 issues,
about 20 predictions per label, so a label's own threshold lands where its sample happened
to look best: held out, the precision may fall short of the target. For the model
directories that ``maintbot triage protocol --out DIR`` kept, this script re-derives the
thresholds from the validation predictions each model keeps (``head.npz``) with:

- **shipped** (training's rule since stage 13): a label predicted fewer than 30 times
  shares the threshold of all labels' predictions together, and the kept predictions'
  mean stated confidence must reach the target as well as their observed precision;
- **own, counted** (training's rule until stage 13): each label its own threshold, where
  its predictions' observed precision >= target;
- **own, counted + stated** and **shared, counted**: each half of the change alone;
- **laplace**: own, counted, with one right and one wrong prediction added (mild shrinkage);
- **wilson z**: own, where the lower end of the Wilson interval of the precision >= target
  (z 0.5 and 1: the rule asks more of fewer predictions);

and scores all projects' test issues together: coverage (share labelled) and precision of
the labels given, overall and per label ([labelled, precision]), at targets 0.8, 0.85, 0.9 and 0.95.
First it prints the calibration of the same predictions: mean stated confidence against
accuracy, the mean per-project expected calibration error, and the error a perfectly
calibrated model with the same confidences would show on as few issues (simulated: each
issue right with the probability it states).

Usage:
    maintbot triage protocol --train fold3-train.csv --test fold3-test.csv --out /tmp/models3
    .venv/bin/python -m research.triage.thresholds --runs /tmp/models3=fold3-test.csv ...
"""

from __future__ import annotations

import argparse
import json
import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bot.triage.data import by_repo, read_labelled
from bot.triage.metrics import calibration, combine_coverage, coverage_report
from bot.triage.runtime import Predictor
from bot.triage.thresholds import choose_thresholds, decide


def laplace(hits: float, n: int) -> float:
    """The precision with one right and one wrong prediction added (Laplace's rule of
    succession): shrinks the precision of few predictions towards 0.5, of many hardly."""
    return (hits + 1) / (n + 2)


def wilson_low(hits: float, n: int, *, z: float) -> float:
    """The lower end of the Wilson score interval of a proportion ``hits / n``."""
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


OWN_COUNTED: dict[str, Any] = {"own_support": 0, "stated": False}
# each rule: choose_thresholds' keyword arguments
RULES: dict[str, dict[str, Any]] = {
    "shipped": {},
    "own, counted (until stage 13)": OWN_COUNTED,
    "own, counted + stated": {"own_support": 0},
    "shared, counted": {"own_support": math.inf, "stated": False},
    "laplace": {**OWN_COUNTED, "estimate": laplace},
    "wilson 0.5": {**OWN_COUNTED, "estimate": partial(wilson_low, z=0.5)},
    "wilson 1": {**OWN_COUNTED, "estimate": partial(wilson_low, z=1.0)},
}


def rule_thresholds(
    kept: np.lib.npyio.NpzFile, labels: list[str], target: float, rule: dict[str, Any]
) -> dict[str, float]:
    """Training's ``choose_thresholds`` on the validation predictions a model keeps, with
    the choices of a rule."""
    return choose_thresholds(
        kept["validation_probabilities"], kept["validation_truth"], labels, target, **rule
    )


def expected_calibration_error(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """``calibration``'s ECE of one project's predictions (label names do not matter)."""
    names = [str(k) for k in range(probabilities.shape[1])]
    rows = [dict(zip(names, map(float, row), strict=True)) for row in probabilities]
    return calibration([names[t] for t in truth], rows, names)["ece"]


def calibrated_floor(probabilities: np.ndarray, draws: int = 200, seed: int = 0) -> float:
    """The mean ECE of a perfectly calibrated model with these confidences on this many
    issues: what sampling alone gives."""
    rng = np.random.default_rng(seed)
    top = probabilities.argmax(1)
    errors = []
    for _ in range(draws):
        right = rng.random(len(top)) < probabilities.max(1)
        errors.append(expected_calibration_error(probabilities, np.where(right, top, top - 1)))
    return float(np.mean(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", nargs="+", required=True, help="MODELS_DIR=TEST_CSV, one per protocol run"
    )
    parser.add_argument("--targets", nargs="+", type=float, default=[0.8, 0.85, 0.9, 0.95])
    args = parser.parse_args()
    scored = []  # (test probabilities, truth, the model's head.npz, its labels)
    for run in args.runs:
        models, test_csv = run.split("=", 1)
        for repo, issues in by_repo(read_labelled(Path(test_csv))).items():
            model = Path(models) / repo.replace("/", "__")
            model = model if model.exists() else Path(models) / "pooled"
            predictor = Predictor(model)
            predictions = predictor.predict(
                [(i.title, i.body) for i in issues], [i.repo for i in issues]
            )
            labels = predictor.labels
            probabilities = np.array([[p.probabilities[k] for k in labels] for p in predictions])
            truth = np.array([labels.index(i.label) for i in issues])
            kept = np.load(model / "head.npz")
            # the kept validation predictions are the ones training chose the thresholds on,
            # by today's rule or (a model trained before stage 13) by the earlier one
            shipped = [predictor.thresholds[k] for k in labels]
            trained_for = predictor.target_precision
            assert any(
                np.allclose(
                    shipped, [rule_thresholds(kept, labels, trained_for, rule)[k] for k in labels]
                )
                for rule in (RULES["shipped"], OWN_COUNTED)
            ), model
            scored.append((probabilities, truth, kept, labels))
    row = {
        "mean_confidence": np.mean([p.max(1).mean() for p, *_ in scored]),
        "accuracy": np.mean([(p.argmax(1) == t).mean() for p, t, *_ in scored]),
        "mean_ece": np.mean([expected_calibration_error(p, t) for p, t, *_ in scored]),
        "mean_ece_if_calibrated": np.mean([calibrated_floor(p) for p, *_ in scored]),
    }
    rounded = {k: round(float(v), 3) for k, v in row.items()}
    print(json.dumps({"projects": len(scored), **rounded}), flush=True)
    for target in args.targets:
        for name, rule in RULES.items():
            reports = []
            for probabilities, truth, kept, labels in scored:
                cuts = rule_thresholds(kept, labels, target, rule)
                decisions = [
                    decide(dict(zip(labels, map(float, row), strict=True)), cuts)[0]
                    for row in probabilities
                ]
                reports.append(coverage_report([labels[t] for t in truth], decisions, labels))
            together = combine_coverage(reports)
            row = {
                "target_precision": target,
                "rule": name,
                "projects": len(scored),
                "test_issues": together["n"],
                "labelled": together["labelled"],
                "coverage": round(together["coverage"], 3),
                "precision": round(together["precision"], 3) if together["labelled"] else None,
                # each label's threshold aims at the target on its own
                "per_label": {
                    label: [s["labelled"], round(s["precision"], 3) if s["labelled"] else None]
                    for label, s in together["per_label"].items()
                },
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
