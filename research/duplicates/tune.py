"""Grid over the channel weights of duplicate search on the pair sets of ``build_pairs``.

Each channel's similarities are computed once per query; every weighting is then a cheap
re-ranking. The embeddings are cached beside the set (``embeddings.npy``) so a second run
costs seconds. Prints recall@1/5/10 per weighting, best first by (recall@5, recall@1), and
the score distribution of true pairs against the best non-duplicate of each query (what
the threshold must separate).

Usage: ``.venv/bin/python -m research.duplicates.tune /tmp/dups/nlbse /tmp/dups/nlbse-untitled``
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from bot.triage.duplicates import DuplicateIndex, IndexedIssue, issue_features
from bot.triage.duplicates_cli import duplicate_groups, read_eval_issues, read_pairs


def channels(folder: Path) -> tuple[list[dict[str, np.ndarray]], list[np.ndarray], list[int]]:
    """Per pair: each channel's scores, the eligibility mask, the target position; and
    whether the query has an error signature (as a channel-weight switch)."""
    issues = read_eval_issues(folder / "issues.jsonl")
    pairs = read_pairs(folder / "pairs.csv", {i.id for i in issues})
    cache = folder / "embeddings.npy"
    if cache.is_file():
        vectors = np.load(cache)
    else:
        from bot.triage.duplicates_index import load_embedder

        embedder = load_embedder("")
        vectors = np.vstack(
            [
                embedder.issue_embeddings([(i.title, i.body) for i in issues[s : s + 256]])
                for s in range(0, len(issues), 256)
            ]
        )
        np.save(cache, vectors)
    feats = [issue_features(i.title, i.body, vectors[k]) for k, i in enumerate(issues)]
    index = DuplicateIndex([IndexedIssue(k, i.title, feats[k]) for k, i in enumerate(issues)])
    position = {i.id: k for k, i in enumerate(issues)}
    groups = duplicate_groups(pairs)
    out_scores, out_masks, targets, has_errors = [], [], [], []
    for query, target in pairs:
        q = position[query]
        scores = index.channel_scores(feats[q])
        mask = np.ones(len(issues), dtype=bool)
        for other in groups[query]:
            if other != target:
                mask[position[other]] = False
        out_scores.append(scores)
        out_masks.append(mask)
        targets.append(position[target])
        has_errors.append(feats[q].has_errors)
    return out_scores, out_masks, targets, has_errors  # type: ignore[return-value]


def evaluate(data: Any, weights: tuple[float, float, float]) -> dict[str, float]:
    scores, masks, targets, has_errors = data
    ranks, true_scores, best_other = [], [], []
    for s, mask, t, err in zip(scores, masks, targets, has_errors, strict=True):
        w = {"lexical": weights[0], "embedding": weights[1]}
        if err:
            w["errors"] = weights[2]
        total = sum(w.values()) or 1.0
        combined = sum((v / total) * s[k] for k, v in w.items())
        combined = np.where(mask, combined, -1.0)
        rank = int((combined > combined[t]).sum()) + 1
        ranks.append(rank)
        true_scores.append(combined[t])
        others = combined.copy()
        others[t] = -1.0
        best_other.append(others.max())
    ranks_a = np.array(ranks)
    return {
        "r1": float((ranks_a <= 1).mean()),
        "r5": float((ranks_a <= 5).mean()),
        "r10": float((ranks_a <= 10).mean()),
        "true_median": float(np.median(true_scores)),
        "true_p10": float(np.percentile(true_scores, 10)),
        "other_median": float(np.median(best_other)),
        "other_p90": float(np.percentile(best_other, 90)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    sets = {folder.name: channels(folder) for folder in args.folders}
    grid = [
        (round(a, 1), round(b, 1), round(c, 1))
        for a, b, c in itertools.product(np.arange(0, 1.01, 0.1), repeat=3)
        if abs(a + b + c - 1.0) < 1e-6
    ]
    rows = []
    for weights in grid:
        results = {name: evaluate(data, weights) for name, data in sets.items()}
        mean_r5 = np.mean([r["r5"] for r in results.values()])
        mean_r1 = np.mean([r["r1"] for r in results.values()])
        rows.append((mean_r5, mean_r1, weights, results))
    rows.sort(key=lambda row: (-row[0], -row[1]))
    names = list(sets)
    print("weights (lexical, embedding, errors) | " + " | ".join(f"{n} r1/r5/r10" for n in names))
    shown = rows[: args.top] + [r for r in rows if r[2] in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))]
    for _, _, weights, results in shown:
        cells = " | ".join(
            f"{results[n]['r1']:.3f}/{results[n]['r5']:.3f}/{results[n]['r10']:.3f}" for n in names
        )
        print(f"{weights} | {cells}")
    best = rows[0]
    print(f"\nbest {best[2]}; score of the true duplicate vs the best other issue:")
    for name in names:
        r = best[3][name]
        print(
            f"  {name}: true median {r['true_median']:.3f} (10th pct {r['true_p10']:.3f}); "
            f"best non-duplicate median {r['other_median']:.3f} (90th pct {r['other_p90']:.3f})"
        )


if __name__ == "__main__":
    main()
