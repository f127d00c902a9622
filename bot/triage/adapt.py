"""Adapting a trained model to one repository from its own labelled issues: NumPy only.

A model trained on other projects scores lower on a repository it never saw (leave one
repository out: docs/triage-why.md), and most repositories already hold issues a person
labelled. Fine-tuning the encoder needs torch and minutes; this module keeps the shipped
encoder and its embeddings and learns a *correction* of the head for the repository, as
the head's own per-repository corrections do (bot/triage/head.py), in seconds:

    logits = base_logits / T + x @ delta + beta

``delta`` is penalised by ``l2 * |delta|^2 / 2`` (the shipped head is the prior, so a few
issues move it a little and many move it more) and ``beta`` (a shift of each label's prior)
by ``bias_l2``. The penalty keeps the optimum in the span of the issues' features, so the
fit is solved in the dual, over one coefficient per issue and label (Newton steps on a
matrix of ``(k + 1) * labels`` rows): no scipy, no torch, whatever the head's width.

Thresholds for the repository come from out-of-fold predictions of the same fit on its
issues (each issue predicted by a correction fitted without it), never from the issues the
correction saw. The result is a model directory of the usual format: the correction is
folded into the head's shared weights, the encoder file is hard-linked from the base model
(copied where a link is impossible), so ``triage.model`` and ``--model`` read it as any.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.errors import UsageError
from bot.triage.head import softmax
from bot.triage.lexical import TERM_VIEWS, hashed_counts, tfidf
from bot.triage.modeldir import write_manifest
from bot.triage.thresholds import choose_thresholds
from bot.triage.tokens import issue_ids

if TYPE_CHECKING:
    from bot.triage.data import LabelledIssue
    from bot.triage.runtime import Predictor

# measured on leave-one-project-out (research/triage/unseen.py, docs/triage-why.md)
DEFAULT_L2 = 1.0
DEFAULT_BIAS_L2 = 1.0
# the issues of a repository an adaptation reads at most (the most recent, by number): the
# head's features are about 131,000 wide, so 500 issues hold about 260 MB in memory
MAX_ISSUES = 500
OOF_FOLDS = 5
# labelled issues from which the repository's own thresholds (chosen on the out-of-fold
# predictions) replace the base model's: on leave-one-project-out they kept the 0.9 promise
# from 25 issues on (0.92 at 36 % coverage), where the base model's in-domain thresholds
# gave 0.86 (research/triage/unseen.py, docs/triage-why.md)
MIN_OWN_THRESHOLD_ISSUES = 25


@dataclass
class Adapted:
    """What ``adapt`` measured and wrote."""

    out: Path
    n_issues: int
    per_label: dict[str, int]
    thresholds: dict[str, float]
    thresholds_from: str  # "repository" (out-of-fold) or "base"
    oof_macro_f1: float | None
    base_oof_macro_f1: float | None
    encoder: str  # "linked" or "copied"
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "issues": self.n_issues,
            "per_label": self.per_label,
            "thresholds": self.thresholds,
            "thresholds_from": self.thresholds_from,
            "out_of_fold_macro_f1": self.oof_macro_f1,
            "base_out_of_fold_macro_f1": self.base_oof_macro_f1,
            "encoder": self.encoder,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


# -- features ----------------------------------------------------------------------------


def head_features(
    predictor: Predictor,
    issues: Sequence[tuple[str, str]],
    embeddings: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The head's input for ``(title, body)`` pairs, as ``Predictor.features`` builds it;
    ``embeddings`` (per view, unit-length rows, e.g. cached by ``protocol --unseen``) spare
    the encoder pass."""
    embeddings = embeddings or {}
    blocks = []
    for k, feature in enumerate(predictor.manifest.features):
        if feature.kind == "embedding":
            vectors = embeddings.get(feature.view)
            if vectors is None:
                keep_body = feature.view == "issue"
                seqs = [
                    issue_ids(predictor.tokenizer, t, b if keep_body else "", feature.size)
                    for t, b in issues
                ]
                vectors = predictor.embed(seqs)
            blocks.append(feature.weight * np.asarray(vectors, dtype=np.float32))
        elif feature.kind == "lexical" and feature.view in TERM_VIEWS:
            counts = hashed_counts(issues, feature.size, feature.view)
            blocks.append(feature.weight * tfidf(counts, predictor.idf[k]).astype(np.float32))
        else:
            raise UsageError(
                f"{predictor.directory}: unknown feature {feature.kind!r} ({feature.view!r})",
                hint="adapt a model trained by this maintbot",
            )
    return np.hstack(blocks)


