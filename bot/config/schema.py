"""The typed shape of ``.github/maintbot.yml``: frozen dataclasses with a default for every key.

The loader (``bot.config.loader``) reads YAML into these types; the rules in each field's
metadata and each section's ``problems()`` say what values are allowed. docs/configuration.md
documents every key and a test keeps the two in step.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.config.frozen import FrozenMap
from bot.config.rules import (
    Problem,
    Rule,
    at_least,
    bench_model,
    between,
    cron_expression,
    each,
    format_template,
    github_login,
    hex_colour,
    label_name,
    matches,
    max_length,
    minutes_of_day,
    non_empty,
    not_blank,
    path_pattern,
    path_patterns,
    time_of_day,
    timezone_name,
    unique_items,
)

CONFIG_VERSION = 1
"""The only format version this maintbot reads; bump it when a key changes meaning."""

REPO_CONFIG_PATH = ".github/maintbot.yml"
"""Where maintbot looks for a repository's configuration."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ReportFormat = Literal["md", "html", "json"]
BenchModel = Literal["mnist_mlp", "mnist_cnn"]
"""The reference models in ``reference_models/`` that a PR benchmark can train."""
REFERENCE_MODELS: tuple[str, ...] = typing.get_args(BenchModel)

LABEL_DESCRIPTION_MAX = 100  # GitHub's limit for a label description
ISSUE_TITLE_MAX = 256
ISSUE_TITLE_PLACEHOLDERS = ("repo", "start", "end", "window_days")


def setting(default: Any, *rules: Rule, keys: Rule | None = None) -> Any:
    """A key with its default and the rules its value must satisfy.

    ``keys`` checks the keys of a free-key mapping (``labels.types``), whose entries the user
    names; the dataclass fields themselves are the only keys a section accepts.
    """
    return field(default=default, metadata={"rules": rules, "keys": keys})


def section(factory: Any) -> Any:
    """A nested section, built fresh per instance."""
    return field(default_factory=factory)


def field_rules(f: dataclasses.Field[Any]) -> tuple[Rule, ...]:
    """The rules declared on a dataclass field (none for plain fields)."""
    return tuple(f.metadata.get("rules", ()))


def key_rule(f: dataclasses.Field[Any]) -> Rule | None:
    """The rule for the keys of a free-key mapping field, if any."""
    return f.metadata.get("keys")


# --------------------------------------------------------------------------------------- labels

TYPE_KEY_PATTERN = r"[a-z][a-z0-9_]{0,31}"
"""Issue type names (the classifier's classes) are short lowercase identifiers."""

_type_key = matches(
    TYPE_KEY_PATTERN,
    "issue type name",
    "Name issue types in lowercase letters, digits and '_', e.g. bug or feature_request.",
)

DEFAULT_TYPE_LABELS = FrozenMap(
    {"bug": "bug", "feature": "enhancement", "question": "question", "docs": "documentation"}
)

STATUS_ROLES = ("needs_triage", "needs_info", "possible_duplicate")
"""Labels maintbot applies for a state rather than an issue type."""


@dataclass(frozen=True)
class LabelStyle:
    """How a label looks when maintbot has to create it (it never restyles existing labels)."""

    color: str = setting("ededed", hex_colour())
    description: str = setting("", max_length(LABEL_DESCRIPTION_MAX))


DEFAULT_LABEL_STYLES = FrozenMap(
    {
        "bug": LabelStyle("d73a4a", "Something isn't working"),
        "feature": LabelStyle("a2eeef", "New feature or request"),
        "question": LabelStyle("d876e3", "Further information is requested"),
        "docs": LabelStyle("0075ca", "Improvements or additions to documentation"),
        "needs_triage": LabelStyle("fbca04", "maintbot was not sure; a maintainer should label it"),
        "needs_info": LabelStyle("e4e669", "The report is missing details maintbot asked for"),
        "possible_duplicate": LabelStyle("cfd3d7", "maintbot found issues that look the same"),
    }
)


