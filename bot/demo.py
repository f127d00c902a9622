"""``maintbot demo``: maintbot end to end on an embedded repository, against the local sandbox.

Nothing leaves this machine: the sandbox (``bot/sandbox``) serves a realistic history of
``octo-lab/mnist-playground`` on 127.0.0.1 and every step talks to it through PyGithub, exactly
as it would talk to api.github.com.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.cli_context import MaintbotCommand, pass_settings
from bot.settings import Settings

DEMO_REPO = "octo-lab/mnist-playground"
DEMO_TOKEN = "demo-token"
# The demo history runs from 2023-09-01 to 2024-06-12: report on all of it.
DEMO_WINDOW = ("2023-09-01", "2024-06-12")


@dataclass
class DemoRun:
    """What the demo steps share: the sandbox, a client pointed at it, where files go."""

    sandbox: Any
    github: Any
    out_dir: Path
    settings: Settings

    def say(self, text: str) -> None:
        click.echo(text)


def step_repository(run: DemoRun) -> None:
    """Reads the repository and its .github/maintbot.yml through the GitHub API."""
    from bot.config.remote import fetch_repo_config

    repo = run.github.get_repo(DEMO_REPO)
    config = fetch_repo_config(repo)
    # One search request, not a walk over the issues: PyGithub would fetch each one whole
    # to answer `.pull_request`.
    open_issues = run.github.search_issues(f"repo:{DEMO_REPO} is:issue is:open").totalCount
    pulls = repo.get_pulls(state="all").totalCount
    run.say(f"  {repo.full_name}: {open_issues} open issues, {pulls} pull requests")
    run.say(
        f"  .github/maintbot.yml: bug label '{config.labels.label_for('bug')}', "
        f"benchmark models {', '.join(config.bench.models)}"
    )


def step_replay_event(run: DemoRun) -> None:
    """Dispatches a webhook-shaped event through the same router the Action and the App use."""
    from bot.events.context import HandlerContext
    from bot.events.router import Event, dispatch
    from bot.handlers import build_router

    repo = run.github.get_repo(DEMO_REPO)
    issue = repo.create_issue(
        title="Training crashes with 'NaN loss' after upgrading to TF 2.21",
        body="### Steps to reproduce\n1. `python -m reference_models.mnist_mlp --lr 5`\n\n"
        "### Expected\nA finite loss.\n\n### Environment\ntensorflow-cpu 2.21.0, Python 3.11",
    )
    payload = {
        "action": "opened",
        "issue": issue.raw_data,
        "repository": repo.raw_data,
        "sender": issue.raw_data["user"],
    }
    from bot.config.remote import fetch_repo_config

    ctx = HandlerContext(
        github=run.github, config=fetch_repo_config(repo), dry_run=run.settings.dry_run
    )
    result = dispatch(build_router(), Event("issues", payload, delivery_id="demo-1"), ctx)
    if not result.handled:
        run.say(f"  issues.opened #{issue.number}: no handler registered in this version")
    for outcome in result.outcomes:
        name = outcome.handler.rsplit(".", 1)[-1]
        run.say(f"  issues.opened #{issue.number}: {name}: {outcome.status}")


def step_report(run: DemoRun) -> None:
    """The community-health report of the demo repository, collected twice to show the cache."""
    import sys

    from bot.config.remote import fetch_repo_config
    from bot.report.cli import ProgressBar, gather, report_options
    from bot.report.compose import compose_report
    from bot.report.render import Format, render
    from bot.report.window import resolve_window
    from bot.store.database import Store

    config = fetch_repo_config(run.github.get_repo(DEMO_REPO))
    window = resolve_window(DEMO_WINDOW[0], DEMO_WINDOW[1], window_days=30, now=datetime.now(UTC))
    store_path = run.out_dir / "demo-store.sqlite3"
    store_path.unlink(missing_ok=True)
    store = Store.open(str(store_path))
    progress = ProgressBar(sys.stderr, interactive=False)
    try:
        for attempt in ("first", "second"):
            before = sum(run.sandbox.request_counts().values())
            dataset, _ = gather(
                run.github, store, [DEMO_REPO], window, full_history=False, progress=progress
            )
            spent = sum(run.sandbox.request_counts().values()) - before
            run.say(f"  {attempt} collection: {spent} API requests")
    finally:
        store.close()
    result = compose_report(dataset, window, report_options(config), generated_at=window.end)
    for fmt in (Format.MD, Format.HTML, Format.JSON):
        path = run.out_dir / f"report.{fmt.value}"
        path.write_text(render(result, fmt), encoding="utf-8")
        run.say(f"  wrote {path}")


def step_api_usage(run: DemoRun) -> None:
    """Shows what the demo cost in API calls: what a maintainer's quota would pay."""
    counts = run.sandbox.request_counts()
    run.say(f"  {sum(counts.values())} API requests:")
    for route, n in sorted(counts.items(), key=lambda kv: -kv[1])[:8]:
        run.say(f"    {n:5d}  {route}")


STEPS: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("Repository and configuration", step_repository),
    ("A new issue, dispatched like a webhook", step_replay_event),
    ("Community-health report", step_report),
    ("API usage", step_api_usage),
]


@click.command(cls=MaintbotCommand)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/demo"),
    show_default=True,
    help="Where the demo writes its files.",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the sandbox up afterwards so you can point other commands at it.",
)
@pass_settings
def demo(settings: Settings, out_dir: Path, keep_running: bool) -> None:
    """Run maintbot end to end on an embedded demo repository, with no network and no token.

    Starts the sandbox GitHub on 127.0.0.1 seeded with octo-lab/mnist-playground and runs each
    capability against it.
    """
    from bot.github.client import build_github
    from bot.sandbox.server import Sandbox

    out_dir.mkdir(parents=True, exist_ok=True)
    with Sandbox.demo() as sandbox:
        click.echo(f"Sandbox GitHub at {sandbox.base_url} (demo repository {DEMO_REPO})")
        github = build_github(
            token=DEMO_TOKEN, api_url=sandbox.base_url, seconds_between_writes=None
        )
        run = DemoRun(sandbox=sandbox, github=github, out_dir=out_dir, settings=settings)
        for number, (title, step) in enumerate(STEPS, start=1):
            click.secho(f"\n[{number}/{len(STEPS)}] {title}", bold=True)
            step(run)
        click.echo(f"\nFiles written to {out_dir}/")
        if keep_running:
            click.echo(f"Sandbox still serving at {sandbox.base_url}; Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
