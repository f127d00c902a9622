"""Labels new issues with their type, or ``needs-triage`` when the classifier is not sure.

On ``issues.opened`` the model named by ``triage.model`` in the repository's config predicts
bug / feature / question; :mod:`bot.triage.policy` decides what that means for this issue
(which label, or none), and this handler applies it and records the prediction in the store
so a maintainer's relabel can later be counted as a correction. The handler only gathers the
inputs and writes: every rule of what to label lives in the policy.
"""

from __future__ import annotations

import functools
from typing import Any

from bot.events.context import HandlerContext
from bot.events.router import Event, Router, Skipped
from bot.triage.policy import plan_issue_labels, skip_reason

router = Router()


@functools.lru_cache(maxsize=4)
def _predictor(model_spec: str, target_precision: float) -> Any:
    """The model of ``triage.model`` (empty: the built-in one), loaded once per process."""
    from bot.triage.model_source import resolve_model
    from bot.triage.runtime import Predictor

    return Predictor(resolve_model(model_spec), target_precision=target_precision)


@router.on("issues", "opened")
def label_new_issue(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """Predicts the type of a new issue and labels it (or marks it ``needs-triage``)."""
    triage = ctx.config.triage
    issue = event.payload.get("issue") or {}
    skipped = skip_reason(triage, issue, sender_is_bot=event.sender_is_bot)
    if skipped is not None:
        return Skipped(skipped)
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
        return Skipped(plan.reason, result)
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
                model_id=str(triage.model or "builtin"),
                model_version=predictor.manifest.created,
                label=prediction.label,
                probabilities=prediction.probabilities,
                decision=prediction.decision,
            )
    return result
