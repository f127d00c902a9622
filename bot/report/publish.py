"""Posts a Markdown report as one sticky issue per window: created once, then edited in place.

The issue is found again by its hidden marker (``<!-- maintbot:report:START..END -->``) among
the issues whose title matches, so running the report twice for a window updates the same
issue instead of opening another. A report longer than GitHub's 65,536-character limit goes
on in sticky comments on that issue, one per extra part.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from github import Github

from bot.github.comments import marker, same_body, upsert_sticky_comment
from bot.report.render import COMMENT_LIMIT, split_markdown
from bot.report.window import Window

log = logging.getLogger(__name__)

#: Room left in each part for the marker line and the "part i of n" line.
PART_OVERHEAD = 300


def report_key(window: Window) -> str:
    """The sticky key of a window's report, e.g. ``report:2024-03-01..2024-03-31``."""
    start, last = window.label.split(" – ")
    return f"report:{start}..{last}"


def report_parts(markdown: str, *, limit: int = COMMENT_LIMIT) -> list[str]:
    """The report cut to fit an issue body and comments, each part saying which it is."""
    pieces = split_markdown(markdown, limit - PART_OVERHEAD)
    if len(pieces) == 1:
        return pieces
    total = len(pieces)
    return [f"*Part {i} of {total}.*\n\n{piece}" for i, piece in enumerate(pieces, start=1)]


@dataclass(frozen=True)
class FoundIssue:
    number: int
    title: str
    body: str


def pick_report_issue(candidates: Sequence[FoundIssue], key: str) -> FoundIssue | None:
    """Our issue for ``key``: the oldest candidate whose body opens with its marker."""
    ours = [c for c in candidates if c.body.lstrip().startswith(marker(key))]
    return min(ours, key=lambda c: c.number) if ours else None


@dataclass(frozen=True)
class PostResult:
    """What posting did (or, under dry-run, would do)."""

    action: str  # "created", "updated" or "unchanged"
    number: int | None
    url: str | None
    parts: int
    dry_run: bool = False


def _search_title(title: str) -> str:
    return " ".join(title.replace('"', " ").split())


def find_report_issue(github: Github, repo: str, title: str, key: str) -> Any | None:
    """Searches the repository's issues by title, then checks the marker (search is fuzzy)."""
    query = f'repo:{repo} is:issue in:title "{_search_title(title)}"'
    hits = {issue.number: issue for issue in github.search_issues(query)}
    candidates = [FoundIssue(n, i.title, i.body or "") for n, i in hits.items()]
    found = pick_report_issue(candidates, key)
    return hits[found.number] if found is not None else None


def post_report_issue(
    github: Github, repo: str, title: str, window: Window, markdown: str, *, dry_run: bool
) -> PostResult:
    """Creates or updates the window's report issue in ``repo``; extra parts as comments."""
    key = report_key(window)
    parts = report_parts(markdown)
    body = f"{marker(key)}\n{parts[0]}"
    issue = find_report_issue(github, repo, title, key)
    if issue is None:
        action = "created"
    elif same_body(issue.body, body) and issue.title == title:
        action = "unchanged"
    else:
        action = "updated"
    if dry_run:
        log.info("dry-run: the report issue would be %s", action)
        number = issue.number if issue is not None else None
        url = issue.html_url if issue is not None else None
        return PostResult(action, number, url, len(parts), dry_run=True)
    if issue is None:
        issue = github.get_repo(repo).create_issue(title=title, body=body)
    elif action == "updated":
        issue.edit(title=title, body=body)
    for index, part in enumerate(parts[1:], start=2):
        upsert_sticky_comment(issue, f"{key}:part-{index}", part)
    return PostResult(action, issue.number, issue.html_url, len(parts))
