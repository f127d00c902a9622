"""Recipe search, stages 1 and 3: frozen-encoder features and linear heads, cross-validated.

Reproduces the "frozen" rows of the lab notebook (README.md). Embeds every issue of the
NLBSE'24 training split once per text view with the untouched base encoder (cached under
--cache), then scores linear heads on feature combinations with 5-fold cross-validation:

- strict: per project, train on 4/5 of its 300 issues, score macro-F1 on the other 1/5;
- pooled: train on 4/5 of every project's issues together, score per project on the rest.

Usage (about 5 minutes on 2 cores, most of it embedding):
    nice -n 19 .venv/bin/python -m research.triage.frozen \
        --data ../shared/data/issues/nlbse24/issues_train.csv --cache /tmp/triage-cache
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bot.triage.data import LabelledIssue, label_set, read_labelled
from bot.triage.head import fit_head
from bot.triage.lexical import DEFAULT_DIM, fit_idf, hashed_counts_sparse, tfidf
from bot.triage.metrics import macro_f1
from bot.triage.tokens import issue_ids, load_tokenizer

FOLDS = 5


def stratified_folds(issues: list[LabelledIssue], folds: int, seed: int) -> np.ndarray:
    """Fold number of each issue, balanced per (project, label)."""
    rng = random.Random(seed)
    groups: dict[tuple[str | None, str], list[int]] = {}
    for i, issue in enumerate(issues):
        groups.setdefault((issue.repo, issue.label), []).append(i)
    fold = np.zeros(len(issues), dtype=int)
    for key in sorted(groups, key=str):
        members = groups[key]
        rng.shuffle(members)
        for k, i in enumerate(members):
            fold[i] = k % folds
    return fold


def write_fold_files(issues: list[LabelledIssue], fold: np.ndarray, out: Path) -> None:
    """The folds as NLBSE-style CSV files, so `triage protocol` scores exactly these splits."""
    import csv

    out.mkdir(parents=True, exist_ok=True)
    for k in range(FOLDS):
        for part, members in (("train", fold != k), ("test", fold == k)):
            with open(out / f"fold{k}-{part}.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, escapechar="\\", doublequote=False)
                writer.writerow(["repo", "created_at", "label", "title", "body"])
                for issue, keep in zip(issues, members, strict=True):
                    if keep:
                        writer.writerow([issue.repo, "", issue.label, issue.title, issue.body])


def views(issues: list[LabelledIssue], tokenizer_path: Path) -> dict[str, list[list[int]]]:
    """Token-id sequences of each text view compared in stage 1."""
    tok = load_tokenizer(tokenizer_path)
    out: dict[str, list[list[int]]] = {
        "raw-head-256": [],
        "clean-headtail-256": [],
        "clean-headtail-512": [],
        "title": [],
    }
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    for issue in issues:
        raw = tok.encode(issue.title + "\n" + issue.body, add_special_tokens=False).ids[:254]
        out["raw-head-256"].append([cls_id, *raw, sep_id])
        out["clean-headtail-256"].append(issue_ids(tok, issue.title, issue.body, 256))
        out["clean-headtail-512"].append(issue_ids(tok, issue.title, issue.body, 512))
        out["title"].append(issue_ids(tok, issue.title, "", 64))
    return out


def embeddings(issues: list[LabelledIssue], base: str, cache: Path) -> dict[str, np.ndarray]:
    from bot.triage.encoder import embed, load_encoder

    cache.mkdir(parents=True, exist_ok=True)
    sequences = views(issues, Path(base) / "tokenizer.json")
    encoder = None
    out = {}
    for name, seqs in sequences.items():
        path = cache / f"frozen-{name}.npy"
        if not path.exists():
            encoder = encoder or load_encoder(base)
            start = time.time()
            np.save(path, embed(encoder, seqs, batch_size=16))
            print(f"embedded {name} in {time.time() - start:.0f}s", file=sys.stderr, flush=True)
        out[name] = np.load(path)
    return out


LEXICAL_BLOCKS = {  # recipe name -> (view, hashed width) of bot/triage/lexical.py
    "lexical": ("words", DEFAULT_DIM),
    "raw-words": ("raw-words", DEFAULT_DIM),
    "chars": ("chars", 2 * DEFAULT_DIM),
}


def macro_f1_per_repo(
    labels: list[str], truth: np.ndarray, predicted: np.ndarray, repos: np.ndarray
) -> dict[str, float]:
    """Macro-F1 of each project's issues (label indices in, scores out)."""
    out = {}
    for repo in sorted(set(repos)):
        mine = repos == repo
        out[repo] = macro_f1(
            [labels[i] for i in truth[mine]], [labels[i] for i in predicted[mine]], labels
        )
    return out