@dataclass(frozen=True)
class LabelsConfig:
    """maintbot's issue types and states, mapped onto the repository's own label names."""

    types: Mapping[str, str] = setting(
        DEFAULT_TYPE_LABELS, non_empty("issue type"), each(label_name()), keys=_type_key
    )
    needs_triage: str = setting("needs-triage", label_name())
    needs_info: str | None = setting("needs-info", label_name())
    possible_duplicate: str | None = setting("possible-duplicate", label_name())
    already_triaged: tuple[str, ...] = setting(
        ("duplicate", "invalid", "wontfix"), each(label_name())
    )
    type_labels_mean_triaged: bool = setting(True)
    create_missing: bool = setting(True)
    styles: Mapping[str, LabelStyle] = setting(DEFAULT_LABEL_STYLES, keys=_type_key)

    def label_for(self, issue_type: str) -> str | None:
        """The repository's label for a classifier type, or None when the type is not mapped."""
        return self.types.get(issue_type)

    def type_for(self, label: str) -> str | None:
        """The classifier type a repository label stands for (GitHub compares names caselessly)."""
        wanted = label.casefold()
        return next((t for t, name in self.types.items() if name.casefold() == wanted), None)

    def style_for(self, role: str) -> LabelStyle:
        """Colour and description for creating the label of a type or status role."""
        return self.styles.get(role, LabelStyle())

    def palette(self) -> dict[str, tuple[str, str]]:
        """Label name → (colour, description) for every label maintbot may create.

        The shape ``bot.github.labels.apply_labels(..., palette=...)`` takes.
        """
        roles = [*self.types.items(), *self._status_labels()]
        return {
            name: (self.style_for(role).color, self.style_for(role).description)
            for role, name in roles
        }

    def is_triaged(self, label_names: Iterable[str]) -> bool:
        """True when an issue's labels say a person already sorted it, so maintbot keeps off."""
        hands_off = {name.casefold() for name in self.already_triaged}
        if self.type_labels_mean_triaged:
            hands_off.update(name.casefold() for name in self.types.values())
        return any(name.casefold() in hands_off for name in label_names)

    def problems(self) -> Iterator[Problem]:
        known_roles = set(DEFAULT_TYPE_LABELS) | set(self.types) | set(STATUS_ROLES)
        for role in self.styles:
            if role not in known_roles:
                yield Problem(
                    f"styles.{role}",
                    f"{role!r} is neither an issue type in labels.types nor one of "
                    f"{', '.join(STATUS_ROLES)}",
                    "Key styles by issue type (bug, feature...) or status role, not by label name.",
                )
        owners: dict[str, str] = {}
        for role, name in [*self.types.items(), *self._status_labels()]:
            other = owners.setdefault(name.casefold(), role)
            if other != role:
                key = f"types.{role}" if role in self.types else role
                yield Problem(
                    key,
                    f"label {name!r} is already used for {other!r}; one label cannot mean both",
                    "Give each issue type and status its own label.",
                )

    def _status_labels(self) -> list[tuple[str, str]]:
        pairs = [
            ("needs_triage", self.needs_triage),
            ("needs_info", self.needs_info),
            ("possible_duplicate", self.possible_duplicate),
        ]
        return [(role, name) for role, name in pairs if name is not None]


# --------------------------------------------------------------------------------------- triage


@dataclass(frozen=True)
class DuplicatesConfig:
    """Finding likely duplicates of a new issue among open and recently closed ones."""

    enabled: bool = setting(True)
    similarity_threshold: float = setting(0.6, between(0, 1, low_open=True))
    max_candidates: int = setting(3, between(1, 10))
    closed_within_days: int = setting(365, between(0, 3650))
    add_label: bool = setting(False)


MISSING_INFO_ITEMS: tuple[str, ...] = ("versions", "os", "reproduction", "error", "expected")
"""What a bug report of an ML project can lack, in the order the bot asks for it."""


@dataclass(frozen=True)
class MissingInfoConfig:
    """Asking the author of a bug report for what a maintainer needs and the report lacks."""

    enabled: bool = setting(True)
    types: tuple[str, ...] = setting(
        ("bug",), non_empty("issue type"), unique_items(), each(_type_key)
    )
    ask_for: tuple[str, ...] = setting(
        MISSING_INFO_ITEMS,
        unique_items(),
        each(
            matches(
                "|".join(MISSING_INFO_ITEMS),
                "missing-information item",
                f"Name items among {', '.join(MISSING_INFO_ITEMS)}.",
            )
        ),
    )


