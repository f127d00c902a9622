"""Maintainers' corrections of maintbot's type labels: what counts as one, and where it is kept.

maintbot learns how good its labels are from what people do with them. A *correction* is a
person adding another type label, or removing the bot's type label, on an issue whose type
maintbot set; a person (re-)adding the very type maintbot chose is a *confirmation*. maintbot's
own label changes, other bots' and labels that are not types count as neither.

What maintbot decided is known from the hidden marker of its one comment on the issue
(``bot.triage.policy.read_prediction_marker``) or, with a store, from the ``predictions``
table. A correction is kept in both places: a ``label_corrections`` row, and the
``corrected_to`` / ``corrected_by`` / ``corrected_at`` keys of the marker, so GitHub itself
remembers it when no store survives (an Action run). With neither, it is derived again from
the marker and the issue's ``labeled`` / ``unlabeled`` events (:func:`derive_feedback`).

The top of this module is pure (plain values in, decisions out); the functions that read
GitHub or write the store come after the ``I/O`` line and import their edges lazily.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from bot.github.comments import is_ours
from bot.github.identity import is_bot_account
from bot.github.listing import paginate
from bot.triage.metrics import NEEDS_TRIAGE
from bot.triage.policy import PREDICTION_MARKER, read_prediction_marker

if TYPE_CHECKING:
    from bot.events.context import HandlerContext

COMMENT_KEY = "triage"  # bot.triage.comment.ISSUE_COMMENT_KEY: the issue's one sticky comment
SAME_MOMENT = timedelta(seconds=60)
"""Two records of the same change by the same person this close in time are one: a webhook
says when by the issue's ``updated_at``, the event list by the event's own time."""

FeedbackKind = Literal["correction", "confirmation"]


# ------------------------------------------------------------------------------ records


def parse_time(value: Any) -> datetime | None:
    """GitHub's ``2024-03-01T12:00:00Z`` (or a datetime) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """GitHub's one time format, what the marker stores."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Feedback:
    """A person's answer to maintbot's type: ``to_type`` None means the label was removed."""

    from_type: str | None  # the type the person changed from, as reported
    to_type: str | None  # the type the person chose; None: no type any more
    actor: str
    at: datetime
    predicted: str | None = None  # maintbot's type, when known

    @property
    def kind(self) -> FeedbackKind:
        return "confirmation" if self.to_type == self.predicted else "correction"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "from": self.from_type,
            "to": self.to_type,
            "actor": self.actor,
            "at": stamp(self.at),
        }


@dataclass(frozen=True)
class BotPrediction:
    """What maintbot decided about one issue (from its marker, or from the store)."""

    type: str  # the classifier type it applied, or needs-triage
    labels: tuple[str, ...] = ()  # the repository label names it added
    model: str = ""
    version: str = ""
    confidence: float | None = None
    at: datetime | None = None  # when its comment was written (or the store row)
    bot: str | None = None  # the account that wrote the comment: maintbot here
    correction: Feedback | None = None  # what the marker says a person chose

    @property
    def set_type(self) -> bool:
        """True when maintbot labelled the issue with a type (not needs-triage)."""
        return self.type != NEEDS_TRIAGE and bool(self.labels)

    def is_bot(self, login: str | None, account_type: str | None = None) -> bool:
        """Whether ``login`` is maintbot itself or any other bot: not a person."""
        if is_bot_account(login, account_type):
            return True
        return bool(login and self.bot and login.casefold() == self.bot.casefold())


def prediction_from_marker(
    record: Mapping[str, Any] | None, *, at: datetime | None = None, bot: str | None = None
) -> BotPrediction | None:
    """The marker written by ``bot.triage.policy`` as a :class:`BotPrediction` (None: none)."""
    if not isinstance(record, Mapping) or not isinstance(record.get("label"), str):
        return None
    labels = record.get("labels")
    confidence = record.get("confidence")
    predicted = record["label"]
    correction = None
    corrected_at = parse_time(record.get("corrected_at"))
    if "corrected_to" in record and corrected_at is not None:
        correction = Feedback(
            record.get("corrected_from", predicted),
            record.get("corrected_to") or None,
            str(record.get("corrected_by") or ""),
            corrected_at,
            predicted,
        )
    return BotPrediction(
        type=predicted,
        labels=tuple(str(n) for n in labels) if isinstance(labels, list) else (),
        model=str(record.get("model") or ""),
        version=str(record.get("version") or ""),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        at=at,
        bot=bot,
        correction=correction,
    )


