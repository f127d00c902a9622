"""Where and when a benchmark report goes: the sticky PR comment and the Actions job summary.

The comment policy: one comment per PR (key ``bench``), created by the first run that posts
(``bench pr --post``, or the privileged ``bench comment`` of the fork-safe workflow) and edited
in place by every later one; a report that did not change writes nothing, and stray copies are
deleted. That decision is :func:`bot.github.comments.plan_sticky` (pure; tested with plain
values in tests/github/test_comments_plan.py); what counts as a regression is
:mod:`bot.bench.compare`, and what the comment says, :mod:`bot.bench.render`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
STICKY_KEY = "bench"  # one sticky comment per PR, edited on every push


def write_job_summary(markdown: str, environ: dict[str, str] | None = None) -> Path | None:
    """Appends the report to the job summary when running in GitHub Actions."""
    target = (environ if environ is not None else os.environ).get(SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as f:
        f.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path


def post_comment(pull: Any, markdown: str, *, dry_run: bool) -> Any:
    """Creates or edits the one benchmark comment on ``pull`` (a PyGithub PR or issue)."""
    from bot.github.comments import upsert_sticky_comment

    return upsert_sticky_comment(pull, STICKY_KEY, markdown, dry_run=dry_run)
