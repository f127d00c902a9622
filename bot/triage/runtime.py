"""Inference on a trained model directory with onnxruntime + tokenizers: no torch anywhere.

The Action and the App label an issue per event; importing torch and transformers would
cost seconds and a gigabyte per start. This module (and everything it imports) must stay
free of both; a test runs it in a subprocess and checks ``sys.modules``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import MaintbotError, UsageError
from bot.triage.head import LinearHead
from bot.triage.lexical import TERM_VIEWS, hashed_counts, tfidf
from bot.triage.modeldir import Manifest, read_manifest
from bot.triage.policy import decide
from bot.triage.thresholds import choose_thresholds
from bot.triage.tokens import batch, issue_ids, length_batches, load_tokenizer

PREDICT_CHUNK = 64


@dataclass(frozen=True)
class Prediction:
    """The classifier's view of one issue and what to do with it."""

    label: str  # the most probable label
    decision: str  # the label to apply, or "needs-triage" below its threshold
    confidence: float
    probabilities: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "decision": self.decision,
            "confidence": round(self.confidence, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
        }


def onnx_embeddings(
    session: Any, sequences: Sequence[Sequence[int]], batch_size: int = 16
) -> np.ndarray:
    """Embeddings of token-id sequences from an ONNX encoder session, batched by similar
    length (less padding); training's fp32-vs-int8 check reads the export through this too."""
    out: np.ndarray | None = None
    for idx in length_batches(sequences, batch_size):
        enc = batch([sequences[i] for i in idx])
        (vectors,) = session.run(
            ["embedding"],
            {
                "input_ids": enc.input_ids,
                "attention_mask": enc.attention_mask,
                "token_type_ids": enc.token_type_ids,
            },
        )
        if out is None:
            out = np.zeros((len(sequences), vectors.shape[1]), dtype=np.float32)
        out[idx] = vectors
    assert out is not None
    return out


def onnx_session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session of ``path`` as prediction runs it (the benchmarks time
    exactly this)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    # no busy-waiting between operators: on a shared CI runner spinning threads steal
    # the CPU the other thread needs, which costs more than the wake-up it saves
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class ModelRuntimeError(MaintbotError):
    """onnxruntime could not load or run the model (exit code 3)."""


