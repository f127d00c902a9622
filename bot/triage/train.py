"""Training a triage model directory from labelled issues (the torch + transformers side).

``train`` is a short pipeline of named steps that pass plain data, so each step can be read,
tested and timed alone:

1. ``split_issues``: a stratified validation split (``Recipe.validation_share`` of every
   repository and label), held out from the encoder and the head for calibration;
2. ``read_corpus``: the issues as the model reads them: label indices, token ids of every
   embedding view and hashed term counts of every lexical view;
3. ``tuned_encoder``: the base encoder fine-tuned on the fit split's labels through its
   mean-pooled embedding (a cosine classifier whose layer is then dropped);
4. ``embed_views`` and ``export_encoder``: the tuned embeddings, and the encoder as ONNX fp32
   and int8 files;
5. ``choose_runtime`` (via ``validate_runtimes``): heads fitted on the fit split score the
   validation split as each encoder file embeds it; int8 ships unless it is significantly
   worse;
6. ``calibrate``: the temperature and per-label thresholds on the chosen runtime's
   validation logits;
7. with ``Recipe.refit_encoder`` (default), a fresh encoder fine-tuned on every issue
   replaces the first (temperature and thresholds stay the held-out ones);
8. ``write_model``: the final head fitted on every issue, ``head.npz``, the tokenizer, the
   model card and, last, the manifest.

Why each choice: docs/triage-why.md.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
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

MIN_FINETUNE_STEPS = 60


@dataclass(frozen=True)
class Recipe:
    """The knobs of training; the defaults are the measured best (docs/triage-why.md)."""

    max_tokens: int = 256
    # the tuned embedding of the title alone, beside the (title + body) one; None: only for a
    # model of one repository (5-fold CV: one repository 0.817 with it, 0.813 without; several
    # 0.817 with it, 0.821 without)
    title_view: bool | None = None
    lexical: tuple[LexicalView, ...] = DEFAULT_LEXICAL
    per_repo: bool = True  # per-repository corrections when the issues span >= 2 repositories
    domain_scale: float = 1.0  # > 1: the corrections cost less under the penalty (fit_head)
    # fine-tuning epochs of the encoder on the labels; 0: frozen encoder; None: enough for
    # MIN_FINETUNE_STEPS batches, 2 to 6 epochs (measured: 4 on a project's 240, 2 on 1,200)
    epochs: int | None = None
    finetune_max_tokens: int = 128  # shorter than max_tokens: fine-tuning is the slow part
    learning_rate: float = 5e-5
    # weight of the issue embedding against the other blocks (x4 won on two folds, lost on five)
    issue_weight: float = 1.0
    # after calibrating on the validation split, fine-tune again on every issue for the
    # encoder that ships (twice the fine-tuning time; more data for the model that is used)
    refit_encoder: bool = True
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

    def features(self, n_repositories: int) -> list[Feature]:
        """The head's input blocks for issues from ``n_repositories``, in manifest order."""
        features = [Feature("embedding", "issue", self.max_tokens, weight=self.issue_weight)]
        if self.uses_title_view(n_repositories):
            features.append(Feature("embedding", "title", 64))
        features += [
            Feature("lexical", lex.view, lex.dim, weight=lex.weight) for lex in self.lexical
        ]
        return features


@dataclass
class TrainResult:
    """What training measured, for the model card and the caller."""

    manifest: Manifest
    validation: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)


