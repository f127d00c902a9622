"""Records a person's relabel of an issue maintbot typed as a correction (``issues.labeled``).

A maintainer who changes maintbot's type label (adds another type, or removes maintbot's)
tells it how good its label was; :mod:`bot.triage.corrections` decides whether the event is
such a correction (or a confirmation) and keeps it in the store and in the marker of
maintbot's comment. This handler never writes a label. Cheap checks come first, so the
many label events that are not about a type cost no request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.events.context import HandlerContext
from bot.events.router import Event, Router, Skipped
from bot.triage.corrections import (
    Feedback,
    LabelEvent,
    judge,
    load_issue_state,
    parse_time,
    record_feedback,
)

router = Router()


def label_event_of(event: Event) -> LabelEvent | None:
    """The payload's label change as a :class:`LabelEvent` (None: the payload names no label).

    A webhook carries no time of its own for the change; the issue's ``updated_at`` is when
    it happened, and the same in a replayed delivery."""
    label = (event.payload.get("label") or {}).get("name")
    if not isinstance(label, str) or not label:
        return None
    sender = event.payload.get("sender") or {}
    issue = event.payload.get("issue") or {}
    at = parse_time(issue.get("updated_at")) or datetime.now(UTC)
    return LabelEvent(
        str(event.action),
        label,
        str(sender.get("login") or "ghost"),
        at,
        "Bot" if event.sender_is_bot else sender.get("type"),
    )


@router.on("issues", "labeled", "unlabeled")
def record_relabel(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """A person's change of the type label maintbot set becomes a recorded correction."""
    if not ctx.config.triage.learn_from_corrections:
        return Skipped("triage.learn_from_corrections is false")
    change = label_event_of(event)
    issue = event.payload.get("issue") or {}
    number, repo = issue.get("number"), event.repo_full_name
    if change is None or not isinstance(number, int) or not repo:
        return Skipped("the payload names no label, issue or repository")
    if "pull_request" in issue:
        return Skipped("a pull request")
    if event.sender_is_bot:
        return Skipped(f"{change.actor} is a bot, not a person")
    types = dict(ctx.config.labels.types)
    if ctx.config.labels.type_for(change.label) is None:
        return Skipped(f"label {change.label!r} is not a type label")
    state = load_issue_state(ctx, repo, number)
    labels_after = [str(label.get("name", "")) for label in issue.get("labels") or []]
    verdict = judge(state.prediction, change, types, labels_after)
    if not isinstance(verdict, Feedback):
        return Skipped(verdict)
    result = record_feedback(
        ctx,
        state,
        from_type=verdict.from_type,
        to_type=verdict.to_type,
        actor=verdict.actor,
        at=verdict.at,
    )
    if not result["recorded"]:
        return Skipped("this change is already recorded", result)
    return result
