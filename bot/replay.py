"""``maintbot replay``: dispatches a saved webhook payload, as the App would have."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli_context import MaintbotCommand, pass_settings
from bot.events.local import exit_code_for, print_result, read_payload, run_event
from bot.events.router import Event
from bot.settings import Settings


@click.command(cls=MaintbotCommand)
@click.option(
    "--event",
    "event_name",
    required=True,
    help="The event name GitHub sent in X-GitHub-Event, e.g. issues.",
)
@click.option(
    "--payload",
    "payload_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The saved JSON body.",
)
@click.option("--delivery-id", default=None, help="The X-GitHub-Delivery id, if known.")
@pass_settings
def replay(
    settings: Settings, event_name: str, payload_path: Path, delivery_id: str | None
) -> None:
    """Dispatch a saved webhook payload to maintbot's handlers.

    Without a token it runs in dry-run and prints what it would do. With --dry-run it never
    writes to GitHub.
    """
    event = Event(name=event_name, payload=read_payload(payload_path), delivery_id=delivery_id)
    result = run_event(settings, event)
    print_result(settings, result)
    raise SystemExit(int(exit_code_for(result)))
