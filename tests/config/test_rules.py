"""The value rules on their own: cron expressions, clock times, colours, templates, ranges."""

from __future__ import annotations

import pytest

from bot.config.cron import cron_problem
from bot.config.frozen import FrozenMap
from bot.config.rules import (
    between,
    format_template,
    github_login,
    hex_colour,
    time_of_day,
    timezone_name,
    unique_items,
)


@pytest.mark.parametrize(
    "expression",
    [
        "0 6 1 * *",
        "*/15 * * * *",
        "30 9 * * mon-fri",
        "0 0 1 jan,jul *",
        "0 8-18/2 * * 1-5",
        "59 23 31 12 6",
        "0 0 * * SUN",
    ],
)
def test_valid_cron(expression):
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("@monthly", "5 fields"),
        ("0 6 1 *", "5 fields"),
        ("0 6 1 * * 2024", "5 fields"),
        ("60 * * * *", "minute"),
        ("0 24 * * *", "hour"),
        ("0 0 0 * *", "day of month"),
        ("0 0 1 13 *", "month"),
        ("0 0 * * 7", "day of week"),
        ("0 0 * * funday", "day of week"),
        ("*/0 * * * *", "step"),
        ("5/10 * * * *", "range before '/'"),
        ("0 18-9 * * *", "backwards"),
        ("0 1,,2 * * *", "empty"),
    ],
)
def test_invalid_cron_names_the_field(expression, says):
    problem = cron_problem(expression)
    assert problem is not None
    assert says in problem


def test_between_with_open_and_closed_ends():
    rule = between(0, 1, low_open=True)
    assert rule.problem(1) is None
    assert rule.problem(0.5) is None
    assert rule.problem(0) is not None
    assert rule.problem(1.0001) is not None
    assert rule.problem(float("nan")) is not None


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("00:00", True),
        ("23:59", True),
        ("24:00", False),
        ("9:00", False),
        ("09:60", False),
        ("0900", False),
    ],
)
def test_time_of_day(value, ok):
    assert (time_of_day().problem(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"), [("d73a4a", True), ("FFFFFF", True), ("#d73a4a", False), ("fff", False)]
)
def test_hex_colour(value, ok):
    assert (hex_colour().problem(value) is None) is ok


def test_time_zone_names():
    assert timezone_name().problem("UTC") is None
    assert timezone_name().problem("America/New_York") is None
    assert timezone_name().problem("Mars/Olympus_Mons") is not None
    assert timezone_name().problem("../etc/passwd") is not None


@pytest.mark.parametrize(
    ("login", "ok"),
    [
        ("octocat", True),
        ("dependabot[bot]", True),
        ("a-b-1", True),
        ("@octocat", False),
        ("-leading", False),
        ("x" * 40, False),
        ("two words", False),
    ],
)
def test_github_login(login, ok):
    assert (github_login().problem(login) is None) is ok


def test_format_template():
    rule = format_template(["repo", "start"])
    assert rule.problem("{repo} from {start} {{literal}}") is None
    assert "{end}" in rule.problem("{repo} to {end}")
    assert rule.problem("{}") is not None
    assert rule.problem("{repo") is not None


def test_unique_items_is_caseless_for_text():
    assert unique_items().problem(("a", "b")) is None
    assert "twice" in unique_items().problem(("wontfix", "WontFix"))


def test_frozen_map_reads_like_a_dict_and_cannot_change():
    entries = FrozenMap({"a": 1, "b": 2})
    assert entries == {"a": 1, "b": 2}
    assert list(entries) == ["a", "b"]
    assert hash(entries) == hash(FrozenMap({"b": 2, "a": 1}))
    with pytest.raises(TypeError):
        entries["c"] = 3  # type: ignore[index]


def test_bench_model_names_are_the_reference_models():
    """The config's list of known models must follow reference_models/ (which is plain data)."""
    import typing

    from bot.config.schema import BenchModel
    from reference_models import MODEL_NAMES

    assert typing.get_args(BenchModel) == MODEL_NAMES