# -- the steps' plain data ---------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Indices of the issues the encoder and the first head learn from, and of those held
    out to calibrate them."""

    fit: list[int]
    validation: list[int]


@dataclass
class Corpus:
    """The training issues as the model reads them."""

    labels: list[str]
    y: np.ndarray  # label index per issue
    repos: list[str | None]
    features: list[Feature]
    # token ids of every issue per embedding view ("issue", "title"), and at the shorter
    # fine-tuning budget ("finetune")
    sequences: dict[str, list[list[int]]]
    counts: dict[int, Any]  # hashed term counts (sparse) per lexical feature index
    per_repo: bool  # whether the head learns a correction per repository


@dataclass
class Tuning:
    """One fine-tuning run: its epochs, the loss per batch and the seconds it took."""

    epochs: int = 0
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class EncoderFiles:
    fp32: Path
    int8: Path


@dataclass
class Validation:
    """The validation split scored with each runtime, and the runtime chosen."""

    logits: dict[str, np.ndarray]  # "torch", "fp32", "int8"
    scores: dict[str, float]  # macro-F1 per runtime, the split's size, the sign test's counts
    runtime: str


@dataclass(frozen=True)
class Calibration:
    temperature: float
    thresholds: dict[str, float]
    probabilities: np.ndarray  # calibrated validation probabilities, kept in head.npz
    truth: np.ndarray


# -- the steps ---------------------------------------------------------------------------


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


def split_issues(
    issues: Sequence[LabelledIssue], labels: Sequence[str], recipe: Recipe, seed: int
) -> Split:
    """The validation split, refused when it cannot hold an issue per label."""
    fit, validation = stratified_split(issues, recipe.validation_share, seed)
    if len(validation) < len(labels):
        raise UsageError(
            f"only {len(issues)} issues: too few for a validation split",
            hint="give at least a few dozen labelled issues per label",
        )
    return Split(fit, validation)


def read_corpus(
    issues: Sequence[LabelledIssue], labels: Sequence[str], tokenizer: Any, recipe: Recipe
) -> Corpus:
    """Tokenizes and counts every issue once, for every step that reads them."""
    repos = [issue.repo for issue in issues]
    n_repositories = len(set(repos) - {None})
    features = recipe.features(n_repositories)
    sequences = {
        feature.view: [
            issue_ids(tokenizer, i.title, i.body if feature.view == "issue" else "", feature.size)
            for i in issues
        ]
        for feature in features
        if feature.kind == "embedding"
    }
    # never tuned on more tokens than the issue view will read
    tokens = min(recipe.finetune_max_tokens, recipe.max_tokens)
    sequences["finetune"] = [issue_ids(tokenizer, i.title, i.body, tokens) for i in issues]
    texts = [(i.title, i.body) for i in issues]
    counts = {
        k: hashed_counts_sparse(texts, f.size, f.view)
        for k, f in enumerate(features)
        if f.kind == "lexical"
    }
    return Corpus(
        labels=list(labels),
        y=np.array([labels.index(issue.label) for issue in issues]),
        repos=repos,
        features=features,
        sequences=sequences,
        counts=counts,
        per_repo=recipe.per_repo and n_repositories >= 2,
    )


def tuned_encoder(
    base_model: str,
    corpus: Corpus,
    rows: Sequence[int],
    recipe: Recipe,
    *,
    seed: int,
    stage: str,
    progress: bool,
) -> tuple[Any, Tuning]:
    """The base encoder, seeded and loaded afresh, fine-tuned on the labels of ``rows``
    (``Recipe.finetune_epochs``; none: the frozen encoder)."""
    from bot.triage.encoder import classify_finetune, load_encoder, seed_everything

    seed_everything(seed)
    encoder = load_encoder(base_model)
    epochs = recipe.finetune_epochs(len(rows))
    if epochs <= 0:
        return encoder, Tuning()
    started = time.perf_counter()
    seqs = [corpus.sequences["finetune"][i] for i in rows]
    with progress_bar(epochs * len(seqs), f"{stage} ({epochs} epochs)", progress) as bar:
        losses = classify_finetune(
            encoder,
            seqs,
            [int(corpus.y[i]) for i in rows],
            n_labels=len(corpus.labels),
            epochs=epochs,
            seed=seed,
            learning_rate=recipe.learning_rate,
            progress=bar.update,
        )
    return encoder, Tuning(epochs, losses, time.perf_counter() - started)


def embed_views(encoder: Any, corpus: Corpus, progress: bool) -> dict[str, np.ndarray]:
    """Every issue's embedding per view of the head, as the torch encoder computes it."""
    from bot.triage.encoder import embed

    embeddings = {}
    for view in _embedding_views(corpus):
        seqs = corpus.sequences[view]
        with progress_bar(len(seqs), f"embed {view}", progress) as bar:
            embeddings[view] = embed(encoder, seqs, progress=bar.update)
    return embeddings


