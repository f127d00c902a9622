"""What to label an issue: the whole triage label policy, as pure functions over plain data.

The ``issues.opened`` handler asks three questions, in this order:

1. :func:`skip_reason`: look at this issue at all? Not when ``triage.enabled`` is false
   (an empty ``triage.model`` means the built-in model, not off), not for a pull request,
   not for a bot or an ignored author.
2. :func:`decide`: the classifier's probabilities against the per-label thresholds give a
   type, or ``needs-triage`` when the model is not sure enough (a maintainer would rather
   label a few issues by hand than undo wrong labels).
3. :func:`plan_issue_labels`: that decision mapped onto the repository's own label names
   (``labels.types``, ``labels.needs_triage``), leaving alone an issue a person already sorted.

No I/O and no GitHub client here: the handler gathers the inputs, calls these and writes the
plan, so every rule is tested with plain values. The label names and which labels mean "a
person sorted this" are configuration (``bot.config.schema.LabelsConfig``); the thresholds
are chosen at training time (``bot.triage.thresholds``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.triage.metrics import NEEDS_TRIAGE

if TYPE_CHECKING:
    from bot.config.schema import Config, TriageConfig

NEVER = 1.01  # a threshold no probability reaches: the label is never given automatically


def skip_reason(
    triage: TriageConfig, issue: Mapping[str, Any], *, sender_is_bot: bool
) -> str | None:
    """Why maintbot keeps off this issue (``issue``: the event payload's), or None to go on.

    Checked before the model runs, so a skipped issue costs no prediction."""
    author = (issue.get("user") or {}).get("login", "")
    if not triage.enabled:
        return "triage.enabled is false"
    if "pull_request" in issue:
        return "a pull request"
    if triage.ignores_author(author, is_bot=sender_is_bot):
        return f"author {author} is ignored"
    return None


def decide(
    probabilities: Mapping[str, float], thresholds: Mapping[str, float]
) -> tuple[str, float]:
    """The label to apply (or ``needs-triage``) and the confidence it rests on.

    A label without a threshold is never applied automatically."""
    label = max(probabilities, key=lambda k: probabilities[k])
    confidence = probabilities[label]
    if confidence >= thresholds.get(label, NEVER):
        return label, confidence
    return NEEDS_TRIAGE, confidence


@dataclass(frozen=True)
class LabelPlan:
    """What to do with one issue: the labels to add (none: leave it) and why, to report."""

    labels: tuple[str, ...]  # repository label names to add; empty: do nothing
    reason: str


def plan_issue_labels(config: Config, decision: str, existing_labels: Sequence[str]) -> LabelPlan:
    """Maps the classifier's decision onto the repository's labels.

    ``needs-triage`` becomes ``labels.needs_triage``; a type becomes ``labels.types[type]``;
    a type the repository does not map is left for a person rather than guessed; an issue
    whose labels say a person already sorted it (``labels.is_triaged``) gets nothing."""
    labels = config.labels
    if labels.is_triaged(existing_labels):
        return LabelPlan((), "already triaged by a person")
    if decision == NEEDS_TRIAGE:
        return LabelPlan((labels.needs_triage,), "confidence below the threshold")
    name = labels.label_for(decision)
    if name is None:
        return LabelPlan((labels.needs_triage,), f"type {decision!r} has no label here")
    return LabelPlan((name,), f"classified as {decision}")
