"""Labels new and edited issues with their type, or ``needs-triage`` when the model is unsure.

On ``issues.opened`` / ``reopened`` the model named by ``triage.model`` predicts the type;
:mod:`bot.triage.policy` decides what that means for this issue, and this handler applies
it, explains it in the ``type`` section of the bot's one comment (with a hidden marker of
the prediction, so GitHub remembers what the bot decided) and records the prediction in the
store. On ``issues.edited`` the issue is predicted again, but relabelled only while the
bot's own label is its only sorting label: a label a person set or changed is never
touched. The handler only gathers inputs and writes; every rule lives in the policy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.events.context import HandlerContext
from bot.events.router import Event, Router, Skipped
from bot.github.identity import is_bot_account
from bot.triage.comment import bot_comment_text, write_section
from bot.triage.policy import (
    LabelPlan,
    plan_issue_labels,
    plan_retriage,
    read_prediction_marker,
    skip_reason,
    type_section,
)
from bot.triage.runtime import loaded_predictor

log = logging.getLogger(__name__)
router = Router()


@router.on("issues", "opened", "reopened")
def label_new_issue(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """Predicts the type of a new (or reopened) issue and labels it, or marks it
    ``needs-triage``; an issue a person already sorted is left alone."""
    issue = _payload_issue(event)
    if issue is None:
        return Skipped("the payload names no issue with a number")
    skipped = skip_reason(ctx.config.triage, issue, sender_is_bot=event.sender_is_bot)
    if skipped is not None:
        return Skipped(skipped)
    labels_now = _label_names(issue)
    if ctx.github is not None and event.repo_full_name:
        # the issue as it is now, not as the delivery saw it: a redelivery after a person
        # relabelled it must not put the bot's label back
        gh_issue = ctx.issue(event.repo_full_name, int(issue["number"]))
        labels_now = [label.name for label in gh_issue.labels]
        marker = _bot_marker(ctx, event.repo_full_name, gh_issue.number)
        if marker is not None and "corrected_to" in marker:
            return Skipped("a person corrected maintbot's label")
    prediction, model = _predict(ctx, event, issue)
    plan = plan_issue_labels(ctx.config, prediction.decision, labels_now)
    issue_now = {**issue, "labels": [{"name": n} for n in labels_now]}
    return _apply(event, ctx, issue_now, plan, prediction, model)


@router.on("issues", "edited")
def relabel_edited_issue(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """Predicts an edited issue again; relabels it only while the label is still the bot's."""
    issue = _payload_issue(event)
    if issue is None or not event.repo_full_name:
        return Skipped("the payload names no issue with a number, or no repository")
    changes = event.payload.get("changes")
    if not isinstance(changes, dict) or not ({"title", "body"} & set(changes)):
        return Skipped("the edit changed neither the title nor the body")
    skipped = skip_reason(ctx.config.triage, issue, sender_is_bot=event.sender_is_bot)
    if skipped is not None:
        return Skipped(skipped)
    if ctx.github is None:
        return Skipped("no GitHub access to read what maintbot decided before")
    gh_issue = ctx.issue(event.repo_full_name, int(issue["number"]))
    current = [label.name for label in gh_issue.labels]
    marker = _bot_marker(ctx, event.repo_full_name, gh_issue.number)
    bot_labels = marker.get("labels") if marker else _labels_set_by_bots(gh_issue, current)
    corrected = bool(marker and "corrected_to" in marker)
    if bot_labels is not None and not corrected:
        ctx.decisions["type_source"] = "maintbot"
    prediction, model = _predict(ctx, event, issue)
    plan = plan_retriage(ctx.config, prediction.decision, current, bot_labels, corrected=corrected)
    if isinstance(plan, str):
        return Skipped(plan, {"prediction": prediction.to_json()})
    issue_now = {**issue, "labels": [{"name": n} for n in current]}
    return _apply(event, ctx, issue_now, plan, prediction, model)


