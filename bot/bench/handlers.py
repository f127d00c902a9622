"""Publishes a finished PR benchmark (``workflow_run.completed``): the sticky comment and check.

The benchmark workflow runs the PR's code with no secrets and uploads ``bench-results``; when
its run completes, GitHub sends ``workflow_run`` to the App (and starts
``benchmark-comment.yml``, for ``maintbot action``). This handler downloads that artifact
through the REST API, then publishes through :func:`bot.bench.comment.comment_from_artifact`,
the function ``maintbot bench comment`` uses: the same checks, the same comment, the same
check run, whichever surface runs it. The run is recognised by its artifact, not its name:
any run started by ``pull_request`` that uploaded ``bench-results`` (``benchmark`` and
``benchmark matrix`` in this repository). Only trusted inputs decide: the head commit from
the event (GitHub's, not the artifact's), the default branch's configuration from the
context. Which runs are worth a look is :func:`skip_reason` (pure).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.events.context import HandlerContext
from bot.events.router import Event, Router, Skipped

if TYPE_CHECKING:
    from bot.bench.comment import CommentOutcome

router = Router()

TRIGGER = "pull_request"  # push runs feed the history (benchmark-comment.yml's history job)
NOTHING_TO_PUBLISH = ("skipped", "cancelled", "action_required", "stale")
"""Run conclusions with no results: switched off, stopped, or waiting for approval. A failed
run is still published: ``bench pr`` exits 1 on a regression, after uploading its results."""


def skip_reason(payload: dict[str, Any]) -> str | None:
    """Why this ``workflow_run`` event has no benchmark to publish, or None when it may."""
    from bot.bench.pull_request import SHA

    run = payload.get("workflow_run")
    if not isinstance(run, dict):
        return "the event carries no workflow_run"
    name = run.get("name") or "(unnamed)"
    if run.get("status", "completed") != "completed":
        return f"the run of {name!r} has not completed"
    event = run.get("event")
    if event != TRIGGER:
        return f"the run of {name!r} was started by {event!r}, not by a pull request"
    conclusion = run.get("conclusion")
    if conclusion in NOTHING_TO_PUBLISH:
        return f"the run of {name!r} was {conclusion}: it has no results"
    run_id = run.get("id")
    if not isinstance(run_id, int) or isinstance(run_id, bool) or run_id <= 0:
        return "the workflow_run has no id"
    head_sha = run.get("head_sha")
    if not (isinstance(head_sha, str) and SHA.match(head_sha)):
        return "the workflow_run has no head commit"
    return None


@router.on("workflow_run", "completed")
def publish_benchmark(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """Downloads the run's ``bench-results`` and upserts the PR's benchmark comment and check."""
    reason = skip_reason(event.payload)
    if reason is not None:
        return Skipped(reason)
    bench = ctx.config.bench
    if not bench.enabled:
        return Skipped("bench.enabled is false in the default branch's configuration")
    if not bench.comment and not bench.check:
        return Skipped("bench.comment and bench.check are both false")
    repo_name = event.repo_full_name
    if not repo_name:
        return Skipped("the event names no repository")
    if ctx.github is None:
        return Skipped("no GitHub access to download the run's artifact")
    from bot.bench.artifact import ARTIFACT_NAME, download_zip, extract_zip, find_run_artifact
    from bot.bench.comment import comment_from_artifact

    run = event.payload["workflow_run"]
    name = run.get("name") or "(unnamed)"
    repo = ctx.repo(repo_name)
    artifact = find_run_artifact(repo, run["id"])
    if artifact is None:
        return Skipped(f"the run of {name!r} uploaded no {ARTIFACT_NAME} artifact")
    if artifact.expired:
        return Skipped(f"the {ARTIFACT_NAME} artifact of run {run['id']} has expired")
    with tempfile.TemporaryDirectory(prefix="maintbot-bench-") as tmp:
        folder = extract_zip(
            download_zip(repo, artifact, Path(tmp) / "artifact.zip"), Path(tmp) / "results"
        )
        repository = event.payload.get("repository")
        default_branch = repository.get("default_branch") if isinstance(repository, dict) else None
        outcome = comment_from_artifact(
            ctx.github,
            repo_name,
            folder,
            run["head_sha"],
            bench,
            store=ctx.store,
            dry_run=ctx.dry_run,
            history_branch=default_branch if isinstance(default_branch, str) else None,
        )
    result = {"run": run["id"], "workflow": name, "artifact": artifact.id, **outcome.to_json()}
    if ctx.dry_run:
        _plan(ctx, repo_name, outcome)
    return result


def _plan(ctx: HandlerContext, repo_name: str, outcome: CommentOutcome) -> None:
    """What a dry-run would have written: the comment and the check, as ``ctx.plan`` entries."""
    if outcome.comment is not None and outcome.comment.action != "unchanged":
        ctx.plan(
            "benchmark comment",
            repo=repo_name,
            pull_request=outcome.pull_number,
            change=outcome.comment.action,
            body=outcome.report,
        )
    if outcome.check is not None and outcome.check.action != "unchanged":
        ctx.plan(
            "benchmark check",
            repo=repo_name,
            head_sha=outcome.head_sha,
            kind=outcome.check.kind,
            change=outcome.check.action,
            conclusion=outcome.check.conclusion,
        )
