"""Training a triage model directory from labelled issues (torch + transformers side).

The recipe, chosen by the measurements in docs/triage.md:

1. carve a stratified validation split (default 20 %) from the training issues;
2. fine-tune the encoder (``--epochs N``; by default enough epochs for 60 batches, 2 to 6)
   on the labels of the fit split, through its mean-pooled embedding (a cosine classifier
   whose layer is then dropped). An optional SetFit-style contrastive step can run before
   it (``Recipe.contrastive_epochs``); it did not lift the combined head in the folds
   measured, so it is off;
3. features: the embedding of title + cleaned body (head and tail within the token budget),
   the embedding of the title alone, and three hashed TF-IDF views (cleaned words, raw words
   with the template markup, character n-grams; bot/triage/lexical.py);
4. a class-balanced logistic-regression head, with per-repository corrections when the
   issues come from several repositories (bot/triage/head.py); its temperature and the
   per-label thresholds for the target precision are fitted on the validation split, then
   the head is refitted on all issues;
5. export the encoder to ONNX (fp32 and int8) and check both on the validation split;
6. with ``Recipe.refit_encoder`` (default), fine-tune a fresh encoder on every issue and
   ship that one (temperature and thresholds stay the held-out ones); write the manifest
   and model card.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import UsageError
from bot.triage.data import LabelledIssue, label_set
from bot.triage.head import LinearHead, fit_head, fit_temperature, softmax
from bot.triage.lexical import fit_idf, hashed_counts_sparse, tfidf
from bot.triage.metrics import macro_f1
from bot.triage.modeldir import Feature, Manifest, write_manifest
from bot.triage.runtime import onnx_embeddings, onnx_session
from bot.triage.thresholds import choose_thresholds
from bot.triage.tokens import issue_ids, load_tokenizer


@dataclass(frozen=True)
class LexicalView:
    """One hashed TF-IDF block: its view (bot/triage/lexical.py), hashed width, and weight
    against the unit-length embeddings."""

    view: str
    dim: int
    weight: float


DEFAULT_LEXICAL = (
    LexicalView("words", 2**15, 1.5),
    LexicalView("raw-words", 2**15, 1.5),
    LexicalView("chars", 2**16, 2.0),
)


@dataclass(frozen=True)
class Recipe:
    """The knobs of training; the defaults are the measured best (docs/triage.md)."""

    max_tokens: int = 256
    # the tuned embedding of the title alone, beside the (title + body) one; None: only for a
    # model of one repository (5-fold CV: strict 0.817 with it, 0.813 without; pooled 0.817
    # with it, 0.821 without: small either way; docs/triage.md, stage 5)
    title_view: bool | None = None
    lexical: tuple[LexicalView, ...] = DEFAULT_LEXICAL
    per_repo: bool = True  # per-repository corrections when the issues span >= 2 repositories
    domain_scale: float = 1.0  # > 1: the corrections cost less under the penalty (fit_head)
    # fine-tuning epochs of the encoder on the labels; 0: frozen encoder; None: enough for
    # MIN_FINETUNE_STEPS batches, 2 to 6 epochs (measured: 4 on a project's 240, 2 on 1,200)
    epochs: int | None = None
    finetune_max_tokens: int = 128  # shorter than max_tokens: fine-tuning is the slow part
    learning_rate: float = 5e-5
    # weight of the issue embedding against the other blocks: x4 for the tuned one won on
    # folds 0-1 but lost over five folds, strict and pooled (docs/triage.md, stage 4)
    issue_weight: float = 1.0
    # after calibrating on the validation split, fine-tune again on every issue for the
    # encoder that ships (twice the fine-tuning time; more data for the model that is used)
    refit_encoder: bool = True
    contrastive_epochs: int = 0  # SetFit-style pair step before fine-tuning (stage 2: no gain)
    pairs_per_issue: int = 4  # contrastive pairs drawn per training issue and epoch
    contrastive_learning_rate: float = 2e-5
    l2: float = 1.0
    validation_share: float = 0.2

    def finetune_epochs(self, n_issues: int, batch_size: int = 16) -> int:
        """The epochs to fine-tune for on ``n_issues``: ``epochs``, or by the rule above."""
        if self.epochs is not None:
            return self.epochs
        batches = max(1, math.ceil(n_issues / batch_size))
        return min(6, max(2, math.ceil(MIN_FINETUNE_STEPS / batches)))

    def uses_title_view(self, n_repositories: int) -> bool:
        """Whether the head reads the title embedding, for issues from ``n_repositories``."""
        return self.title_view if self.title_view is not None else n_repositories < 2


MIN_FINETUNE_STEPS = 60


def choose_runtime(
    truth: Sequence[int], fp32: Sequence[int], int8: Sequence[int], alpha: float = 0.05
) -> tuple[str, dict[str, int]]:
    """The encoder file ``predict`` uses: int8 (4x smaller, about 2x faster) unless it is wrong
    on significantly more validation issues than fp32 (a one-sided sign test, p < ``alpha``,
    on the issues exactly one of them gets right). A margin in macro-F1 would not do: on a
    project's 48-60 validation issues one issue moves macro-F1 by about 0.02, while held out
    int8 costs about 0.005 on average (docs/triage.md, stage 10). Returns the runtime and the
    counts."""
    only_int8_wrong = sum(bool(t == f != i) for t, f, i in zip(truth, fp32, int8, strict=True))
    only_fp32_wrong = sum(bool(t == i != f) for t, f, i in zip(truth, fp32, int8, strict=True))
    n = only_int8_wrong + only_fp32_wrong
    p_value = sum(math.comb(n, k) for k in range(only_int8_wrong, n + 1)) / 2**n
    counts = {"only_int8_wrong": only_int8_wrong, "only_fp32_wrong": only_fp32_wrong}
    return ("fp32" if p_value < alpha else "int8"), counts


@dataclass
class TrainResult:
    """What training measured, for the model card and the caller."""

    manifest: Manifest
    validation: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)


def stratified_split(
    issues: Sequence[LabelledIssue], share: float, seed: int
) -> tuple[list[int], list[int]]:
    """Indices of (fit, validation): ``share`` of each (repo, label) group held out."""
    rng = random.Random(seed)
    groups: dict[tuple[str | None, str], list[int]] = {}
    for i, issue in enumerate(issues):
        groups.setdefault((issue.repo, issue.label), []).append(i)
    fit, val = [], []
    for key in sorted(groups, key=str):
        members = list(groups[key])
        rng.shuffle(members)
        n_val = round(len(members) * share) if len(members) > 1 else 0
        val.extend(members[:n_val])
        fit.extend(members[n_val:])
    return sorted(fit), sorted(val)


def tokenizer_file(base_model: str, work: Path) -> Path:
    """The base model's ``tokenizer.json``, written from transformers when it has none."""
    candidate = Path(base_model) / "tokenizer.json"
    if candidate.is_file():
        return candidate
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    if not getattr(tokenizer, "is_fast", False):
        raise UsageError(
            f"{base_model} has no fast tokenizer (tokenizer.json)",
            hint="use a BERT-family model with a tokenizers-library tokenizer",
        )
    target = work / "tokenizer.json"
    tokenizer.backend_tokenizer.save(str(target))
    return target