def _payload_issue(event: Event) -> dict[str, Any] | None:
    """The payload's issue, when it is one with a number (GitHub's always is)."""
    issue = event.payload.get("issue")
    if not isinstance(issue, dict):
        return None
    number = issue.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        return None
    return issue


def _label_names(issue: dict[str, Any]) -> list[str]:
    return [
        str(label.get("name", "")) for label in issue.get("labels") or [] if isinstance(label, dict)
    ]


def _predict(
    ctx: HandlerContext, event: Event, issue: dict[str, Any]
) -> tuple[Any, dict[str, str]]:
    triage = ctx.config.triage
    predictor = loaded_predictor(triage.model, triage.min_precision)
    title = issue.get("title") if isinstance(issue.get("title"), str) else ""
    body = issue.get("body") if isinstance(issue.get("body"), str) else ""
    (prediction,) = predictor.predict([(title, body)], [event.repo_full_name])
    model = {"name": triage.model or "built-in", "version": predictor.manifest.created}
    return prediction, model


def _apply(
    event: Event,
    ctx: HandlerContext,
    issue: dict[str, Any],
    plan: LabelPlan,
    prediction: Any,
    model: dict[str, str],
) -> dict[str, Any] | Skipped:
    """Writes the plan: labels, the comment's type section, the stored prediction."""
    repo_name, number = event.repo_full_name or "", int(issue["number"])
    result: dict[str, Any] = {
        "prediction": prediction.to_json(),
        "labels": list(plan.labels),
        "removed": list(plan.remove),
        "reason": plan.reason,
    }
    if not plan.labels and not plan.remove:
        return Skipped(plan.reason, result)
    ctx.decisions["type"] = prediction.decision
    given = plan.labels or tuple(name for name in _label_names(issue) if name not in plan.remove)
    section = type_section(ctx.config, given, prediction.to_json(), model)
    result["comment"] = section is not None
    if ctx.github is None or ctx.dry_run:
        ctx.plan(
            "label",
            repo=repo_name,
            issue=number,
            labels=list(plan.labels),
            remove=list(plan.remove),
        )
    if ctx.github is not None:
        ctx.apply_labels(repo_name, number, add=plan.labels, remove=plan.remove)
    write_section(ctx, repo_name, number, "type", section)
    if ctx.store is not None and not ctx.dry_run:
        _record(ctx, repo_name, number, prediction, model)
    return result


def _record(
    ctx: HandlerContext, repo: str, number: int, prediction: Any, model: dict[str, str]
) -> None:
    """Stores the prediction, once: a redelivery of the same event adds no second row."""
    from bot.store.predictions import latest_prediction, record_prediction

    assert ctx.store is not None
    with ctx.store.session() as session:
        last = latest_prediction(session, repo, number)
        if last is not None and (last.model_id, last.model_version, last.decision) == (
            model["name"],
            model["version"],
            prediction.decision,
        ):
            return
        record_prediction(
            session,
            repo=repo,
            issue_number=number,
            model_id=model["name"],
            model_version=model["version"],
            label=prediction.label,
            probabilities=prediction.probabilities,
            decision=prediction.decision,
        )


def _bot_marker(ctx: HandlerContext, repo: str, number: int) -> dict[str, Any] | None:
    """The prediction marker in the bot's comment on the issue, if it wrote one."""
    text = bot_comment_text(ctx, repo, number)
    return read_prediction_marker(text) if text is not None else None


def _labels_set_by_bots(gh_issue: Any, current: Sequence[str]) -> list[str] | None:
    """The issue's current labels that a bot account added last, from its label events: what
    maintbot set when it left no marker (a ``needs-triage`` without a comment). None when no
    current label was added by a bot."""
    added_by: dict[str, bool] = {}
    for ev in gh_issue.get_events():
        label = getattr(ev, "label", None)
        if ev.event == "labeled" and label is not None:
            actor = ev.actor
            added_by[label.name.casefold()] = is_bot_account(
                getattr(actor, "login", None), getattr(actor, "type", None)
            )
    bots = [name for name in current if added_by.get(name.casefold())]
    return bots or None
