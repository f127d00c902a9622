"""The ``maintbot`` command: global options, error reporting, and the capability groups.

Each capability keeps its commands in its own package (``bot/<capability>/cli.py``); this
module only composes them, so ``maintbot --help`` is the map of the project.

Exit codes: 0 ok, 1 a finding (a regression, a failing check), 2 usage or configuration
error, 3 GitHub, network, database or model runtime failure.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from bot import __version__
from bot.cli_context import CapabilityGroup, settings_of
from bot.errors import GitHubError, MaintbotError
from bot.settings import DEFAULT_API_URL, configure_logging

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 a finding (e.g. a benchmark regression); 2 usage or configuration "
    "error; 3 GitHub, network, database or model runtime failure."
)


class ReportedError(click.ClickException):
    """A :class:`MaintbotError` shown as one sentence plus a hint, with its exit code."""

    def __init__(self, error: MaintbotError) -> None:
        super().__init__(error.message)
        self.exit_code = int(error.exit_code)
        self.hint = error.hint

    def show(self, file: Any = None) -> None:
        click.secho(f"Error: {self.message}", err=True, fg="red")
        if self.hint:
            click.echo(f"Hint: {self.hint}", err=True)


class MaintbotGroup(CapabilityGroup):
    """The root group: capability commands are imported only when used, and every maintbot
    and PyGithub error becomes a clear message with a documented exit code.

    As a :class:`CapabilityGroup` it takes the global ``--json`` and ``--dry-run``, which the
    capability commands accept after their names too.

    Lazy loading keeps ``maintbot --help`` and the Action's start fast: a command's module
    (and the libraries it needs) is imported only when that command runs.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, *_ in CAPABILITY_COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for name, module_name, _ in CAPABILITY_COMMANDS:
            if name != cmd_name:
                continue
            return getattr(importlib.import_module(module_name), name)
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Lists the commands from the registry, without importing any of them."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, short_help) for name, _, short_help in CAPABILITY_COMMANDS])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MaintbotError as error:
            raise ReportedError(error) from error
        except Exception as error:
            from github import GithubException
            from requests import RequestException

            if isinstance(error, GithubException):
                from bot.github.errors import explain_github_error

                raise ReportedError(explain_github_error(error)) from error
            if isinstance(error, RequestException):
                where = settings_of(ctx).api_url
                raise ReportedError(
                    GitHubError(
                        f"cannot reach {where}: {type(error).__name__}",
                        hint="check --api-url / GITHUB_API_URL and the network; "
                        "maintbot already retried with backoff",
                    )
                ) from error
            raise


@click.group(
    cls=MaintbotGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(__version__, "--version", prog_name="maintbot")
@click.option(
    "--api-url",
    envvar="GITHUB_API_URL",
    default=DEFAULT_API_URL,
    show_default=True,
    show_envvar=True,
    help="GitHub REST API root: GitHub Enterprise (https://HOST/api/v3) or the sandbox.",
)
@click.option(
    "--token",
    envvar="GITHUB_TOKEN",
    show_envvar=True,
    help="GitHub token (GH_TOKEN works too). Never printed or logged.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MAINTBOT_CONFIG",
    show_envvar=True,
    help="A local maintbot.yml instead of the repository's .github/maintbot.yml.",
)
@click.option("-v", "--verbose", count=True, help="-v: what maintbot does; -vv: HTTP too.")
@click.pass_context
def cli(
    ctx: click.Context,
    api_url: str,
    token: str | None,
    config_path: Path | None,
    verbose: int,
) -> None:
    """maintbot keeps open-source machine-learning projects healthy.

    It triages issues, benchmarks the reference models on every pull request, and writes
    community-health reports. The same commands run in a GitHub Action, a GitHub App and
    your terminal.
    """
    configure_logging(verbose)
    # A token from the environment must not outrank App credentials from the environment
    # (in a workflow GITHUB_TOKEN is always set): only an explicit --token wins outright.
    explicit = ctx.get_parameter_source("token") is click.core.ParameterSource.COMMANDLINE
    # --json and --dry-run have already set their fields of this same Settings.
    settings = settings_of(ctx)
    settings.api_url = api_url.rstrip("/")
    settings.token = token if explicit else None
    settings.config_path = config_path
    settings.verbose = verbose


# Capability commands: (command name, module holding it, one-line help for `maintbot --help`).
CAPABILITY_COMMANDS: list[tuple[str, str, str]] = [
    ("triage", "bot.triage.cli", "Issue-type triage: train, evaluate and run the classifier."),
    ("bench", "bot.bench.cli", "Reference-model regression benchmark for pull requests."),
    ("report", "bot.report.cli", "Contributor and community-health reports."),
    ("serve", "bot.app.cli", "Run the GitHub App: webhook receiver and worker."),
    ("action", "bot.action", "Handle the current GitHub Actions event."),
    ("replay", "bot.replay", "Dispatch a saved webhook payload to maintbot's handlers."),
    ("sandbox", "bot.sandbox.cli", "A fake GitHub REST API on loopback, for tests and demos."),
    ("demo", "bot.demo", "Run maintbot end to end on an embedded repository, offline."),
    ("config", "bot.config.cli", "Check or show a maintbot.yml configuration."),
]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (click exits with the command's code)."""
    cli.main(args=argv, prog_name="maintbot")
