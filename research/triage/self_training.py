"""Stage 22: adapting to a repository from its unlabelled issues (self-training), issue #28.

Most repositories hold more issues nobody labelled than labelled ones. This asks whether
the fold model's own confident predictions on a left-out project's issues, used as labels
for ``bot/triage/adapt.py``'s correction, move macro-F1 on *other* issues of that project:
each project's 300 issues are split in two halves (``--draws`` random splits); the
correction is fitted on half A's pseudo-labels (per predicted label, the ``share`` most
confident) and scored on half B, against the base model on half B. No true label of the
project is used before scoring.

Usage (after ``maintbot triage protocol --unseen --cache /tmp/triage-unseen``):
    .venv/bin/python -m research.triage.self_training --data $D --cache /tmp/triage-unseen
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.triage.adapt import fit_correction
from bot.triage.data import by_repo, label_set, read_labelled
from bot.triage.head import softmax
from bot.triage.metrics import macro_f1
from bot.triage.protocol import UNSEEN_PREDICTIONS, unseen_fold_dir
from research.triage.unseen import Project, cache_root, load_project

SHARES = (0.3, 0.5, 1.0)
L2S = (1.0, 3.0, 10.0)


def confident(probabilities: np.ndarray, share: float) -> np.ndarray:
    """Indices of the ``share`` most confident predictions of each predicted label."""
    predicted = probabilities.argmax(1)
    keep = []
    for label in np.unique(predicted):
        members = np.flatnonzero(predicted == label)
        order = members[np.argsort(-probabilities[members, label])]
        keep.extend(order[: max(1, int(round(share * len(members))))])
    return np.array(sorted(keep))


def self_trained(
    project: Project, fit: np.ndarray, test: np.ndarray, share: float, l2: float
) -> tuple[np.ndarray, float]:
    """Probabilities on ``test`` after a correction fitted on ``fit``'s pseudo-labels, and
    how many of those pseudo-labels were right (known only to the experiment)."""
    base_fit = softmax(project.base[fit])
    chosen = fit[confident(base_fit, share)]
    pseudo = project.base[chosen].argmax(1)
    gram = project.grams["all"]
    a, beta = fit_correction(
        gram[np.ix_(chosen, chosen)], project.base[chosen], pseudo, l2=l2, bias_l2=1.0
    )
    probs = softmax(project.base[test] + gram[np.ix_(test, chosen)] @ a + beta)
    return probs, float(np.mean(pseudo == project.y[chosen]))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args(argv)
    issues = read_labelled(args.data)
    labels = label_set(issues)
    root = cache_root(args.cache)
    grouped = by_repo(issues)
    rows = []
    for repo in sorted(grouped):
        if not (unseen_fold_dir(root, repo) / UNSEEN_PREDICTIONS).is_file():
            continue
        project = load_project(root, repo, grouped[repo], labels)
        n = len(project.y)
        for draw in range(args.draws):
            order = np.random.default_rng(draw).permutation(n)
            fit, test = order[: n // 2], order[n // 2 :]
            truth = [labels[t] for t in project.y[test]]
            base = macro_f1(truth, [labels[i] for i in project.base[test].argmax(1)], labels)
            rows.append({"repo": repo, "draw": draw, "variant": "base", "macro_f1": base})
            for share, l2 in itertools.product(SHARES, L2S):
                probs, right = self_trained(project, fit, test, share, l2)
                f1 = macro_f1(truth, [labels[i] for i in probs.argmax(1)], labels)
                rows.append(
                    {
                        "repo": repo,
                        "draw": draw,
                        "variant": f"share={share} l2={l2}",
                        "macro_f1": f1,
                        "pseudo_right": right,
                    }
                )
        print(f"{repo}: done", file=sys.stderr)
    variants = dict.fromkeys(r["variant"] for r in rows)
    repos = sorted({r["repo"] for r in rows})
    print("| variant | " + " | ".join(r.split("/")[1] for r in repos) + " | mean | pseudo right |")
    print("| --- " * (len(repos) + 3) + "|")
    for variant in variants:
        per = [
            statistics.mean(
                r["macro_f1"] for r in rows if r["variant"] == variant and r["repo"] == repo
            )
            for repo in repos
        ]
        right = [r["pseudo_right"] for r in rows if r["variant"] == variant and "pseudo_right" in r]
        print(
            f"| {variant} | "
            + " | ".join(f"{v:.3f}" for v in per)
            + f" | {statistics.mean(per):.3f} | "
            + (f"{statistics.mean(right):.3f}" if right else "-")
            + " |"
        )
    print(json.dumps({"rows": len(rows)}))


if __name__ == "__main__":
    main()
