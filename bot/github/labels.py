"""Adds and removes an issue's labels without noise, creating missing repository labels first.

GitHub would create an unknown label itself when it is added to an issue, but grey and without
a description; we create it with the palette's colour (or a stable one picked from the name).
Only labels not already on the issue are added and only present ones removed, so a re-run
writes nothing. GitHub compares label names case-insensitively, and so do we.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from github import GithubException

from bot.errors import UsageError

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 50  # GitHub's limits for a label
MAX_DESCRIPTION_CHARS = 100
# GitHub's own default label colours: readable with both black and white text.
DEFAULT_COLORS = (
    "d73a4a", "0075ca", "cfd3d7", "a2eeef", "7057ff", "008672", "e4e669", "d876e3",
    "fbca04", "0e8a16", "1d76db", "b60205", "5319e7", "c5def5", "bfd4f2", "f9d0c4",
)  # fmt: skip
_HEX = re.compile(r"[0-9a-f]{6}")

Palette = Mapping[str, tuple[str, str]]  # label name -> (colour "rrggbb", description)


@dataclass(frozen=True)
class NewLabel:
    name: str
    color: str
    description: str


@dataclass(frozen=True)
class LabelPlan:
    """Labels to create in the repository, then to add to and remove from the issue."""

    create: tuple[NewLabel, ...] = ()
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()  # not in the repository and not to be created: left out


@dataclass(frozen=True)
class LabelResult:
    """What :func:`apply_labels` did, or would do under dry-run."""

    created: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    dry_run: bool = False
    missing: tuple[str, ...] = ()  # left out: the repository lacks them (labels.create_missing)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.added or self.removed)


def default_color(name: str) -> str:
    """A colour that depends only on the name, so a label looks the same in every repository."""
    digest = hashlib.sha256(name.strip().lower().encode()).digest()
    return DEFAULT_COLORS[digest[0] % len(DEFAULT_COLORS)]


def normalize_color(color: str, *, label: str) -> str:
    """``#D73A4A`` -> ``d73a4a``: GitHub wants six hex digits without ``#``."""
    value = color.strip().lstrip("#").lower()
    if not _HEX.fullmatch(value):
        raise UsageError(
            f"label {label!r} has colour {color!r}, which is not six hex digits",
            hint="write colours like 'd73a4a' or '#d73a4a'",
        )
    return value


def plan_labels(
    *,
    issue_labels: Iterable[str],
    repo_labels: Iterable[str],
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    palette: Palette | None = None,
    create_missing: bool = True,
) -> LabelPlan:
    """The writes that take the issue from ``issue_labels`` to having ``add`` and not ``remove``.

    Names are matched case-insensitively; an existing label keeps its spelling. A label the
    repository lacks is created, or with ``create_missing`` false left out (``missing``).
    """
    palette_by_key = {k.lower(): (k, v) for k, v in (palette or {}).items()}
    on_issue = {n.lower(): n for n in issue_labels}
    in_repo = {n.lower(): n for n in repo_labels}
    wanted = _unique(add)
    unwanted = _unique(remove)
    clash = {n.lower() for n in wanted} & {n.lower() for n in unwanted}
    if clash:
        raise UsageError(
            f"label(s) {', '.join(sorted(clash))} are both added and removed",
            hint="a label policy must decide one way for each label",
        )

    create: list[NewLabel] = []
    to_add: list[str] = []
    missing: list[str] = []
    for name in wanted:
        _check_name(name)
        key = name.lower()
        if key in on_issue:
            continue
        if key in in_repo:
            to_add.append(in_repo[key])
            continue
        if not create_missing:
            missing.append(name)
            continue
        spelled, (color, description) = palette_by_key.get(key, (name, ("", "")))
        color = normalize_color(color, label=spelled) if color else default_color(spelled)
        create.append(NewLabel(spelled, color, (description or "")[:MAX_DESCRIPTION_CHARS]))
        to_add.append(spelled)
    to_remove = [on_issue[n.lower()] for n in unwanted if n.lower() in on_issue]
    return LabelPlan(tuple(create), tuple(to_add), tuple(to_remove), tuple(missing))


def apply_labels(
    repo: Any,
    issue: Any,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    *,
    palette: Palette | None = None,
    create_missing: bool = True,
    dry_run: bool = False,
    repo_labels: Callable[[], Sequence[str]] | None = None,
) -> LabelResult:
    """Adds ``add`` and removes ``remove`` on ``issue`` (a PyGithub Issue or PullRequest).

    Reads the repository's labels only when a label must be added that the issue lacks,
    through ``repo_labels`` when given (a caller's listing shared by several writes), else
    from ``repo``. With ``create_missing`` false (``labels.create_missing``) a label the
    repository does not have is left out with a warning instead of created.
    """
    wanted, unwanted = _unique(add), _unique(remove)
    issue_labels = [label.name for label in issue.labels]
    on_issue = {n.lower() for n in issue_labels}
    needs_repo = any(n.lower() not in on_issue for n in wanted)
    if not needs_repo:
        known: Sequence[str] = []
    elif repo_labels is not None:
        known = repo_labels()
    else:
        known = [label.name for label in repo.get_labels()]
    plan = plan_labels(
        issue_labels=issue_labels,
        repo_labels=known,
        add=wanted,
        remove=unwanted,
        palette=palette,
        create_missing=create_missing,
    )
    for name in plan.missing:
        log.warning(
            "label %r does not exist in %s and labels.create_missing is false: not added",
            name,
            getattr(repo, "full_name", "the repository"),
        )
    if dry_run:
        if plan.create or plan.add or plan.remove:
            log.info("dry-run: labels %s", plan)
        return LabelResult(
            tuple(n.name for n in plan.create), plan.add, plan.remove, True, plan.missing
        )

    for new in plan.create:
        _create_label(repo, new)
    if plan.add:
        issue.add_to_labels(*plan.add)
    for name in plan.remove:
        _remove_label(issue, name)
    return LabelResult(
        tuple(n.name for n in plan.create), plan.add, plan.remove, missing=plan.missing
    )


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        clean = name.strip()
        if clean:
            seen.setdefault(clean.lower(), clean)
    return list(seen.values())


def _check_name(name: str) -> None:
    if len(name) > MAX_NAME_CHARS:
        raise UsageError(
            f"label {name[:60]!r} is longer than GitHub's {MAX_NAME_CHARS} characters",
            hint="shorten the label name in the configuration",
        )


def _create_label(repo: Any, new: NewLabel) -> None:
    try:
        repo.create_label(new.name, new.color, new.description)
    except GithubException as exc:
        if exc.status == 422 and "already_exists" in str(exc.data):
            return  # created meanwhile by another run: what we wanted
        raise
    log.info("created label %r (#%s)", new.name, new.color)


def _remove_label(issue: Any, name: str) -> None:
    try:
        issue.remove_from_labels(name)
    except GithubException as exc:
        if exc.status != 404:  # already gone: what we wanted
            raise
