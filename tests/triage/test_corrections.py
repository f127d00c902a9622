"""What counts as a person's correction of maintbot's type label (bot/triage/corrections.py).

Plain values only: the marker as the policy writes it, label events as GitHub lists them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.triage.corrections import (
    BotPrediction,
    Feedback,
    LabelEvent,
    TriageRecord,
    derive_feedback,
    is_duplicate,
    issue_label_event,
    judge,
    latest,
    live_precision,
    mark_correction,
    mark_from_comment,
    prediction_from_marker,
    records_from_github,
)
from bot.triage.policy import read_prediction_marker

TYPES = {"bug": "bug", "feature": "enhancement", "question": "question", "docs": "documentation"}
BOT = "maintbot[bot]"


def t(minute: int) -> datetime:
    return datetime(2024, 3, 1, 10, minute, tzinfo=UTC)


def marker_body(**extra: object) -> str:
    import json

    record = {
        "model": "built-in",
        "version": "2024-01-01",
        "label": "bug",
        "confidence": 0.91,
        "labels": ["bug"],
        **extra,
    }
    return (
        "<!-- maintbot:triage -->\n<!-- maintbot-section:type -->\nmaintbot labelled this "
        f"issue `bug`.\n\n<!-- maintbot-prediction {json.dumps(record, sort_keys=True)} -->\n"
        "<!-- /maintbot-section:type -->"
    )


BUG = BotPrediction("bug", ("bug",), "built-in", "2024-01-01", 0.91, t(0), BOT)


def ev(action: str, label: str, actor: str, minute: int, kind: str = "User") -> LabelEvent:
    return LabelEvent(action, label, actor, t(minute), kind)


def test_a_person_adding_another_type_is_a_correction():
    verdict = judge(BUG, ev("labeled", "question", "maria", 5), TYPES, ["bug", "question"])
    assert verdict == Feedback("bug", "question", "maria", t(5), "bug")
    assert verdict.kind == "correction"


def test_removing_the_bots_label_is_a_correction_to_what_remains():
    only = judge(BUG, ev("unlabeled", "bug", "maria", 5), TYPES, ["good first issue"])
    assert (only.to_type, only.kind) == (None, "correction")
    replaced = judge(BUG, ev("unlabeled", "bug", "maria", 5), TYPES, ["enhancement"])
    assert (replaced.to_type, replaced.kind) == ("feature", "correction")


def test_re_adding_the_same_type_is_a_confirmation():
    verdict = judge(BUG, ev("labeled", "bug", "maria", 5), TYPES, ["bug"])
    assert verdict.kind == "confirmation" and verdict.to_type == "bug"


def test_what_is_not_a_correction_says_why():
    assert judge(None, ev("labeled", "bug", "maria", 5), TYPES, []) == (
        "maintbot did not label this issue"
    )
    low = BotPrediction("needs-triage", ("needs-triage",))
    assert judge(low, ev("labeled", "bug", "maria", 5), TYPES, []) == (
        "maintbot did not set this issue's type"
    )
    assert judge(BUG, ev("labeled", "question", BOT, 5, "Bot"), TYPES, []) == (
        f"{BOT} is a bot, not a person"
    )
    # maintbot acting through a personal token: its comment's author is maintbot
    as_user = BotPrediction("bug", ("bug",), bot="octo-bot")
    assert "is a bot" in judge(as_user, ev("labeled", "question", "octo-bot", 5), TYPES, [])
    assert judge(BUG, ev("labeled", "gpu", "maria", 5), TYPES, []) == (
        "label 'gpu' is not a type label"
    )
    assert judge(BUG, ev("unlabeled", "question", "maria", 5), TYPES, ["bug"]) == (
        "'question' is not maintbot's label"
    )


def test_marker_round_trip_records_the_latest_correction():
    body = marker_body()
    prediction = prediction_from_marker(read_prediction_marker(body), at=t(0), bot=BOT)
    assert prediction == BUG
    change = Feedback("bug", "question", "maria", t(5), "bug")
    marked = mark_correction(body, change)
    assert marked is not None and marked.startswith("<!-- maintbot:triage -->")
    assert "<!-- /maintbot-section:type -->" in marked  # the section stays intact
    record = read_prediction_marker(marked)
    assert record["corrected_to"] == "question"
    assert record["corrected_by"] == "maria"
    assert record["corrected_at"] == "2024-03-01T10:05:00Z"
    again = prediction_from_marker(record, at=t(0), bot=BOT)
    assert again.correction == change
    assert mark_correction(marked, change) == marked  # the same correction: the same body
    removed = read_prediction_marker(mark_correction(body, Feedback("bug", None, "m", t(6))))
    assert removed["corrected_to"] == ""
    assert mark_correction("no marker here", change) is None


def test_derivation_from_events_alone():
    events = [
        ev("labeled", "bug", BOT, 0, "Bot"),  # maintbot's own label: history
        ev("labeled", "question", "maria", 7),
        ev("unlabeled", "bug", "maria", 7),
    ]
    found = derive_feedback(BUG, events, TYPES)
    assert [(f.to_type, f.actor, f.at) for f in found] == [("question", "maria", t(7))]
    assert latest(found).kind == "correction"


def test_derivation_when_the_removal_comes_first_still_ends_on_the_new_type():
    # GitHub may list the removal first, at the same second as the addition
    events = [
        ev("labeled", "bug", BOT, 0, "Bot"),
        ev("unlabeled", "bug", "maria", 7),
        ev("labeled", "question", "maria", 7),
    ]
    assert latest(derive_feedback(BUG, events, TYPES)).to_type == "question"


def test_events_before_maintbot_labelled_and_other_labels_are_not_feedback():
    events = [
        ev("labeled", "question", "alice", 0),
        ev("unlabeled", "question", "alice", 1),
        ev("labeled", "bug", BOT, 2, "Bot"),
        ev("labeled", "gpu", "maria", 3),
    ]
    assert derive_feedback(BUG, events, TYPES) == []


def test_the_markers_correction_counts_when_no_persons_event_shows_it():
    # a `/type question` by a maintainer: maintbot relabels, so the events are the bot's
    by_command = Feedback("bug", "question", "maria", t(9), "bug")
    marked = BotPrediction("bug", ("bug",), at=t(0), bot=BOT, correction=by_command)
    events = [
        ev("labeled", "bug", BOT, 0, "Bot"),
        ev("unlabeled", "bug", BOT, 9, "Bot"),
        ev("labeled", "question", BOT, 9, "Bot"),
    ]
    assert derive_feedback(marked, events, TYPES) == [by_command]


def test_the_same_change_twice_is_one_record():
    first = Feedback("bug", "question", "maria", t(5), "bug")
    assert is_duplicate(Feedback("bug", "question", "Maria", t(5), "bug"), [first])
    assert not is_duplicate(Feedback("bug", "feature", "maria", t(5), "bug"), [first])
    assert not is_duplicate(Feedback("bug", "question", "maria", t(30), "bug"), [first])


def test_live_precision_and_coverage():
    records = [
        TriageRecord("o/r", 1, "bug", t(0), Feedback("bug", "question", "m", t(1), "bug")),
        TriageRecord("o/r", 2, "bug", t(0)),
        TriageRecord("o/r", 3, "question", t(0), Feedback(None, "question", "m", t(1))),
        TriageRecord("o/r", 4, "feature", t(0), Feedback("feature", None, "m", t(1))),
        TriageRecord("o/r", 5, "needs-triage", t(0)),
    ]
    stats = live_precision(records)
    by_label = {s.label: (s.predicted, s.kept, s.corrected, s.confirmed) for s in stats["labels"]}
    assert by_label == {"bug": (2, 1, 1, 0), "feature": (1, 0, 1, 0), "question": (1, 1, 0, 1)}
    assert stats["overall"].precision == 2 / 4
    assert (stats["triaged"], stats["labelled"], stats["needs_triage"]) == (5, 4, 1)
    assert stats["coverage"] == 4 / 5
    assert records[0].corrected_to == "question" and records[3].corrected_to == ""
    assert [r.training_label for r in records] == ["question", None, "question", None, None]


def test_records_from_raw_listings():
    comment = {
        "id": 1,
        "issue_url": "https://api.github.com/repos/o/r/issues/12",
        "user": {"login": BOT, "type": "Bot"},
        "created_at": "2024-03-01T10:00:00Z",
        "body": marker_body(),
    }
    quoted = {**comment, "body": "> " + marker_body()}  # a person quoting it is not maintbot
    number, prediction = mark_from_comment(comment)
    assert number == 12 and prediction.type == "bug" and prediction.bot == BOT
    assert mark_from_comment(quoted) is None

    def raw(event: str, label: str, login: str, kind: str, number: int, minute: int) -> dict:
        return {
            "id": 100 + minute,
            "event": event,
            "label": {"name": label, "color": "ededed"},
            "actor": {"login": login, "type": kind},
            "created_at": f"2024-03-01T10:{minute:02d}:00Z",
            "issue": {"number": number},
        }

    listed = [
        raw("labeled", "bug", BOT, "Bot", 12, 0),
        raw("labeled", "question", "maria", "User", 12, 4),
        raw("labeled", "needs-triage", BOT, "Bot", 13, 1),
        {**raw("labeled", "bug", "x", "User", 14, 2), "issue": {"number": 14, "pull_request": {}}},
        {"id": 9, "event": "closed", "actor": {"login": "x"}, "issue": {"number": 12}},
    ]
    events: dict[int, list[LabelEvent]] = {}
    for entry in listed:
        found = issue_label_event(entry)
        if found:
            events.setdefault(found[0], []).append(found[1])
    assert sorted(events) == [12, 13]
    records = records_from_github("o/r", {12: prediction}, events, TYPES, "needs-triage")
    assert [(r.number, r.predicted, r.corrected_to) for r in records] == [
        (12, "bug", "question"),
        (13, "needs-triage", None),
    ]
