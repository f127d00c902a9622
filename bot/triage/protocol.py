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


# -- leave one repository out ------------------------------------------------------------

UNSEEN_PREDICTIONS = "unseen-predictions.npz"


def unseen_fold_key(data_path: Path, base_model: str, seed: int, recipe: Any) -> str:
    """What a fold model depends on (the data's bytes, the base model, the seed and the
    recipe), hashed: the cache folder's name, so a changed input never reuses a stale
    fold."""
    import hashlib
    import json
    from dataclasses import asdict

    digest = hashlib.sha256(Path(data_path).read_bytes())
    digest.update(json.dumps([base_model, seed, asdict(recipe)], sort_keys=True).encode())
    return digest.hexdigest()[:12]


def chunked_embeddings(predictor: Any, texts: list[tuple[str, str]]) -> Any:
    """The issue embeddings as ``Predictor.probabilities`` computes them, chunk by chunk:
    the int8 encoder quantises its activations per batch, so the same issues embedded in
    other batches move (up to 0.1 in a probability here), and a cache must match the
    predictions it sits beside."""
    import numpy as np

    from bot.triage.runtime import PREDICT_CHUNK

    return np.vstack(
        [
            predictor.issue_embeddings(texts[start : start + PREDICT_CHUNK])
            for start in range(0, len(texts), PREDICT_CHUNK)
        ]
    )


def unseen_fold_dir(root: Path, repo: str) -> Path:
    """The model directory trained without ``repo`` under a run's cache folder."""
    return Path(root) / f"without-{repo.replace('/', '__')}"


