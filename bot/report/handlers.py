"""Posts the community-health report when the repository's schedule fires (``schedule``).

A workflow's ``on.schedule`` runs ``maintbot action`` with the cron line that fired; only
the one equal to ``report.schedule`` posts the report, so a repository can keep other
schedules in the same workflow. The report is the window's issue, edited in place when the
same window is posted again (a rerun of the workflow adds nothing).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from bot.events.context import HandlerContext
from bot.events.router import Event, Router, Skipped

router = Router()


def same_cron(a: str, b: str) -> bool:
    """Cron lines compare field by field; spacing does not matter."""
    return a.split() == b.split()


@router.on("schedule")
def post_scheduled_report(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """Collects the last ``report.window_days`` and posts the report issue."""
    report = ctx.config.report
    if not report.enabled:
        return Skipped("report.enabled is false")
    cron = event.payload.get("schedule")
    if not isinstance(cron, str):
        return Skipped("the event names no schedule")
    if not same_cron(cron, report.schedule):
        return Skipped(f"schedule {cron!r} is not report.schedule {report.schedule!r}")
    repo = event.repo_full_name
    if not repo:
        return Skipped("the event names no repository")
    if ctx.github is None:
        return Skipped("no GitHub access to collect the report")
    from bot.report.cli import ProgressBar, gather, publish_report_issue, report_options
    from bot.report.compose import compose_report
    from bot.report.window import resolve_window
    from bot.store.database import Store

    store = ctx.store if ctx.store is not None else Store.open("sqlite://")
    now = datetime.now(UTC)
    window = resolve_window(None, None, window_days=report.window_days, now=now)
    progress = ProgressBar(sys.stderr, interactive=False)
    dataset, _ = gather(
        ctx.github, store, [repo], window, full_history=False, progress=progress, config=ctx.config
    )
    result = compose_report(dataset, window, report_options(ctx.config), generated_at=now)
    title, markdown, posted = publish_report_issue(
        ctx.github, [repo], window, ctx.config, result, dry_run=ctx.dry_run
    )
    if ctx.dry_run:
        ctx.plan("report issue", repo=repo, title=title, action=posted.action, body=markdown)
    return {"title": title, "action": posted.action, "url": posted.url, "window": window.label}
