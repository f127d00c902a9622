"""The one CLI context: how a command gets ``Settings``, and the global ``--json`` / ``--dry-run``.

Every command takes its ``Settings`` with ``@pass_settings``. ``--json`` and ``--dry-run`` are
defined once, here, and only set a field of that one ``Settings``; the command classes below
accept them on the root group and after every subcommand's name, so ``maintbot --json triage
eval ...`` and ``maintbot triage eval ... --json`` mean the same.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from bot.settings import Settings

pass_settings = click.make_pass_decorator(Settings, ensure=True)
"""Passes the invocation's ``Settings`` (built by the root group, or defaults) as first argument."""


def settings_of(ctx: click.Context) -> Settings:
    """The invocation's ``Settings``: the root group's, else a default one on ``ctx``."""
    return ctx.ensure_object(Settings)


def _turns_on(field_name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    """A callback that sets ``field_name`` of the Settings when the flag is given.

    It only ever turns a flag on, so a flag given before the subcommand is not undone by the
    subcommand's copy being absent.
    """

    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            setattr(settings_of(ctx), field_name, True)

    return callback


JSON_FLAG = click.Option(
    ["--json", "as_json"],
    is_flag=True,
    expose_value=False,
    callback=_turns_on("as_json"),
    help="Machine-readable output on stdout.",
)
DRY_RUN_FLAG = click.Option(
    ["--dry-run", "dry_run"],
    is_flag=True,
    envvar="MAINTBOT_DRY_RUN",
    show_envvar=True,
    expose_value=False,
    callback=_turns_on("dry_run"),
    help="Write nothing to GitHub: print the labels, comments and checks instead.",
)
GLOBAL_FLAGS: tuple[click.Option, ...] = (DRY_RUN_FLAG, JSON_FLAG)


def with_global_flags(
    own: list[click.Parameter], params: list[click.Parameter]
) -> list[click.Parameter]:
    """A command's ``params`` (its ``own`` and click's help option) with the global flags
    between them, so they are parsed and listed in ``--help`` like the command's own."""
    rest = [p for p in params if p not in own]
    return [*own, *GLOBAL_FLAGS, *rest]


class MaintbotCommand(click.Command):
    """A command that also takes ``--json`` and ``--dry-run`` after its name."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return with_global_flags(self.params, super().get_params(ctx))


class CapabilityGroup(click.Group):
    """A group that takes ``--json`` and ``--dry-run``, and whose commands and subgroups
    (made with ``@group.command()`` / ``@group.group()``) take them too."""

    command_class = MaintbotCommand
    group_class = type  # subgroups are CapabilityGroups too

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return with_global_flags(self.params, super().get_params(ctx))