@dataclass(frozen=True)
class TriageConfig:
    """Labelling new and edited issues with the classifier."""

    enabled: bool = setting(True)
    model: str = setting("")
    min_precision: float = setting(0.9, between(0, 1, low_open=True))
    comment_on_low_confidence: bool = setting(False)
    duplicates: DuplicatesConfig = section(DuplicatesConfig)
    missing_info: MissingInfoConfig = section(MissingInfoConfig)
    ignore_authors: tuple[str, ...] = setting((), each(github_login()))
    learn_from_corrections: bool = setting(True)

    def ignores_author(self, login: str, *, is_bot: bool = False) -> bool:
        """Bots are always ignored; so are the configured logins (caseless, as on GitHub)."""
        if is_bot or login.endswith("[bot]"):
            return True
        return login.casefold() in {name.casefold() for name in self.ignore_authors}


# ---------------------------------------------------------------------------------------- bench


@dataclass(frozen=True)
class BenchThresholds:
    """How much worse the head may be than the base before maintbot calls it a regression."""

    accuracy_drop_points: float = setting(0.5, between(0, 100))
    loss_increase_pct: float = setting(5.0, at_least(0))
    time_increase_pct: float = setting(20.0, at_least(0))
    size_increase_pct: float = setting(10.0, at_least(0))
    alpha: float = setting(0.05, between(0, 0.5, low_open=True))


DEPENDENCY_FILES: tuple[str, ...] = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements*.txt",
    "requirements/**",
    "constraints*.txt",
    "*.lock",
    "Pipfile",
    "environment.yml",
)
"""What decides the installed packages: a change to one affects every model, and makes each
side of a PR benchmark run in its own environment (bot/bench/packages.py)."""

DEFAULT_SHARED_PATHS: tuple[str, ...] = (
    # the training loop, data loading and environment record every reference model shares
    "reference_models/__init__.py",
    "reference_models/training.py",
    "reference_models/data.py",
    "reference_models/environment.py",
    *DEPENDENCY_FILES,
)
"""Files every benchmarked model depends on, unless ``bench.paths.shared`` says otherwise."""


@dataclass(frozen=True)
class BenchPaths:
    """Which changed files make a model worth training again (the rest skip it).

    A model's own module and the configuration file always count, whatever is written here:
    the configuration decides what is skipped, so a change to it must not skip anything.
    """

    shared: tuple[str, ...] = setting(DEFAULT_SHARED_PATHS, each(path_pattern()), unique_items())
    models: Mapping[str, tuple[str, ...]] = setting(
        FrozenMap({}), each(path_patterns()), keys=bench_model(REFERENCE_MODELS)
    )


@dataclass(frozen=True)
class BenchConfig:
    """The regression benchmark of the reference models on every pull request."""

    enabled: bool = setting(True)
    models: tuple[str, ...] = setting(
        ("mnist_mlp", "mnist_cnn"),
        non_empty("model"),
        unique_items(),
        each(bench_model(REFERENCE_MODELS)),
    )
    seeds: int = setting(
        3, between(2, 20, why="A significance test needs at least 2 runs on each side.")
    )
    epochs: int = setting(5, between(1, 100))
    early_stop: bool = setting(True)
    reuse_base: bool = setting(True)
    data_branch: str = setting(
        "maintbot-bench-data",
        matches(
            r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}",
            "branch name",
            "Use a plain branch name such as maintbot-bench-data.",
        ),
    )
    timeout_minutes: int = setting(
        30, between(1, 360, why="GitHub Actions stops any job after 360 minutes.")
    )
    thresholds: BenchThresholds = section(BenchThresholds)
    comment: bool = setting(True)
    check: bool = setting(True)
    fail_on_regression: bool = setting(True)
    paths: BenchPaths = section(BenchPaths)

    def problems(self) -> Iterator[Problem]:
        for name in self.paths.models:
            if name not in self.models:
                yield Problem(
                    f"paths.models.{name}",
                    f"{name!r} is not benchmarked: bench.models lists {', '.join(self.models)}",
                    "Add the model to bench.models, or remove its paths.",
                    related=("paths.models", "models"),
                )