def cross_validate(
    issues: list[LabelledIssue],
    blocks: dict[str, Any],
    recipe: list[str],
    fold: np.ndarray,
    *,
    pooled: bool,
    l2: float,
    weights: dict[str, float] | None = None,
    ensemble: bool = False,
    per_repo: bool = False,
) -> dict[str, float]:
    """Mean macro-F1 per project over the folds for one feature combination.

    ``weights`` scales blocks against the unit-length embeddings; ``per_repo`` (pooled only)
    lets the head learn per-repository corrections, as ``triage train`` does on multi-repo
    data."""
    from scipy import sparse

    weights = weights or {}
    labels = label_set(issues)
    y = np.array([labels.index(i.label) for i in issues])
    repos = np.array([i.repo for i in issues])
    scores: dict[str, list[float]] = {}
    for k in range(FOLDS):
        scopes = [None] if pooled else sorted(set(repos))
        for scope in scopes:
            in_scope = np.ones(len(issues), bool) if scope is None else repos == scope
            train = in_scope & (fold != k)
            test = in_scope & (fold == k)
            x_train, x_test = [], []
            for name in recipe:
                w = weights.get(name, 1.0)
                if name in LEXICAL_BLOCKS:
                    idf = fit_idf(blocks[name][train])
                    x_train.append(w * tfidf(blocks[name][train], idf))
                    x_test.append(w * tfidf(blocks[name][test], idf))
                else:
                    x_train.append(sparse.csr_matrix(w * blocks[name][train]))
                    x_test.append(sparse.csr_matrix(w * blocks[name][test]))
            domains = list(repos[train]) if per_repo else None
            if ensemble:  # one head per block, probabilities averaged
                probs = sum(
                    fit_head(a, y[train], len(labels), l2=l2, domains=domains).probabilities(
                        b, list(repos[test])
                    )
                    for a, b in zip(x_train, x_test, strict=True)
                )
            else:
                head = fit_head(
                    sparse.hstack(x_train), y[train], len(labels), l2=l2, domains=domains
                )
                probs = head.logits(sparse.hstack(x_test).tocsr(), list(repos[test]))
            predicted = np.asarray(probs).argmax(axis=1)
            for repo, score in macro_f1_per_repo(labels, y[test], predicted, repos[test]).items():
                scores.setdefault(repo, []).append(score)
    per_repo_scores = {repo: float(np.mean(s)) for repo, s in scores.items()}
    return {"mean": float(np.mean(list(per_repo_scores.values()))), **per_repo_scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/triage-cache"))
    parser.add_argument("--base-model", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="run only these recipes (names as printed)")
    parser.add_argument(
        "--write-folds",
        type=Path,
        metavar="DIR",
        help="write foldK-train.csv / foldK-test.csv (for `triage protocol`) and stop",
    )
    args = parser.parse_args()
    from bot.triage.encoder import default_base_model

    issues = read_labelled(args.data)
    if args.write_folds:
        write_fold_files(issues, stratified_folds(issues, FOLDS, args.seed), args.write_folds)
        return
    base = args.base_model or default_base_model()
    blocks = embeddings(issues, base, args.cache)
    texts = [(i.title, i.body) for i in issues]
    for name, (view, dim) in LEXICAL_BLOCKS.items():
        blocks[name] = hashed_counts_sparse(texts, dim, view)
    fold = stratified_folds(issues, FOLDS, args.seed)
    lex3 = {"lexical": 3.0}
    views3 = {"lexical": 1.5, "chars": 2.0, "raw-words": 1.5}
    # (blocks, L2, block weights, also run pooled with per-repository corrections)
    experiments: list[tuple[list[str], float, dict[str, float], bool]] = [
        # stage 1
        (["raw-head-256"], 0.1, {}, False),
        (["raw-head-256"], 1.0, {}, False),
        (["clean-headtail-256"], 0.1, {}, False),
        (["clean-headtail-256"], 1.0, {}, False),
        (["clean-headtail-512"], 1.0, {}, False),
        (["title"], 1.0, {}, False),
        (["lexical"], 0.1, {}, False),
        (["lexical"], 1.0, {}, False),
        (["clean-headtail-256", "title"], 1.0, {}, False),
        (["clean-headtail-256", "lexical"], 1.0, {}, False),
        (["clean-headtail-256", "title", "lexical"], 1.0, {}, False),
        (["clean-headtail-512", "title", "lexical"], 1.0, {}, False),
        (["clean-headtail-256", "lexical", "ensemble"], 1.0, {}, False),
        (["clean-headtail-256", "title", "lexical", "ensemble"], 1.0, {}, False),
        (["clean-headtail-256", "title", "lexical"], 0.3, {}, False),
        (["clean-headtail-256", "title", "lexical"], 3.0, {}, False),
        (["clean-headtail-256", "title", "lexical"], 1.0, {"lexical": 2.0}, False),
        # stage 3: more lexical views, per-repository corrections
        (["clean-headtail-256", "title", "lexical"], 1.0, lex3, True),
        (["clean-headtail-256", "title", "chars"], 1.0, {"chars": 3.0}, True),
        (["clean-headtail-256", "title", "raw-words"], 1.0, {"raw-words": 3.0}, True),
        (
            ["clean-headtail-256", "title", "lexical", "chars"],
            1.0,
            {"lexical": 2, "chars": 2},
            True,
        ),
        (
            ["clean-headtail-256", "title", "chars", "raw-words"],
            1.0,
            {"chars": 2, "raw-words": 2},
            True,
        ),
        (["clean-headtail-256", "title", "lexical", "chars", "raw-words"], 1.0, views3, True),
        (["clean-headtail-256", "title", "lexical", "chars", "raw-words"], 0.3, views3, True),
    ]
    wanted = set(args.only or [])
    for recipe, l2, weights, per_repo in experiments:
        name = "+".join(recipe)
        if wanted and name not in wanted:
            continue
        ensemble = "ensemble" in recipe
        recipe = [r for r in recipe if r != "ensemble"]
        runs = [("strict", False, False), ("pooled", True, False)]
        runs += [("pooled+per-repo", True, True)] if per_repo else []
        for protocol, pooled, adapted in runs:
            start = time.time()
            result = cross_validate(
                issues,
                blocks,
                recipe,
                fold,
                pooled=pooled,
                l2=l2,
                weights=weights,
                ensemble=ensemble,
                per_repo=adapted,
            )
            row = {
                "recipe": name,
                "l2": l2,
                "weights": weights,
                "protocol": protocol,
                "seconds": round(time.time() - start, 1),
                **{k: round(v, 4) for k, v in result.items()},
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