def export_encoder(encoder: Any, out: Path) -> EncoderFiles:
    """The encoder as the two ONNX files ``predict`` can run: fp32, and int8 weights."""
    from bot.triage.encoder import export_onnx, quantize_int8

    files = EncoderFiles(out / "encoder.onnx", out / "encoder.int8.onnx")
    export_onnx(encoder, files.fp32)
    quantize_int8(files.fp32, files.int8)
    return files


def exported_views(
    path: Path, corpus: Corpus, like: dict[str, np.ndarray], rows: Iterable[int] | None = None
) -> dict[str, np.ndarray]:
    """The embedding views of ``rows`` (default: every issue; the others stay zero) as the
    exported file at ``path`` computes them. The head of an int8 model is fitted on the int8
    file's embeddings, not on torch's float ones, so it learns the quantised encoder's small
    shifts (held out, this halved what int8 costs: 0.010 to 0.005 macro-F1)."""
    session = onnx_session(path)  # opened as prediction opens it
    rows = list(range(len(corpus.y)) if rows is None else rows)
    blocks = {}
    for view in _embedding_views(corpus):
        seqs = corpus.sequences[view]
        blocks[view] = np.zeros_like(like[view])
        blocks[view][rows] = onnx_embeddings(session, [seqs[i] for i in rows])
    return blocks


def feature_matrix(
    corpus: Corpus, rows: Sequence[int], idf: dict[int, np.ndarray], blocks: dict[str, np.ndarray]
) -> Any:
    """The head's sparse input for ``rows``: each block weighted as its feature says."""
    from scipy import sparse

    rows = list(rows)
    parts = []
    for k, feature in enumerate(corpus.features):
        if feature.kind == "embedding":
            parts.append(sparse.csr_matrix(feature.weight * blocks[feature.view][rows]))
        else:
            parts.append(feature.weight * tfidf(corpus.counts[k][rows], idf[k]))
    return sparse.hstack(parts).tocsr()


def fitted_head(
    corpus: Corpus,
    rows: Sequence[int],
    idf: dict[int, np.ndarray],
    blocks: dict[str, np.ndarray],
    recipe: Recipe,
) -> LinearHead:
    """The class-balanced logistic head on ``rows``, with per-repository corrections when
    the corpus spans several repositories."""
    rows = list(rows)
    return fit_head(
        feature_matrix(corpus, rows, idf, blocks),
        corpus.y[rows],
        len(corpus.labels),
        l2=recipe.l2,
        domains=[corpus.repos[i] for i in rows] if corpus.per_repo else None,
        domain_scale=recipe.domain_scale,
    )


def choose_runtime(
    truth: Sequence[int], fp32: Sequence[int], int8: Sequence[int], alpha: float = 0.05
) -> tuple[str, dict[str, int]]:
    """The encoder file ``predict`` uses: int8 (4x smaller, about 2x faster) unless it is wrong
    on significantly more validation issues than fp32 (a one-sided sign test, p < ``alpha``,
    on the issues exactly one of them gets right). A margin in macro-F1 would not do: on a
    project's 48-60 validation issues one issue moves macro-F1 by about 0.02, while held out
    int8 costs about 0.005 on average. Returns the runtime and the counts."""
    only_int8_wrong = sum(bool(t == f != i) for t, f, i in zip(truth, fp32, int8, strict=True))
    only_fp32_wrong = sum(bool(t == i != f) for t, f, i in zip(truth, fp32, int8, strict=True))
    n = only_int8_wrong + only_fp32_wrong
    p_value = sum(math.comb(n, k) for k in range(only_int8_wrong, n + 1)) / 2**n
    counts = {"only_int8_wrong": only_int8_wrong, "only_fp32_wrong": only_fp32_wrong}
    return ("fp32" if p_value < alpha else "int8"), counts