def _features(recipe: Recipe, n_repositories: int) -> list[Feature]:
    features = [Feature("embedding", "issue", recipe.max_tokens, weight=recipe.issue_weight)]
    if recipe.uses_title_view(n_repositories):
        features.append(Feature("embedding", "title", 64))
    features += [Feature("lexical", lex.view, lex.dim, weight=lex.weight) for lex in recipe.lexical]
    return features


def progress_bar(total: int, desc: str, enabled: bool, unit: str = "issue") -> Any:
    """A tqdm bar on stderr counting ``unit`` (off when ``enabled`` is false: not a terminal)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=False)


def train(
    issues: Sequence[LabelledIssue],
    out: Path,
    *,
    base_model: str,
    recipe: Recipe = Recipe(),
    seed: int = 0,
    target_precision: float = 0.9,
    labels: Sequence[str] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Trains, exports and writes a model directory at ``out``; returns what it measured."""
    import torch

    from bot.triage.encoder import (
        classify_finetune,
        contrastive_finetune,
        describe,
        embed,
        export_onnx,
        load_encoder,
        quantize_int8,
        seed_everything,
    )

    labels = list(labels) if labels else label_set(issues)
    if len(labels) < 2:
        raise UsageError("training needs at least two labels", hint="add issues of another type")
    y = np.array([labels.index(issue.label) for issue in issues])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    seed_everything(seed)
    fit_idx, val_idx = stratified_split(issues, recipe.validation_share, seed)
    if len(val_idx) < len(labels):
        raise UsageError(
            f"only {len(issues)} issues: too few for a validation split",
            hint="give at least a few dozen labelled issues per label",
        )
    tokenizer_path = tokenizer_file(base_model, out)
    tokenizer = load_tokenizer(tokenizer_path)
    encoder = load_encoder(base_model)

    losses: list[float] = []
    epochs_run: dict[str, int] = {}  # fine-tuning epochs per stage, for the model card
    # the encoder learns from the fit split only: validation stays unseen for calibration
    if recipe.contrastive_epochs > 0 and recipe.pairs_per_issue > 0:
        short = [
            issue_ids(tokenizer, issues[i].title, issues[i].body, recipe.finetune_max_tokens)
            for i in fit_idx
        ]
        n_pairs = recipe.pairs_per_issue * len(fit_idx)
        t0 = time.perf_counter()
        for epoch in range(recipe.contrastive_epochs):
            with progress_bar(
                2 * n_pairs, f"contrastive epoch {epoch + 1}", progress, unit="pair"
            ) as bar:
                losses += contrastive_finetune(
                    encoder,
                    short,
                    [int(y[i]) for i in fit_idx],
                    n_pairs=n_pairs,
                    seed=seed + epoch,
                    learning_rate=recipe.contrastive_learning_rate,
                    progress=lambda n, bar=bar: bar.update(2 * n),
                )
        seconds["contrastive"] = time.perf_counter() - t0

    def finetune(rows: Sequence[int], stage: str) -> None:
        epochs = recipe.finetune_epochs(len(rows))
        if epochs <= 0:
            return
        epochs_run[stage] = epochs
        t0 = time.perf_counter()
        # never tuned on more tokens than the issue view will read
        tokens = min(recipe.finetune_max_tokens, recipe.max_tokens)
        seqs = [issue_ids(tokenizer, issues[i].title, issues[i].body, tokens) for i in rows]
        with progress_bar(epochs * len(seqs), f"{stage} ({epochs} epochs)", progress) as bar:
            losses.extend(
                classify_finetune(
                    encoder,
                    seqs,
                    [int(y[i]) for i in rows],
                    n_labels=len(labels),
                    epochs=epochs,
                    seed=seed,
                    learning_rate=recipe.learning_rate,
                    progress=bar.update,
                )
            )
        seconds[stage] = time.perf_counter() - t0

    finetune(fit_idx, "finetune")

    features = _features(recipe, len({i.repo for i in issues} - {None}))
    t0 = time.perf_counter()
    sequences: dict[str, list[list[int]]] = {}
    embeddings: dict[str, np.ndarray] = {}
    for feature in features:
        if feature.kind != "embedding":
            continue
        seqs = [
            issue_ids(tokenizer, i.title, i.body if feature.view == "issue" else "", feature.size)
            for i in issues
        ]
        sequences[feature.view] = seqs

    def embed_views() -> None:
        for view, seqs in sequences.items():
            with progress_bar(len(seqs), f"embed {view}", progress) as bar:
                embeddings[view] = embed(encoder, seqs, progress=bar.update)

    embed_views()
    texts = [(i.title, i.body) for i in issues]
    counts = {
        k: hashed_counts_sparse(texts, f.size, f.view)
        for k, f in enumerate(features)
        if f.kind == "lexical"
    }
    seconds["embed"] = time.perf_counter() - t0
    repos = [i.repo for i in issues]
    domains = repos if recipe.per_repo and len(set(repos) - {None}) >= 2 else None

    def matrix(
        rows: Sequence[int], idf: dict[int, np.ndarray], blocks: dict[str, np.ndarray]
    ) -> Any:
        from scipy import sparse

        rows = list(rows)
        parts = []
        for k, feature in enumerate(features):
            if feature.kind == "embedding":
                parts.append(sparse.csr_matrix(feature.weight * blocks[feature.view][rows]))
            else:
                parts.append(feature.weight * tfidf(counts[k][rows], idf[k]))
        return sparse.hstack(parts).tocsr()

    def fit(
        rows: Sequence[int], idf: dict[int, np.ndarray], blocks: dict[str, np.ndarray]
    ) -> LinearHead:
        return fit_head(
            matrix(rows, idf, blocks),
            y[list(rows)],
            len(labels),
            l2=recipe.l2,
            domains=[repos[i] for i in rows] if domains else None,
            domain_scale=recipe.domain_scale,
        )

    fp32_path, int8_path = out / "encoder.onnx", out / "encoder.int8.onnx"

    def export() -> None:
        t0 = time.perf_counter()
        export_onnx(encoder, fp32_path)
        quantize_int8(fp32_path, int8_path)
        seconds["export"] = seconds.get("export", 0.0) + time.perf_counter() - t0

    def exported_embeddings(path: Path, rows: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        """The embedding views of ``rows`` (default: every issue; the others stay zero) as the
        exported file at ``path`` computes them. The head of an int8 model is fitted on the
        int8 file's, not on torch's float ones, so it learns the quantised encoder's small
        shifts (held out, int8 with a head fitted on float embeddings lost 0.010 macro-F1
        against fp32, with this one 0.005; stage 10)."""
        t0 = time.perf_counter()
        session = onnx_session(path)  # opened as prediction opens it
        rows = range(len(issues)) if rows is None else rows
        blocks = {}
        for view, seqs in sequences.items():
            blocks[view] = np.zeros_like(embeddings[view])
            blocks[view][list(rows)] = onnx_embeddings(session, [seqs[i] for i in rows])
        seconds["embed_onnx"] = seconds.get("embed_onnx", 0.0) + time.perf_counter() - t0
        return blocks

    export()

    # validation: each runtime's head fitted on the fit split as that runtime embeds it and
    # scored on the held-out split; the scores choose the runtime, whose held-out logits then
    # set the temperature and the thresholds. The fp32 file is checked against torch: the
    # torch head on its embeddings.
    val_domains = [repos[i] for i in val_idx]
    idf_fit = {k: fit_idf(c[fit_idx]) for k, c in counts.items()}
    truth = [labels[i] for i in y[val_idx]]
    quantised = exported_embeddings(int8_path)
    head_torch = fit(fit_idx, idf_fit, embeddings)
    head_int8 = fit(fit_idx, idf_fit, quantised)
    val_logits = {
        "torch": head_torch.logits(matrix(val_idx, idf_fit, embeddings), val_domains),
        "fp32": head_torch.logits(
            matrix(val_idx, idf_fit, exported_embeddings(fp32_path, val_idx)), val_domains
        ),
        "int8": head_int8.logits(matrix(val_idx, idf_fit, quantised), val_domains),
    }
    validation: dict[str, float] = {
        f"{name}_macro_f1": macro_f1(truth, [labels[i] for i in logits.argmax(1)], labels)
        for name, logits in val_logits.items()
    }
    validation["n"] = len(val_idx)
    runtime, disagreements = choose_runtime(
        y[val_idx], val_logits["fp32"].argmax(1), val_logits["int8"].argmax(1)
    )
    validation.update(disagreements)
    chosen_logits = val_logits[runtime]
    temperature = fit_temperature(chosen_logits, y[val_idx])
    val_probs = softmax(chosen_logits / temperature)
    thresholds = choose_thresholds(val_probs, y[val_idx], labels, target_precision)

    if recipe.refit_encoder and recipe.finetune_epochs(len(issues)) > 0:
        # calibrated on held-out issues above; the shipped encoder learns from every issue
        # (as the head does below), a fresh fine-tune from the base model with the same seed
        seed_everything(seed)
        encoder = load_encoder(base_model)
        finetune(range(len(issues)), "refit")
        embed_views()
        export()
        if runtime == "int8":
            quantised = exported_embeddings(int8_path)
        validation["encoder_saw_validation"] = 1

    # the final head sees every issue, as the shipped runtime embeds them; temperature and
    # thresholds stay the held-out ones
    idf_all = {k: fit_idf(c) for k, c in counts.items()}
    head = fit(range(len(issues)), idf_all, quantised if runtime == "int8" else embeddings)
    head_arrays = {
        "weights": head.weights,
        "bias": head.bias,
        # kept so a repository's own target precision can re-derive the thresholds
        "validation_probabilities": val_probs.astype(np.float32),
        "validation_truth": y[val_idx],
        **{f"idf_{k}": idf for k, idf in idf_all.items()},
    }
    domain_names = sorted(head.deltas)
    if domain_names:
        head_arrays["deltas"] = np.stack([head.deltas[name] for name in domain_names])
    np.savez(out / "head.npz", **head_arrays)
    if tokenizer_path != out / "tokenizer.json":
        shutil.copyfile(tokenizer_path, out / "tokenizer.json")
    seconds["total"] = time.perf_counter() - started

    manifest = Manifest(
        labels=labels,
        features=features,
        thresholds=thresholds,
        temperature=temperature,
        target_precision=target_precision,
        runtime=runtime,
        base_model=str(base_model),
        domains=domain_names,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    result = TrainResult(manifest, validation, seconds, losses)
    from bot.triage.card import write_model_card

    write_model_card(
        out,
        result,
        issues=issues,
        recipe={**asdict(recipe), "epochs_run": epochs_run},
        seed=seed,
        encoder_facts=describe(encoder),
        torch_version=torch.__version__,
    )
    write_manifest(out, manifest)
    return result