@dataclass(frozen=True)
class LabelEvent:
    """One ``labeled`` / ``unlabeled`` event of an issue."""

    action: str  # "labeled" or "unlabeled"
    label: str
    actor: str
    at: datetime
    actor_type: str | None = None  # "User", "Bot"...
    id: int | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> LabelEvent | None:
        """An entry of ``GET .../issues/events`` (or ``.../issues/{n}/events``), if a label one."""
        if raw.get("event") not in ("labeled", "unlabeled"):
            return None
        label = (raw.get("label") or {}).get("name")
        at = parse_time(raw.get("created_at"))
        if not isinstance(label, str) or at is None:
            return None
        actor = raw.get("actor") or {}
        return cls(
            str(raw["event"]),
            label,
            str(actor.get("login") or "ghost"),
            at,
            actor.get("type"),
            raw.get("id") if isinstance(raw.get("id"), int) else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "label": self.label,
            "actor": self.actor,
            "actor_type": self.actor_type,
            "at": stamp(self.at),
            "id": self.id,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> LabelEvent:
        """The inverse of :meth:`to_json` (what the caches keep)."""
        return cls(
            data["action"],
            data["label"],
            data["actor"],
            parse_time(data["at"]) or datetime.min.replace(tzinfo=UTC),
            data.get("actor_type"),
            data.get("id"),
        )


# ---------------------------------------------------------------------------- decisions


def _type_of(label: str, types: Mapping[str, str]) -> str | None:
    wanted = label.casefold()
    return next((t for t, name in types.items() if name.casefold() == wanted), None)


def _types_on(labels: Iterable[str], types: Mapping[str, str]) -> list[str]:
    found = []
    for label in labels:
        kind = _type_of(label, types)
        if kind is not None and kind not in found:
            found.append(kind)
    return found


def judge(
    prediction: BotPrediction | None,
    event: LabelEvent,
    types: Mapping[str, str],
    labels_after: Sequence[str],
) -> Feedback | str:
    """Is this label event a person's correction (or confirmation) of maintbot's type?

    ``types`` maps classifier types to the repository's label names (``labels.types``);
    ``labels_after`` are the issue's labels once the event happened. Returns the
    :class:`Feedback`, or why the event is neither (a reason a maintainer can read)."""
    if prediction is None:
        return "maintbot did not label this issue"
    if not prediction.set_type:
        return "maintbot did not set this issue's type"
    if prediction.is_bot(event.actor, event.actor_type):
        return f"{event.actor} is a bot, not a person"
    kind = _type_of(event.label, types)
    if kind is None:
        return f"label {event.label!r} is not a type label"
    if event.action == "labeled":
        return Feedback(prediction.type, kind, event.actor, event.at, prediction.type)
    if event.action != "unlabeled":
        return f"{event.action!r} is not a label change"
    if kind != prediction.type:
        return f"{event.label!r} is not maintbot's label"
    remaining = [t for t in _types_on(labels_after, types) if t != prediction.type]
    to_type = remaining[0] if len(remaining) == 1 else None
    return Feedback(prediction.type, to_type, event.actor, event.at, prediction.type)


def derive_feedback(
    prediction: BotPrediction | None,
    events: Iterable[LabelEvent],
    types: Mapping[str, str],
) -> list[Feedback]:
    """Every correction and confirmation an issue's label events show, oldest first.

    Derivation from GitHub alone (an Action run has no store): the events are replayed in
    order, keeping the issue's labels, and each person's change of a type label after
    maintbot labelled the issue is judged. Changes before maintbot's own ``labeled`` event
    (or its comment, when the events do not show it) are history, not feedback. The
    marker's own ``corrected_to`` (a ``/type`` command relabels through maintbot, so no
    person's label event shows it) is merged in by time."""
    if prediction is None or not prediction.set_type:
        return []
    ordered = sorted(events, key=lambda e: (e.at, e.id or 0))
    bot_labels = {name.casefold() for name in prediction.labels}
    started = next(
        (
            e.at
            for e in ordered
            if e.action == "labeled"
            and e.label.casefold() in bot_labels
            and prediction.is_bot(e.actor, e.actor_type)
        ),
        prediction.at,
    )
    labels: list[str] = []
    found: list[Feedback] = []
    for event in ordered:
        if event.action == "labeled" and event.label.casefold() not in map(str.casefold, labels):
            labels.append(event.label)
        elif event.action == "unlabeled":
            labels = [n for n in labels if n.casefold() != event.label.casefold()]
        if started is not None and event.at < started:
            continue
        verdict = judge(prediction, event, types, labels)
        if isinstance(verdict, Feedback) and not (found and _same_change(found[-1], verdict)):
            _merge(found, verdict)
    if prediction.correction is not None:
        _merge(found, prediction.correction)
    return sorted(found, key=_order)


def _merge(found: list[Feedback], new: Feedback) -> None:
    action, index = place(new, found)
    if action == "add":
        found.append(new)
    elif action == "replace" and index is not None:
        found[index] = new


def _order(feedback: Feedback) -> tuple[datetime, int]:
    # At the same moment a replacement ("bug → question") outranks the bare removal that
    # is half of it: GitHub may send the unlabeled and labeled events in either order.
    return feedback.at, 0 if feedback.to_type is None else 1


def latest(feedback: Iterable[Feedback]) -> Feedback | None:
    """What people said last about maintbot's type (None: nothing)."""
    ordered = sorted(feedback, key=_order)
    return ordered[-1] if ordered else None


def _same_change(a: Feedback, b: Feedback) -> bool:
    return a.to_type == b.to_type and a.actor.casefold() == b.actor.casefold()


def is_duplicate(new: Feedback, existing: Iterable[Feedback]) -> bool:
    """The same change by the same person at (about) the same moment is already recorded:
    a replayed delivery, or a webhook and the event list telling of one change."""
    return any(_same_change(new, old) and abs(new.at - old.at) <= SAME_MOMENT for old in existing)


Placement = Literal["add", "skip", "replace"]


def place(new: Feedback, existing: Sequence[Feedback]) -> tuple[Placement, int | None]:
    """Where ``new`` goes among the recorded ``existing``: ``add`` it, ``skip`` it, or
    ``replace`` the record at the index returned.

    One relabel is one record: GitHub tells "bug → question" as two events (the removal and
    the addition, in either order), so a bare removal and a replacement by the same person
    at the same moment merge into the replacement; the same change again is skipped."""
    if is_duplicate(new, existing):
        return "skip", None
    for index, old in enumerate(existing):
        together = (
            old.actor.casefold() == new.actor.casefold() and abs(new.at - old.at) <= SAME_MOMENT
        )
        if together and old.to_type is None and new.to_type is not None:
            return "replace", index
        if together and old.to_type is not None and new.to_type is None:
            return "skip", None  # the removal half of a replacement already recorded
    return "add", None


def supersedes(new: Feedback, current: Feedback | None) -> bool:
    """Whether the marker's correction should become ``new``: it is later than what the
    marker holds (an old delivery replayed late does not undo a newer correction), and not
    the removal half of the relabel the marker already records."""
    if current is None:
        return True
    if place(new, [current])[0] == "skip":
        return False
    return _order(new) > _order(current) or place(new, [current])[0] == "replace"


def mark_correction(body: str, feedback: Feedback) -> str | None:
    """``body`` (the bot's comment) with its marker recording ``feedback``; None: no marker.

    The marker keeps the latest correction only; the store keeps them all."""
    start = body.find(f"<!-- {PREDICTION_MARKER} ")
    record = read_prediction_marker(body)
    if start < 0 or record is None:
        return None
    end = body.find(" -->", start + len(PREDICTION_MARKER) + 6)
    record.update(
        corrected_to=feedback.to_type or "",
        corrected_by=feedback.actor,
        corrected_at=stamp(feedback.at),
    )
    if feedback.from_type is not None and feedback.from_type != record.get("label"):
        record["corrected_from"] = feedback.from_type
    else:
        record.pop("corrected_from", None)
    hidden = f"<!-- {PREDICTION_MARKER} {json.dumps(record, sort_keys=True)}"
    return body[:start] + hidden + body[end:]


# ------------------------------------------------------------------ per-issue outcomes


@dataclass(frozen=True)
class TriageRecord:
    """maintbot's decision on one issue and what people said of it: what precision counts."""

    repo: str
    number: int
    predicted: str  # a type, or needs-triage
    at: datetime | None
    final: Feedback | None = None  # the latest correction or confirmation

    @property
    def corrected_to(self) -> str | None:
        """The type people chose instead (``""``: removed, no type); None when not corrected."""
        if self.final is None or self.final.to_type == self.predicted:
            return None
        return self.final.to_type or ""

    @property
    def confirmed(self) -> bool:
        return self.final is not None and self.final.to_type == self.predicted

    @property
    def kept(self) -> bool:
        return self.corrected_to is None

    @property
    def training_label(self) -> str | None:
        """The type a person stands behind: the corrected one, or the confirmed one."""
        if self.final is None:
            return None
        return self.final.to_type


def records_from_github(
    repo: str,
    marks: Mapping[int, BotPrediction],
    events: Mapping[int, Sequence[LabelEvent]],
    types: Mapping[str, str],
    needs_triage: str,
) -> list[TriageRecord]:
    """Every issue maintbot triaged, derived from its markers and the label events.

    An issue with a marker is a type decision (or needs-triage when the marker says so); an
    issue without one whose ``needs_triage`` label a bot added was left for a person (the
    bot writes no comment then unless ``triage.comment_on_low_confidence``)."""
    found = []
    for number, prediction in marks.items():
        history = derive_feedback(prediction, events.get(number, ()), types)
        found.append(TriageRecord(repo, number, prediction.type, prediction.at, latest(history)))
    for number, history in events.items():
        if number in marks:
            continue
        added = next(
            (
                e
                for e in sorted(history, key=lambda e: (e.at, e.id or 0))
                if e.action == "labeled"
                and e.label.casefold() == needs_triage.casefold()
                and is_bot_account(e.actor, e.actor_type)
            ),
            None,
        )
        if added is not None:
            found.append(TriageRecord(repo, number, NEEDS_TRIAGE, added.at))
    return sorted(found, key=lambda r: r.number)


@dataclass(frozen=True)
class LabelStats:
    label: str
    predicted: int
    kept: int
    corrected: int
    confirmed: int

    @property
    def precision(self) -> float | None:
        return self.kept / self.predicted if self.predicted else None


def live_precision(records: Iterable[TriageRecord]) -> dict[str, Any]:
    """Live precision per type and coverage over ``records``.

    Precision of a type: of the issues maintbot labelled with it, the share people kept
    (not corrected to another type or stripped of it). Coverage: of the issues maintbot
    triaged, the share it labelled with a type rather than leaving ``needs-triage``. The
    same definitions as the report's "labels kept by maintainers"."""
    records = list(records)
    typed = [r for r in records if r.predicted != NEEDS_TRIAGE]
    per_label = []
    for label in sorted({r.predicted for r in typed}):
        mine = [r for r in typed if r.predicted == label]
        per_label.append(
            LabelStats(
                label,
                len(mine),
                sum(r.kept for r in mine),
                sum(not r.kept for r in mine),
                sum(r.confirmed for r in mine),
            )
        )
    overall = LabelStats(
        "all",
        len(typed),
        sum(s.kept for s in per_label),
        sum(s.corrected for s in per_label),
        sum(s.confirmed for s in per_label),
    )
    triaged = len(records)
    return {
        "labels": per_label,
        "overall": overall,
        "triaged": triaged,
        "labelled": len(typed),
        "needs_triage": triaged - len(typed),
        "coverage": len(typed) / triaged if triaged else None,
    }


# ---------------------------------------------------------------------------------- I/O


def _comment_login(comment: Any) -> str | None:
    user = getattr(comment, "user", None)
    return getattr(user, "login", None)


def find_marker_comment(
    comments: Iterable[Any], acting: str | None | Literal[False] = False
) -> tuple[Any, BotPrediction] | None:
    """maintbot's comment (the oldest sticky one carrying a prediction marker) and its marker.

    With ``acting`` (see ``bot.github.identity``), a comment neither a bot account nor that
    login wrote is not maintbot's, whatever marker was pasted into it."""
    from bot.github.identity import comment_written_by_us

    for comment in comments:
        body = getattr(comment, "body", None) or ""
        if not is_ours(body, COMMENT_KEY):
            continue
        if acting is not False and not comment_written_by_us(comment, acting):
            continue
        prediction = prediction_from_marker(
            read_prediction_marker(body),
            at=parse_time(getattr(comment, "created_at", None)),
            bot=_comment_login(comment),
        )
        if prediction is not None:
            return comment, prediction
    return None


@dataclass
class IssueState:
    """What maintbot knows of one issue while recording: its prediction and its comment."""

    repo: str
    number: int
    prediction: BotPrediction | None = None
    source: str | None = None  # "store" or "marker"
    comment: Any = None
    recorded: list[Feedback] = field(default_factory=list)  # the store's corrections
    recorded_ids: list[int] = field(default_factory=list)  # their rows, in the same order


def load_issue_state(ctx: HandlerContext, repo: str, number: int) -> IssueState:
    """The prediction of issue ``number`` from the store, else from maintbot's comment.

    The comment is read whenever GitHub is reachable (one listing), since the marker is
    updated too."""
    state = IssueState(repo, number)
    if ctx.store is not None:
        from bot.store.predictions import latest_prediction

        with ctx.store.session() as session:
            row = latest_prediction(session, repo, number)
            if row is not None:
                label = ctx.config.labels.label_for(row.decision)
                state.prediction = BotPrediction(
                    row.decision,
                    (label,) if label and row.decision != NEEDS_TRIAGE else (),
                    row.model_id,
                    row.model_version,
                    None,
                    parse_time(row.created_at),
                )
                state.source = "store"
                for c in row.corrections:
                    at = parse_time(c.corrected_at) or datetime.now(UTC)
                    state.recorded.append(
                        Feedback(c.from_label, c.to_label, c.actor, at, row.decision)
                    )
                    state.recorded_ids.append(c.id)
    if ctx.github is not None:
        found = find_marker_comment(ctx.issue_comments(repo, number).all(), ctx.acting_login())
        if found is not None:
            state.comment, marked = found
            if state.prediction is None:
                state.prediction, state.source = marked, "marker"
            else:  # the store's row, known to have been written by the marker's author
                state.prediction = replace(
                    state.prediction, bot=marked.bot, correction=marked.correction
                )
    return state


def record_correction(
    ctx: HandlerContext,
    *,
    repo: str,
    number: int,
    from_type: str | None,
    to_type: str | None,
    actor: str,
    at: datetime,
) -> dict[str, Any]:
    """Records that ``actor`` changed issue ``number``'s type from ``from_type`` to
    ``to_type`` (None: no type) at ``at``, against maintbot's prediction.

    Stored in ``ctx.store`` when there is one (the prediction row is created from the marker
    when the store has none, so an Action with a fresh store still records it) and in the
    marker of maintbot's comment, so GitHub remembers it. Idempotent: the same change by the
    same person at the same moment is recorded once. Under ``ctx.dry_run`` the writes are
    planned, not made. Returns what happened (``recorded``, ``kind``, ``store``, ``marker``,
    or ``reason`` when there was nothing to record)."""
    state = load_issue_state(ctx, repo, number)
    return record_feedback(ctx, state, from_type=from_type, to_type=to_type, actor=actor, at=at)


def record_feedback(
    ctx: HandlerContext,
    state: IssueState,
    *,
    from_type: str | None,
    to_type: str | None,
    actor: str,
    at: datetime,
) -> dict[str, Any]:
    """:func:`record_correction` once the issue's state is loaded (the handler loads it first
    to judge the event, and must not read the comment twice)."""
    prediction = state.prediction
    if prediction is None:
        return {"recorded": False, "reason": "maintbot did not label this issue"}
    if not prediction.set_type:
        return {"recorded": False, "reason": "maintbot did not set this issue's type"}
    moment = parse_time(at) or datetime.now(UTC)
    feedback = Feedback(from_type, to_type, actor, moment, prediction.type)
    result: dict[str, Any] = {
        "recorded": False,
        "issue": state.number,
        "predicted": prediction.type,
        **feedback.to_json(),
        "store": _store_feedback(ctx, state, feedback),
        "marker": _mark_feedback(ctx, state, feedback),
    }
    result["recorded"] = "recorded" in (result["store"], result["marker"]) or (
        ctx.dry_run and "planned" in (result["store"], result["marker"])
    )
    return result


def _store_feedback(ctx: HandlerContext, state: IssueState, feedback: Feedback) -> str:
    """``recorded``, ``duplicate``, ``planned`` or ``no store``."""
    if ctx.store is None:
        return "no store"
    action, index = place(feedback, state.recorded)
    if action == "skip":
        return "duplicate"
    if ctx.dry_run:
        ctx.plan("record_correction", repo=state.repo, issue=state.number, **feedback.to_json())
        return "planned"
    from bot.store.predictions import latest_prediction, record_prediction, update_correction
    from bot.store.predictions import record_correction as store_correction

    prediction = state.prediction
    assert prediction is not None
    with ctx.store.session() as session:
        row = latest_prediction(session, state.repo, state.number)
        if row is None:  # known from the marker only: the store starts its record here
            confidence = prediction.confidence if prediction.confidence is not None else 0.0
            row = record_prediction(
                session,
                repo=state.repo,
                issue_number=state.number,
                model_id=prediction.model or "unknown",
                model_version=prediction.version or "",
                label=prediction.type,
                probabilities={prediction.type: confidence},
                decision=prediction.type,
                created_at=prediction.at,
            )
        if action == "replace" and index is not None:
            # the bare removal this replacement completes becomes the replacement
            stored = update_correction(
                session, state.recorded_ids[index], to_label=feedback.to_type, at=feedback.at
            )
            state.recorded[index] = feedback
        else:
            stored = store_correction(
                session,
                row.id,
                from_label=feedback.from_type,
                to_label=feedback.to_type,
                actor=feedback.actor,
                at=feedback.at,
            )
            state.recorded.append(feedback)
            state.recorded_ids.append(stored.id)
    return "recorded"


def _mark_feedback(ctx: HandlerContext, state: IssueState, feedback: Feedback) -> str:
    """``recorded``, ``unchanged`` (a newer correction is there, or this one), ``planned``,
    ``absent`` (no marker comment) or ``no github``."""
    if ctx.github is None:
        return "no github"
    if state.comment is None:
        return "absent"
    prediction = state.prediction
    current = prediction.correction if prediction is not None else None
    if (current is not None and is_duplicate(feedback, [current])) or not supersedes(
        feedback, current
    ):
        return "unchanged"
    body = mark_correction(state.comment.body or "", feedback)
    if body is None or body == state.comment.body:
        return "unchanged"
    if ctx.dry_run:
        ctx.plan("comment", repo=state.repo, issue=state.number, section="type", body=body)
        return "planned"
    state.comment.edit(body)
    if prediction is not None:
        state.prediction = replace(prediction, correction=feedback)
    return "recorded"


# ------------------------------------------------------------------- the store's records


def records_from_store(store: Any, repo: str) -> list[TriageRecord]:
    """Every issue of ``repo`` the store holds a prediction for: its latest prediction (a
    re-triage replaces the earlier one) and the latest correction of it."""
    from sqlalchemy import select

    from bot.store.models import Prediction

    latest_rows: dict[int, Any] = {}
    with store.session() as session:
        query = (
            select(Prediction)
            .where(Prediction.repo == repo)
            .order_by(Prediction.created_at, Prediction.id)
        )
        for row in session.execute(query).scalars():
            latest_rows[row.issue_number] = row
        found = []
        for number, row in sorted(latest_rows.items()):
            history = [
                Feedback(
                    c.from_label,
                    c.to_label,
                    c.actor,
                    parse_time(c.corrected_at) or datetime.now(UTC),
                    row.decision,
                )
                for c in row.corrections
            ]
            found.append(
                TriageRecord(
                    repo, number, row.decision, parse_time(row.created_at), latest(history)
                )
            )
    return found


def has_predictions(store: Any, repo: str) -> bool:
    """Whether the store recorded any prediction for ``repo`` (else: ask GitHub)."""
    from sqlalchemy import select

    from bot.store.models import Prediction

    with store.session() as session:
        query = select(Prediction.id).where(Prediction.repo == repo).limit(1)
        return session.execute(query).first() is not None


# ------------------------------------------------------------- reading a whole repository

#: ``progress(listing, pages_done)``: told after every page, for a line on stderr.
Progress = Callable[[str, int], None]


def _no_progress(listing: str, pages: int) -> None:
    return None


@dataclass
class RepoHistory:
    """maintbot's markers and the label events of one repository, as read from GitHub."""

    marks: dict[int, BotPrediction] = field(default_factory=dict)
    mark_records: dict[int, dict[str, Any]] = field(default_factory=dict)  # to cache
    events: dict[int, list[LabelEvent]] = field(default_factory=dict)
    requests: int = 0
    newest_event: str | None = None  # created_at of the newest event seen


def marker_record(
    raw: Mapping[str, Any], acting: str | None | Literal[False] = False
) -> tuple[int, dict[str, Any]] | None:
    """An entry of ``GET .../issues/comments``: (issue number, what a cache keeps of its
    marker: ``marker``, ``created_at``, ``bot``) if it is maintbot's marker comment
    (written by a bot account or ``acting``, when ``acting`` is given)."""
    from bot.github.identity import raw_written_by_us

    body = str(raw.get("body") or "")
    if not is_ours(body, COMMENT_KEY):
        return None
    if acting is not False and not raw_written_by_us(raw, acting):
        return None
    marker = read_prediction_marker(body)
    number = str(raw.get("issue_url") or "").rstrip("/").rsplit("/", 1)[-1]
    if marker is None or not number.isdigit():
        return None
    record = {
        "marker": marker,
        "created_at": raw.get("created_at"),
        "bot": (raw.get("user") or {}).get("login"),
    }
    return int(number), record


def prediction_from_record(record: Mapping[str, Any]) -> BotPrediction | None:
    """The inverse of :func:`marker_record`'s record."""
    return prediction_from_marker(
        record.get("marker"), at=parse_time(record.get("created_at")), bot=record.get("bot")
    )


def mark_from_comment(raw: Mapping[str, Any]) -> tuple[int, BotPrediction] | None:
    """An entry of ``GET .../issues/comments``: (issue number, prediction) if maintbot's."""
    found = marker_record(raw)
    if found is None:
        return None
    prediction = prediction_from_record(found[1])
    return (found[0], prediction) if prediction is not None else None


def issue_label_event(raw: Mapping[str, Any]) -> tuple[int, LabelEvent] | None:
    """An entry of ``GET .../issues/events``: (issue number, event) for an issue's label event."""
    issue = raw.get("issue") or {}
    if "pull_request" in issue or not isinstance(issue.get("number"), int):
        return None
    event = LabelEvent.from_json(raw)
    return (issue["number"], event) if event is not None else None


def read_history(
    github: Any,
    repo: str,
    *,
    comments_since: str | None = None,
    events_after: str | None = None,
    progress: Progress = _no_progress,
) -> RepoHistory:
    """Reads maintbot's markers and the label events of ``repo`` with two listings.

    ``GET /repos/{o}/{r}/issues/comments`` (``since`` = ``comments_since``) finds the
    marker-bearing comments; ``GET /repos/{o}/{r}/issues/events`` (newest first) is read back
    to ``events_after`` only. Pages: comments/100 + events/100, whatever the number of
    issues; nothing per issue."""
    from bot.github.identity import acting_login

    history = RepoHistory()
    acting = acting_login(github)
    params = {"sort": "updated", "direction": "asc"}
    if comments_since:
        params["since"] = comments_since
    for page_no, page in enumerate(paginate(github, f"/repos/{repo}/issues/comments", params), 1):
        history.requests += 1
        for raw in page:
            record = marker_record(raw, acting)
            prediction = prediction_from_record(record[1]) if record else None
            if record is not None and prediction is not None:
                # sorted by update: a later page holds the newest state of the marker
                history.marks[record[0]] = prediction
                history.mark_records[record[0]] = record[1]
        progress("comments", page_no)
    for page_no, page in enumerate(paginate(github, f"/repos/{repo}/issues/events", {}), 1):
        history.requests += 1
        times = [str(raw.get("created_at") or "") for raw in page]
        if page_no == 1 and times:
            history.newest_event = max(times)
        for raw in page:
            if events_after and str(raw.get("created_at") or "") < events_after:
                continue
            found = issue_label_event(raw)
            if found is not None:
                history.events.setdefault(found[0], []).append(found[1])
        progress("events", page_no)
        if events_after and times and min(times) < events_after:
            break
    return history
