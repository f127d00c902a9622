"""``maintbot triage adapt``: a model adapted to one repository from its own labelled issues.

No torch: the base model's encoder embeds the issues (onnxruntime) and a per-repository
correction of its head is fitted with NumPy (bot/triage/adapt.py), in seconds, so the Action
or the App can run it on installation and after corrections.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from bot.cli_context import MaintbotCommand, pass_settings
from bot.errors import UsageError
from bot.settings import Settings


@click.command(name="adapt", cls=MaintbotCommand)
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The repository's labelled issues: .csv (NLBSE columns) or .jsonl.",
)
@click.option("--repo", default=None, help="Harvest the labelled issues of OWNER/NAME instead.")
@click.option(
    "--model",
    "model_spec",
    default="",
    metavar="SPEC",
    help="The base model, as triage.model: a directory, a Hub id or an archive URL (default: "
    "the built-in model).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The adapted model directory to write (set triage.model or --model to it).",
)
@click.option(
    "--target-precision",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Precision the repository's thresholds aim for (default: config triage.min_precision, "
    "else 0.9).",
)
@click.option(
    "--l2",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Penalty on the correction: larger keeps closer to the base model (default: the "
    "measured 1.0; docs/triage.md).",
)
@pass_settings
def adapt(
    settings: Settings,
    data: Path | None,
    repo: str | None,
    model_spec: str,
    out: Path,
    target_precision: float | None,
    l2: float | None,
) -> None:
    """Adapt the classifier to a repository from its labelled issues (NumPy, seconds)."""
    from bot.triage.adapt import DEFAULT_L2
    from bot.triage.adapt import adapt as run_adapt
    from bot.triage.data import read_labelled
    from bot.triage.model_source import resolve_model

    if (data is None) == (repo is None):
        raise UsageError(
            "give --data FILE or --repo OWNER/NAME (one of them)",
            hint="e.g. maintbot triage adapt --data issues.csv --out adapted-model/",
        )
    base = resolve_model(model_spec)
    if data is not None:
        issues = read_labelled(data, pooled=True)
    else:
        from bot.triage.harvest import harvest_repository

        assert repo is not None
        issues = harvest_repository(settings, repo)
    if Path(out).resolve() == Path(base).resolve():
        raise UsageError("--out is the base model's directory", hint="write to a new directory")
    if target_precision is None:  # as train: the config's triage.min_precision (default 0.9)
        target_precision = float(settings.config().triage.min_precision)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(Counter(i.label for i in issues).items()))
    click.echo(f"adapting {base} to {len(issues)} issues ({counts})", err=True)
    result = run_adapt(
        base,
        issues,
        out,
        repo=repo,
        target_precision=target_precision,
        l2=l2 if l2 is not None else DEFAULT_L2,
        log=lambda line: click.echo(line, err=True),
    )
    summary = result.to_json()
    if settings.as_json:
        click.echo(json.dumps(summary, sort_keys=True))
        return
    thresholds = ", ".join(f"{k} {v:.2f}" for k, v in result.thresholds.items())
    click.echo(
        f"wrote {out}: out-of-fold macro-F1 {result.oof_macro_f1:.3f} on the repository's "
        f"issues (base model {result.base_oof_macro_f1:.3f}); thresholds from "
        f"{result.thresholds_from} ({thresholds}); encoder {result.encoder}; "
        f"{result.seconds['total']:.1f} s"
    )
