"""``maintbot action``: handles the event of the GitHub Actions run it is started in."""

from __future__ import annotations

import os
from pathlib import Path

import click

from bot.cli_context import MaintbotCommand, pass_settings
from bot.events.local import exit_code_for, print_result, read_payload, run_event
from bot.events.router import DispatchResult, Event
from bot.sanitize import inline
from bot.settings import Settings


def step_summary_markdown(result: DispatchResult) -> str:
    """A short table for ``$GITHUB_STEP_SUMMARY``: which handler ran, how it went."""
    lines = [
        f"### maintbot: `{result.event}`",
        "",
        "| handler | result | seconds |",
        "|---|---|---|",
    ]
    for o in result.outcomes:
        status = inline(o.status, max_len=300)
        lines.append(f"| `{o.handler.rsplit('.', 1)[-1]}` | {status} | {o.seconds:.2f} |")
    if not result.outcomes:
        lines.append("| (none) | no handler for this event | 0 |")
    for item in result.planned:
        lines.append(f"- dry-run: would {item['action']}")
    return "\n".join(lines) + "\n"


@click.command(cls=MaintbotCommand)
@click.option(
    "--event-name",
    envvar="GITHUB_EVENT_NAME",
    show_envvar=True,
    required=True,
    help="The event that started the workflow run.",
)
@click.option(
    "--event-path",
    envvar="GITHUB_EVENT_PATH",
    show_envvar=True,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file holding the event's payload.",
)
@pass_settings
def action(settings: Settings, event_name: str, event_path: Path) -> None:
    """Handle the current GitHub Actions event (reads GITHUB_EVENT_NAME / GITHUB_EVENT_PATH).

    Runs every handler registered for the event, writes a table to the job summary and exits
    with the worst outcome's code.
    """
    payload = read_payload(event_path)
    repository = os.environ.get("GITHUB_REPOSITORY")
    if "repository" not in payload and repository:
        # a schedule run's payload holds only the cron line; the run knows its repository
        payload["repository"] = {"full_name": repository}
    event = Event(name=event_name, payload=payload, delivery_id=os.environ.get("GITHUB_RUN_ID"))
    result = run_event(settings, event)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as fh:
            fh.write(step_summary_markdown(result))
    print_result(settings, result)
    raise SystemExit(int(exit_code_for(result)))
