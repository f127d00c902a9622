"""The triage label policy (bot/triage/policy.py) with plain values: no model, no GitHub."""

from __future__ import annotations

import dataclasses

import pytest

from bot.config.loader import parse_config
from bot.config.schema import Config, TriageConfig
from bot.triage.metrics import NEEDS_TRIAGE
from bot.triage.policy import (
    NEVER,
    LabelPlan,
    decide,
    plan_issue_labels,
    plan_retriage,
    read_prediction_marker,
    skip_reason,
    type_section,
)

ON = TriageConfig(model="models/triage")
ISSUE = {"number": 7, "title": "Crash", "user": {"login": "octocat"}, "labels": []}


def test_an_ordinary_issue_is_looked_at():
    assert skip_reason(ON, ISSUE, sender_is_bot=False) is None


@pytest.mark.parametrize(
    ("triage", "issue", "sender_is_bot", "reason"),
    [
        (TriageConfig(enabled=False), ISSUE, False, "triage.enabled is false"),
        (TriageConfig(enabled=False, model="m"), ISSUE, False, "triage.enabled is false"),
        (ON, {**ISSUE, "pull_request": {"url": "..."}}, False, "a pull request"),
        (ON, ISSUE, True, "author octocat is ignored"),
        (
            ON,
            {**ISSUE, "user": {"login": "renovate[bot]"}},
            False,
            "author renovate[bot] is ignored",
        ),
        (
            TriageConfig(model="m", ignore_authors=("OctoCat",)),
            ISSUE,
            False,
            "author octocat is ignored",
        ),
    ],
)
def test_issues_the_bot_keeps_off(triage, issue, sender_is_bot, reason):
    assert skip_reason(triage, issue, sender_is_bot=sender_is_bot) == reason


def test_an_empty_model_means_the_built_in_one_not_off():
    assert skip_reason(TriageConfig(), ISSUE, sender_is_bot=False) is None


def test_a_missing_author_is_not_an_error():
    assert skip_reason(ON, {"number": 1}, sender_is_bot=False) is None


def test_decide_applies_a_label_only_at_or_above_its_threshold():
    thresholds = {"bug": 0.8, "feature": 0.6}
    assert decide({"bug": 0.8, "feature": 0.15, "question": 0.05}, thresholds) == ("bug", 0.8)
    assert decide({"bug": 0.79, "feature": 0.2, "question": 0.01}, thresholds) == (
        NEEDS_TRIAGE,
        0.79,
    )
    # the top label decides: feature's lower threshold does not rescue a bug at 0.7
    assert decide({"bug": 0.7, "feature": 0.3}, thresholds) == (NEEDS_TRIAGE, 0.7)
    assert decide({"bug": 0.3, "feature": 0.7}, thresholds) == ("feature", 0.7)


def test_a_label_without_a_threshold_is_never_applied():
    assert decide({"question": 1.0, "bug": 0.0}, {"bug": 0.5}) == (NEEDS_TRIAGE, 1.0)
    assert decide({"question": 1.0}, {"question": NEVER}) == (NEEDS_TRIAGE, 1.0)


# bug and feature renamed, docs unmapped (question keeps its default label)
MAPPED = parse_config(
    "labels:\n  types:\n    bug: 'Type: Bug'\n    feature: enhancement\n    docs: ~\n"
)


@pytest.mark.parametrize(
    ("decision", "existing", "plan"),
    [
        ("bug", [], LabelPlan(("Type: Bug",), "classified as bug")),
        ("feature", ["good first issue"], LabelPlan(("enhancement",), "classified as feature")),
        (NEEDS_TRIAGE, [], LabelPlan(("needs-triage",), "confidence below the threshold")),
        ("docs", [], LabelPlan(("needs-triage",), "type 'docs' has no label here")),
        ("bug", ["WontFix"], LabelPlan((), "already triaged by a person")),
        ("bug", ["ENHANCEMENT"], LabelPlan((), "already triaged by a person")),
        (NEEDS_TRIAGE, ["duplicate"], LabelPlan((), "already triaged by a person")),
    ],
)
def test_the_decision_becomes_the_repositorys_label(decision, existing, plan):
    assert plan_issue_labels(MAPPED, decision, existing) == plan


def test_type_labels_can_be_configured_not_to_mean_triaged():
    config = Config(labels=dataclasses.replace(Config().labels, type_labels_mean_triaged=False))
    assert plan_issue_labels(config, "feature", ["bug"]).labels == ("enhancement",)
    assert plan_issue_labels(config, "feature", ["invalid"]).labels == ()


