"""Labels new issues with their type, or ``needs-triage`` when the classifier is not sure.

On ``issues.opened`` the model named by ``triage.model`` in the repository's config predicts
bug / feature / question; the decision is mapped onto the repository's own label names
(``labels.types``) and applied, and the prediction is recorded in the store so a maintainer's
relabel can later be counted as a correction. Issues a person already sorted, and issues
from bots or ignored authors, are left alone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.events.context import HandlerContext
from bot.events.router import Event, Router
from bot.triage.metrics import NEEDS_TRIAGE

router = Router()


@dataclass(frozen=True)
class LabelDecision:
    """What to do with one issue, decided without any I/O."""

    labels: tuple[str, ...]  # repository label names to add; empty: do nothing
    reason: str


def plan_issue_labels(config: Any, decision: str, existing_labels: list[str]) -> LabelDecision:
    """Maps the classifier's decision onto the repository's labels (``config``: a Config).

    ``needs-triage`` becomes ``labels.needs_triage``; a type becomes ``labels.types[type]``;
    a type the repository does not map is left for a person rather than guessed."""
    labels = config.labels
    if labels.is_triaged(existing_labels):
        return LabelDecision((), "already triaged by a person")
    if decision == NEEDS_TRIAGE:
        return LabelDecision((labels.needs_triage,), "confidence below the threshold")
    name = labels.label_for(decision)
    if name is None:
        return LabelDecision((labels.needs_triage,), f"type {decision!r} has no label here")
    return LabelDecision((name,), f"classified as {decision}")


@functools.lru_cache(maxsize=4)
def _predictor(model_dir: str, target_precision: float) -> Any:
    from bot.triage.runtime import Predictor

    return Predictor(Path(model_dir), target_precision=target_precision)


@router.on("issues", "opened")
def label_new_issue(event: Event, ctx: HandlerContext) -> dict[str, Any]:
    """Predicts the type of a new issue and labels it (or marks it ``needs-triage``)."""
    triage = ctx.config.triage
    issue = event.payload.get("issue") or {}
    author = (issue.get("user") or {}).get("login", "")
    if not triage.enabled or not triage.model:
        return {"skipped": "triage is disabled or triage.model is not set"}
    if "pull_request" in issue:
        return {"skipped": "a pull request"}
    if triage.ignores_author(author, is_bot=event.sender_is_bot):
        return {"skipped": f"author {author} is ignored"}
    predictor = _predictor(triage.model, triage.min_precision)
    (prediction,) = predictor.predict(
        [(issue.get("title") or "", issue.get("body") or "")], [event.repo_full_name]
    )
    existing = [label.get("name", "") for label in issue.get("labels") or []]
    plan = plan_issue_labels(ctx.config, prediction.decision, existing)
    result: dict[str, Any] = {
        "prediction": prediction.to_json(),
        "labels": list(plan.labels),
        "reason": plan.reason,
    }
    if not plan.labels:
        return result
    if ctx.github is None:
        ctx.plan("label", repo=event.repo_full_name, issue=issue.get("number"), labels=plan.labels)
        return result
    from bot.github.labels import apply_labels

    repo = ctx.github.get_repo(event.repo_full_name)
    gh_issue = repo.get_issue(int(issue["number"]))
    apply_labels(
        repo, gh_issue, add=plan.labels, palette=ctx.config.labels.palette(), dry_run=ctx.dry_run
    )
    if ctx.dry_run:
        ctx.plan("label", repo=event.repo_full_name, issue=issue.get("number"), labels=plan.labels)
    if ctx.store is not None and not ctx.dry_run:
        from bot.store.predictions import record_prediction

        with ctx.store.session() as session:
            record_prediction(
                session,
                repo=event.repo_full_name or "",
                issue_number=int(issue["number"]),
                model_id=str(triage.model),
                model_version=predictor.manifest.created,
                label=prediction.label,
                probabilities=prediction.probabilities,
                decision=prediction.decision,
            )
    return result