class Predictor:
    """A loaded model directory; reuse one instance for many issues."""

    def __init__(
        self,
        directory: Path,
        *,
        runtime: str | None = None,
        threads: int | None = None,
        target_precision: float | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.manifest: Manifest = read_manifest(self.directory)
        self.runtime = runtime or self.manifest.runtime
        if self.runtime not in ("int8", "fp32"):
            raise UsageError(f"unknown runtime {self.runtime!r}", hint="use --runtime int8 or fp32")
        files = self.manifest.files
        if not (self.directory / files.get(self.runtime, "")).is_file():
            raise ModelRuntimeError(
                f"{self.directory} has no {self.runtime} encoder file",
                hint=f"use the encoder it ships (--runtime {self.manifest.runtime})",
            )
        self.tokenizer = load_tokenizer(self.directory / files["tokenizer"])
        try:
            self.session = onnx_session(self.directory / files[self.runtime], threads)
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelRuntimeError(
                f"onnxruntime cannot load {files[self.runtime]}: {error}",
                hint="the file is damaged or from an incompatible onnxruntime; train again",
            ) from error
        weights = np.load(self.directory / files["head"])
        deltas = weights["deltas"] if "deltas" in weights.files else []
        if len(deltas) != len(self.manifest.domains):
            raise UsageError(
                f"{self.directory}: head.npz has {len(deltas)} repository corrections, the "
                f"manifest names {len(self.manifest.domains)}",
                hint="the directory is damaged; train again",
            )
        self.head = LinearHead(
            weights=weights["weights"],
            bias=weights["bias"],
            temperature=self.manifest.temperature,
            deltas=dict(zip(self.manifest.domains, deltas, strict=True)),
        )
        self.idf = {
            k: weights[f"idf_{k}"]
            for k, feature in enumerate(self.manifest.features)
            if feature.kind == "lexical" and f"idf_{k}" in weights.files
        }
        self.thresholds = dict(self.manifest.thresholds)
        self.target_precision = self.manifest.target_precision
        if target_precision is not None and target_precision != self.target_precision:
            if "validation_probabilities" not in weights.files:
                raise UsageError(
                    f"{self.directory} keeps no validation predictions to set thresholds "
                    f"for precision {target_precision}",
                    hint="train again with the wanted --target-precision",
                )
            self.thresholds = choose_thresholds(
                weights["validation_probabilities"],
                weights["validation_truth"],
                self.labels,
                target_precision,
            )
            self.target_precision = target_precision

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.labels)

    def embed(self, sequences: Sequence[Sequence[int]], batch_size: int = 16) -> np.ndarray:
        """Encoder embeddings of token-id sequences."""
        return onnx_embeddings(self.session, sequences, batch_size)

    def issue_embeddings(
        self, issues: Sequence[tuple[str, str]], max_tokens: int | None = None
    ) -> np.ndarray:
        """Unit-length encoder embeddings of ``(title, body)`` pairs, one row each, so that a
        dot product is their cosine (duplicate search compares issues this way). The token
        budget is the model's own (title + body) view unless ``max_tokens`` is given."""
        if max_tokens is None:
            sizes = [f.size for f in self.manifest.features if f.kind == "embedding"]
            max_tokens = sizes[0] if sizes else 256
        seqs = [issue_ids(self.tokenizer, title, body, max_tokens) for title, body in issues]
        if not seqs:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = self.embed(seqs)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def features(self, issues: Sequence[tuple[str, str]]) -> np.ndarray:
        """The head's input for ``(title, body)`` pairs, block by block as the manifest says."""
        blocks = []
        for k, feature in enumerate(self.manifest.features):
            if feature.kind == "embedding":
                body_of = (lambda body: body) if feature.view == "issue" else (lambda _: "")
                seqs = [
                    issue_ids(self.tokenizer, title, body_of(body), feature.size)
                    for title, body in issues
                ]
                blocks.append(feature.weight * self.embed(seqs))
            elif feature.kind == "lexical" and feature.view in TERM_VIEWS:
                if k not in self.idf:
                    raise UsageError(
                        f"{self.directory}: head.npz has no idf for the {feature.view} features",
                        hint="the directory is damaged; train again",
                    )
                counts = hashed_counts(issues, feature.size, feature.view)
                blocks.append(feature.weight * tfidf(counts, self.idf[k]))
            else:
                raise UsageError(
                    f"{self.directory}: unknown feature {feature.kind!r} ({feature.view!r})",
                    hint="train the model again with this maintbot",
                )
        return np.hstack(blocks)

    def probabilities(
        self, issues: Sequence[tuple[str, str]], repos: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Calibrated label probabilities, one row per issue. ``repos`` names each issue's
        repository: a model trained on several applies that repository's corrections (an
        unknown or missing one gets the shared weights). Scored in chunks, so the dense
        lexical blocks of a large evaluation never sit in memory at once."""
        out = np.zeros((len(issues), len(self.labels)), dtype=np.float32)
        for start in range(0, len(issues), PREDICT_CHUNK):
            chunk = slice(start, start + PREDICT_CHUNK)
            domains = list(repos[chunk]) if repos is not None else None
            out[chunk] = self.head.probabilities(self.features(issues[chunk]), domains)
        return out

    def predict(
        self, issues: Sequence[tuple[str, str]], repos: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        """Label, probabilities and thresholded decision of each ``(title, body)``."""
        out = []
        for row in self.probabilities(issues, repos):
            probs = {label: float(p) for label, p in zip(self.labels, row, strict=True)}
            decision, confidence = decide(probs, self.thresholds)
            label = max(probs, key=lambda k: probs[k])
            out.append(Prediction(label, decision, confidence, probs))
        return out


@functools.lru_cache(maxsize=4)
def loaded_predictor(model_spec: str, target_precision: float | None = None) -> Predictor:
    """The model of ``triage.model`` (empty: the built-in one), loaded once per process and
    shared by every handler that reads it (type labels, duplicate embeddings)."""
    from bot.triage.model_source import resolve_model

    return Predictor(resolve_model(model_spec), target_precision=target_precision)
