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
from bot.triage.policy import (
    TRIAGE_COMMENT_KEY,
    plan_issue_labels,
    skip_reason,
    triage_comment,
)

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
    model = {"name": triage.model or "built-in", "version": predictor.manifest.created}
    comment = triage_comment(ctx.config, plan, prediction.to_json(), model)
    result: dict[str, Any] = {
        "prediction": prediction.to_json(),
        "labels": list(plan.labels),
        "reason": plan.reason,
        "comment": comment is not None,
    }
    if not plan.labels:
        return Skipped(plan.reason, result)
    number = issue.get("number")
    if ctx.github is None or ctx.dry_run:
        ctx.plan("label", repo=event.repo_full_name, issue=number, labels=plan.labels)
        if comment is not None:
            ctx.plan("comment", repo=event.repo_full_name, issue=number, body=comment)
    if ctx.github is None:
        return result
    from bot.github.comments import upsert_sticky_comment
    from bot.github.labels import apply_labels

    repo = ctx.github.get_repo(event.repo_full_name)
    gh_issue = repo.get_issue(int(number))
    apply_labels(
        repo, gh_issue, add=plan.labels, palette=ctx.config.labels.palette(), dry_run=ctx.dry_run
    )
    if comment is not None:
        upsert_sticky_comment(gh_issue, TRIAGE_COMMENT_KEY, comment, dry_run=ctx.dry_run)
    if ctx.store is not None and not ctx.dry_run:
        from bot.store.predictions import record_prediction

        with ctx.store.session() as session:
            record_prediction(
                session,
                repo=event.repo_full_name or "",
                issue_number=int(number),
                model_id=model["name"],
                model_version=model["version"],
                label=prediction.label,
                probabilities=prediction.probabilities,
                decision=prediction.decision,
            )
    return result