def test_a_renamed_needs_triage_label_is_used():
    config = parse_config("labels:\n  needs_triage: 'status: triage'\n")
    assert plan_issue_labels(config, NEEDS_TRIAGE, []).labels == ("status: triage",)


def test_probabilities_to_plan():
    """The chain the handler runs: decide, then map (by hand: bug 0.9 >= 0.85 -> 'Type: Bug')."""
    thresholds = {"bug": 0.85, "feature": 0.85, "question": 0.85}
    decision, _ = decide({"bug": 0.9, "feature": 0.06, "question": 0.04}, thresholds)
    assert plan_issue_labels(MAPPED, decision, []).labels == ("Type: Bug",)
    decision, _ = decide({"bug": 0.5, "feature": 0.3, "question": 0.2}, thresholds)
    assert plan_issue_labels(MAPPED, decision, []).labels == ("needs-triage",)


SURE = {
    "decision": "bug",
    "confidence": 0.93,
    "probabilities": {"bug": 0.93, "feature": 0.05, "question": 0.02},
}
UNSURE = {
    "decision": NEEDS_TRIAGE,
    "confidence": 0.51,
    "probabilities": {"bug": 0.51, "feature": 0.3, "question": 0.19},
}
MODEL = {"name": "built-in", "version": "2026-12-06T05:00:00+00:00"}


def test_a_type_label_is_explained_and_the_prediction_recorded_in_the_comment():
    config = Config()
    plan = plan_issue_labels(config, "bug", [])
    body = type_section(config, plan.labels, SURE, MODEL)
    assert f"labelled this issue `{config.labels.label_for('bug')}`" in body
    assert "93%" in body and "feature 5%" in body
    assert read_prediction_marker(body) == {
        "model": "built-in",
        "version": MODEL["version"],
        "label": "bug",
        "confidence": 0.93,
        "labels": [config.labels.label_for("bug")],
    }


def test_an_unsure_prediction_comments_only_when_the_repository_asks():
    quiet = Config()
    plan = plan_issue_labels(quiet, NEEDS_TRIAGE, [])
    assert plan.labels == (quiet.labels.needs_triage,)
    assert type_section(quiet, plan.labels, UNSURE, MODEL) is None
    chatty = dataclasses.replace(
        quiet, triage=dataclasses.replace(quiet.triage, comment_on_low_confidence=True)
    )
    body = type_section(chatty, plan.labels, UNSURE, MODEL)
    assert "not sure" in body and "bug 51%, feature 30%, question 19%" in body
    assert read_prediction_marker(body)["label"] == NEEDS_TRIAGE


def test_an_issue_left_alone_gets_no_comment():
    config = Config()
    plan = plan_issue_labels(config, "bug", ["bug"])
    assert plan.labels == ()
    assert type_section(config, plan.labels, SURE, MODEL) is None


def test_a_damaged_marker_reads_as_none():
    assert read_prediction_marker("no marker here") is None
    assert read_prediction_marker("<!-- maintbot-prediction {not json -->") is None


def test_an_edit_retriages_only_while_the_bot_label_is_the_only_sorting_label():
    config = Config()
    bug, feature = config.labels.label_for("bug"), config.labels.label_for("feature")
    # the bot said bug; the edit makes it a feature: the bot swaps its own label
    plan = plan_retriage(config, "feature", [bug, "good first issue"], [bug])
    assert plan == LabelPlan((feature,), "classified as feature", (bug,))
    # needs-triage set by the bot (no marker, from its label event) becomes a type
    plan = plan_retriage(
        config, "bug", ["needs-triage", "needs-info"], ["needs-triage", "needs-info"]
    )
    assert plan.labels == (bug,) and plan.remove == ("needs-triage",)
    # same decision: nothing to write
    assert plan_retriage(config, "bug", [bug], [bug]) == LabelPlan((), "still classified as bug")
    # a person added a type label, or corrected the bot, or the bot never labelled it
    assert "a person changed" in plan_retriage(config, "feature", [bug, "question"], [bug])
    assert "corrected" in plan_retriage(config, "feature", [bug], [bug], corrected=True)
    assert plan_retriage(config, "feature", [bug], None) == "maintbot did not label this issue"
    assert "a person changed" in plan_retriage(config, "feature", [], [bug])
