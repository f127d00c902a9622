"""Runs one event outside the App: the Action's event and ``maintbot replay``'s saved payload.

Both read a payload file, build the handler context from the global options and dispatch to
the composed router; they differ only in where the event name and file come from.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import ExitCode, UsageError
from bot.events.context import HandlerContext
from bot.events.router import DispatchResult, Event, Router, dispatch
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.store.database import Store

log = logging.getLogger(__name__)


def read_payload(path: Path) -> dict[str, Any]:
    """Reads a webhook payload file; a clear error names the file and the JSON problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read the event payload {path}: {exc.strerror}",
            hint="pass the path of a saved webhook JSON body",
        ) from exc
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg})",
            hint="save the delivery's body exactly as GitHub sent it",
        ) from exc
    if not isinstance(payload, dict):
        raise UsageError(
            f"{path}: a webhook payload is a JSON object, got {type(payload).__name__}"
        )
    return payload


def build_context(settings: Settings, event: Event) -> HandlerContext:
    """GitHub client, configuration and store for one event, from the global options.

    Without credentials the event still runs, in dry-run, so a maintainer can see what
    maintbot would do with a payload on a machine with no token. The store is
    ``MAINTBOT_DATABASE_URL`` or the default SQLite file (the Action points it at the
    runner's cache); one that cannot be opened is reported and the event runs without it,
    since GitHub itself holds what the bot decided.
    """
    from bot.events.context import context_for_event

    dry_run = settings.dry_run
    github = settings.github(required=False)
    if github is None and not dry_run:
        log.warning("no GitHub token (--token / GITHUB_TOKEN): running %s in dry-run", event.key)
        dry_run = True
    config = settings.config() if settings.config_path is not None or github is None else None
    return context_for_event(
        event, github=github, store=build_store(settings), dry_run=dry_run, config=config
    )


def build_store(settings: Settings) -> Store | None:
    """The store of the global options, or None (with a warning) when it cannot open."""
    from bot.errors import MaintbotError

    try:
        return settings.store()
    except MaintbotError as exc:
        log.warning("running without a store: %s", exc)
        return None


def run_event(settings: Settings, event: Event, router: Router | None = None) -> DispatchResult:
    """Dispatches ``event`` with a context built from ``settings``; returns every outcome."""
    if router is None:
        from bot.handlers import build_router

        router = build_router()
    ctx = build_context(settings, event)
    result = dispatch(router, event, ctx)
    result.planned = list(ctx.planned)
    return result


def exit_code_for(result: DispatchResult) -> ExitCode:
    """The worst outcome decides: a failure (3) outranks a usage error (2), then a finding (1)."""
    codes = [o.exit_code for o in result.outcomes]
    for code in (ExitCode.EXTERNAL, ExitCode.USAGE, ExitCode.FINDING):
        if code in codes:
            return code
    return ExitCode.OK


def print_result(settings: Settings, result: DispatchResult) -> None:
    """One line per handler (or one JSON object with ``--json``), then the dry-run plan."""
    import click

    if settings.as_json:
        click.echo(json.dumps(result.summary(), default=str, sort_keys=True))
        return
    if not result.handled:
        click.echo(f"{result.event}: no handler registered; nothing to do.")
    for o in result.outcomes:
        click.echo(f"{result.event}: {o.handler}: {o.status}")
    for item in result.planned:
        details = {k: v for k, v in item.items() if k != "action"}
        click.echo(f"dry-run: would {item['action']} {details}")
