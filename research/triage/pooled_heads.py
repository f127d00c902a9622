"""Recipe search, stage 9: other ways to combine the pooled model's views, on cached encoders.

Reads the tuned embeddings that ``research/triage/finetune.py --pooled`` cached for each
fold (``fold{K}-pooled-{TAG}.npz`` under --cache; run it first) and scores, on the same
folds, heads that combine the tuned embedding and the three lexical views otherwise than
the default's one logistic regression over all of them (early fusion):

- late fusion: one head on the embedding, one on the lexical views, their probabilities
  (or log-probabilities) averaged with a weight;
- a nearest-neighbour vote over the training issues' tuned embeddings (all, or the same
  project's), blended into the default head's probabilities;
- a head per project over the pooled features, alone and averaged with the pooled head;
- the default head with a weaker or stronger L2 penalty;
- with ``--ensemble TAG ...`` instead: the default head over each of several cached encoders
  (other seeds, learning rates, adaptation), alone and with their probabilities averaged
  (stage 15: what averaging out the seed's luck is worth), and averaged over every subset
  of K of them for each K (stage 19: what each further encoder is worth, no subset picked).

No encoder runs here: about 2-9 minutes for five folds on 2 cores (ten encoders: 9).

Usage:
    .venv/bin/python -m research.triage.pooled_heads \
        --data ../shared/data/issues/nlbse24/issues_train.csv --cache /tmp/ft --tag e2
    .venv/bin/python -m research.triage.pooled_heads --data ... --cache /tmp/ft \
        --ensemble e2 lr1e-04-e2 lr1e-04-e2-s1 lr2e-04-e2 tapt4-e2
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from bot.triage.data import label_set, read_labelled
from bot.triage.head import fit_head
from bot.triage.lexical import fit_idf, hashed_counts_sparse
from bot.triage.train import DEFAULT_LEXICAL
from research.triage.finetune import QUARTERS_OPTION, head_matrix, train_quarters
from research.triage.frozen import FOLDS, macro_f1_per_repo, stratified_folds


def neighbour_vote(
    similarity: np.ndarray, train_labels: np.ndarray, n_labels: int, k: int, sharpness: float
) -> np.ndarray:
    """Each row's label distribution among its ``k`` most similar training issues, each
    neighbour weighted by ``exp(sharpness * cosine)``."""
    top = np.argsort(-similarity, axis=1)[:, :k]
    weight = np.exp(sharpness * np.take_along_axis(similarity, top, 1))
    votes = np.stack([(weight * (train_labels[top] == c)).sum(1) for c in range(n_labels)], 1)
    return votes / votes.sum(1, keepdims=True)


@dataclass(frozen=True)
class PooledFold:
    """One fold as the heads here read it: an encoder's embedding of every issue, the lexical
    views, the labels and projects, and the fold's training and test rows."""

    embedding: np.ndarray
    lexical: Callable[[np.ndarray], sparse.csr_matrix]
    y: np.ndarray
    repos: np.ndarray
    train: np.ndarray
    test: np.ndarray
    n_labels: int

    def features(
        self, part: np.ndarray, with_embedding: bool = True, with_lexical: bool = True
    ) -> sparse.csr_matrix:
        blocks = [sparse.csr_matrix(self.embedding[part])] if with_embedding else []
        return sparse.hstack(blocks + ([self.lexical(part)] if with_lexical else [])).tocsr()

    def pooled_head(self, l2: float = 1.0, **views: bool) -> np.ndarray:
        """The test issues' probabilities by the default head (per-repository corrections)
        fitted on the training issues over the chosen views."""
        train, test = self.train, self.test
        head = fit_head(
            self.features(train, **views),
            self.y[train],
            self.n_labels,
            domains=list(self.repos[train]),
            l2=l2,
        )
        return head.probabilities(self.features(test, **views), list(self.repos[test]))


def subset_means(
    probabilities: Sequence[np.ndarray], score: Callable[[np.ndarray], float]
) -> dict[int, float]:
    """For each K from 1 to all, the mean ``score`` of the probabilities averaged over every
    subset of K members: an ensemble's worth by its size, with no lucky subset chosen."""
    return {
        k: float(
            np.mean(
                [
                    score(np.mean([probabilities[i] for i in subset], axis=0))
                    for subset in itertools.combinations(range(len(probabilities)), k)
                ]
            )
        )
        for k in range(1, len(probabilities) + 1)
    }


