"""The NLBSE'24 protocol: a model per project (or one pooled model), macro-F1 per project.

``triage protocol --train A.csv --test B.csv`` trains on A and scores on B, so the same
command gives the cross-validated figures (folds written as files) and the held-out ones.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.errors import UsageError
from bot.triage.data import by_repo, label_set, read_labelled
from bot.triage.metrics import combine_coverage


def run_protocol(
    train_path: Path,
    test_path: Path,
    *,
    base_model: str,
    pooled: bool = False,
    seed: int = 0,
    out: Path | None = None,
    log: Callable[[str], None] = lambda _: None,
    recipe: Any = None,
) -> dict[str, Any]:
    """Trains per project (or pooled), evaluates each project's test issues with the ONNX
    runtime that ``predict`` uses (and, beside it, with the other encoder file), and returns
    per-project and mean macro-F1, with what the thresholds and the stated confidence are
    worth held out (coverage and precision at the thresholds, calibration error)."""
    from bot.triage.evaluation import evaluate_model
    from bot.triage.runtime import Predictor
    from bot.triage.train import Recipe, train

    recipe = recipe or Recipe()
    train_issues = read_labelled(train_path)
    train_by_repo = by_repo(train_issues)
    if "(none)" in train_by_repo:
        raise UsageError(
            f"{train_path}: some issues have no repo",
            hint="the protocol needs a repo column to train and score per project",
        )
    labels = label_set(train_issues)
    test_by_repo = by_repo(read_labelled(test_path, labels=labels))
    missing = sorted(set(test_by_repo) - set(train_by_repo))
    if missing and not pooled:
        raise UsageError(
            f"{test_path}: project(s) {', '.join(missing)} have no training issues",
            hint="the strict protocol trains one model per project; use --pooled",
        )
    with tempfile.TemporaryDirectory(prefix="maintbot-protocol-") as tmp:
        root = Path(out) if out else Path(tmp)
        per_repo: dict[str, dict[str, Any]] = {}
        runs = (
            [("pooled", train_issues, sorted(test_by_repo))]
            if pooled
            else [(repo, train_by_repo[repo], [repo]) for repo in sorted(test_by_repo)]
        )
        for name, issues, scored in runs:
            model_dir = root / name.replace("/", "__")
            log(f"training {name} on {len(issues)} issues")
            started = time.perf_counter()
            train(
                issues,
                model_dir,
                base_model=base_model,
                recipe=recipe,
                seed=seed,
                labels=labels,
                progress=False,
            )
            seconds = time.perf_counter() - started
            chosen = Predictor(model_dir)
            target_precision = chosen.target_precision  # train's default, for every model
            # both encoder files scored, so the held-out cost of int8 is measured, not assumed
            predictors = {
                runtime: chosen
                if runtime == chosen.runtime
                else Predictor(model_dir, runtime=runtime)
                for runtime in ("fp32", "int8")
            }
            for repo in scored:
                results = {
                    runtime: evaluate_model(predictor, test_by_repo[repo])
                    for runtime, predictor in predictors.items()
                }
                result = results[chosen.runtime]
                per_repo[repo] = {
                    "macro_f1": result["macro_f1"],
                    "accuracy": result["accuracy"],
                    "runtime": chosen.runtime,
                    "macro_f1_by_runtime": {r: v["macro_f1"] for r, v in results.items()},
                    "n_train": len(issues),
                    "n_test": result["n"],
                    "at_thresholds": {
                        k: v
                        for k, v in result["at_thresholds"].items()
                        if k not in ("target_precision", "thresholds")
                    },
                    "ece": result["calibration"]["ece"],
                    "train_seconds": round(seconds, 1),
                }
                log(
                    f"{repo}: macro-F1 {result['macro_f1']:.3f} with {chosen.runtime} "
                    f"(fp32 {results['fp32']['macro_f1']:.3f}, "
                    f"int8 {results['int8']['macro_f1']:.3f}; {seconds:.0f} s training)"
                )
    mean = sum(s["macro_f1"] for s in per_repo.values()) / len(per_repo)
    return {
        "protocol": "pooled" if pooled else "strict",
        "mean_macro_f1": mean,
        "mean_macro_f1_by_runtime": {
            runtime: sum(s["macro_f1_by_runtime"][runtime] for s in per_repo.values())
            / len(per_repo)
            for runtime in ("fp32", "int8")
        },
        # every project's test issues together: what a maintainer of all of them would see
        "at_thresholds": {
            "target_precision": target_precision,
            **combine_coverage([s["at_thresholds"] for s in per_repo.values()]),
        },
        "mean_ece": sum(s["ece"] for s in per_repo.values()) / len(per_repo),
        "per_repo": per_repo,
        "seed": seed,
    }
