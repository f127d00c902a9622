"""Training a triage model directory from labelled issues (torch + transformers side).

The recipe, chosen by the measurements in docs/triage.md:

1. carve a stratified validation split (default 20 %) from the training issues;
2. optional (``--epochs N``) SetFit-style contrastive step: the encoder (mean pooling) learns
   that issues of one label are close and of different labels far apart, from pairs of
   training issues. It lifts the embedding alone but did not lift the combined head below
   in the folds measured, at about ten times the training time, so it is off by default;
3. features: the embedding of title + cleaned body (head and tail within the token budget),
   the embedding of the title alone, and hashed word/word-pair TF-IDF;
4. a class-balanced logistic-regression head; its temperature and the per-label thresholds
   for the target precision are fitted on the validation split, then the head is refitted on
   all issues;
5. export the encoder to ONNX (fp32 and int8) and write the manifest and model card.
"""

from __future__ import annotations

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
from bot.triage.head import LinearHead, fit_head, fit_temperature
from bot.triage.lexical import DEFAULT_DIM, fit_idf, hashed_counts, tfidf
from bot.triage.metrics import macro_f1
from bot.triage.modeldir import Feature, Manifest, write_manifest
from bot.triage.thresholds import choose_thresholds
from bot.triage.tokens import issue_ids, load_tokenizer


@dataclass(frozen=True)
class Recipe:
    """The knobs of training; the defaults are the measured best (docs/triage.md)."""

    max_tokens: int = 256
    title_view: bool = True
    lexical: bool = True
    lexical_dim: int = DEFAULT_DIM
    lexical_weight: float = 3.0  # the TF-IDF block scaled against the unit-length embeddings
    epochs: int = 0  # contrastive epochs; 0: the encoder stays frozen (measured best)
    pairs_per_issue: int = 4  # contrastive pairs drawn per training issue and epoch
    contrastive_max_tokens: int = 128
    learning_rate: float = 2e-5
    l2: float = 1.0
    validation_share: float = 0.2


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


def _tokenizer_file(base_model: str, work: Path) -> Path:
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


def _features(recipe: Recipe) -> list[Feature]:
    features = [Feature("embedding", "issue", recipe.max_tokens)]
    if recipe.title_view:
        features.append(Feature("embedding", "title", 64))
    if recipe.lexical:
        features.append(
            Feature("lexical", "issue", recipe.lexical_dim, weight=recipe.lexical_weight)
        )
    return features


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="issue", disable=not enabled, leave=False)


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
    tokenizer_path = _tokenizer_file(base_model, out)
    tokenizer = load_tokenizer(tokenizer_path)
    encoder = load_encoder(base_model)

    losses: list[float] = []
    if recipe.epochs > 0 and recipe.pairs_per_issue > 0:
        short = [
            issue_ids(tokenizer, issues[i].title, issues[i].body, recipe.contrastive_max_tokens)
            for i in fit_idx
        ]
        n_pairs = recipe.pairs_per_issue * len(fit_idx)
        t0 = time.perf_counter()
        for epoch in range(recipe.epochs):
            with _progress(2 * n_pairs, f"contrastive epoch {epoch + 1}", progress) as bar:
                losses += contrastive_finetune(
                    encoder,
                    short,
                    [int(y[i]) for i in fit_idx],
                    n_pairs=n_pairs,
                    seed=seed + epoch,
                    learning_rate=recipe.learning_rate,
                    progress=lambda n, bar=bar: bar.update(2 * n),
                )
        seconds["contrastive"] = time.perf_counter() - t0

    features = _features(recipe)
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
        with _progress(len(seqs), f"embed {feature.view}", progress) as bar:
            embeddings[feature.view] = embed(encoder, seqs, progress=bar.update)
    counts = hashed_counts([(i.title, i.body) for i in issues], recipe.lexical_dim)
    seconds["embed"] = time.perf_counter() - t0

    def matrix(rows: Sequence[int], idf: np.ndarray | None, blocks: dict[str, np.ndarray]) -> Any:
        parts = []
        for feature in features:
            if feature.kind == "embedding":
                parts.append(feature.weight * blocks[feature.view][rows])
            else:
                parts.append(feature.weight * tfidf(counts[rows], idf))
        return np.hstack(parts)

    # validation: temperature, thresholds, and fp32 vs int8 agreement of the export
    idf_fit = fit_idf(counts[fit_idx])
    head_fit = fit_head(matrix(fit_idx, idf_fit, embeddings), y[fit_idx], len(labels), l2=recipe.l2)
    val_logits = head_fit.logits(matrix(val_idx, idf_fit, embeddings))
    temperature = fit_temperature(val_logits, y[val_idx])
    val_probs = LinearHead(head_fit.weights, head_fit.bias, temperature).probabilities(
        matrix(val_idx, idf_fit, embeddings)
    )
    thresholds = choose_thresholds(val_probs, y[val_idx], labels, target_precision)

    t0 = time.perf_counter()
    fp32_path, int8_path = out / "encoder.onnx", out / "encoder.int8.onnx"
    export_onnx(encoder, fp32_path)
    quantize_int8(fp32_path, int8_path)
    seconds["export"] = time.perf_counter() - t0

    truth = [labels[i] for i in y[val_idx]]
    validation = {
        "torch_macro_f1": macro_f1(truth, [labels[i] for i in val_probs.argmax(1)], labels)
    }
    for name, path in (("fp32", fp32_path), ("int8", int8_path)):
        onnx_blocks = {
            view: _onnx_embed(path, [seqs[i] for i in val_idx]) for view, seqs in sequences.items()
        }
        full = {view: np.zeros_like(embeddings[view]) for view in onnx_blocks}
        for view, vectors in onnx_blocks.items():
            full[view][val_idx] = vectors
        predicted = head_fit.logits(matrix(val_idx, idf_fit, full)).argmax(1)
        validation[f"{name}_macro_f1"] = macro_f1(truth, [labels[i] for i in predicted], labels)
    validation["n"] = len(val_idx)
    runtime = (
        "int8" if validation["int8_macro_f1"] >= validation["fp32_macro_f1"] - 0.01 else "fp32"
    )

    # the final head sees every issue; temperature and thresholds stay the held-out ones
    idf_all = fit_idf(counts)
    head = fit_head(matrix(range(len(issues)), idf_all, embeddings), y, len(labels), l2=recipe.l2)
    head_arrays = {
        "weights": head.weights,
        "bias": head.bias,
        # kept so a repository's own target precision can re-derive the thresholds
        "validation_probabilities": val_probs.astype(np.float32),
        "validation_truth": y[val_idx],
    }
    if recipe.lexical:
        head_arrays["idf"] = idf_all
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
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    result = TrainResult(manifest, validation, seconds, losses)
    from bot.triage.card import write_model_card

    write_model_card(
        out,
        result,
        issues=issues,
        recipe=asdict(recipe),
        seed=seed,
        encoder_facts=describe(encoder),
        torch_version=torch.__version__,
    )
    write_manifest(out, manifest)
    return result


def _onnx_embed(path: Path, sequences: Sequence[Sequence[int]]) -> np.ndarray:
    import onnxruntime as ort

    from bot.triage.tokens import batch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = []
    for start in range(0, len(sequences), 16):
        enc = batch(sequences[start : start + 16])
        (vectors,) = session.run(
            ["embedding"],
            {
                "input_ids": enc.input_ids,
                "attention_mask": enc.attention_mask,
                "token_type_ids": enc.token_type_ids,
            },
        )
        out.append(vectors)
    return np.vstack(out)
