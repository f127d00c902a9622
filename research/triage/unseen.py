"""Stage 21: a repository the model never saw, and how many of its labelled issues buy how much.

Reads the fold models that ``maintbot triage protocol --unseen --cache DIR`` trained (each on
four NLBSE projects, the shipped recipe) and the left-out project's cached embeddings, and
measures ``bot/triage/adapt.py`` on the left-out project: for k = 0, 25, 50, 100, 200 of its
labelled issues (``--draws`` random draws each), the correction is fitted on the k issues
and scored on the rest of the project (300 - k issues): macro-F1, and precision and coverage
at three kinds of thresholds:

- ``own``: the fold model's thresholds, chosen on its in-domain validation split (what
  ``train`` ships);
- ``unseen``: chosen on the other four projects' left-out predictions (the base model's, as
  ``protocol --unseen`` nests them), never on this project's;
- ``oof``: chosen on the k issues' out-of-fold predictions of the adapted head
  (``adapt.out_of_fold``), and ``max``: per label the higher of ``unseen`` and ``oof``.

Correction variants: a label shift only (``prior``), a correction over the embedding block
(``embedding``), over every feature block (``all``), at several L2 penalties. Every fit is a
NumPy Newton solve on the k issues' kernel (seconds or less); ``--time`` also times
``adapt()`` end to end (features through the int8 encoder, the fit, the directory written).

Usage:
    maintbot triage protocol --train $D --unseen --cache /tmp/triage-unseen --json
    .venv/bin/python -m research.triage.unseen --data $D --cache /tmp/triage-unseen \\
        --draws 10 --out /tmp/unseen-curve.jsonl --time
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.triage.adapt import base_logits, fit_correction, head_features, out_of_fold
from bot.triage.data import by_repo, label_set, read_labelled
from bot.triage.head import softmax
from bot.triage.metrics import coverage_report, macro_f1
from bot.triage.policy import decide
from bot.triage.protocol import UNSEEN_PREDICTIONS, chunked_embeddings, unseen_fold_dir
from bot.triage.thresholds import choose_thresholds

KS = (0, 25, 50, 100, 200)
# (name, kernel, l2, bias_l2): the variants scored at every k
VARIANTS = (
    ("prior", None, 0.0, 1.0),
    ("embedding l2=1", "embedding", 1.0, 1.0),
    ("all l2=0.3", "all", 0.3, 1.0),
    ("all l2=1", "all", 1.0, 1.0),
    ("all l2=3", "all", 3.0, 1.0),
)
MAIN = "all l2=1"  # the variant whose thresholds are scored every way (adapt's default)


@dataclass
class Project:
    """One left-out project as its fold model sees it."""

    repo: str
    labels: list[str]
    y: np.ndarray
    base: np.ndarray  # calibrated logits of the fold model (shared weights)
    grams: dict[str, np.ndarray]  # "all", "embedding"
    own_thresholds: dict[str, float]
    probabilities: np.ndarray  # the cached left-out probabilities (protocol --unseen)


def cache_root(cache: Path) -> Path:
    """The one ``unseen-<key>`` folder under ``cache`` (``protocol --unseen`` writes it)."""
    roots = sorted(p for p in Path(cache).glob("unseen-*") if p.is_dir())
    if len(roots) != 1:
        raise SystemExit(f"{cache}: expected one unseen-* folder, found {len(roots)}")
    return roots[0]


def load_project(root: Path, repo: str, issues: Sequence[Any], labels: list[str]) -> Project:
    """The fold model without ``repo`` and ``repo``'s issues: kernels and base logits."""
    from bot.triage.runtime import Predictor

    model_dir = unseen_fold_dir(root, repo)
    predictor = Predictor(model_dir)
    saved = dict(np.load(model_dir / UNSEEN_PREDICTIONS))
    texts = [(i.title, i.body) for i in issues]
    features = head_features(predictor, texts, {"issue": saved["embeddings"]})
    base = base_logits(predictor, features, None)
    # the cached probabilities are the same model's: a check that the features match
    if not np.allclose(softmax(base), saved["probabilities"], atol=2e-3):
        # a cache written before the embeddings were chunked as the probabilities are (the
        # int8 encoder's output moves with the batch): embed again, and repair the cache
        saved["embeddings"] = chunked_embeddings(predictor, texts)
        np.savez(model_dir / UNSEEN_PREDICTIONS, **saved)
        features = head_features(predictor, texts, {"issue": saved["embeddings"]})
        base = base_logits(predictor, features, None)
        assert np.allclose(softmax(base), saved["probabilities"], atol=2e-3), repo
    width = saved["embeddings"].shape[1]
    x = features.astype(np.float64)
    return Project(
        repo=repo,
        labels=labels,
        y=saved["truth"],
        base=base,
        grams={"all": x @ x.T, "embedding": x[:, :width] @ x[:, :width].T},
        own_thresholds=dict(predictor.thresholds),
        probabilities=saved["probabilities"],
    )


