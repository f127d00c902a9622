"""The model card: what a model was trained on, how, when, and how well it scored."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import __version__

if TYPE_CHECKING:
    from bot.triage.data import LabelledIssue
    from bot.triage.train import TrainResult


def card_data(
    result: TrainResult,
    *,
    issues: Sequence[LabelledIssue],
    recipe: dict[str, Any],
    seed: int,
    encoder_facts: dict[str, Any],
    torch_version: str,
) -> dict[str, Any]:
    """The card as plain data (``model_card.json``)."""
    manifest = result.manifest
    return {
        "created": manifest.created,
        "maintbot_version": __version__,
        "base_model": manifest.base_model,
        "encoder": encoder_facts,
        "training_data": {
            "issues": len(issues),
            "per_label": dict(Counter(i.label for i in issues)),
            "per_repo": dict(Counter(i.repo or "(none)" for i in issues)),
        },
        "recipe": recipe,
        "features": [asdict(feature) for feature in manifest.features],
        "seed": seed,
        "torch_version": torch_version,
        "labels": manifest.labels,
        "validation": result.validation,
        "temperature": manifest.temperature,
        "target_precision": manifest.target_precision,
        "thresholds": manifest.thresholds,
        "runtime": manifest.runtime,
        "domains": manifest.domains,
        "seconds": {k: round(v, 1) for k, v in result.seconds.items()},
    }


FINETUNE_STAGES = {"finetune": "on the fit split", "refit": "then afresh on every issue"}
EMBEDDING_VIEWS = {"issue": "the (title + body) embedding", "title": "the title embedding"}


def _head_inputs(features: Sequence[dict[str, Any]]) -> str:
    """What the head reads, e.g. "the (title + body) embedding (256 tokens) and words, chars
    term features": the token budget and the views decide both accuracy and speed."""
    parts = [
        f"{EMBEDDING_VIEWS.get(f['view'], f['view'])} ({f['size']} tokens)"
        for f in features
        if f["kind"] == "embedding"
    ]
    terms = [f["view"] for f in features if f["kind"] == "lexical"]
    if terms:
        parts.append(f"{', '.join(terms)} term features")
    if len(parts) < 2:
        return parts[0] if parts else "no features"
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def render_card(data: dict[str, Any]) -> str:
    """``MODEL_CARD.md``: the same facts for a person."""
    val = data["validation"]
    recipe = data["recipe"]
    steps = []
    if recipe.get("contrastive_epochs") and recipe.get("pairs_per_issue"):
        steps.append(
            f"SetFit-style contrastive step ({recipe['pairs_per_issue']} pairs per issue, "
            f"{recipe['contrastive_epochs']} epoch(s))"
        )
    epochs_run = recipe.get("epochs_run") or (
        {"finetune": recipe["epochs"]} if recipe.get("epochs") else {}
    )
    if epochs_run:
        stages = [f"{FINETUNE_STAGES.get(k, k)}: {n} epoch(s)" for k, n in epochs_run.items()]
        steps.append(f"fine-tuned on the labels ({'; '.join(stages)})")
    training = ", then ".join(steps) or "frozen encoder (no fine-tuning)"
    lines = [
        "# maintbot issue-type classifier",
        "",
        f"- Created: {data['created']} by maintbot {data['maintbot_version']}",
        f"- Base model: `{data['base_model']}` ({data['encoder'].get('parameters', 0):,} "
        f"parameters), mean pooling, {training}; a linear head over "
        f"{_head_inputs(data.get('features', []))}",
        f"- Per-repository corrections: {', '.join(data.get('domains') or []) or 'none'}",
        f"- Labels: {', '.join(data['labels'])}",
        f"- Training data: {data['training_data']['issues']} issues; per label "
        f"{data['training_data']['per_label']}; per repository "
        f"{data['training_data']['per_repo']}",
        f"- Seed: {data['seed']}; torch {data['torch_version']}; training took "
        f"{data['seconds'].get('total', 0):.0f} s",
        "",
        "## Validation (held-out split of the training data)",
        "",
        f"| runtime | macro-F1 on {val.get('n', 0)} issues |",
        "| --- | --- |",
        *(
            f"| {name} | {val[key]:.3f} |"
            for name, key in (
                ("torch fp32", "torch_macro_f1"),
                ("ONNX fp32", "fp32_macro_f1"),
                ("ONNX int8", "int8_macro_f1"),
            )
            if key in val
        ),
        "",
        f"`triage predict` uses the **{data['runtime']}** encoder (int8 unless it is wrong on "
        "significantly more validation issues than fp32: a sign test on the issues only one "
        "of them gets wrong"
        + (
            f"; int8 alone wrong on {val['only_int8_wrong']}, fp32 alone on "
            f"{val['only_fp32_wrong']})."
            if "only_int8_wrong" in val
            else ")."
        ),
        *(
            [
                "",
                "These figures are of the encoder fine-tuned without the validation issues; "
                "the encoder in this directory was then fine-tuned again on every issue.",
            ]
            if val.get("encoder_saw_validation")
            else []
        ),
        "",
        "## Decision",
        "",
        f"Probabilities are calibrated with temperature {data['temperature']:.2f}. Per-label "
        f"thresholds for precision {data['target_precision']:.2f} on validation (below them "
        "the decision is `needs-triage`; 1.01 means the label is never applied automatically):",
        "",
        *(f"- {label}: {t:.3f}" for label, t in data["thresholds"].items()),
        "",
        "## Recipe",
        "",
        "```json",
        json.dumps(data["recipe"], indent=2, sort_keys=True),
        "```",
        "",
        "Limitations: trained on the issues above only; issues of other projects, languages "
        "or templates may score lower. Measure with `maintbot triage eval` before relying on it.",
        "",
    ]
    return "\n".join(lines)