def validate_runtimes(
    corpus: Corpus,
    split: Split,
    recipe: Recipe,
    embeddings: dict[str, np.ndarray],
    quantised: dict[str, np.ndarray],
    fp32_validation: dict[str, np.ndarray],
) -> Validation:
    """Each runtime's head fitted on the fit split as that runtime embeds it, scored on the
    validation split; the scores choose the runtime. The fp32 file is checked against torch
    through the torch head."""
    fit, val = split.fit, split.validation
    idf_fit = {k: fit_idf(c[fit]) for k, c in corpus.counts.items()}
    val_repos = [corpus.repos[i] for i in val]
    head_torch = fitted_head(corpus, fit, idf_fit, embeddings, recipe)
    head_int8 = fitted_head(corpus, fit, idf_fit, quantised, recipe)
    logits = {
        "torch": head_torch.logits(feature_matrix(corpus, val, idf_fit, embeddings), val_repos),
        "fp32": head_torch.logits(feature_matrix(corpus, val, idf_fit, fp32_validation), val_repos),
        "int8": head_int8.logits(feature_matrix(corpus, val, idf_fit, quantised), val_repos),
    }
    truth = [corpus.labels[i] for i in corpus.y[val]]
    scores: dict[str, float] = {
        f"{name}_macro_f1": macro_f1(
            truth, [corpus.labels[i] for i in row.argmax(1)], corpus.labels
        )
        for name, row in logits.items()
    }
    scores["n"] = len(val)
    runtime, disagreements = choose_runtime(
        corpus.y[val], logits["fp32"].argmax(1), logits["int8"].argmax(1)
    )
    scores.update(disagreements)
    return Validation(logits, scores, runtime)


def calibrate(
    logits: np.ndarray, truth: np.ndarray, labels: Sequence[str], target_precision: float
) -> Calibration:
    """The temperature and the per-label thresholds for ``target_precision``, from held-out
    logits."""
    temperature = fit_temperature(logits, truth)
    probabilities = softmax(logits / temperature)
    thresholds = choose_thresholds(probabilities, truth, list(labels), target_precision)
    return Calibration(temperature, thresholds, probabilities, truth)


def write_model(
    out: Path,
    head: LinearHead,
    idf: dict[int, np.ndarray],
    calibration: Calibration,
    tokenizer_path: Path,
) -> list[str]:
    """``head.npz`` and ``tokenizer.json`` in the model directory; returns the repositories
    with their own corrections, in the order their rows are stored."""
    arrays = {
        "weights": head.weights,
        "bias": head.bias,
        # kept so a repository's own target precision can re-derive the thresholds
        "validation_probabilities": calibration.probabilities.astype(np.float32),
        "validation_truth": calibration.truth,
        **{f"idf_{k}": values for k, values in idf.items()},
    }
    domains = sorted(head.deltas)
    if domains:
        arrays["deltas"] = np.stack([head.deltas[name] for name in domains])
    np.savez(out / "head.npz", **arrays)
    if tokenizer_path != out / "tokenizer.json":
        shutil.copyfile(tokenizer_path, out / "tokenizer.json")
    return domains