# --------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class BusinessHours:
    """Response times counted in working hours only, when a project keeps office hours."""

    enabled: bool = setting(False)
    timezone: str = setting("UTC", timezone_name())
    working_days: tuple[Weekday, ...] = setting(
        ("mon", "tue", "wed", "thu", "fri"), non_empty("day"), unique_items()
    )
    start: str = setting("09:00", time_of_day())
    end: str = setting("17:00", time_of_day())

    def problems(self) -> Iterator[Problem]:
        if minutes_of_day(self.start) >= minutes_of_day(self.end):
            yield Problem(
                "end",
                f"the working day ends ({self.end}) before or when it starts ({self.start})",
                'Set end later than start on the same day, e.g. start: "09:00", end: "17:00".',
                related=("start",),
            )


@dataclass(frozen=True)
class ReportConfig:
    """The community-health report: when, over which window, for whom, where it goes."""

    enabled: bool = setting(True)
    schedule: str = setting("0 6 1 * *", cron_expression())
    window_days: int = setting(30, between(1, 3650))
    format: ReportFormat = setting("md")
    ignore_users: tuple[str, ...] = setting((), each(github_login()))
    bots_excluded: bool = setting(True)
    business_hours: BusinessHours = section(BusinessHours)
    post_issue: bool = setting(False)
    issue_title: str = setting(
        "Community health report for {repo}: {start} to {end}",
        format_template(ISSUE_TITLE_PLACEHOLDERS),
        max_length(ISSUE_TITLE_MAX),
    )

    def render_issue_title(self, *, repo: str, start: str, end: str) -> str:
        """The title of the report issue; the placeholders were checked when the file loaded."""
        return self.issue_title.format(
            repo=repo, start=start, end=end, window_days=self.window_days
        )


# -------------------------------------------------------------------------- welcome, commands

Permission = Literal["triage", "write", "maintain", "admin"]
PERMISSION_ORDER: tuple[str, ...] = ("none", "read", "triage", "write", "maintain", "admin")
"""GitHub's repository roles, weakest first."""


@dataclass(frozen=True)
class WelcomeConfig:
    """One welcome for a person's first issue or pull request in the repository."""

    enabled: bool = setting(True)
    template: str = setting(".github/maintbot/welcome.md.j2", not_blank("template path"))


@dataclass(frozen=True)
class CommandsConfig:
    """Slash commands (``/type bug``) in issue comments."""

    enabled: bool = setting(True)
    min_permission: Permission = setting("triage")


# ----------------------------------------------------------------------------------------- root


@dataclass(frozen=True)
class Config:
    """The whole configuration of maintbot for one repository."""

    version: int = setting(CONFIG_VERSION)
    labels: LabelsConfig = section(LabelsConfig)
    triage: TriageConfig = section(TriageConfig)
    bench: BenchConfig = section(BenchConfig)
    report: ReportConfig = section(ReportConfig)
    welcome: WelcomeConfig = section(WelcomeConfig)
    commands: CommandsConfig = section(CommandsConfig)

    @classmethod
    def default(cls) -> Config:
        """The configuration of a repository without ``.github/maintbot.yml``."""
        return cls()

    def problems(self) -> Iterator[Problem]:
        for index, issue_type in enumerate(self.triage.missing_info.types):
            if issue_type not in self.labels.types:
                yield Problem(
                    f"triage.missing_info.types[{index}]",
                    f"{issue_type!r} is not an issue type in labels.types "
                    f"({', '.join(self.labels.types)})",
                    "Name one of the issue types mapped in labels.types.",
                    related=(f"labels.types.{issue_type}", "labels.types"),
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists and scalars (for JSON, YAML and ``maintbot config show``)."""
        return as_plain_data(self)


def as_plain_data(value: Any) -> Any:
    """Dataclasses, FrozenMaps and tuples → dicts and lists, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_plain_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: as_plain_data(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [as_plain_data(item) for item in value]
    return value