def write_model_card(out: Path, result: TrainResult, **facts: Any) -> None:
    """Writes ``MODEL_CARD.md`` and ``model_card.json`` into the model directory."""
    data = card_data(result, **facts)
    (Path(out) / "model_card.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    (Path(out) / "MODEL_CARD.md").write_text(render_card(data))


EXPECTATIONS_HEADING = "## What to expect on a new repository and on a known one"


def render_expectations(expected: dict[str, Any]) -> str:
    """The card's section on what a maintainer should expect, from ``expected``:
    ``new_repository`` and ``known_repository`` (macro-F1, and precision and coverage at the
    shipped thresholds, with how each was measured), optionally ``adapted`` (rows of the
    adaptation curve: labelled issues ``k``, macro-F1 and precision / coverage)."""
    lines = [EXPECTATIONS_HEADING, ""]
    lines += [
        "| repository | macro-F1 | precision at the thresholds | share labelled | measured by |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, name in (
        ("new_repository", "**new** (none of the training projects)"),
        ("known_repository", "**known** (one of the training projects)"),
    ):
        if key in expected:
            row = expected[key]
            lines.append(
                f"| {name} | {row['macro_f1']:.3f} | {row['precision']:.3f} | "
                f"{row['coverage']:.0%} | {row['how']} |"
            )
    if expected.get("adapted"):
        lines += [
            "",
            "Adapted to the repository with `maintbot triage adapt` (k of its labelled issues; "
            f"{expected.get('adapted_how', '')}):",
            "",
            "| labelled issues k | macro-F1 | precision at the thresholds | share labelled |",
            "| --- | --- | --- | --- |",
        ]
        for row in expected["adapted"]:
            lines.append(
                f"| {row['k']} | {row['macro_f1']:.3f} | {row['precision']:.3f} | "
                f"{row['coverage']:.0%} |"
            )
    if expected.get("note"):
        lines += ["", expected["note"]]
    return "\n".join(lines) + "\n"


def write_expectations(directory: Path, expected: dict[str, Any]) -> None:
    """Records ``expected`` in a model directory's card (``model_card.json`` key
    ``expected``, and its section of ``MODEL_CARD.md``, replaced if it is there)."""
    directory = Path(directory)
    card_path = directory / "model_card.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    card["expected"] = expected
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    md_path = directory / "MODEL_CARD.md"
    text = md_path.read_text() if md_path.is_file() else ""
    if EXPECTATIONS_HEADING in text:
        before, _, after = text.partition(EXPECTATIONS_HEADING)
        rest = after.split("\n## ", 1)
        text = before + ("## " + rest[1] if len(rest) > 1 else "")
    md_path.write_text(text.rstrip("\n") + "\n\n" + render_expectations(expected))
