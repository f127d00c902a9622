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

import json
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
    """What to do with one issue: the labels to add (none: leave it) and why, to report.

    ``remove`` holds only labels maintbot itself set earlier (a re-triage replacing its own
    label): a label a person set is never removed."""

    labels: tuple[str, ...]  # repository label names to add; empty: do nothing
    reason: str
    remove: tuple[str, ...] = ()


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


def sorting_labels(config: Config, label_names: Sequence[str]) -> set[str]:
    """The labels on an issue that say what kind of issue it is (caseless): its type labels,
    ``needs-triage`` and the hands-off ones; what a re-triage must find unchanged."""
    labels = config.labels
    sorting = {name.casefold() for name in labels.types.values()}
    sorting.add(labels.needs_triage.casefold())
    sorting.update(name.casefold() for name in labels.already_triaged)
    return {name.casefold() for name in label_names if name.casefold() in sorting}


def plan_retriage(
    config: Config,
    decision: str,
    current_labels: Sequence[str],
    bot_labels: Sequence[str] | None,
    *,
    corrected: bool = False,
) -> LabelPlan | str:
    """What an edit of the issue changes: a new plan, or why the bot keeps off (a str).

    The bot re-triages only an issue whose sorting labels are exactly the ones it set
    (``bot_labels``, from its comment's marker or the issue's label events) and that no
    person corrected; it then swaps its own label for the new one."""
    if bot_labels is None:
        return "maintbot did not label this issue"
    if corrected:
        return "a person corrected maintbot's label"
    ours = sorting_labels(config, bot_labels)
    if not ours or sorting_labels(config, current_labels) != ours:
        return "a person changed the issue's labels since maintbot labelled it"
    fresh = plan_issue_labels(config, decision, [])
    wanted = {name.casefold() for name in fresh.labels}
    on_issue = {name.casefold() for name in current_labels}
    add = tuple(name for name in fresh.labels if name.casefold() not in on_issue)
    remove = tuple(
        name for name in bot_labels if name.casefold() in ours and name.casefold() not in wanted
    )
    if not add and not remove:
        return LabelPlan((), f"still {fresh.reason}")
    return LabelPlan(add, fresh.reason, remove)


PREDICTION_MARKER = "maintbot-prediction"


def type_section(
    config: Config,
    given: Sequence[str],
    prediction: Mapping[str, Any],
    model: Mapping[str, str],
) -> str | None:
    """The type section of the bot's one comment on the issue, or None to stay silent.

    The bot explains a type label it gave (so a person knows what to change if it is wrong)
    and, with ``triage.comment_on_low_confidence``, its best guesses when it was not sure;
    otherwise a ``needs-triage`` label says enough. A hidden line records the prediction
    (model, version, label, confidence), so GitHub itself remembers what the bot decided
    when no store survives (an Action run). Label names come from the maintainer's
    configuration, never from the issue, so nothing untrusted is echoed."""
    decision, probabilities = prediction["decision"], prediction["probabilities"]
    low = decision == NEEDS_TRIAGE
    if not given or (low and not config.triage.comment_on_low_confidence):
        return None
    ranked = sorted(probabilities, key=lambda k: -probabilities[k])
    guesses = ", ".join(f"{label} {probabilities[label]:.0%}" for label in ranked)
    if low:
        text = (
            f"maintbot is not sure what type of issue this is, so it added "
            f"`{given[0]}` for a maintainer. Its best guesses: {guesses}."
        )
    else:
        text = (
            f"maintbot labelled this issue `{given[0]}` ({decision}, confidence "
            f"{prediction['confidence']:.0%}; {guesses}). If that is wrong, change the label "
            "or comment `/type <type>`: a maintainer's correction is recorded and counted."
        )
    record = {
        "model": model.get("name", ""),
        "version": model.get("version", ""),
        "label": decision,
        "confidence": round(float(prediction["confidence"]), 4),
        "labels": list(given),
    }
    hidden = f"<!-- {PREDICTION_MARKER} {json.dumps(record, sort_keys=True)} -->"
    return f"{text}\n\n{hidden}"


def read_prediction_marker(body: str) -> dict[str, Any] | None:
    """The prediction a triage comment recorded (see :func:`type_section`), if any."""
    start = body.find(f"<!-- {PREDICTION_MARKER} ")
    if start < 0:
        return None
    raw = body[start + len(PREDICTION_MARKER) + 6 :].split(" -->", 1)[0]
    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None
