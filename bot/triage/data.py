"""Labelled issues from files: the NLBSE CSV layout and JSONL, checked before any training."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.errors import UsageError

CSV_COLUMNS = ("title", "body", "label")
DEFAULT_LABELS = ("bug", "feature", "question")


@dataclass(frozen=True)
class LabelledIssue:
    """One issue with its type label; ``repo`` lets evaluation break scores down per project."""

    title: str
    body: str
    label: str
    repo: str | None = None
    number: int | None = None


def read_labelled(
    path: Path, *, labels: Sequence[str] | None = None, pooled: bool = False
) -> list[LabelledIssue]:
    """Reads a ``.csv`` (NLBSE columns) or ``.jsonl`` file and checks its labels.

    ``labels``: the allowed label set (from the config or a model); ``None`` accepts the
    labels the file has, but a file with fewer than two labels cannot train anything, unless
    it is ``pooled`` with other sources (``pool_issues`` then checks them all together).
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(
            f"{path}: no such file", hint="pass --data with a .csv or .jsonl of labelled issues"
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        issues = read_csv(path)
    elif suffix in (".jsonl", ".ndjson"):
        issues = read_jsonl(path)
    else:
        raise UsageError(
            f"{path}: unknown file type {suffix or '(none)'!r}",
            hint="use a .csv with columns title, body, label (optional repo) or a .jsonl",
        )
    if not issues:
        raise UsageError(
            f"{path}: the file has no labelled issues", hint="check that it is the right file"
        )
    if labels is not None or not pooled:
        check_labels(issues, labels, source=str(path))
    return issues


def pool_issues(sources: Sequence[tuple[str, list[LabelledIssue]]]) -> list[LabelledIssue]:
    """The issues of several named sources (files, harvested repositories), trained on
    together: more labelled issues is what the pooled model lacks most (about +0.023
    macro-F1 per doubling; docs/triage-why.md). An issue two sources both hold (same
    repository and number) counts once, from the first, so a harvest beside an export of
    the same project does not weigh it twice."""
    seen: set[tuple[str, int]] = set()
    pooled = []
    for _, issues in sources:
        for issue in issues:
            key = (issue.repo, issue.number) if issue.repo and issue.number is not None else None
            if key in seen:
                continue
            if key:
                seen.add(key)
            pooled.append(issue)
    check_labels(pooled, None, source=" + ".join(name for name, _ in sources))
    return pooled


def read_csv(path: Path) -> list[LabelledIssue]:
    """NLBSE CSV: ``repo, created_at, label, title, body`` with backslash as escape character.

    Without ``escapechar`` every backslash in code and paths would come out doubled.
    """
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, escapechar="\\")
        columns = [c.strip().lower() for c in (reader.fieldnames or [])]
        if not columns:
            raise UsageError(f"{path}: the file is empty", hint="check that it is the right file")
        missing = [c for c in CSV_COLUMNS if c not in columns]
        if missing:
            raise UsageError(
                f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(columns)})",
                hint="a labelled CSV needs the columns title, body and label; repo is optional",
            )
        reader.fieldnames = columns
        issues = []
        for line_no, row in enumerate(reader, start=2):
            label = (row.get("label") or "").strip()
            if not label:
                raise UsageError(
                    f"{path}: row {line_no - 1} has no label",
                    hint="every row needs a label; remove unlabelled rows",
                )
            number = row.get("number")
            issues.append(
                LabelledIssue(
                    title=row.get("title") or "",
                    body=row.get("body") or "",
                    label=label,
                    repo=(row.get("repo") or None),
                    number=int(number) if number and number.strip().isdigit() else None,
                )
            )
    return issues


def read_jsonl(path: Path) -> list[LabelledIssue]:
    """One JSON object per line: ``title``, ``body``, ``label``, optional ``repo``, ``number``."""
    issues = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise UsageError(
                    f"{path}:{line_no}: not valid JSON ({error.msg})",
                    hint="write one JSON object per line",
                ) from error
            if not isinstance(record, dict):
                raise UsageError(
                    f"{path}:{line_no}: expected a JSON object", hint="one object per line"
                )
            missing = [k for k in CSV_COLUMNS if k != "body" and not record.get(k)]
            if missing:
                raise UsageError(
                    f"{path}:{line_no}: missing {', '.join(missing)}",
                    hint='each line needs "title" and "label" ("body", "repo" optional)',
                )
            number = record.get("number")
            issues.append(
                LabelledIssue(
                    title=str(record["title"]),
                    body=str(record.get("body") or ""),
                    label=str(record["label"]).strip(),
                    repo=record.get("repo") or None,
                    number=int(number) if isinstance(number, int) else None,
                )
            )
    return issues


def check_labels(
    issues: Iterable[LabelledIssue], labels: Sequence[str] | None, *, source: str
) -> None:
    """Unknown labels are an error, not a silent new class: a typo would skew the model."""
    counts = Counter(issue.label for issue in issues)
    if labels is not None:
        unknown = sorted(set(counts) - set(labels))
        if unknown:
            raise UsageError(
                f"{source}: unknown label(s) {', '.join(map(repr, unknown))}; "
                f"expected one of {', '.join(labels)}",
                hint="fix the labels in the file, or add them to triage.labels in the config",
            )
    elif len(counts) < 2:
        raise UsageError(
            f"{source}: only one label ({', '.join(counts)}) in the file",
            hint="a classifier needs examples of at least two labels",
        )


def label_set(issues: Iterable[LabelledIssue]) -> list[str]:
    """The labels present, in a stable order: the default types first, then the others."""
    present = {issue.label for issue in issues}
    known = [label for label in DEFAULT_LABELS if label in present]
    return known + sorted(present - set(known))


def by_repo(issues: Iterable[LabelledIssue]) -> dict[str, list[LabelledIssue]]:
    """Issues grouped per project, in order of first appearance."""
    groups: dict[str, list[LabelledIssue]] = {}
    for issue in issues:
        groups.setdefault(issue.repo or "(none)", []).append(issue)
    return groups
