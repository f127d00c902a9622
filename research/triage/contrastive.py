"""Recipe search, stage 2: does a SetFit-style contrastive step lift the frozen features?

For chosen projects and folds (the folds of frozen.py), fine-tunes the encoder
contrastively on the training part of the fold, embeds the project's issues with it, and
scores the same linear heads as stage 1 on the held-out part. Prints one JSON line per
(project, fold, feature set), with the frozen encoder's score on the same fold beside it.

Usage (each project-fold is a few minutes on 2 cores):
    nice -n 19 .venv/bin/python -m research.triage.contrastive \
        --data ../shared/data/issues/nlbse24/issues_train.csv \
        --repos bitcoin/bitcoin tensorflow/tensorflow --folds 0 --pairs-per-issue 4
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bot.triage.data import label_set, read_labelled
from bot.triage.head import fit_head
from bot.triage.lexical import fit_idf, hashed_counts, tfidf
from bot.triage.metrics import macro_f1
from bot.triage.tokens import issue_ids, load_tokenizer

FEATURE_SETS = [
    ["issue"],
    ["issue", "title"],
    ["issue", "lexical"],
    ["issue", "title", "lexical"],
    ["issue", "title", "lexical-x3"],  # the default recipe's features
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--repos", nargs="+", required=True)
    parser.add_argument("--folds", nargs="+", type=int, default=[0])
    parser.add_argument("--pairs-per-issue", type=int, default=4)
    parser.add_argument("--contrastive-tokens", type=int, default=128)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--pooled", action="store_true", help="fine-tune on all projects' folds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from bot.triage.encoder import (
        default_base_model,
        embed,
        load_encoder,
        loss_ends,
        seed_everything,
    )
    from research.triage.frozen import FOLDS, stratified_folds
    from research.triage.lab_encoder import contrastive_finetune

    issues = read_labelled(args.data)
    labels = label_set(issues)
    fold_of = stratified_folds(issues, FOLDS, args.seed)
    base = default_base_model()
    tok = load_tokenizer(Path(base) / "tokenizer.json")
    y_all = np.array([labels.index(i.label) for i in issues])
    repos_all = np.array([i.repo for i in issues])
    counts_all = hashed_counts([(i.title, i.body) for i in issues])

    for k in args.folds:
        scopes = [None] if args.pooled else args.repos
        for scope in scopes:
            in_scope = np.ones(len(issues), bool) if scope is None else repos_all == scope
            train_idx = np.flatnonzero(in_scope & (fold_of != k))
            scored = [r for r in args.repos]
            seed_everything(args.seed)
            encoder = load_encoder(base)
            short = [
                issue_ids(tok, issues[i].title, issues[i].body, args.contrastive_tokens)
                for i in train_idx
            ]
            start = time.time()
            losses = []
            for epoch in range(args.epochs if args.pairs_per_issue > 0 else 0):
                losses += contrastive_finetune(
                    encoder,
                    short,
                    [int(y_all[i]) for i in train_idx],
                    n_pairs=args.pairs_per_issue * len(train_idx),
                    seed=args.seed + epoch,
                    learning_rate=args.learning_rate,
                )
            tuned_seconds = time.time() - start
            for repo in scored if scope is None else [scope]:
                rows = np.flatnonzero(repos_all == repo)
                idx_train = rows[fold_of[rows] != k] if scope is None else rows[fold_of[rows] != k]
                idx_test = rows[fold_of[rows] == k]
                needed = np.concatenate([idx_train, idx_test]) if scope else rows
                blocks = {
                    "issue": embed(
                        encoder,
                        [
                            issue_ids(tok, issues[i].title, issues[i].body, args.max_tokens)
                            for i in needed
                        ],
                    ),
                    "title": embed(
                        encoder, [issue_ids(tok, issues[i].title, "", 64) for i in needed]
                    ),
                }
                pos = {int(i): p for p, i in enumerate(needed)}
                fit_rows = train_idx if scope is None else idx_train
                # pooled: the head is fitted on every project's training issues; embed them
                if scope is None:
                    extra = np.setdiff1d(fit_rows, needed)
                    more = {
                        "issue": embed(
                            encoder,
                            [
                                issue_ids(tok, issues[i].title, issues[i].body, args.max_tokens)
                                for i in extra
                            ],
                        ),
                        "title": embed(
                            encoder, [issue_ids(tok, issues[i].title, "", 64) for i in extra]
                        ),
                    }
                    for name in blocks:
                        blocks[name] = np.vstack([blocks[name], more[name]])
                    for j, i in enumerate(extra):
                        pos[int(i)] = len(needed) + j
                for feature_set in FEATURE_SETS:
                    x_fit, x_test = [], []
                    idf = fit_idf(counts_all[fit_rows])
                    for name in feature_set:
                        if name.startswith("lexical"):
                            weight = 3.0 if name == "lexical-x3" else 1.0
                            x_fit.append(weight * tfidf(counts_all[fit_rows], idf))
                            x_test.append(weight * tfidf(counts_all[idx_test], idf))
                        else:
                            x_fit.append(blocks[name][[pos[int(i)] for i in fit_rows]])
                            x_test.append(blocks[name][[pos[int(i)] for i in idx_test]])
                    head = fit_head(np.hstack(x_fit), y_all[fit_rows], len(labels), l2=args.l2)
                    predicted = head.logits(np.hstack(x_test)).argmax(1)
                    score = macro_f1(
                        [labels[i] for i in y_all[idx_test]],
                        [labels[i] for i in predicted],
                        labels,
                    )
                    print(
                        json.dumps(
                            {
                                "repo": repo,
                                "fold": k,
                                "pooled": args.pooled,
                                "features": "+".join(feature_set),
                                "pairs_per_issue": args.pairs_per_issue,
                                "contrastive_tokens": args.contrastive_tokens,
                                "epochs": args.epochs,
                                "lr": args.learning_rate,
                                "macro_f1": round(score, 4),
                                "contrastive_seconds": round(tuned_seconds),
                                "loss_first_last": loss_ends(losses),
                            }
                        ),
                        flush=True,
                    )


if __name__ == "__main__":
    main()