def at_thresholds(
    probabilities: np.ndarray, y: np.ndarray, labels: list[str], thresholds: dict[str, float]
) -> dict[str, Any]:
    decisions = [
        decide(dict(zip(labels, map(float, row), strict=True)), thresholds)[0]
        for row in probabilities
    ]
    return coverage_report([labels[t] for t in y], decisions, labels)


def fitted_probabilities(
    project: Project, fit: np.ndarray, test: np.ndarray, kernel: str | None, l2: float, bias: float
) -> np.ndarray:
    """The adapted head's probabilities on ``test`` after a correction on ``fit``."""
    if not len(fit):
        return softmax(project.base[test])
    gram = project.grams[kernel or "all"]
    a, beta = fit_correction(
        gram[np.ix_(fit, fit)],
        project.base[fit],
        project.y[fit],
        l2=l2,
        bias_l2=bias,
        use_features=kernel is not None,
    )
    return softmax(project.base[test] + gram[np.ix_(test, fit)] @ a + beta)


def curve(
    projects: dict[str, Project], ks: Iterable[int], draws: int, target: float
) -> list[dict[str, Any]]:
    """One row per (project, k, draw, variant, thresholds)."""
    rows = []
    for repo, project in projects.items():
        labels = project.labels
        others = [p for r, p in projects.items() if r != repo]
        unseen = (
            choose_thresholds(
                np.vstack([p.probabilities for p in others]),
                np.concatenate([p.y for p in others]),
                labels,
                target,
            )
            if others
            else dict.fromkeys(labels, 1.01)  # no other project yet: never labels
        )
        for k in ks:
            for draw in range(draws if k else 1):
                order = np.random.default_rng(1000 * draw + k).permutation(len(project.y))
                fit, test = order[:k], order[k:]
                for name, kernel, l2, bias in VARIANTS if k else VARIANTS[:1]:
                    started = time.perf_counter()
                    probs = fitted_probabilities(project, fit, test, kernel, l2, bias)
                    seconds = time.perf_counter() - started
                    truth = [labels[t] for t in project.y[test]]
                    row = {
                        "repo": repo,
                        "k": k,
                        "draw": draw,
                        "variant": name if k else "base",
                        "n_test": len(test),
                        "macro_f1": macro_f1(truth, [labels[i] for i in probs.argmax(1)], labels),
                        "fit_seconds": seconds,
                    }
                    policies = {"own": project.own_thresholds, "unseen": unseen}
                    if (name == MAIN or not k) and k >= 10:
                        gram = project.grams["all"]
                        oof = out_of_fold(
                            gram[np.ix_(fit, fit)], project.base[fit], project.y[fit], l2=l2
                        )
                        own = choose_thresholds(oof, project.y[fit], labels, target)
                        policies["oof"] = own
                        policies["max"] = {lab: max(own[lab], unseen[lab]) for lab in labels}
                    if name == MAIN or not k:
                        for policy, thresholds in policies.items():
                            cov = at_thresholds(probs, project.y[test], labels, thresholds)
                            row[f"{policy}_labelled"] = cov["labelled"]
                            row[f"{policy}_correct"] = cov["correct"]
                    rows.append(row)
    return rows


