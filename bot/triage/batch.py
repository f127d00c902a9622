"""``maintbot triage run`` and ``triage backfill``: the issue handlers, on demand.

A maintainer installing maintbot on a repository with a backlog, or checking what the bot
would do with one issue, runs the same handlers an ``issues.opened`` delivery runs (type
label, duplicates, missing information; no welcome, which is for new authors only) over
issues fetched from GitHub. ``--dry-run`` shows the exact labels and comment text planned
and writes nothing.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from bot.cli_context import MaintbotCommand, pass_settings
from bot.errors import UsageError
from bot.events.router import DispatchResult, Event, Router, dispatch
from bot.settings import Settings


def opened_event(repo_raw: dict[str, Any], issue_raw: dict[str, Any]) -> Event:
    """An ``issues.opened`` event for an existing issue, as GitHub would have sent it."""
    payload = {
        "action": "opened",
        "issue": issue_raw,
        "repository": repo_raw,
        "sender": issue_raw.get("user") or {},
    }
    return Event("issues", payload, delivery_id=f"batch-{issue_raw.get('number')}")


def run_on_issue(
    settings: Settings, router: Router, repo: Any, issue: Any, config: Any
) -> DispatchResult:
    """Dispatches one issue through ``router`` with the context every transport uses."""
    from bot.events.context import context_for_event
    from bot.events.local import build_store

    event = opened_event(repo.raw_data, issue.raw_data)
    ctx = context_for_event(
        event,
        github=settings.github(),
        store=build_store(settings),
        dry_run=settings.dry_run,
        config=config,
    )
    result = dispatch(router, event, ctx)
    result.planned = list(ctx.planned)
    return result


def _describe(number: int, result: DispatchResult) -> dict[str, Any]:
    return {"issue": number, **result.summary()}


def _config(settings: Settings, repo: Any) -> Any:
    if settings.config_path is not None:
        return settings.config()
    from bot.config.remote import fetch_repo_config

    return fetch_repo_config(repo)


def _echo_result(settings: Settings, number: int, result: DispatchResult) -> None:
    if settings.as_json:
        return
    for outcome in result.outcomes:
        click.echo(f"#{number} {outcome.handler.rsplit('.', 1)[-1]}: {outcome.status}")
    for item in result.planned:
        details = {k: v for k, v in item.items() if k not in ("action", "repo", "issue")}
        body = details.pop("body", None)
        click.echo(f"#{number} dry-run: would {item['action']} {details}")
        if body:
            click.echo("\n".join(f"    | {line}" for line in str(body).splitlines()))


@click.command("run", cls=MaintbotCommand)
@click.option("--repo", "repo_name", required=True, help="OWNER/NAME of the repository.")
@click.option("--issue", "number", type=click.IntRange(min=1), required=True, help="Issue number.")
@pass_settings
def run_command(settings: Settings, repo_name: str, number: int) -> None:
    """Triage one issue now, as if it had just been opened (type, duplicates, missing info)."""
    from bot.handlers import triage_router

    github = settings.github()
    repo = github.get_repo(repo_name)  # type: ignore[union-attr]
    issue = repo.get_issue(number)
    if issue.pull_request is not None:
        raise UsageError(f"#{number} in {repo_name} is a pull request", hint="pass an issue number")
    result = run_on_issue(settings, triage_router(), repo, issue, _config(settings, repo))
    if settings.as_json:
        settings.emit(_describe(number, result))
    else:
        _echo_result(settings, number, result)
    raise SystemExit(0 if result.ok else 3)


def _parse_since(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        moment = datetime.fromisoformat(since)
    except ValueError as exc:
        raise UsageError(f"--since {since!r} is not a date", hint="write it as 2026-01-31") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.command("backfill", cls=MaintbotCommand)
@click.option("--repo", "repo_name", required=True, help="OWNER/NAME of the repository.")
@click.option("--since", help="Only issues opened on or after this date (YYYY-MM-DD).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="At most this many open issues, newest first.",
)
@pass_settings
def backfill_command(settings: Settings, repo_name: str, since: str | None, limit: int) -> None:
    """Triage the open issues of a repository's backlog, newest first.

    Issues a person already sorted are skipped by the same rule as new ones; use
    --dry-run first to read every planned label and comment."""
    from bot.handlers import triage_router

    start = _parse_since(since)
    github = settings.github()
    repo = github.get_repo(repo_name)  # type: ignore[union-attr]
    config = _config(settings, repo)
    router = triage_router()
    results: list[dict[str, Any]] = []
    failed = 0
    for issue in repo.get_issues(state="open", sort="created", direction="desc"):
        if len(results) >= limit:
            break
        if start is not None and issue.created_at < start:
            break
        if issue.pull_request is not None:
            continue
        result = run_on_issue(settings, router, repo, issue, config)
        failed += not result.ok
        results.append(_describe(issue.number, result))
        click.echo(f"[{len(results)}/{limit}] #{issue.number}", err=True)
        _echo_result(settings, issue.number, result)
    kinds: dict[str, int] = {}
    for item in results:
        for handler in item["handlers"]:
            kinds[handler["status"]] = kinds.get(handler["status"], 0) + 1
    summary = {"repo": repo_name, "issues": len(results), "outcomes": kinds, "failed": failed}
    if settings.as_json:
        settings.emit({**summary, "results": results})
    else:
        click.echo(
            f"{len(results)} issue(s) of {repo_name}: "
            + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "nothing to do"),
            file=sys.stdout,
        )
    raise SystemExit(0 if not failed else 3)
