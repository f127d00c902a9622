"""The label decision with plain values: what to create, add and remove."""

from __future__ import annotations

import re

import pytest

from bot.errors import UsageError
from bot.github.labels import NewLabel, default_color, normalize_color, plan_labels


def test_labels_already_on_the_issue_are_not_added_again_whatever_their_case():
    plan = plan_labels(issue_labels=["Bug"], repo_labels=["Bug"], add=["bug"])
    assert plan.create == () and plan.add == () and plan.remove == ()


def test_existing_repository_label_is_added_with_its_own_spelling():
    plan = plan_labels(issue_labels=[], repo_labels=["Feature Request"], add=["feature request"])
    assert plan.add == ("Feature Request",) and plan.create == ()


def test_missing_label_is_created_with_the_palette_colour_and_description():
    palette = {"needs-triage": ("#FBCA04", "maintbot is not sure yet")}
    plan = plan_labels(issue_labels=[], repo_labels=["bug"], add=["needs-triage"], palette=palette)
    assert plan.create == (NewLabel("needs-triage", "fbca04", "maintbot is not sure yet"),)
    assert plan.add == ("needs-triage",)


def test_missing_label_outside_the_palette_still_gets_a_stable_colour():
    plan = plan_labels(issue_labels=[], repo_labels=[], add=["docs"])
    (new,) = plan.create
    assert re.fullmatch(r"[0-9a-f]{6}", new.color)
    assert new.color == default_color("docs") == default_color("DOCS")


def test_only_present_labels_are_removed():
    plan = plan_labels(issue_labels=["bug", "Question"], repo_labels=[], remove=["question", "x"])
    assert plan.remove == ("Question",)


def test_duplicates_and_blanks_in_the_request_are_ignored():
    plan = plan_labels(issue_labels=[], repo_labels=["bug"], add=["bug", "BUG", " ", "bug "])
    assert plan.add == ("bug",)


def test_adding_and_removing_one_label_is_a_usage_error():
    with pytest.raises(UsageError, match="both added and removed"):
        plan_labels(issue_labels=[], repo_labels=[], add=["bug"], remove=["Bug"])


def test_bad_colours_and_long_names_are_refused():
    with pytest.raises(UsageError, match="six hex digits"):
        normalize_color("red", label="bug")
    with pytest.raises(UsageError, match="50 characters"):
        plan_labels(issue_labels=[], repo_labels=[], add=["x" * 51])


def test_without_create_missing_a_label_the_repository_lacks_is_left_out():
    plan = plan_labels(
        issue_labels=[], repo_labels=["bug"], add=["bug", "needs-info"], create_missing=False
    )
    assert plan.add == ("bug",) and plan.create == () and plan.missing == ("needs-info",)
