"""``maintbot serve``: placeholder until the webhook receiver and worker land."""

from __future__ import annotations

import click

from bot.errors import UsageError


@click.command()
def serve() -> None:
    """Run the GitHub App (webhook receiver + worker). NOT AVAILABLE YET.

    Until it lands, run maintbot as a GitHub Action (see README) or replay saved webhook
    payloads with `maintbot replay`.
    """
    raise UsageError(
        "`maintbot serve` is not available in this version",
        hint="use the GitHub Action (action.yml) or `maintbot replay --event E --payload FILE`",
    )
