"""The packages a pull request changes: which files decide them, and how two sides differ.

A dependency bump changes nothing in the model code, so benchmarking it in one shared
environment tests nothing. When a change touches a file that decides the installed packages,
``bench pr`` builds one environment per side from that side's files
(:mod:`bot.bench.venvs`) and reports here which packages differ. Everything in this module is
pure: plain paths and ``name -> version`` listings in, decisions and markdown out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.bench.affected import matches, normalize
from bot.config.schema import DEPENDENCY_FILES
from bot.sanitize import inline

MAX_LISTED = 100  # packages kept in a results document and shown in the comment
_SEPARATORS = re.compile(r"[-_.]+")


@dataclass(frozen=True)
class Change:
    """One package whose version differs between the sides (None: absent on that side)."""

    name: str
    base: str | None
    head: str | None

    @property
    def kind(self) -> str:
        if self.base is None:
            return "added"
        if self.head is None:
            return "removed"
        return "changed"


@dataclass(frozen=True)
class PackageDiff:
    """The packages that differ between the base's and the head's environments, by name."""

    changes: tuple[Change, ...]

    @property
    def added(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "added"]

    @property
    def removed(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "removed"]

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "changed"]

    def to_results(self, files: Sequence[str]) -> dict[str, Any]:
        """The ``packages`` object of a head results document (bounded, like ``scope``)."""
        return {
            "files": [normalize(f) for f in files][:50],
            "changes": [
                {"name": c.name, "base": c.base, "head": c.head} for c in self.changes[:MAX_LISTED]
            ],
            "change_count": len(self.changes),
        }


def dependency_files(
    changed: Iterable[str], patterns: Sequence[str] = DEPENDENCY_FILES
) -> list[str]:
    """The changed paths that decide installed packages (empty: one shared environment)."""
    return sorted({normalize(p) for p in changed if any(matches(pat, p) for pat in patterns)})


def canonical_name(name: str) -> str:
    """PEP 503: ``Foo_Bar.baz`` and ``foo-bar-baz`` are one package."""
    return _SEPARATORS.sub("-", name.strip()).lower()


def parse_freeze(text: str) -> dict[str, str]:
    """``pip freeze`` lines (``name==version``) as ``canonical name -> version``.

    Lines that pin no version (``-e`` installs, ``name @ url``, comments) are kept with the
    version text pip printed after ``@`` or skipped when there is none; the first listing of
    a name wins, as it does on ``sys.path``.
    """
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        if "==" in line:
            name, version = line.split("==", 1)
        elif " @ " in line:
            name, version = line.split(" @ ", 1)
        else:
            continue
        found.setdefault(canonical_name(name), version.strip())
    return found


def diff(base: Mapping[str, str], head: Mapping[str, str]) -> PackageDiff:
    """Added, removed and changed packages between two listings (names compared per PEP 503)."""
    left = {canonical_name(k): v for k, v in base.items()}
    right = {canonical_name(k): v for k, v in head.items()}
    changes = [
        Change(name, left.get(name), right.get(name))
        for name in sorted(left.keys() | right.keys())
        if left.get(name) != right.get(name)
    ]
    return PackageDiff(tuple(changes))


def from_results(packages: Mapping[str, Any]) -> tuple[list[str], PackageDiff, int]:
    """(files, diff, total count) back from a validated results document's ``packages``."""
    changes = tuple(Change(c["name"], c.get("base"), c.get("head")) for c in packages["changes"])
    return list(packages["files"]), PackageDiff(changes), int(packages["change_count"])


def markdown(
    files: Sequence[str], package_diff: PackageDiff, total: int | None = None
) -> list[str]:
    """The comment's section: the dependency files, then one row per package that differs.

    Names, versions and paths come from the pull request's files, so each goes through
    :func:`bot.sanitize.inline`.
    """
    total = len(package_diff.changes) if total is None else total
    shown = ", ".join(inline(f, 120) for f in files[:10])
    more = f" and {len(files) - 10} more" if len(files) > 10 else ""
    lines = [
        "**Dependencies: each side ran in its own environment**, built from its own "
        f"{shown}{more} (the packages the change pins, installed over a shared base).",
        "",
    ]
    if not package_diff.changes:
        lines += ["The two environments resolved to the same package versions.", ""]
        return lines
    lines += ["| package | base | head | change |", "| --- | --- | --- | --- |"]
    for change in package_diff.changes[:MAX_LISTED]:
        lines.append(
            f"| {inline(change.name, 100)} | {_version(change.base)} | {_version(change.head)} "
            f"| {change.kind} |"
        )
    if total > len(package_diff.changes[:MAX_LISTED]):
        lines.append(f"| … | | | {total - MAX_LISTED} more |")
    lines.append("")
    return lines


def _version(version: str | None) -> str:
    return "—" if version is None else inline(version, 60)
