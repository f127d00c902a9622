"""The trained model directory: what inference needs, described by a versioned manifest.

Layout (``triage train --out DIR``)::

    DIR/triage-model.json    manifest: format version, labels, features, thresholds, files
    DIR/encoder.onnx         the fine-tuned encoder (fp32), embeddings out
    DIR/encoder.int8.onnx    the same, weights quantised to int8
    DIR/tokenizer.json       for the ``tokenizers`` library
    DIR/head.npz             the linear head, its per-repository corrections, the IDF of
                             each lexical block, the validation predictions
    DIR/MODEL_CARD.md, DIR/model_card.json

A directory written by another format version is refused with a clear error rather than
read wrongly: the features the head expects would silently differ.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import UsageError

FORMAT_VERSION = 2  # 2: three lexical views, per-repository head corrections
MANIFEST = "triage-model.json"


@dataclass(frozen=True)
class Feature:
    """One block of the head's input: an encoder embedding of a text view, or lexical terms.

    For an embedding, ``view`` is ``issue`` (title + cleaned body) or ``title`` and ``size``
    its token budget; for a lexical block, ``view`` is one of ``bot.triage.lexical.TERM_VIEWS``
    and ``size`` its hashed width."""

    kind: str
    view: str
    size: int
    weight: float = 1.0


@dataclass
class Manifest:
    """Everything about a model directory except the weights themselves."""

    labels: list[str]
    features: list[Feature]
    thresholds: dict[str, float]
    temperature: float
    target_precision: float
    runtime: str = "int8"  # which encoder file predict uses: "int8" or "fp32"
    base_model: str = ""
    domains: list[str] = field(default_factory=list)  # repositories with their own corrections
    created: str = ""
    format_version: int = FORMAT_VERSION
    files: dict[str, str] = field(
        default_factory=lambda: {
            "fp32": "encoder.onnx",
            "int8": "encoder.int8.onnx",
            "tokenizer": "tokenizer.json",
            "head": "head.npz",
        }
    )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def write_manifest(directory: Path, manifest: Manifest) -> Path:
    """Writes the manifest last, so a directory with one is complete."""
    path = Path(directory) / MANIFEST
    path.write_text(json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(directory: Path) -> Manifest:
    """Reads and checks the manifest of a model directory."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise UsageError(
            f"{directory} is not a triage model directory (no {MANIFEST})",
            hint="pass --model with a directory written by `maintbot triage train --out DIR`",
        )
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{path}: not valid JSON ({error.msg})",
            hint="the directory is damaged; train the model again",
        ) from error
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if version != FORMAT_VERSION:
        raise UsageError(
            f"{directory}: model format version {version!r}, but this maintbot reads "
            f"version {FORMAT_VERSION}",
            hint="train the model again with this maintbot (`maintbot triage train`), or "
            "use the maintbot version that wrote it",
        )
    try:
        features = [Feature(**f) for f in raw.pop("features")]
        manifest = Manifest(features=features, **raw)
    except (KeyError, TypeError) as error:
        raise UsageError(
            f"{path}: incomplete manifest ({error})",
            hint="the directory is damaged; train the model again",
        ) from error
    # the encoder file the manifest does not run may be left out (the built-in and hub
    # models ship the int8 one only)
    other_encoder = "fp32" if manifest.runtime == "int8" else "int8"
    for role, name in manifest.files.items():
        if role != other_encoder and not (directory / name).is_file():
            raise UsageError(
                f"{directory}: {name} is missing", hint="the directory is incomplete; train again"
            )
    return manifest
