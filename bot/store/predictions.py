"""Triage predictions and maintainers' corrections of them: what triage learns from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from bot.errors import MaintbotError
from bot.store.models import LabelCorrection, Prediction, utcnow


def record_prediction(
    session: Session,
    *,
    repo: str,
    issue_number: int,
    model_id: str,
    model_version: str,
    label: str,
    probabilities: dict[str, float],
    decision: str,
    created_at: datetime | None = None,
) -> Prediction:
    """Stores what the model said about an issue and what the bot decided to do."""
    prediction = Prediction(
        repo=repo,
        issue_number=issue_number,
        model_id=model_id,
        model_version=model_version,
        label=label,
        probabilities=probabilities,
        decision=decision,
        created_at=created_at or utcnow(),
    )
    session.add(prediction)
    session.flush()
    return prediction


def latest_prediction(session: Session, repo: str, issue_number: int) -> Prediction | None:
    """The newest prediction for an issue: the one a maintainer's relabel corrects."""
    statement = (
        select(Prediction)
        .where(Prediction.repo == repo, Prediction.issue_number == issue_number)
        .order_by(Prediction.created_at.desc(), Prediction.id.desc())
        .limit(1)
    )
    return session.execute(statement).scalar()


def record_correction(
    session: Session,
    prediction_id: int,
    *,
    from_label: str | None,
    to_label: str | None,
    actor: str,
    at: datetime | None = None,
) -> LabelCorrection:
    """Stores a maintainer replacing ``from_label`` by ``to_label`` on a predicted issue.

    Either label may be None: a label removed without a replacement, or one added.
    """
    prediction = session.get(Prediction, prediction_id)
    if prediction is None:
        raise MaintbotError(
            f"no prediction {prediction_id} is recorded, so a correction cannot refer to it.",
            hint="Look the prediction up with latest_prediction(repo, issue_number) first.",
        )
    correction = LabelCorrection(
        prediction=prediction,
        from_label=from_label,
        to_label=to_label,
        actor=actor,
        corrected_at=at or utcnow(),
    )
    session.add(correction)
    session.flush()
    return correction


def update_correction(
    session: Session, correction_id: int, *, to_label: str | None, at: datetime
) -> LabelCorrection:
    """Completes a recorded correction: a label removed, then (at the same moment) replaced.

    GitHub tells one relabel as two events; the bare removal recorded first becomes the
    replacement, so one relabel stays one correction."""
    correction = session.get(LabelCorrection, correction_id)
    if correction is None:
        raise MaintbotError(
            f"no correction {correction_id} is recorded, so it cannot be completed.",
            hint="Record it with record_correction(...) instead.",
        )
    correction.to_label = to_label
    correction.corrected_at = at
    session.flush()
    return correction


def corrections(
    session: Session, *, repo: str | None = None, since: datetime | None = None
) -> list[LabelCorrection]:
    """Corrections, oldest first, each with its prediction loaded (the training signal)."""
    statement = (
        select(LabelCorrection)
        .join(LabelCorrection.prediction)
        .options(joinedload(LabelCorrection.prediction))
        .order_by(LabelCorrection.corrected_at, LabelCorrection.id)
    )
    if repo is not None:
        statement = statement.where(Prediction.repo == repo)
    if since is not None:
        statement = statement.where(LabelCorrection.corrected_at >= since)
    return list(session.execute(statement).scalars())
