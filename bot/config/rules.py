"""Value rules for configuration keys: each says what is wrong with a value and how to fix it."""

from __future__ import annotations

import difflib
import keyword
import math
import re
import string
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.config.cron import cron_problem


@dataclass(frozen=True)
class Rule:
    """A check on one already-typed value: ``problem(value)`` is None when the value is fine."""

    problem: Callable[[Any], str | None]
    hint: str
    per_item: bool = False  # checks each item of a list / value of a mapping, not the whole


def each(rule: Rule) -> Rule:
    """Applies ``rule`` to every item of a list (or value of a mapping), each at its own line."""
    return Rule(rule.problem, rule.hint, per_item=True)


@dataclass(frozen=True)
class Problem:
    """A rule broken by a value; ``key`` is relative to the section that found it."""

    key: str
    message: str
    hint: str
    related: tuple[str, ...] = ()  # other keys involved, for the line when ``key`` was not written


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def between(
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
    why: str = "",
) -> Rule:
    """``low <= value <= high``; an open end excludes the bound itself (a probability > 0)."""
    lower = f"greater than {_number(low)}" if low_open else f"at least {_number(low)}"
    upper = f"less than {_number(high)}" if high_open else f"at most {_number(high)}"

    def problem(value: float) -> str | None:
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if math.isnan(value) or too_low or too_high:
            return f"must be {lower} and {upper}, got {_number(value)}"
        return None

    return Rule(problem, f"Use a value {lower} and {upper}." + (f" {why}" if why else ""))


def at_least(low: float) -> Rule:
    """``value >= low``: counts, durations and percentages that cannot be negative."""

    def problem(value: float) -> str | None:
        if math.isnan(value) or value < low:
            return f"must be at least {_number(low)}, got {_number(value)}"
        return None

    return Rule(problem, f"Use a value of at least {_number(low)}.")


def non_empty(what: str) -> Rule:
    """A list or string that must hold something (a benchmark with no models runs nothing)."""

    def problem(value: Any) -> str | None:
        return f"must not be empty: give at least one {what}" if len(value) == 0 else None

    return Rule(problem, f"List at least one {what}, or remove the key to use the default.")


def unique_items() -> Rule:
    """Lists where a repeated item is a mistake (twice the same model doubles the CI time)."""

    def problem(value: Iterable[Any]) -> str | None:
        seen: set[Any] = set()
        for item in value:
            key = item.lower() if isinstance(item, str) else item
            if key in seen:
                return f"{item!r} is listed twice"
            seen.add(key)
        return None

    return Rule(problem, "Remove the repeated entry.")


def not_blank(what: str) -> Rule:
    """Text that must say something: a blank entry is a typo, not a choice."""

    def problem(value: str) -> str | None:
        return f"a {what} cannot be blank" if not value.strip() else None

    return Rule(problem, f"Write the {what}, or remove the entry.")


def matches(pattern: str, what: str, hint: str) -> Rule:
    """Text of a fixed shape, such as the name of an issue type."""
    compiled = re.compile(pattern)

    def problem(value: str) -> str | None:
        return None if compiled.fullmatch(value) else f"{value!r} is not a valid {what}"

    return Rule(problem, hint)


_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")


def github_login() -> Rule:
    """A GitHub user or bot login (``octocat``, ``dependabot[bot]``)."""

    def problem(value: str) -> str | None:
        return None if _LOGIN.fullmatch(value) else f"{value!r} is not a GitHub login"

    return Rule(problem, "Write the login without '@', e.g. octocat or dependabot[bot].")


LABEL_NAME_MAX = 50  # GitHub refuses longer label names


def label_name() -> Rule:
    """A name GitHub accepts for a label."""

    def problem(value: str) -> str | None:
        if not value.strip():
            return "a label name cannot be blank"
        if len(value) > LABEL_NAME_MAX:
            return f"GitHub label names are at most {LABEL_NAME_MAX} characters, got {len(value)}"
        return None

    return Rule(problem, "Use the label's name exactly as it appears on GitHub.")


_HEX_COLOUR = re.compile(r"[0-9a-fA-F]{6}")


def hex_colour() -> Rule:
    """Six hex digits without '#', the form GitHub's label API takes."""

    def problem(value: str) -> str | None:
        if _HEX_COLOUR.fullmatch(value):
            return None
        return f"must be 6 hexadecimal digits such as d73a4a, got {value!r}"

    return Rule(
        problem,
        "Write the colour as 6 hex digits without '#', quoted: \"d73a4a\" "
        "(an unquoted '#' starts a YAML comment).",
    )


def max_length(limit: int) -> Rule:
    """Free text that GitHub truncates or refuses beyond ``limit`` characters."""

    def problem(value: str) -> str | None:
        return f"is {len(value)} characters long, at most {limit}" if len(value) > limit else None

    return Rule(problem, f"Shorten it to {limit} characters or fewer.")


