"""Scoring a trained model on labelled issues: what ``triage eval`` prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.triage.data import LabelledIssue, by_repo
from bot.triage.metrics import calibration, coverage_report, macro_f1, report

if TYPE_CHECKING:
    from bot.triage.runtime import Predictor


def evaluate_model(predictor: Predictor, issues: Sequence[LabelledIssue]) -> dict[str, Any]:
    """Accuracy, per-label P/R/F1, macro-F1, confusion matrix, coverage and precision at the
    model's thresholds, the calibration of its confidence, and a per-repo breakdown when the
    issues name their repository."""
    predictions = predictor.predict([(i.title, i.body) for i in issues], [i.repo for i in issues])
    labels = predictor.labels
    truth = [i.label for i in issues]
    predicted = [p.label for p in predictions]
    result = report(truth, predicted, labels)
    result["at_thresholds"] = {
        **coverage_report(truth, [p.decision for p in predictions], labels),
        "target_precision": predictor.target_precision,
        "thresholds": predictor.thresholds,
    }
    result["calibration"] = calibration(truth, [p.probabilities for p in predictions], labels)
    result["runtime"] = predictor.runtime
    if any(i.repo for i in issues):
        per_repo = {}
        index = {id(i): k for k, i in enumerate(issues)}
        for repo, members in by_repo(issues).items():
            rows = [index[id(i)] for i in members]
            t = [truth[k] for k in rows]
            p = [predicted[k] for k in rows]
            per_repo[repo] = {
                "n": len(rows),
                "macro_f1": macro_f1(t, p, labels),
                "accuracy": sum(a == b for a, b in zip(t, p, strict=True)) / len(rows),
            }
        result["per_repo"] = per_repo
    return result


def render_text(result: dict[str, Any]) -> str:
    """The evaluation as a short plain-text report."""
    labels = result["labels"]
    lines = [
        f"{result['n']} issues  accuracy {result['accuracy']:.3f}  "
        f"macro-F1 {result['macro_f1']:.3f}  ({result['runtime']} encoder)",
        "",
        f"{'label':12} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>5}",
    ]
    for label, s in result["per_class"].items():
        lines.append(
            f"{label:12} {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f} {s['support']:5d}"
        )
    lines += [
        "",
        "confusion (rows: true, columns: predicted)",
        " " * 12 + "".join(f"{label[:9]:>10}" for label in labels),
    ]
    for label, row in zip(labels, result["confusion"], strict=True):
        lines.append(f"{label[:12]:12}" + "".join(f"{n:10d}" for n in row))
    cov = result["at_thresholds"]
    lines += [
        "",
        f"at the thresholds (target precision {cov['target_precision']:.2f}): coverage "
        f"{cov['coverage']:.3f} ({cov['labelled']} labelled), precision {cov['precision']:.3f}",
        *(
            f"  {label:12} {s['labelled']:5d} labelled  precision {s['precision']:.3f}"
            for label, s in cov["per_label"].items()
        ),
    ]
    cal = result["calibration"]
    lines += [
        f"calibration: ECE {cal['ece']:.3f}  Brier {cal['brier']:.3f}  "
        f"log-loss {cal['log_loss']:.3f}",
        f"  {'confidence':11} {'n':>5} {'stated':>7} {'right':>6}",
    ]
    for r in cal["reliability"]:
        lines.append(
            f"  {r['confidence_from']:4.2f}-{r['confidence_to']:4.2f}  {r['n']:5d} "
            f"{r['mean_confidence']:7.3f} {r['accuracy']:6.3f}"
        )
    if result.get("per_repo"):
        lines += ["", "per repository"]
    for repo, s in result.get("per_repo", {}).items():
        lines.append(f"  {repo:30} n {s['n']:4d}  macro-F1 {s['macro_f1']:.3f}")
    return "\n".join(lines)
