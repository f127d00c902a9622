"""``maintbot config check|show``: validate a maintbot.yml and print the effective settings."""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml

from bot.cli_context import CapabilityGroup, pass_settings
from bot.config.loader import load_config
from bot.config.schema import REPO_CONFIG_PATH, Config
from bot.errors import ConfigError
from bot.settings import Settings

path_argument = click.argument(
    "path", required=False, type=click.Path(dir_okay=True, path_type=Path)
)


@click.group("config", cls=CapabilityGroup)
def config() -> None:
    """Check and show the configuration (.github/maintbot.yml).

    PATH defaults to the global --config file, else to .github/maintbot.yml in the current
    directory when it exists; without any file maintbot uses its defaults.
    """


@config.command("check")
@path_argument
@pass_settings
def check(settings: Settings, path: Path | None) -> None:
    """Validate PATH: print "ok", or the error with its line and exit 2."""
    chosen = _choose_path(settings, path)
    _load_or_exit(chosen)
    if chosen is None:
        click.echo(f"ok: no {REPO_CONFIG_PATH} here, so the defaults apply")
    else:
        click.echo(f"ok: {chosen}")


@config.command("show")
@path_argument
@pass_settings
def show(settings: Settings, path: Path | None) -> None:
    """Print the effective configuration of PATH, with every default filled in (YAML; one
    line of JSON with --json)."""
    chosen = _choose_path(settings, path)
    effective = _load_or_exit(chosen).to_dict()
    if settings.as_json:
        click.echo(json.dumps(effective))  # one line, like every --json output of maintbot
        return
    origin = chosen if chosen is not None else "defaults (no configuration file)"
    click.echo(f"# effective maintbot configuration from {origin}")
    click.echo(yaml.safe_dump(effective, sort_keys=False, allow_unicode=True), nl=False)


def _choose_path(settings: Settings, path: Path | None) -> Path | None:
    """The argument, else the global ``--config``, else the repository file when present."""
    if path is not None:
        return path
    if settings.config_path is not None:
        return Path(settings.config_path)
    local = Path(REPO_CONFIG_PATH)
    return local if local.is_file() else None


def _load_or_exit(path: Path | None) -> Config:
    """The configuration at ``path``; a bad file prints its error (line, key, hint) and exits
    with the error's code."""
    try:
        return load_config(path)
    except ConfigError as err:
        click.secho(f"Error: {err.message}", err=True, fg="red")
        if err.hint:
            click.echo(f"Hint: {err.hint}", err=True)
        click.get_current_context().exit(err.exit_code)
        raise  # unreachable: ctx.exit raises; keeps type checkers sure of the return
