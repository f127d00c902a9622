"""Maintainers' corrections are linked to the prediction they correct."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.errors import MaintbotError
from bot.store.models import LabelCorrection, Prediction
from bot.store.predictions import (
    corrections,
    latest_prediction,
    record_correction,
    record_prediction,
)

T0 = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
PROBABILITIES = {"bug": 0.62, "feature": 0.21, "question": 0.12, "docs": 0.05}


def _predict(session, repo, number, label, *, minutes=0):
    return record_prediction(
        session,
        repo=repo,
        issue_number=number,
        model_id="maintbot/issue-triage-bert",
        model_version="2024.06",
        label=label,
        probabilities=PROBABILITIES,
        decision="labelled",
        created_at=T0 + timedelta(minutes=minutes),
    )


def test_correction_is_linked_to_its_prediction(store):
    with store.session() as session:
        prediction = _predict(session, "o/r", 7, "bug")
        record_correction(
            session, prediction.id, from_label="bug", to_label="question", actor="maintainer"
        )
    with store.session() as session:
        loaded = session.get(Prediction, prediction.id)
        assert [(c.from_label, c.to_label, c.actor) for c in loaded.corrections] == [
            ("bug", "question", "maintainer")
        ]
        assert loaded.probabilities == PROBABILITIES


def test_latest_prediction_is_the_one_a_relabel_corrects(store):
    with store.session() as session:
        _predict(session, "o/r", 7, "bug", minutes=0)
        newest = _predict(session, "o/r", 7, "feature", minutes=5)
        _predict(session, "o/r", 8, "docs", minutes=10)
        _predict(session, "x/y", 7, "docs", minutes=10)
    with store.session() as session:
        found = latest_prediction(session, "o/r", 7)
        assert found is not None and found.id == newest.id
        assert latest_prediction(session, "o/r", 99) is None


def test_corrections_come_oldest_first_with_their_prediction(store):
    with store.session() as session:
        first = _predict(session, "o/r", 1, "bug")
        second = _predict(session, "o/r", 2, "docs")
        elsewhere = _predict(session, "x/y", 3, "bug")
        record_correction(
            session,
            second.id,
            from_label="docs",
            to_label="bug",
            actor="a",
            at=T0 + 2 * DAY,
        )
        record_correction(
            session, first.id, from_label="bug", to_label=None, actor="b", at=T0 + DAY
        )
        record_correction(
            session, elsewhere.id, from_label=None, to_label="feature", actor="c", at=T0
        )
    with store.session() as session:
        in_repo = corrections(session, repo="o/r")
        recent = corrections(session, since=T0 + 1.5 * DAY)
    assert [(c.prediction.issue_number, c.to_label) for c in in_repo] == [(1, None), (2, "bug")]
    assert [c.actor for c in recent] == ["a"]


def test_correction_of_an_unknown_prediction_is_refused(store):
    with pytest.raises(MaintbotError) as caught, store.session() as session:
        record_correction(session, 12345, from_label="bug", to_label="docs", actor="a")
    assert "12345" in caught.value.message


def test_deleting_a_prediction_deletes_its_corrections_in_the_database(store):
    with store.session() as session:
        prediction = _predict(session, "o/r", 1, "bug")
        record_correction(session, prediction.id, from_label="bug", to_label="docs", actor="a")
    with store.engine.begin() as connection:
        # Plain SQL, so the database's ON DELETE CASCADE is what is tested, not the ORM.
        connection.exec_driver_sql(f"DELETE FROM predictions WHERE id = {prediction.id}")
    with store.session() as session:
        assert session.execute(select(LabelCorrection)).all() == []
