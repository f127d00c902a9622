"""Recipe search, stage 4: fine-tune the encoder on the labels, then the head, cross-validated.

For each chosen fold of frozen.py, fine-tunes all-MiniLM-L6-v2 on the fold's training
issues with ``classify_finetune`` (what ``triage train --epochs N`` does: a cosine classifier
over the mean-pooled embedding, 128 tokens), embeds every issue with the tuned encoder (the
issue view at 256 and at 128 tokens, and the title view), and scores the heads of HEADS on
the fold's held-out issues, the defaults of ``triage train`` among them: the tuned
embeddings, the three lexical views, and, pooled, the per-repository corrections
(``--domain-scales``: their weight; ``--epochs 0``: the same heads on the frozen encoder;
``--keep-layers``: an encoder of fewer layers, stage 6; ``--repo-in-text``: the project's
name read before the title, and the "frozen issue" heads: the untuned embedding beside the
tuned one, stage 8; ``--finetune-tokens 256``: fine-tuning on the view the head reads, and
``--domain-finetune``: a correction per repository in the fine-tuning layer, stage 9; the
"@512" and "windows" heads: longer views of a long issue, stage 11; ``--adapt-epochs N``:
masked-LM training on the fold's training text before fine-tuning, stage 12;
``--learning-rate``: the fine-tune's learning rate, stage 14; ``--cross-fit K``: the head also
fitted on out-of-fold embeddings, from K encoders each tuned without a K-th of the training
issues, stage 15; ``--residual-lexical``: the encoder fine-tuned on what the lexical views
leave unexplained, stage 16; ``--soup``: one encoder whose weights are the mean of the
ensemble's, and ``--prototype-init``: the fine-tuning layer started at the labels' mean
untuned embeddings, stage 17; ``--train-quarters Q``: a learning curve, stage 18). Tuned
embeddings (only the views the chosen heads read) are cached per (fold, scope, epochs,
layers, variant) under --cache.

Usage (pooled: about 6-10 minutes per fold on 2 cores; strict: about 2 per project-fold):
    nice -n 19 .venv/bin/python -m research.triage.finetune \
        --data ../shared/data/issues/nlbse24/issues_train.csv --pooled --folds 0 1 2 3 4
    nice -n 19 .venv/bin/python -m research.triage.finetune \
        --data ../shared/data/issues/nlbse24/issues_train.csv --folds 0 --epochs 4
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.triage.data import LabelledIssue, label_set, read_labelled
from bot.triage.head import fit_head
from bot.triage.lexical import fit_idf, hashed_counts_sparse, tfidf
from bot.triage.tokens import issue_ids, load_tokenizer
from bot.triage.train import DEFAULT_LEXICAL, Recipe
from research.triage.frozen import (
    FOLDS,
    LEXICAL_BLOCKS,
    macro_f1_per_repo,
    stratified_folds,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tokenizers import Tokenizer

    from bot.triage.encoder import MeanPooledEncoder

HEADS = {  # name -> (embedding blocks with weights, use the lexical views)
    "tuned issue + title + lexical (default, one repository)": (
        {"issue": None, "title": 1.0},
        True,
    ),
    "tuned issue + lexical (default, several repositories)": ({"issue": None}, True),
    "tuned issue x4 + title + lexical": ({"issue": 4.0, "title": 1.0}, True),
    "tuned issue alone": ({"issue": 1.0}, False),
    # the latency leads (stage 5): a 128-token issue view (the fine-tuning length), with and
    # without the title pass
    "tuned issue@128 + title + lexical": ({"issue128": 1.0, "title": 1.0}, True),
    "tuned issue@128 + lexical": ({"issue128": 1.0}, True),
    # stage 8: the frozen encoder's embedding beside the tuned one (they fail differently?)
    "tuned issue + frozen issue + lexical": ({"issue": None, "frozen": 1.0}, True),
    "tuned issue + frozen issue x0.5 + lexical": ({"issue": None, "frozen": 0.5}, True),
    # stage 11: more of a long issue than 256 tokens (43 % of NLBSE's issues are longer): one
    # 512-token view (head + tail), or the mean of up to four 256-token windows of the body
    "tuned issue@512 + lexical": ({"issue512": None}, True),
    "tuned issue@512 + title + lexical": ({"issue512": None, "title": 1.0}, True),
    "tuned issue windows + lexical": ({"windows": None}, True),
    "tuned issue windows + title + lexical": ({"windows": None, "title": 1.0}, True),
}
VIEWS = ("issue", "issue128", "title", "issue512", "windows")
WINDOWS = 4  # 256-token windows of the body at most: 95 % of NLBSE's issues fit in about 1,000


def window_views(tok: Tokenizer, title: str, body: str, max_tokens: int = 256) -> list[list[int]]:
    """``[CLS] title [SEP] window [SEP]`` for consecutive windows of the cleaned body, the
    first ``WINDOWS - 1`` and the last (a trace's error message) when there are more."""
    whole = issue_ids(tok, title, body, 1_000_000)
    sep = whole[-1]
    title_end = whole.index(sep) + 1
    head, body_ids = whole[:title_end], whole[title_end:-1]
    size = max_tokens - len(head) - 1
    chunks = [body_ids[k : k + size] for k in range(0, max(len(body_ids), 1), size)]
    if len(chunks) > WINDOWS:
        chunks = chunks[: WINDOWS - 1] + chunks[-1:]
    return [head + chunk + [sep] for chunk in chunks]


def mean_of_windows(
    encoder: MeanPooledEncoder, tok: Tokenizer, issues: list[LabelledIssue]
) -> np.ndarray:
    """Each issue's windows embedded, averaged and brought back to unit length."""
    from bot.triage.encoder import embed

    views = [window_views(tok, i.title, i.body) for i in issues]
    flat = [w for v in views for w in v]
    vectors = embed(encoder, flat)
    out, at = [], 0
    for v in views:
        mean = vectors[at : at + len(v)].mean(0)
        out.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
        at += len(v)
    return np.array(out, dtype=np.float32)


def tuned_embeddings(
    issues: list[LabelledIssue],
    rows: np.ndarray,
    train_rows: np.ndarray,
    *,
    base: str,
    epochs: int,
    seed: int,
    cache: Path,
    layers: list[int] | None = None,
    finetune_tokens: int | None = None,
    domain_layer: bool = False,
    views: frozenset[str] = frozenset(VIEWS),
    adapt_epochs: int = 0,
    learning_rate: float | None = None,
    offsets: np.ndarray | None = None,
    prototypes: np.ndarray | None = None,
    keep_weights: bool = False,
) -> dict[str, np.ndarray]:
    """The ``views`` (issue and title) of ``rows``, from an encoder tuned on ``train_rows``
    (on issue views of ``finetune_tokens``, by default the recipe's; ``offsets``: fixed
    logits per training issue added to the fine-tuning layer's; ``prototypes``: where that
    layer starts; ``keep_weights``: the tuned weights saved beside the embeddings, for a
    soup)."""
    saved = cached_views(cache)
    if saved and views <= set(saved) and (not keep_weights or weights_file(cache).exists()):
        return saved
    from bot.triage.encoder import keep_layers, load_encoder, loss_ends, seed_everything
    from research.triage.lab_encoder import lab_classify_finetune, masked_lm_adapt

    labels = label_set(issues)
    tok = load_tokenizer(Path(base) / "tokenizer.json")
    recipe = Recipe()
    tokens = finetune_tokens or recipe.finetune_max_tokens
    seed_everything(seed)
    encoder = load_encoder(base)
    if layers is not None:
        encoder = keep_layers(encoder, layers)
    train_sequences = [issue_ids(tok, issues[i].title, issues[i].body, tokens) for i in train_rows]
    start = time.time()
    adapt_losses: list[float] = []
    if adapt_epochs:  # stage 12: masked-LM on the training issues' text first
        adapt_losses = masked_lm_adapt(
            encoder,
            train_sequences,
            special_ids=[tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")],
            mask_id=tok.token_to_id("[MASK]"),
            epochs=adapt_epochs,
            seed=seed,
        )
    adapted = time.time() - start
    losses = lab_classify_finetune(
        encoder,
        train_sequences,
        [labels.index(issues[i].label) for i in train_rows],
        n_labels=len(labels),
        epochs=epochs,
        seed=seed,
        learning_rate=learning_rate or recipe.learning_rate,
        domains=repository_indices([issues[i] for i in train_rows]) if domain_layer else None,
        offsets=offsets,
        prototypes=prototypes,
    )
    tuned = time.time() - start - adapted
    if keep_weights:
        import torch

        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(encoder.state_dict(), weights_file(cache))
    out = embedded_views(encoder, tok, [issues[i] for i in rows], views)
    print(
        json.dumps(
            {
                "tuned": cache.name,
                "train_issues": len(train_rows),
                "adapt_seconds": round(adapted),
                "adapt_loss_first_last": loss_ends(adapt_losses, n=20, digits=3),
                "finetune_seconds": round(tuned),
                "embed_seconds": round(time.time() - start - adapted - tuned),
                "loss_first_last": loss_ends(losses, digits=3),
            }
        ),
        file=sys.stderr,
        flush=True,
    )
    return save_views(cache, saved, out)


def cached_views(cache: Path) -> dict[str, np.ndarray]:
    """The views an encoder's embeddings were cached for under ``cache`` (none yet: {})."""
    path = cache.with_suffix(".npz")
    return dict(np.load(path)) if path.exists() else {}


def save_views(
    cache: Path, saved: dict[str, np.ndarray], new: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Caches the ``new`` views beside the ``saved`` ones (views cached for other heads stay
    cached) and returns them all."""
    out = {**saved, **new}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache.with_suffix(".npz"), **out)
    return out


def weights_file(cache: Path) -> Path:
    """Where ``tuned_embeddings(keep_weights=True)`` keeps an encoder's tuned weights, beside
    its embeddings, and where a soup reads them."""
    return cache.with_suffix(".pt")


def embedded_views(
    encoder: MeanPooledEncoder, tok: Tokenizer, issues: list[LabelledIssue], views: frozenset[str]
) -> dict[str, np.ndarray]:
    """The ``views`` of ``issues`` by ``encoder``: the issue at 256, 128 or 512 tokens, the
    title alone, the mean of the body's windows."""
    from bot.triage.encoder import embed

    budgets = {"issue": 256, "issue128": 128, "issue512": 512}
    out = {
        view: embed(encoder, [issue_ids(tok, i.title, i.body, budgets[view]) for i in issues])
        for view in budgets
        if view in views
    }
    if "title" in views:
        out["title"] = embed(encoder, [issue_ids(tok, i.title, "", 64) for i in issues])
    if "windows" in views:
        out["windows"] = mean_of_windows(encoder, tok, issues)
    return out


def soup_embeddings(
    issues: list[LabelledIssue],
    rows: np.ndarray,
    members: list[Path],
    *,
    base: str,
    cache: Path,
    views: frozenset[str],
) -> dict[str, np.ndarray]:
    """The ``views`` of ``rows`` by one encoder whose weights are the mean of the tuned
    ``members``' (a uniform model soup, stage 17). Where encoders fine-tuned briefly from the
    same pretrained weights stay in one basin, their average keeps the gain of averaging
    their predictions (stage 15) at one encoder's cost; ``weight_changes`` says how alike
    they moved. Here it gave no gain over the members' mean."""
    saved = cached_views(cache)
    if saved and views <= set(saved):
        return saved
    import torch

    from bot.triage.encoder import load_encoder

    states = [torch.load(m, weights_only=True) for m in members]
    encoder = load_encoder(base)
    changes = weight_changes(encoder.state_dict(), states)
    encoder.load_state_dict(average_weights(states))
    start = time.time()
    out = embedded_views(
        encoder, load_tokenizer(Path(base) / "tokenizer.json"), [issues[i] for i in rows], views
    )
    print(
        json.dumps(
            {
                "soup": cache.name,
                "members": [m.name for m in members],
                "embed_seconds": round(time.time() - start),
                **changes,
            }
        ),
        file=sys.stderr,
        flush=True,
    )
    return save_views(cache, saved, out)


def label_prototypes(embeddings: np.ndarray, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each label's mean embedding over ``rows``, at unit length: a start for the cosine
    classifier that does not depend on the seed."""
    means = np.stack([embeddings[rows[y[rows] == c]].mean(0) for c in range(int(y.max()) + 1)])
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def weight_changes(pretrained: dict, states: list[dict]) -> dict[str, object]:
    """How alike the members' fine-tuning moved the weights: the cosines between their changes
    from ``pretrained``, and the soup's change as a share of a member's (1: all alike)."""
    import torch

    names = [k for k, v in pretrained.items() if v.is_floating_point()]
    deltas = [torch.cat([(s[k] - pretrained[k]).flatten() for k in names]) for s in states]
    cosines = [
        round(float(torch.nn.functional.cosine_similarity(a, b, dim=0)), 3)
        for a, b in itertools.combinations(deltas, 2)
    ]
    soup = float(torch.stack(deltas).mean(0).norm())
    member = float(np.mean([float(d.norm()) for d in deltas]))
    return {"change_cosines": cosines, "soup_change_share": round(soup / member, 3)}


def average_weights(states: list[dict]) -> dict:
    """The element-wise mean of state dicts of one architecture; integer buffers (position
    ids) are the same in every member and taken from the first."""
    return {
        name: sum(s[name] for s in states) / len(states)
        if states[0][name].is_floating_point()
        else states[0][name]
        for name in states[0]
    }


QUARTERS_OPTION: dict = {"type": int, "choices": range(1, 5), "default": 4}  # 4: all of them


def train_quarters(
    issues: list[LabelledIssue], train: np.ndarray, quarters: int, seed: int
) -> np.ndarray:
    """The first ``quarters`` of four nested quarters of the ``train`` rows, balanced per
    project and label (stage 18's learning curve; the same rows for any head that reads it)."""
    quarter = stratified_folds([issues[i] for i in train], 4, seed)
    return train[quarter < quarters]


def repository_indices(issues: list[LabelledIssue]) -> list[int]:
    """Each issue's repository as an index, for ``lab_classify_finetune(domains=...)``."""
    ids = {r: k for k, r in enumerate(sorted({str(i.repo) for i in issues}))}
    return [ids[str(i.repo)] for i in issues]


def frozen_embeddings(issues: list[LabelledIssue], base: str, cache: Path) -> np.ndarray:
    """The issue view (256 tokens) of every issue by the encoder as published, untuned;
    cached by base model and by the issues' count and a digest of their titles."""
    digest = hashlib.sha256("\n".join(i.title for i in issues).encode()).hexdigest()[:12]
    path = cache / f"frozen-issue-{Path(base).name}-{len(issues)}-{digest}.npy"
    if path.exists():
        return np.load(path)
    from bot.triage.encoder import embed, load_encoder

    tok = load_tokenizer(Path(base) / "tokenizer.json")
    vectors = embed(load_encoder(base), [issue_ids(tok, i.title, i.body, 256) for i in issues])
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def head_matrix(
    part: np.ndarray,
    embedding_weights: dict[str, float | None],
    lexical: bool,
    blocks: dict[str, np.ndarray],
    pos: dict[int, int],
    counts: dict[str, object],
    idf: dict[str, np.ndarray],
) -> object:
    """The head's input for the issues ``part``: weighted embeddings, then lexical views."""
    from scipy import sparse

    issue_weight = Recipe().issue_weight
    at = [pos[int(i)] for i in part]
    cols = [
        sparse.csr_matrix((issue_weight if w is None else w) * blocks[view][at])
        for view, w in embedding_weights.items()
    ]
    if lexical:
        cols += [
            lex.weight * tfidf(counts[lex.view][part], idf[lex.view]) for lex in DEFAULT_LEXICAL
        ]
    return sparse.hstack(cols).tocsr()


def out_of_fold_lexical_logits(
    train: np.ndarray,
    y: np.ndarray,
    repos: np.ndarray,
    counts: dict[str, object],
    n_labels: int,
    pooled: bool,
    seed: int,
    parts: int = 5,
) -> np.ndarray:
    """Logits of the lexical views' head for each training issue, from a head fitted without
    it (``parts``-fold within ``train``): what the lexical views already tell about an issue
    they have not seen, for ``lab_classify_finetune(offsets=...)`` (stage 16)."""
    identity = {int(i): int(i) for i in train}
    part = np.random.default_rng(seed).permutation(len(train)) % parts
    out = np.zeros((len(train), n_labels))
    for j in range(parts):
        fit_rows, held = train[part != j], train[part == j]
        idf = {view: fit_idf(c[fit_rows]) for view, c in counts.items()}
        spec = ({}, True, {}, identity, counts, idf)
        head = fit_head(
            head_matrix(fit_rows, *spec),
            y[fit_rows],
            n_labels,
            domains=list(repos[fit_rows]) if pooled else None,
        )
        out[part == j] = head.logits(
            head_matrix(held, *spec), list(repos[held]) if pooled else None
        )
    return out


def cross_fitted_blocks(
    full: dict[str, np.ndarray],
    train: np.ndarray,
    test: np.ndarray,
    pos: dict[int, int],
    parts: np.ndarray,
    tune: Callable[[np.ndarray, np.ndarray, int], dict[str, np.ndarray]],
) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    """Out-of-fold embeddings for the head (stage 15). The default head is fitted on the
    embeddings of the very issues the encoder was tuned on, which are cleaner than any new
    issue's, so it may learn to trust the tuned embedding more than the lexical views. Here
    ``tune(held, fit_rows, j)`` tunes an encoder on the training issues outside part ``j``
    and embeds ``held`` (that part, then the test issues). Returns the blocks with every
    training issue embedded out of fold (test issues as ``full`` has them), and one copy per
    part encoder whose test issues are embedded by that encoder."""
    oof: dict[str, np.ndarray] = {}  # the views the part encoders embed (``full`` may hold more)
    at_test = [pos[int(i)] for i in test]
    part_tests = []
    for j in sorted(set(parts.tolist())):
        held = train[parts == j]
        embedded = tune(np.concatenate([held, test]), train[parts != j], j)
        per_part = {}
        for view in embedded:
            oof.setdefault(view, full[view].copy())
            oof[view][[pos[int(i)] for i in held]] = embedded[view][: len(held)]
            per_part[view] = full[view].copy()
            per_part[view][at_test] = embedded[view][len(held) :]
        part_tests.append(per_part)
    return oof, part_tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--folds", nargs="+", type=int, default=list(range(FOLDS)))
    parser.add_argument("--pooled", action="store_true", help="one model on every project")
    parser.add_argument("--repos", nargs="*", help="strict: these projects (default: all)")
    parser.add_argument("--epochs", type=int, default=None, help="default: as triage train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--heads", nargs="+", choices=list(HEADS), default=list(HEADS), help="default: all"
    )
    parser.add_argument(
        "--domain-scales",
        nargs="+",
        type=float,
        default=[1.0],
        help="pooled: weights of the per-repository corrections to try (fit_head domain_scale)",
    )
    parser.add_argument(
        "--keep-layers",
        nargs="+",
        type=int,
        help="fine-tune an encoder of only these transformer layers (default: all)",
    )
    parser.add_argument(
        "--ensemble-epochs",
        nargs="+",
        type=int,
        help="average the probabilities of heads over encoders tuned for these epochs "
        "(e.g. 2 4; each encoder is tuned and cached as for --epochs)",
    )
    parser.add_argument(
        "--ensemble-seeds",
        nargs="+",
        type=int,
        help="the same over encoders fine-tuned with these seeds (the folds stay --seed's)",
    )
    parser.add_argument(
        "--base-model",
        help="the encoder to fine-tune (default: the packaged MiniLM); cached apart by its "
        "directory name",
    )
    parser.add_argument(
        "--repo-in-text",
        action="store_true",
        help="the encoder reads each issue's project name before its title (fine-tuning and "
        "embedding; the lexical views are unchanged): lets one encoder of several projects "
        "condition on the project",
    )
    parser.add_argument(
        "--finetune-tokens",
        type=int,
        help="fine-tune on issue views of this many tokens (default: the recipe's 128; the "
        "head reads 256)",
    )
    parser.add_argument(
        "--domain-finetune",
        action="store_true",
        help="pooled: the fine-tuning layer has a correction per repository, as the head has",
    )
    parser.add_argument(
        "--adapt-epochs",
        type=int,
        default=0,
        help="stage 12: masked-LM epochs on the fold's training text before fine-tuning",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        help="stage 14: the encoder's fine-tuning learning rate (default: the recipe's 5e-5)",
    )
    parser.add_argument(
        "--cross-fit",
        type=int,
        help="stage 15: also fit the head on out-of-fold embeddings from this many encoders, "
        "each tuned without one part of the training issues (scored with the full encoder "
        "and with the part encoders' mean)",
    )
    parser.add_argument(
        "--residual-lexical",
        action="store_true",
        help="stage 16: fine-tune the encoder on what the lexical views leave unexplained "
        "(their out-of-fold logits added to the fine-tuning layer's)",
    )
    parser.add_argument(
        "--soup",
        action="store_true",
        help="stage 17: also score one encoder whose weights are the mean of the ensemble's "
        "encoders (--ensemble-seeds / --ensemble-epochs; their weights are kept in the cache)",
    )
    parser.add_argument(
        "--prototype-init",
        action="store_true",
        help="stage 17: the fine-tuning layer starts at each label's mean untuned embedding "
        "(of the training issues) instead of at random",
    )
    parser.add_argument(
        "--train-quarters",
        **QUARTERS_OPTION,
        help="stage 18: fit on only this many quarters of each fold's training issues (nested "
        "and balanced per project and label; the test issues stay the fold's): a learning curve",
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/triage-finetune-cache"))
    args = parser.parse_args()
    from bot.triage.encoder import default_base_model

    issues = read_labelled(args.data)
    labels = label_set(issues)
    y = np.array([labels.index(i.label) for i in issues])
    repos = np.array([i.repo for i in issues])
    fold = stratified_folds(issues, FOLDS, args.seed)
    base = args.base_model or default_base_model()
    texts = [(i.title, i.body) for i in issues]
    encoder_issues = (
        [replace(i, title=f"{(i.repo or '').split('/')[-1]}: {i.title}") for i in issues]
        if args.repo_in_text
        else issues
    )
    counts = {lex.view: hashed_counts_sparse(texts, lex.dim, lex.view) for lex in DEFAULT_LEXICAL}
    assert {v for v, _ in LEXICAL_BLOCKS.values()} == set(counts)
    # the untuned encoder's embeddings do not depend on the fold: computed (or read) once
    frozen_heads = any("frozen" in HEADS[name][0] for name in args.heads)
    # checked before any encoder is tuned, not after the first fold's minutes of fine-tuning
    n_members = len(args.ensemble_epochs or [0]) * len(args.ensemble_seeds or [0])
    if args.soup and (n_members < 2 or frozen_heads):
        parser.error("--soup takes two encoders or more and no frozen heads")
    if args.cross_fit and (n_members > 1 or frozen_heads):
        parser.error("--cross-fit takes one encoder and no frozen heads")
    untuned = (
        frozen_embeddings(issues, base, args.cache) if frozen_heads or args.prototype_init else None
    )
    frozen = untuned if frozen_heads else None
    views = frozenset(v for h in args.heads for v in HEADS[h][0]) - {"frozen"}
    epochs_rule = replace(Recipe(), epochs=args.epochs)  # --epochs, or as many as the data asks

    def tune(
        embed_rows: np.ndarray, tune_rows: np.ndarray, epochs: int, seed: int, name: str
    ) -> dict[str, np.ndarray]:
        offsets = (
            out_of_fold_lexical_logits(
                tune_rows, y, repos, counts, len(labels), pooled=args.pooled, seed=seed
            )
            if args.residual_lexical
            else None
        )
        return tuned_embeddings(
            encoder_issues,
            embed_rows,
            tune_rows,
            base=base,
            epochs=epochs,
            seed=seed,
            cache=args.cache / name,
            layers=args.keep_layers,
            finetune_tokens=args.finetune_tokens,
            domain_layer=args.domain_finetune,
            views=views,
            adapt_epochs=args.adapt_epochs,
            learning_rate=args.learning_rate,
            offsets=offsets,
            prototypes=label_prototypes(untuned, tune_rows, y) if args.prototype_init else None,
            keep_weights=args.soup,
        )

    for k in args.folds:
        scopes = [None] if args.pooled else (args.repos or sorted(set(repos)))
        for scope in scopes:
            rows = np.flatnonzero(np.ones(len(issues), bool) if scope is None else repos == scope)
            train = rows[fold[rows] != k]
            test = rows[fold[rows] == k]
            tag = "pooled" if scope is None else scope.replace("/", "__")
            if args.train_quarters < 4:
                train = train_quarters(issues, train, args.train_quarters, args.seed)
                tag += f"-q{args.train_quarters}"
            if args.keep_layers:
                tag += "-L" + "".join(map(str, args.keep_layers))
            if args.base_model:
                tag += "-" + Path(args.base_model).name
            if args.repo_in_text:
                tag += "-repotext"
            if args.finetune_tokens:
                tag += f"-ft{args.finetune_tokens}"
            if args.domain_finetune:
                tag += "-dom"
            if args.adapt_epochs:
                tag += f"-tapt{args.adapt_epochs}"
            if args.learning_rate:
                tag += f"-lr{args.learning_rate:.0e}"  # no dot: the cache path takes a suffix
            if args.residual_lexical:
                tag += "-reslex"
            if args.prototype_init:
                tag += "-proto"
            if args.seed:  # other folds: never the embeddings of an encoder tuned on seed 0's
                tag += f"-folds{args.seed}"
            epochs = epochs_rule.finetune_epochs(len(train))
            # the ensemble's encoders: one per (epochs, fine-tuning seed); the folds keep --seed
            names = {
                (e, s): f"fold{k}-{tag}-e{e}{f'-s{s}' if s else ''}"
                for e in (args.ensemble_epochs or [epochs])
                for s in (args.ensemble_seeds or [args.seed])
            }
            members = {(e, s): tune(rows, train, e, s, name) for (e, s), name in names.items()}
            if frozen is not None:
                members = {key: {**m, "frozen": frozen[rows]} for key, m in members.items()}
            pos = {int(i): p for p, i in enumerate(rows)}
            # how the head is fitted: each head on its encoder's own training embeddings, and
            # (stage 15) on out-of-fold ones, scored with the full or the part encoders
            fittings = {"in-sample": [(m, [m]) for m in members.values()]}
            if args.soup:
                soup = soup_embeddings(
                    encoder_issues,
                    rows,
                    [weights_file(args.cache / n) for n in names.values()],
                    base=base,
                    cache=args.cache
                    / f"fold{k}-{tag}-soup-{'+'.join(f'e{e}s{s}' for e, s in names)}",
                    views=views,
                )
                fittings[f"soup of {len(members)}"] = [(soup, [soup])]
            if args.cross_fit:
                (full,) = members.values()
                parts = stratified_folds([issues[i] for i in train], args.cross_fit, args.seed)

                def tune_part(
                    held: np.ndarray, fit_rows: np.ndarray, j: int, prefix: str = f"fold{k}-{tag}"
                ) -> dict[str, np.ndarray]:
                    """Part ``j``'s encoder, tuned for as many epochs as its issues ask."""
                    e = epochs_rule.finetune_epochs(len(fit_rows))
                    return tune(
                        held, fit_rows, e, args.seed, f"{prefix}-e{e}-cf{args.cross_fit}p{j}"
                    )

                oof, part_tests = cross_fitted_blocks(full, train, test, pos, parts, tune_part)
                fittings[f"cross-fit {args.cross_fit}, full encoder"] = [(oof, [full])]
                fittings[f"cross-fit {args.cross_fit}, part encoders"] = [(oof, part_tests)]
            idf = {view: fit_idf(c[train]) for view, c in counts.items()}
            variants = [
                (name, scale)
                for name in args.heads
                for scale in (args.domain_scales if scope is None else [1.0])
            ]
            for (name, scale), fitting in itertools.product(variants, fittings):
                embedding_weights, lexical = HEADS[name]
                probabilities = []
                # one head per pair of (training, test) embeddings; probabilities averaged
                for fit_blocks, test_blocks in fittings[fitting]:
                    spec = (embedding_weights, lexical)
                    head = fit_head(
                        head_matrix(train, *spec, fit_blocks, pos, counts, idf),
                        y[train],
                        len(labels),
                        domains=list(repos[train]) if scope is None else None,
                        domain_scale=scale,
                    )
                    probabilities += [
                        head.probabilities(
                            head_matrix(test, *spec, blocks, pos, counts, idf), list(repos[test])
                        )
                        for blocks in test_blocks
                    ]
                predicted = np.mean(probabilities, axis=0).argmax(1)
                scores = macro_f1_per_repo(labels, y[test], predicted, repos[test])
                for repo, score in scores.items():
                    row = {
                        "protocol": "pooled" if args.pooled else "strict",
                        "fold": k,
                        "repo": repo,
                        "epochs": "+".join(str(e) for e, _ in members)
                        if len(members) > 1
                        else epochs,
                        "finetune_seeds": sorted({s for _, s in members}),
                        "head": name,
                        "head_fit": fitting,
                        "layers": args.keep_layers or "all",
                        "base_model": Path(base).name if args.base_model else "default",
                        "domain_scale": scale,
                        "repo_in_text": args.repo_in_text,
                        "finetune_tokens": args.finetune_tokens or Recipe().finetune_max_tokens,
                        "domain_finetune": args.domain_finetune,
                        "adapt_epochs": args.adapt_epochs,
                        "train_issues": len(train),
                        "macro_f1": round(score, 4),
                    }
                    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
