"""The metric history of the default branch: one store row per model per benchmarked commit.

Rows hold the seed-mean metrics (and the per-seed accuracies) so the PR comment and the
contributor report can draw a trend without re-reading results files.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from bot.bench.pull_request import SHA
from bot.errors import UsageError

HISTORY_METRICS = ("test_accuracy", "test_loss", "train_seconds", "parameters")


def model_summary(doc: dict[str, Any], model: str) -> dict[str, Any]:
    """Seed means of one model's metrics in a results document."""
    runs = [r for r in doc["runs"] if r["model"] == model]
    summary: dict[str, Any] = {
        "seeds": [r["seed"] for r in runs],
        "epochs": doc["settings"]["epochs"],
        "dataset": doc["settings"]["dataset"],
        "test_accuracy_per_seed": [r["test_accuracy"] for r in runs],
        "failures": sum(1 for f in doc["failures"] if f["model"] == model),
    }
    for key in HISTORY_METRICS:
        values = [r[key] for r in runs if r.get(key) is not None]
        summary[key] = statistics.fmean(values) if values else None
    return summary


def record(session: Any, doc: dict[str, Any], *, repo: str, branch: str) -> int:
    """Appends every model of a validated results document; returns the rows added."""
    from bot.store.bench import add_bench_result

    sha = doc["git"].get("sha")
    if not (isinstance(sha, str) and SHA.match(sha)):
        raise UsageError(
            "these results carry no commit sha, so they cannot join the history",
            hint="record results written by `maintbot bench run` inside a git checkout",
        )
    if doc["settings"]["train_limit"] or doc["settings"]["test_limit"]:
        raise UsageError(
            "these results were run on a data slice (--train-limit/--test-limit), which is for "
            "quick checks; the history keeps full runs only",
            hint="run `maintbot bench run` without limits on the default branch",
        )
    models = list(dict.fromkeys(r["model"] for r in doc["runs"]))
    for model in models:
        first = next(r for r in doc["runs"] if r["model"] == model)
        add_bench_result(
            session,
            repo=repo,
            ref=doc["git"].get("ref") or branch,
            sha=sha,
            branch=branch,
            model_name=model,
            metrics=model_summary(doc, model),
            environment=first["environment"],
        )
    return len(models)


def export(
    session: Any, *, repo: str, model: str, branch: str | None, limit: int = 20
) -> list[dict[str, Any]]:
    """The latest ``limit`` rows, oldest first, as plain JSON-ready dictionaries."""
    from bot.store.bench import bench_history

    rows = bench_history(session, repo, model, branch=branch, limit=limit)
    return [
        {
            "repo": row.repo,
            "model": row.model_name,
            "branch": row.branch,
            "ref": row.ref,
            "sha": row.sha,
            "created_at": row.created_at.isoformat(),
            "metrics": row.metrics,
            "environment": row.environment,
        }
        for row in reversed(rows)
    ]


def export_records(
    records: Iterable[dict[str, Any]],
    *,
    repo: str,
    model: str,
    branch: str | None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """:func:`export`'s rows from data-branch records (:mod:`bot.bench.databranch`)."""
    rows = []
    for record in records:
        doc = record["results"]
        if branch is not None and record["branch"] != branch:
            continue
        if not any(r["model"] == model for r in doc["runs"]):
            continue
        rows.append(
            {
                "repo": repo,
                "model": model,
                "branch": record["branch"],
                "ref": doc["git"].get("ref") or record["branch"],
                "sha": doc["git"]["sha"],
                "created_at": doc["created_at"],
                "metrics": model_summary(doc, model),
                "environment": record["environment"],
                "fingerprint": record["fingerprint"],
            }
        )
    rows.sort(key=lambda row: (row["created_at"], row["sha"]))
    return rows[-limit:]


def chart_points(rows: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """(sha, test accuracy) pairs for the history chart, skipping rows without accuracy."""
    return [
        (row["sha"], float(row["metrics"]["test_accuracy"]))
        for row in rows
        if isinstance(row.get("metrics"), dict)
        and isinstance(row["metrics"].get("test_accuracy"), int | float)
    ]