def run_unseen(
    data_path: Path,
    *,
    base_model: str,
    seed: int = 0,
    cache: Path | None = None,
    log: Callable[[str], None] = lambda _: None,
    recipe: Any = None,
) -> dict[str, Any]:
    """Leave one repository out: for each project, the shipped recipe trained on all the
    others scores it. This is the figure for a repository the model never saw, which is
    every maintainer's repository but the training projects.

    Besides macro-F1 it reports the thresholds two ways: the fold models' own (chosen on
    their in-domain validation split, as ``train`` does) and thresholds chosen on
    out-of-repository predictions, each project scored with thresholds chosen on the other
    projects' left-out predictions (nested, so the figure is held out). ``unseen_thresholds``
    are the ones chosen on every project's left-out predictions: what a model for new
    repositories should ship. Fold models, and each left-out project's probabilities and
    embeddings, are kept under ``cache`` (reused when the data, seed, base model and recipe
    are the same)."""
    import numpy as np

    from bot.triage.metrics import calibration, coverage_report, macro_f1
    from bot.triage.policy import decide
    from bot.triage.runtime import Predictor
    from bot.triage.thresholds import choose_thresholds
    from bot.triage.train import Recipe, train

    recipe = recipe or Recipe()
    issues = read_labelled(data_path)
    grouped = by_repo(issues)
    if "(none)" in grouped or len(grouped) < 2:
        raise UsageError(
            f"{data_path}: --unseen needs issues of at least two repositories, each with a repo",
            hint="use a file with a repo column naming several projects (e.g. NLBSE's)",
        )
    labels = label_set(issues)
    with tempfile.TemporaryDirectory(prefix="maintbot-unseen-") as tmp:
        root = Path(cache) if cache else Path(tmp)
        root = root / f"unseen-{unseen_fold_key(data_path, base_model, seed, recipe)}"
        folds: dict[str, dict[str, Any]] = {}
        for repo in sorted(grouped):
            model_dir = unseen_fold_dir(root, repo)
            others = [i for i in issues if i.repo != repo]
            cached = (model_dir / UNSEEN_PREDICTIONS).is_file()
            seconds = 0.0
            if not cached:
                log(f"training without {repo} on {len(others)} issues")
                started = time.perf_counter()
                train(
                    others,
                    model_dir,
                    base_model=base_model,
                    recipe=recipe,
                    seed=seed,
                    labels=labels,
                    progress=False,
                )
                seconds = time.perf_counter() - started
                predictor = Predictor(model_dir)
                texts = [(i.title, i.body) for i in grouped[repo]]
                np.savez(
                    model_dir / UNSEEN_PREDICTIONS,
                    # the left-out repository is no domain of the fold model: shared weights
                    probabilities=predictor.probabilities(texts),
                    truth=np.array([labels.index(i.label) for i in grouped[repo]]),
                    embeddings=chunked_embeddings(predictor, texts),
                    train_seconds=np.array(seconds),
                )
            else:
                log(f"without {repo}: cached in {model_dir}")
            predictor = Predictor(model_dir)
            saved = np.load(model_dir / UNSEEN_PREDICTIONS)
            folds[repo] = {
                "probabilities": saved["probabilities"],
                "truth": saved["truth"],
                "thresholds": predictor.thresholds,
                "runtime": predictor.runtime,
                "target_precision": predictor.target_precision,
                "n_train": len(others),
                "train_seconds": round(float(saved["train_seconds"]), 1),
                "cached": cached,
            }
    target = next(iter(folds.values()))["target_precision"]

    def at(probabilities: Any, truth: Any, thresholds: dict[str, float]) -> dict[str, Any]:
        decisions = []
        for row in probabilities:
            decision, _ = decide(dict(zip(labels, map(float, row), strict=True)), thresholds)
            decisions.append(decision)
        return coverage_report([labels[t] for t in truth], decisions, labels)

    per_repo: dict[str, dict[str, Any]] = {}
    for repo, fold in folds.items():
        probs, truth = fold["probabilities"], fold["truth"]
        rest = [r for r in folds if r != repo]
        # thresholds for a new repository, chosen on the other projects' left-out predictions
        nested = choose_thresholds(
            np.vstack([folds[r]["probabilities"] for r in rest]),
            np.concatenate([folds[r]["truth"] for r in rest]),
            labels,
            target,
        )
        truth_names = [labels[t] for t in truth]
        predicted = [labels[k] for k in probs.argmax(1)]
        per_repo[repo] = {
            "macro_f1": macro_f1(truth_names, predicted, labels),
            "accuracy": sum(a == b for a, b in zip(truth_names, predicted, strict=True))
            / len(truth),
            "runtime": fold["runtime"],
            "n_train": fold["n_train"],
            "n_test": len(truth),
            "at_thresholds": at(probs, truth, fold["thresholds"]),
            "at_unseen_thresholds": at(probs, truth, nested),
            "ece": calibration(
                truth_names, [dict(zip(labels, map(float, r), strict=True)) for r in probs], labels
            )["ece"],
            "train_seconds": fold["train_seconds"],
            "cached": fold["cached"],
        }
        log(
            f"{repo} unseen: macro-F1 {per_repo[repo]['macro_f1']:.3f}; own thresholds "
            f"precision {per_repo[repo]['at_thresholds']['precision']:.3f} at coverage "
            f"{per_repo[repo]['at_thresholds']['coverage']:.2f}; out-of-repository thresholds "
            f"{per_repo[repo]['at_unseen_thresholds']['precision']:.3f} at "
            f"{per_repo[repo]['at_unseen_thresholds']['coverage']:.2f}"
        )
    all_probs = np.vstack([f["probabilities"] for f in folds.values()])
    all_truth = np.concatenate([f["truth"] for f in folds.values()])
    pooled_f1 = macro_f1(
        [labels[t] for t in all_truth], [labels[k] for k in all_probs.argmax(1)], labels
    )

    def combined(key: str) -> dict[str, Any]:
        return {
            "target_precision": target,
            **combine_coverage([s[key] for s in per_repo.values()]),
        }

    return {
        "protocol": "unseen",
        "mean_macro_f1": sum(s["macro_f1"] for s in per_repo.values()) / len(per_repo),
        # every left-out prediction scored together (each by the model that never saw it)
        "pooled_macro_f1": pooled_f1,
        "at_thresholds": combined("at_thresholds"),
        "at_unseen_thresholds": combined("at_unseen_thresholds"),
        # chosen on every project's left-out predictions: for a model of new repositories
        "unseen_thresholds": choose_thresholds(all_probs, all_truth, labels, target),
        "per_repo": per_repo,
        "cache": str(root) if cache else None,
        "seed": seed,
    }
