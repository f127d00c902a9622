"""``maintbot triage stats``: how often maintainers keep maintbot's type labels, live.

Precision per label and coverage come from the recorded corrections
(:mod:`bot.triage.corrections`): from the store when it has predictions for the repository,
else derived from GitHub alone (maintbot's comment markers and the label events, two
listings), which is what an Action's fresh runner has. ``--export`` writes the issues people
corrected or confirmed as training data for ``maintbot triage train --data``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bot.cli_context import MaintbotCommand, pass_settings
from bot.errors import UsageError
from bot.settings import Settings
from bot.triage.corrections import TriageRecord, live_precision, stamp

SOURCES = ("auto", "store", "github")


@click.command("stats", cls=MaintbotCommand)
@click.option(
    "--repo",
    required=True,
    metavar="OWNER/NAME",
    envvar="GITHUB_REPOSITORY",
    help="Repository whose triage to measure (default: $GITHUB_REPOSITORY).",
)
@click.option(
    "--source",
    type=click.Choice(SOURCES),
    default="auto",
    show_default=True,
    help="Where the records come from: the store, GitHub (markers + label events), or the "
    "store when it has predictions for the repository, else GitHub.",
)
@click.option(
    "--export",
    "export",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the corrected and confirmed issues as training data (.csv or .jsonl, the "
    "format `maintbot triage train --data` reads).",
)
@pass_settings
def stats(settings: Settings, repo: str, source: str, export: Path | None) -> None:
    """Live precision of maintbot's type labels per label, and its coverage.

    Precision: of the issues maintbot labelled with a type, the share maintainers kept.
    Coverage: of the issues it triaged, the share it labelled rather than leaving
    needs-triage. Label names are those of --config (labels.types)."""
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise UsageError(f"{repo!r} is not a repository name", hint="use --repo OWNER/NAME")
    if export is not None and export.suffix.lower() not in (".csv", ".jsonl"):
        raise UsageError(
            f"--export {export}: unknown file type {export.suffix or '(none)'!r}",
            hint="name the file .csv or .jsonl",
        )
    records, used, requests = _records(settings, repo, source)
    result = summary(repo, records, used)
    if requests is not None:
        result["requests"] = requests
    if export is not None:
        result["exported"] = {
            "file": str(export),
            "issues": export_training_data(settings, repo, records, export),
        }
    if settings.as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    click.echo(render(result))


def _records(settings: Settings, repo: str, source: str) -> tuple[list[TriageRecord], str, Any]:
    """The records and where they came from; the number of GitHub requests when asked."""
    from bot.triage.corrections import has_predictions, records_from_store

    if source == "store" or (source == "auto" and has_predictions(settings.store(), repo)):
        return records_from_store(settings.store(), repo), "store", None
    from bot.triage.corrections import read_history, records_from_github

    def progress(listing: str, pages: int) -> None:
        click.echo(f"triage stats {repo}: {listing}, page {pages}", err=True)

    history = read_history(settings.github(), repo, progress=progress)
    labels = settings.config().labels
    records = records_from_github(
        repo, history.marks, history.events, dict(labels.types), labels.needs_triage
    )
    return records, "github", history.requests


def _rate(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def summary(repo: str, records: Sequence[TriageRecord], source: str) -> dict[str, Any]:
    """The JSON answer: precision per label, overall, coverage, and the feedback itself."""
    figures = live_precision(records)

    def label_json(stats: Any) -> dict[str, Any]:
        return {
            "predicted": stats.predicted,
            "kept": stats.kept,
            "corrected": stats.corrected,
            "confirmed": stats.confirmed,
            "precision": _rate(stats.precision),
        }

    def feedback_json(record: TriageRecord) -> dict[str, Any]:
        assert record.final is not None
        return {
            "issue": record.number,
            "predicted": record.predicted,
            "corrected_to": record.final.to_type or "",
            "actor": record.final.actor,
            "at": stamp(record.final.at),
        }

    return {
        "repo": repo,
        "source": source,
        "labels": {s.label: label_json(s) for s in figures["labels"]},
        "overall": label_json(figures["overall"]),
        "triaged": figures["triaged"],
        "labelled": figures["labelled"],
        "needs_triage": figures["needs_triage"],
        "coverage": _rate(figures["coverage"]),
        "corrections": [feedback_json(r) for r in records if r.final and not r.kept],
        "confirmations": [feedback_json(r) for r in records if r.confirmed],
    }


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def render(result: dict[str, Any]) -> str:
    """The answer for a person: one line per label, then coverage and the corrections."""
    lines = [f"Triage of {result['repo']} (records from {result['source']}):"]
    if not result["labels"]:
        lines.append("  maintbot has labelled no issue with a type yet.")
    for label, s in {**result["labels"], "all": result["overall"]}.items():
        lines.append(
            f"  {label:<10} kept {_percent(s['precision']):>4} of {s['predicted']}"
            f" ({s['corrected']} corrected, {s['confirmed']} confirmed)"
        )
    lines.append(
        f"  coverage: {_percent(result['coverage'])} ({result['labelled']} of "
        f"{result['triaged']} triaged issues labelled; {result['needs_triage']} left "
        "needs-triage)"
    )
    for c in result["corrections"]:
        to = c["corrected_to"] or "(no type)"
        lines.append(f"  #{c['issue']}: {c['predicted']} -> {to} by {c['actor']} at {c['at']}")
    if "exported" in result:
        exported = result["exported"]
        lines.append(f"  wrote {exported['issues']} issues to {exported['file']}")
    return "\n".join(lines)


def export_training_data(
    settings: Settings, repo: str, records: Sequence[TriageRecord], path: Path
) -> int:
    """Writes the issues a person corrected or confirmed, with the type they chose.

    One ``GET /repos/{o}/{r}/issues/{n}`` per exported issue, for its title and body.
    Returns how many were written."""
    chosen = [r for r in records if r.training_label]
    rows = []
    if chosen:
        gh_repo = settings.github().get_repo(repo)  # type: ignore[union-attr]
        for record in chosen:
            issue = gh_repo.get_issue(record.number)
            rows.append(
                {
                    "repo": repo,
                    "number": record.number,
                    "title": issue.title or "",
                    "body": issue.body or "",
                    "label": record.training_label,
                }
            )
    write_labelled(path, rows)
    return len(rows)


def write_labelled(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """``.jsonl`` (one object per line) or ``.csv`` with the columns ``bot.triage.data``
    reads, backslashes escaped as its reader expects."""
    try:
        if path.suffix.lower() == ".jsonl":
            with open(path, "w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(
                handle,
                fieldnames=["repo", "number", "label", "title", "body"],
                escapechar="\\",
                quoting=csv.QUOTE_ALL,
                doublequote=False,
            )
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}", hint="choose a writable path"
        ) from exc