def fold_variants(fold: PooledFold) -> dict[str, np.ndarray]:
    """Predicted label indices of the fold's test issues, per head variant."""
    embedding, y, repos, n_labels = fold.embedding, fold.y, fold.repos, fold.n_labels
    train, test, features, pooled_head = fold.train, fold.test, fold.features, fold.pooled_head

    default = pooled_head()
    embedding_only = pooled_head(with_lexical=False)
    lexical_only = pooled_head(with_embedding=False)
    out = {"default (early fusion, one head)": default}
    for w in (0.3, 0.5, 0.7):
        out[f"late fusion, embedding weight {w}"] = w * embedding_only + (1 - w) * lexical_only
        out[f"late fusion of log-probabilities, embedding weight {w}"] = w * np.log(
            embedding_only
        ) + (1 - w) * np.log(lexical_only)
    unit = embedding / np.linalg.norm(embedding, axis=1, keepdims=True)
    similarity = unit[test] @ unit[train].T
    same_project = repos[test][:, None] == repos[train][None, :]
    for scope, sim in (
        ("all", similarity),
        ("same project", np.where(same_project, similarity, -9)),
    ):
        for k in (5, 10, 20):
            vote = neighbour_vote(sim, y[train], n_labels, k, sharpness=10.0)
            out[f"{k} nearest ({scope}) alone"] = vote
            for a in (0.25, 0.5):
                out[f"default + {a} x {k} nearest ({scope})"] = (1 - a) * default + a * vote
    per_project = np.zeros_like(default)
    for repo in sorted(set(repos)):
        fit_rows, mine = train[repos[train] == repo], repos[test] == repo
        head = fit_head(features(fit_rows), y[fit_rows], n_labels)
        per_project[mine] = head.probabilities(features(test[mine]))
    out["a head per project over the pooled features"] = per_project
    out["pooled head + a head per project, averaged"] = default + per_project
    for l2 in (0.5, 2.0):
        out[f"default, L2 {l2}"] = pooled_head(l2=l2)
    return {name: p.argmax(1) for name, p in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="finetune.py's --cache")
    parser.add_argument("--tag", default="e2", help="the cached encoders: fold{K}-pooled-{TAG}")
    parser.add_argument("--folds", nargs="+", type=int, default=list(range(FOLDS)))
    parser.add_argument(
        "--ensemble",
        nargs="+",
        metavar="TAG",
        help="instead of the variants: the default head over each of these cached encoders, "
        "alone and averaged",
    )
    parser.add_argument(
        "--train-quarters",
        **QUARTERS_OPTION,
        help="the heads fitted on the training issues the encoders were tuned on with "
        "finetune.py --train-quarters Q (their tags end in -qQ-...)",
    )
    args = parser.parse_args()
    issues = read_labelled(args.data)
    labels = label_set(issues)
    y = np.array([labels.index(i.label) for i in issues])
    repos = np.array([i.repo for i in issues])
    fold = stratified_folds(issues, FOLDS, 0)
    texts = [(i.title, i.body) for i in issues]
    counts = {lex.view: hashed_counts_sparse(texts, lex.dim, lex.view) for lex in DEFAULT_LEXICAL}
    identity = {i: i for i in range(len(issues))}  # head_matrix's row positions: every issue
    scores: dict[str, dict[int, float]] = {}
    tags = args.ensemble or [args.tag]
    for k in args.folds:
        embeddings = {}
        for tag in tags:
            cached = args.cache / f"fold{k}-pooled-{tag}.npz"
            if not cached.exists():
                parser.error(f"{cached} is missing: run research.triage.finetune --pooled first")
            embeddings[tag] = np.load(cached)["issue"]
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        if args.train_quarters < 4:
            train = train_quarters(issues, train, args.train_quarters, 0)
        idf = {view: fit_idf(c[train]) for view, c in counts.items()}

        def lexical(part: np.ndarray, idf: dict = idf) -> sparse.csr_matrix:
            """The three lexical views, weighted as the default head reads them."""
            return head_matrix(part, {}, True, {}, identity, counts, idf)

        folds = {
            tag: PooledFold(embedding, lexical, y, repos, train, test, len(labels))
            for tag, embedding in embeddings.items()
        }
        if args.ensemble:
            alone = {f"default head, encoder {tag}": f.pooled_head() for tag, f in folds.items()}
            mean = np.mean(list(alone.values()), axis=0)
            probabilities = {**alone, f"default heads averaged over {len(tags)} encoders": mean}
            variants = {name: p.argmax(1) for name, p in probabilities.items()}
        else:
            variants = fold_variants(folds[args.tag])

        def project_mean(predicted: np.ndarray, test: np.ndarray = test) -> float:
            """The protocol's score: macro-F1 per project, then their mean."""
            return float(
                np.mean(list(macro_f1_per_repo(labels, y[test], predicted, repos[test]).values()))
            )

        for name, predicted in variants.items():
            scores.setdefault(name, {})[k] = project_mean(predicted)
            row = {"fold": k, "tags": tags, "head": name, "macro_f1": round(scores[name][k], 4)}
            print(json.dumps(row), flush=True)
        if args.ensemble and len(tags) > 2:
            by_size = subset_means(list(alone.values()), lambda p: project_mean(p.argmax(1)))
            del by_size[len(tags)]  # all of them: the row "averaged over N encoders" above
            for size, score in by_size.items():
                name = f"default heads averaged over {size} of {len(tags)} encoders (every subset)"
                scores.setdefault(name, {})[k] = score
                row = {"fold": k, "tags": tags, "head": name, "macro_f1": round(score, 4)}
                print(json.dumps(row), flush=True)
    print("\n| head | " + " | ".join(f"fold {k}" for k in args.folds) + " | mean |")
    print("| --- |" + " --- |" * (len(args.folds) + 1))
    for name, per_fold in sorted(scores.items(), key=lambda kv: -np.mean(list(kv[1].values()))):
        cells = " | ".join(f"{per_fold[k]:.3f}" for k in args.folds)
        print(f"| {name} | {cells} | {np.mean(list(per_fold.values())):.4f} |")


if __name__ == "__main__":
    main()