def base_logits(predictor: Predictor, features: np.ndarray, repo: str | None) -> np.ndarray:
    """The base head's calibrated logits (divided by its temperature), with the repository's
    own correction where the base model was trained on it."""
    head = predictor.head
    return head.logits(features, [repo] * len(features)) / head.temperature


# -- the fit -----------------------------------------------------------------------------


def fit_correction(
    gram: np.ndarray,
    base: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = DEFAULT_L2,
    bias_l2: float = DEFAULT_BIAS_L2,
    use_features: bool = True,
    iterations: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients ``A`` (issues x labels) and label shifts ``beta`` minimising the
    class-balanced cross-entropy of ``softmax(base + gram @ A + beta)`` on labels ``y``
    plus ``l2/2 tr(A' gram A) + bias_l2/2 |beta|^2`` (``delta = X' A`` has
    ``|delta|^2 = tr(A' gram A)``). Newton's method with halving steps: the problem is convex
    and small. ``use_features=False`` fits ``beta`` alone (a prior shift)."""
    n, c = base.shape
    counts = np.bincount(y, minlength=c).astype(np.float64)
    weight = (n / (np.count_nonzero(counts) * np.maximum(counts, 1)))[y]
    onehot = np.eye(c)[y]
    design = np.hstack([gram, np.ones((n, 1))]) if use_features else np.ones((n, 1))
    m = design.shape[1]
    penalty = np.zeros((m, m))
    if use_features:
        penalty[:n, :n] = l2 * gram
    penalty[-1, -1] = bias_l2
    theta = np.zeros((m, c))

    def objective(t: np.ndarray) -> tuple[float, np.ndarray]:
        z = base + design @ t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(weight * (onehot * log_p).sum(axis=1)).sum() + 0.5 * np.sum(t * (penalty @ t))
        return float(loss), np.exp(log_p)

    loss, p = objective(theta)
    for _ in range(iterations):
        grad = design.T @ (weight[:, None] * (p - onehot)) + penalty @ theta
        hessian = np.zeros((m * c, m * c))
        for i in range(c):
            for j in range(c):
                curvature = weight * p[:, i] * ((i == j) - p[:, j])
                block = design.T @ (curvature[:, None] * design)
                if i == j:
                    block = block + penalty
                hessian[i * m : (i + 1) * m, j * m : (j + 1) * m] = block
        hessian += 1e-8 * np.eye(m * c)
        try:
            step = np.linalg.solve(hessian, grad.T.ravel()).reshape(c, m).T
        except np.linalg.LinAlgError:  # duplicate issues: a flat direction, no unique step
            step = np.linalg.lstsq(hessian, grad.T.ravel(), rcond=None)[0].reshape(c, m).T
        scale = 1.0
        while scale > 1e-4:
            new_loss, new_p = objective(theta - scale * step)
            if new_loss <= loss:
                break
            scale /= 2
        else:
            break
        theta -= scale * step
        converged = loss - new_loss < 1e-9 * max(1.0, abs(loss))
        loss, p = new_loss, new_p
        if converged:
            break
    if use_features:
        return theta[:n], theta[n]
    return np.zeros((n, c)), theta[0]


def out_of_fold(
    gram: np.ndarray,
    base: np.ndarray,
    y: np.ndarray,
    *,
    folds: int = OOF_FOLDS,
    seed: int = 0,
    **options: Any,
) -> np.ndarray:
    """Calibrated probabilities of every issue from a correction fitted without it (``folds``
    folds, stratified by label): what thresholds for the repository may be chosen on."""
    rng = np.random.default_rng(seed)
    fold_of = np.zeros(len(y), dtype=int)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        fold_of[members] = np.arange(len(members)) % folds
    out = np.zeros_like(base)
    for k in range(folds):
        test, fit = fold_of == k, fold_of != k
        if not test.any() or not fit.any():
            continue
        a, beta = fit_correction(gram[np.ix_(fit, fit)], base[fit], y[fit], **options)
        out[test] = softmax(base[test] + gram[np.ix_(test, fit)] @ a + beta)
    return out


# -- the model directory -----------------------------------------------------------------


def adapt(
    base_dir: Path,
    issues: Sequence[LabelledIssue],
    out: Path,
    *,
    repo: str | None = None,
    target_precision: float | None = None,
    l2: float = DEFAULT_L2,
    bias_l2: float = DEFAULT_BIAS_L2,
    max_issues: int = MAX_ISSUES,
    log: Callable[[str], None] = lambda _: None,
) -> Adapted:
    """Writes at ``out`` the model at ``base_dir`` adapted to the repository whose labelled
    ``issues`` are given (``repo``: its name, for the base model's own correction if it was
    trained on it; default: the issues' repo when they name one)."""
    from bot.triage.metrics import macro_f1
    from bot.triage.runtime import Predictor

    clock = time.perf_counter()
    predictor = Predictor(base_dir)
    labels = predictor.labels
    unknown = sorted({i.label for i in issues} - set(labels))
    if unknown:
        raise UsageError(
            f"labels {', '.join(unknown)} are not labels of the base model ({', '.join(labels)})",
            hint="map the repository's labels onto the model's (labels.types in the config)",
        )
    if len(issues) < 2 * len(labels):
        raise UsageError(
            f"only {len(issues)} labelled issues: too few to adapt to",
            hint="give at least a few labelled issues per label (25 or more help measurably)",
        )
    if repo is None:
        names = {i.repo for i in issues if i.repo}
        repo = names.pop() if len(names) == 1 else None
    kept = sorted(issues, key=lambda i: -(i.number or 0))[:max_issues]
    if len(kept) < len(issues):
        log(f"adapting to the {len(kept)} most recent of {len(issues)} issues")
    texts = [(i.title, i.body) for i in kept]
    y = np.array([labels.index(i.label) for i in kept])
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    features = head_features(predictor, texts)
    seconds["features"] = time.perf_counter() - started
    started = time.perf_counter()
    gram = (features @ features.T).astype(np.float64)  # no float64 copy of the features
    base = base_logits(predictor, features, repo)
    options = {"l2": l2, "bias_l2": bias_l2}
    oof = out_of_fold(gram, base, y, **options)
    a, beta = fit_correction(gram, base, y, **options)
    seconds["fit"] = time.perf_counter() - started

    target = target_precision if target_precision is not None else predictor.target_precision
    truth_names = [labels[t] for t in y]
    oof_f1 = macro_f1(truth_names, [labels[k] for k in oof.argmax(1)], labels)
    base_f1 = macro_f1(truth_names, [labels[k] for k in base.argmax(1)], labels)
    if len(kept) >= MIN_OWN_THRESHOLD_ISSUES:
        thresholds = choose_thresholds(oof, y, labels, target)
        source = "repository"
    else:
        thresholds = (
            dict(predictor.thresholds)
            if target_precision is None
            else Predictor(base_dir, target_precision=target_precision).thresholds
        )
        source = "base"
    temperature = predictor.head.temperature
    # fold the correction into the shared weights (in raw-logit space: times temperature)
    head = predictor.head
    weights = np.asarray(head.weights, dtype=np.float64).copy()
    if repo in head.deltas:
        weights += head.deltas[repo]
    weights += temperature * (features.T @ a.astype(np.float32))
    bias = np.asarray(head.bias, dtype=np.float64) + temperature * beta
    encoder = write_adapted(
        predictor,
        Path(out),
        weights=weights.astype(np.float32),
        bias=bias.astype(np.float32),
        thresholds=thresholds,
        target_precision=target,
        oof=oof,
        truth=y,
    )
    seconds["total"] = time.perf_counter() - clock
    result = Adapted(
        out=Path(out),
        n_issues=len(kept),
        per_label={label: int((y == k).sum()) for k, label in enumerate(labels)},
        thresholds=thresholds,
        thresholds_from=source,
        oof_macro_f1=oof_f1,
        base_oof_macro_f1=base_f1,
        encoder=encoder,
        seconds=seconds,
    )
    _write_card(predictor, result, repo=repo, l2=l2, bias_l2=bias_l2)
    write_manifest(Path(out), _manifest(predictor, thresholds, target))  # last: complete
    return result


def write_adapted(
    predictor: Predictor,
    out: Path,
    *,
    weights: np.ndarray,
    bias: np.ndarray,
    thresholds: dict[str, float],
    target_precision: float,
    oof: np.ndarray,
    truth: np.ndarray,
) -> str:
    """``head.npz`` (the adapted shared head, no per-repository corrections; the out-of-fold
    predictions kept so another target precision can re-derive thresholds), the tokenizer
    and the encoder file; returns how the encoder got there ("linked" or "copied")."""
    out.mkdir(parents=True, exist_ok=True)
    stale = out / "triage-model.json"
    if stale.exists():
        stale.unlink()  # the directory is incomplete until the new manifest is written
    files = predictor.manifest.files
    with np.load(predictor.directory / files["head"]) as old:
        idf = {k: old[k] for k in old.files if k.startswith("idf_")}
    np.savez(
        out / "head.npz",
        weights=weights,
        bias=bias,
        validation_probabilities=oof.astype(np.float32),
        validation_truth=truth,
        **idf,
    )
    how = "linked"
    for role in (predictor.runtime, "tokenizer"):
        source = predictor.directory / files[role]
        target = out / Path(files[role]).name
        if target.exists() or target.is_symlink():
            target.unlink()
        try:
            # a hard link costs no space and survives the base being replaced (a new
            # version of the package writes a new file; this one keeps the encoder the
            # head was fitted on), which a path reference would not
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
            if role != "tokenizer":
                how = "copied"
    return how


def _manifest(predictor: Predictor, thresholds: dict[str, float], target: float) -> Any:
    files = predictor.manifest.files
    return replace(
        predictor.manifest,
        thresholds=thresholds,
        target_precision=target,
        runtime=predictor.runtime,
        domains=[],
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        files={
            predictor.runtime: Path(files[predictor.runtime]).name,
            "tokenizer": Path(files["tokenizer"]).name,
            "head": "head.npz",
        },
    )


def _write_card(
    predictor: Predictor, result: Adapted, *, repo: str | None, l2: float, bias_l2: float
) -> None:
    """The adapted model's card: the base model's, plus what the adaptation did."""
    base_card_path = predictor.directory / "model_card.json"
    card = json.loads(base_card_path.read_text()) if base_card_path.is_file() else {}
    card["adapted"] = {
        "from": str(predictor.directory),
        "repository": repo,
        "l2": l2,
        "bias_l2": bias_l2,
        **result.to_json(),
    }
    card["thresholds"] = result.thresholds
    out = result.out
    (out / "model_card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    lines = [
        "# maintbot issue-type classifier, adapted to a repository",
        "",
        f"- Adapted from: `{predictor.directory}` (its card follows below when it has one)",
        f"- Repository: {repo or '(not named)'}; {result.n_issues} labelled issues "
        f"({', '.join(f'{k} {v}' for k, v in result.per_label.items())})",
        "- Method: the base head kept, a correction fitted on these issues' features with "
        f"NumPy (L2 {l2}, label-shift L2 {bias_l2}; bot/triage/adapt.py); encoder "
        f"{result.encoder} from the base model",
        f"- Out-of-fold macro-F1 on these issues: {result.oof_macro_f1:.3f} adapted, "
        f"{result.base_oof_macro_f1:.3f} for the base model (each issue predicted by a "
        "correction fitted without it)",
        f"- Thresholds from {result.thresholds_from}: "
        + ", ".join(f"{k} {v:.3f}" for k, v in result.thresholds.items()),
        "",
    ]
    base_md = predictor.directory / "MODEL_CARD.md"
    tail = ["## The base model", "", base_md.read_text()] if base_md.is_file() else []
    (out / "MODEL_CARD.md").write_text("\n".join(lines + tail))
