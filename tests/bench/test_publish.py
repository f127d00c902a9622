"""The check's policy with plain values: conclusion per verdict, and when to write.

Posting it over HTTP (the sandbox, the 403 fallback) is tested in test_comment.py and
test_pr.py; here only the pure decisions.
"""

from __future__ import annotations

import pytest

from bot.bench.affected import decide
from bot.bench.compare import Comparison, Status, Thresholds, compare
from bot.bench.publish import (
    CHECK_NAME,
    CheckVerdict,
    ExistingCheck,
    ExistingStatus,
    check_verdict,
    incomplete_verdict,
    plan_check,
    plan_status,
)
from tests.bench.builders import HEAD_SHA, side

MODELS = ["mnist_mlp", "mnist_cnn"]


def bare(status: Status) -> Comparison:
    """A comparison with only a status (no model): what the conclusion depends on."""
    return Comparison(status, (), (), (), (), Thresholds())


def regression() -> Comparison:
    base = side([0.9760, 0.9740, 0.9756])
    head = side([0.9660, 0.9642, 0.9655], label="head", sha=HEAD_SHA)
    return compare(base, head)


@pytest.mark.parametrize(
    ("status", "conclusion", "title"),
    [
        (Status.PASS, "success", "no regression"),
        (Status.IMPROVED, "success", "improved"),
        (Status.WARNING, "neutral", "warning"),
        (Status.INCONCLUSIVE, "neutral", "inconclusive"),
        (Status.REGRESSION, "failure", "regression"),
    ],
)
def test_the_conclusion_follows_the_verdict(status, conclusion, title):
    verdict = check_verdict(bare(status), "report")
    assert (verdict.conclusion, verdict.title, verdict.summary) == (conclusion, title, "report")


def test_a_regression_names_the_model_and_fails():
    verdict = check_verdict(regression(), "## report")
    assert verdict == CheckVerdict("failure", "regression in mnist_mlp", "## report")
    assert verdict.status_state == "failure"


def test_a_regression_is_neutral_when_the_configuration_does_not_fail_on_it():
    verdict = check_verdict(regression(), "r", fail_on_regression=False)
    assert verdict.conclusion == "neutral"
    assert verdict.status_state == "success"  # a status has no neutral; it must not block


def test_not_affected_succeeds_and_skipped_models_are_counted():
    none = decide(["README.md"], MODELS, shared=())
    verdict = check_verdict(bare(Status.PASS), "r", scope=none)
    assert (verdict.conclusion, verdict.title) == ("success", "not affected: no model was trained")
    some = decide(["reference_models/mnist_cnn.py"], MODELS, shared=())
    verdict = check_verdict(bare(Status.PASS), "r", scope=some)
    assert verdict.title == "no regression (1 model(s) not affected)"


def test_an_incomplete_run_fails_whatever_it_measured():
    verdict = incomplete_verdict(CheckVerdict("success", "no regression", "r"), ["mnist_cnn"])
    assert verdict == CheckVerdict("failure", "incomplete: mnist_cnn not trained", "r")


def test_long_texts_are_cut_to_githubs_limits():
    verdict = check_verdict(bare(Status.PASS), "x" * 70_000)
    assert len(verdict.summary) == 65_535 and verdict.summary.endswith("…")
    long = CheckVerdict("neutral", "y" * 200, "r")
    assert len(long.status_description) == 140
    assert long.status_description.startswith("warning: yyy")


def existing(
    id_, conclusion="failure", title="regression in mnist_mlp", summary="r", status="completed"
):
    return ExistingCheck(id_, status, conclusion, title, summary)


def test_plan_check_creates_once_then_edits_the_newest_or_leaves_it():
    wanted = CheckVerdict("failure", "regression in mnist_mlp", "r")
    assert plan_check([], wanted) == ("created", None)
    assert plan_check([existing(7)], wanted) == ("unchanged", 7)
    assert plan_check([existing(7, summary="r\n")], wanted) == ("unchanged", 7)
    assert plan_check([existing(7, conclusion="success")], wanted) == ("updated", 7)
    assert plan_check([existing(7, summary="old")], wanted) == ("updated", 7)
    assert plan_check([existing(7, status="in_progress")], wanted) == ("updated", 7)
    assert plan_check([existing(3), existing(9, conclusion="neutral")], wanted) == ("updated", 9)


def test_plan_status_adds_one_only_when_ours_says_something_else():
    wanted = CheckVerdict("success", "no regression", "r")
    ours = ExistingStatus(CHECK_NAME, "success", "no regression")
    other = ExistingStatus("ci/tests", "failure", "no regression")
    assert plan_status([], wanted) == "created"
    assert plan_status([other], wanted) == "created"
    assert plan_status([ours, other], wanted) == "unchanged"
    older_first = [ExistingStatus(CHECK_NAME, "failure", "regression in mnist_mlp"), ours]
    assert plan_status(older_first, wanted) == "updated"  # GitHub lists the newest first