def cron_expression() -> Rule:
    """A 5-field cron schedule (UTC), as GitHub Actions' ``on.schedule`` takes it."""
    return Rule(
        cron_problem,
        'Write 5 fields: minute hour day-of-month month day-of-week, e.g. "0 6 1 * *" '
        "for 06:00 UTC on the 1st of every month.",
    )


def timezone_name() -> Rule:
    """An IANA time zone name that this machine's zone database knows."""

    def problem(value: str) -> str | None:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            if not zoneinfo.available_timezones():
                return f"unknown time zone {value!r}: this machine has no time zone database"
            return f"unknown time zone {value!r}"
        return None

    return Rule(
        problem,
        'Use an IANA name such as "UTC", "Europe/Paris" or "America/New_York" '
        "(install the tzdata package if none is recognised).",
    )


_TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def time_of_day() -> Rule:
    """A 24-hour ``HH:MM`` clock time."""

    def problem(value: str) -> str | None:
        return None if _TIME_OF_DAY.fullmatch(value) else f"must be HH:MM (24-hour), got {value!r}"

    return Rule(problem, 'Quote the time and use 24-hour HH:MM, e.g. "09:00" or "17:30".')


def minutes_of_day(value: str) -> int:
    """``"HH:MM"`` → minutes since midnight, for comparing the ends of a working day."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def format_template(allowed: Iterable[str]) -> Rule:
    """A ``str.format`` template that only uses the named ``{placeholders}`` we fill in."""
    names = tuple(allowed)
    listed = ", ".join("{" + name + "}" for name in names)

    def problem(value: str) -> str | None:
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError as exc:
            return f"is not a valid template ({exc})"
        for name in fields:
            if name not in names:
                shown = "{" + name + "}" if name else "{}"
                return f"uses the placeholder {shown}; the known ones are {listed}"
        return None

    return Rule(problem, f"Use only {listed}; write a literal brace as {{{{ or }}}}.")


MODEL_NAME_MAX = 100  # the store's column for a model name
REFERENCE_PACKAGE = "reference_models"
_MODULE_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def bench_model_problem(name: str, reference: Iterable[str]) -> str | None:
    """What is wrong with a ``bench.models`` entry, or None.

    A plain name is one of maintbot's reference models (``mnist_mlp``); a dotted name is a
    module of the repository run as ``python -m NAME`` (``examples.my_model``). A plain name
    that is not a reference model is refused rather than guessed at: most often it is a typo.
    """
    known = tuple(reference)
    if not name or len(name) > MODEL_NAME_MAX:
        return f"a model name must be 1 to {MODEL_NAME_MAX} characters, got {len(name)}"
    if "." not in name:
        if name in known:
            return None
        close = difflib.get_close_matches(name, known, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{name!r} is not a reference model{guess}"
    segments = name.split(".")
    for segment in segments:
        if not _MODULE_SEGMENT.fullmatch(segment) or keyword.iskeyword(segment):
            return f"{name!r} is not a Python module path (bad part {segment[:40]!r})"
    if segments[0] == REFERENCE_PACKAGE:
        return f"{name!r} names a reference model by its module; write {segments[-1]!r}"
    return None


def bench_model(reference: Iterable[str]) -> Rule:
    """A reference model's name, or the dotted module path of a model of the repository."""
    known = tuple(reference)

    def problem(value: str) -> str | None:
        return bench_model_problem(value, known)

    return Rule(
        problem,
        f"Name a reference model ({', '.join(known)}) or your own model's module, "
        "run as python -m MODULE, e.g. examples.my_model (see docs/benchmark.md).",
    )


PATH_PATTERN_MAX = 200


def path_pattern_problem(pattern: str) -> str | None:
    """What is wrong with a changed-file pattern (``reference_models/*.py``), or None."""
    if not pattern.strip():
        return "a path pattern cannot be blank"
    if len(pattern) > PATH_PATTERN_MAX:
        return f"a path pattern is at most {PATH_PATTERN_MAX} characters, got {len(pattern)}"
    if pattern.startswith("/") or "\\" in pattern:
        return f"{pattern!r} must be relative to the repository root, with '/' between folders"
    if ".." in pattern.split("/"):
        return f"{pattern!r} leaves the repository ('..')"
    return None


_PATTERN_HINT = (
    "Write paths from the repository root with '/', e.g. src/models/*.py or data/**; "
    "a pattern without '/' matches a file name in any folder (requirements*.txt)."
)


def path_pattern() -> Rule:
    """One repository path pattern, as git prints paths (``**`` spans folders)."""
    return Rule(path_pattern_problem, _PATTERN_HINT)


def path_patterns() -> Rule:
    """A list of path patterns (the value of a mapping entry); the first bad one is named."""

    def problem(value: Iterable[str]) -> str | None:
        for pattern in value:
            if found := path_pattern_problem(pattern):
                return found
        return None

    return Rule(problem, _PATTERN_HINT)