def summarise(rows: list[dict[str, Any]]) -> str:
    """The curve as Markdown: macro-F1 (mean over projects and draws; sd over draws of the
    five projects' mean) and, for the main variant, precision / coverage per thresholds."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["variant"], row["k"])].append(row)
    repos = sorted({row["repo"] for row in rows})
    lines = [
        "| variant | k | macro-F1 mean ± sd | " + " | ".join(r.split("/")[1] for r in repos) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in repos) + " |",
    ]
    for (variant, k), members in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        per_draw: dict[int, list[float]] = defaultdict(list)
        for row in members:
            per_draw[row["draw"]].append(row["macro_f1"])
        draw_means = [np.mean(v) for v in per_draw.values()]
        per_repo = [np.mean([r["macro_f1"] for r in members if r["repo"] == p]) for p in repos]
        lines.append(
            f"| {variant} | {k} | {np.mean(draw_means):.3f} ± {np.std(draw_means):.3f} | "
            + " | ".join(f"{v:.3f}" for v in per_repo)
            + " |"
        )
    lines += ["", "| k | thresholds | precision | coverage | precision per project (min-max) |"]
    lines += ["| --- | --- | --- | --- | --- |"]
    for (variant, k), members in sorted(groups.items(), key=lambda kv: kv[0][1]):
        if variant not in (MAIN, "base"):
            continue
        for policy in ("own", "unseen", "oof", "max"):
            if f"{policy}_labelled" not in members[0]:
                continue
            labelled = sum(r[f"{policy}_labelled"] for r in members)
            correct = sum(r[f"{policy}_correct"] for r in members)
            n = sum(r["n_test"] for r in members)
            by_repo = []
            for p in repos:
                mine = [r for r in members if r["repo"] == p]
                lab = sum(r[f"{policy}_labelled"] for r in mine)
                by_repo.append(sum(r[f"{policy}_correct"] for r in mine) / lab if lab else 0.0)
            lines.append(
                f"| {k} | {policy} | {correct / max(labelled, 1):.3f} | {labelled / n:.0%} | "
                f"{min(by_repo):.3f}-{max(by_repo):.3f} |"
            )
    return "\n".join(lines)


def threshold_rules(
    projects: dict[str, Project], targets: Sequence[float] = (0.9, 0.93, 0.95)
) -> list[dict[str, Any]]:
    """Thresholds for a model that has seen no issue of the repository, chosen on the other
    projects' left-out predictions and scored on each project's (nested): per label (the
    product's rule) or one shared by all labels, at several targets. Whether any rule keeps
    0.9 on a project it never saw, and at what coverage."""
    rows = []
    for target in targets:
        for rule, own_support in (("per label", 30), ("shared", 10**9)):
            correct = labelled = total = 0
            per_repo = {}
            for repo, project in projects.items():
                others = [p for r, p in projects.items() if r != repo]
                thresholds = choose_thresholds(
                    np.vstack([p.probabilities for p in others]),
                    np.concatenate([p.y for p in others]),
                    project.labels,
                    target,
                    own_support=own_support,
                )
                cov = at_thresholds(project.probabilities, project.y, project.labels, thresholds)
                correct += cov["correct"]
                labelled += cov["labelled"]
                total += cov["n"]
                per_repo[repo] = cov["precision"] if cov["labelled"] else None
            rows.append(
                {
                    "target": target,
                    "rule": rule,
                    "precision": correct / labelled if labelled else 0.0,
                    "coverage": labelled / total,
                    "per_repo": per_repo,
                }
            )
    return rows


def time_adapt(root: Path, repo: str, issues: Sequence[Any], ks: Iterable[int]) -> list[dict]:
    """``adapt()`` end to end on k of ``repo``'s issues (the fold model without it as the
    base): seconds for the features (int8 encoder included), the fit and the whole call."""
    from bot.triage.adapt import adapt

    rows = []
    for k in ks:
        if not k:
            continue
        chosen = [issues[i] for i in np.random.default_rng(k).permutation(len(issues))[:k]]
        with tempfile.TemporaryDirectory() as tmp:
            result = adapt(unseen_fold_dir(root, repo), chosen, Path(tmp) / "adapted")
        rows.append(
            {"repo": repo, "k": k, **{f"{s}_seconds": v for s, v in result.seconds.items()}}
        )
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="protocol --unseen --cache")
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--out", type=Path, help="write every row as JSON lines here")
    parser.add_argument("--time", action="store_true", help="also time adapt() end to end")
    args = parser.parse_args(argv)

    issues = read_labelled(args.data)
    labels = label_set(issues)
    root = cache_root(args.cache)
    grouped = by_repo(issues)
    projects = {}
    for repo in sorted(grouped):
        if not (unseen_fold_dir(root, repo) / UNSEEN_PREDICTIONS).is_file():
            print(f"{repo}: no fold model yet, left out", file=sys.stderr)
            continue
        started = time.perf_counter()
        projects[repo] = load_project(root, repo, grouped[repo], labels)
        print(f"{repo}: kernels in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if len(projects) > 1:
        print("| target | thresholds | precision | coverage | per project |")
        print("| --- | --- | --- | --- | --- |")
        for row in threshold_rules(projects):
            per = ", ".join(
                f"{r.split('/')[1]} {v:.3f}" if v is not None else f"{r.split('/')[1]} -"
                for r, v in row["per_repo"].items()
            )
            print(
                f"| {row['target']} | {row['rule']} | {row['precision']:.3f} | "
                f"{row['coverage']:.0%} | {per} |"
            )
        print()
    rows = curve(projects, args.ks, args.draws, args.target)
    if args.out:
        args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(summarise(rows))
    if args.time:
        repo = sorted(projects)[0]
        timed = time_adapt(root, repo, grouped[repo], args.ks)
        print("\n| k | features (s) | fit (s) | adapt() total (s) |\n| --- | --- | --- | --- |")
        for row in timed:
            print(
                f"| {row['k']} | {row['features_seconds']:.2f} | {row['fit_seconds']:.2f} | "
                f"{row['total_seconds']:.2f} |"
            )


if __name__ == "__main__":
    main()
