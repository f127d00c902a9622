"""Where a benchmark report goes: the sticky PR comment and the Actions job summary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bot.bench.render import STICKY_KEY

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


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