# -- the pipeline ------------------------------------------------------------------------


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
    labels = list(labels) if labels else label_set(issues)
    if len(labels) < 2:
        raise UsageError("training needs at least two labels", hint="add issues of another type")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clock = Stopwatch()

    split = split_issues(issues, labels, recipe, seed)
    tokenizer_path = tokenizer_file(base_model, out)
    corpus = read_corpus(issues, labels, load_tokenizer(tokenizer_path), recipe)
    tunings: dict[str, Tuning] = {}

    # the encoder learns from the fit split only: validation stays unseen for calibration
    encoder, tunings["finetune"] = tuned_encoder(
        base_model, corpus, split.fit, recipe, seed=seed, stage="finetune", progress=progress
    )
    embeddings = clock.time("embed", embed_views, encoder, corpus, progress)
    files = clock.time("export", export_encoder, encoder, out)
    quantised = clock.time("embed_onnx", exported_views, files.int8, corpus, embeddings)
    fp32_validation = clock.time(
        "embed_onnx", exported_views, files.fp32, corpus, embeddings, split.validation
    )
    validation = validate_runtimes(corpus, split, recipe, embeddings, quantised, fp32_validation)
    calibration = calibrate(
        validation.logits[validation.runtime],
        corpus.y[split.validation],
        labels,
        target_precision,
    )

    everything = range(len(issues))
    if recipe.refit_encoder and recipe.finetune_epochs(len(issues)) > 0:
        # calibrated on held-out issues above; the shipped encoder learns from every issue
        # (as the head does below), a fresh fine-tune from the base model with the same seed
        encoder, tunings["refit"] = tuned_encoder(
            base_model, corpus, everything, recipe, seed=seed, stage="refit", progress=progress
        )
        embeddings = clock.time("embed", embed_views, encoder, corpus, progress)
        files = clock.time("export", export_encoder, encoder, out)
        if validation.runtime == "int8":
            quantised = clock.time("embed_onnx", exported_views, files.int8, corpus, embeddings)
        validation.scores["encoder_saw_validation"] = 1

    # the final head sees every issue, as the shipped runtime embeds them; temperature and
    # thresholds stay the held-out ones
    idf_all = {k: fit_idf(c) for k, c in corpus.counts.items()}
    blocks = quantised if validation.runtime == "int8" else embeddings
    head = fitted_head(corpus, everything, idf_all, blocks, recipe)
    domains = write_model(out, head, idf_all, calibration, tokenizer_path)
    return _finish(
        out,
        issues,
        encoder,
        Manifest(
            labels=labels,
            features=corpus.features,
            thresholds=calibration.thresholds,
            temperature=calibration.temperature,
            target_precision=target_precision,
            runtime=validation.runtime,
            base_model=str(base_model),
            domains=domains,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        ),
        validation.scores,
        tunings,
        clock,
        recipe=recipe,
        seed=seed,
    )


def _finish(
    out: Path,
    issues: Sequence[LabelledIssue],
    encoder: Any,
    manifest: Manifest,
    scores: dict[str, float],
    tunings: dict[str, Tuning],
    clock: Stopwatch,
    *,
    recipe: Recipe,
    seed: int,
) -> TrainResult:
    """The model card, then the manifest last (a directory with one is complete)."""
    import torch

    from bot.triage.card import write_model_card
    from bot.triage.encoder import describe

    tuned = {stage: t for stage, t in tunings.items() if t.epochs}
    seconds = {stage: t.seconds for stage, t in tuned.items()}
    seconds.update(clock.seconds)
    seconds["total"] = clock.elapsed()
    losses = [loss for t in tuned.values() for loss in t.losses]
    result = TrainResult(manifest, scores, seconds, losses)
    write_model_card(
        out,
        result,
        issues=issues,
        recipe={**asdict(recipe), "epochs_run": {s: t.epochs for s, t in tuned.items()}},
        seed=seed,
        encoder_facts=describe(encoder),
        torch_version=torch.__version__,
    )
    write_manifest(out, manifest)
    return result


# -- helpers -----------------------------------------------------------------------------


class Stopwatch:
    """Seconds per named step, summed over repeats, and since training started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def time(self, name: str, step: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return step(*args)
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def _embedding_views(corpus: Corpus) -> list[str]:
    return [f.view for f in corpus.features if f.kind == "embedding"]


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


def progress_bar(total: int, desc: str, enabled: bool, unit: str = "issue") -> Any:
    """A tqdm bar on stderr counting ``unit`` (off when ``enabled`` is false: not a terminal)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=False)
