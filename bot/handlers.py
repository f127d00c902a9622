"""Composes every capability's router into the one router all transports dispatch to.

Like bedevere's ``__main__``: each behaviour keeps its handlers in its own module with its
own :class:`Router`; this module is the one place that lists them.
"""

from __future__ import annotations

from bot.bench.handlers import router as bench
from bot.commands.handlers import router as commands
from bot.events.context import HandlerContext
from bot.events.router import Event, Router
from bot.report.handlers import router as report
from bot.triage.correction_handlers import router as triage_corrections
from bot.triage.duplicate_handlers import router as duplicates
from bot.triage.handlers import router as triage_types
from bot.triage.missing_info_handlers import router as missing_info
from bot.welcome.handlers import router as welcome

core = Router()


@core.on("ping")
def acknowledge_ping(event: Event, ctx: HandlerContext) -> dict[str, object]:
    """GitHub sends ``ping`` when a webhook is created: answer with what we were sent."""
    hook = event.payload.get("hook") or {}
    return {
        "zen": event.payload.get("zen"),
        "hook_id": event.payload.get("hook_id"),
        "events": hook.get("events", []),
    }


def triage_router() -> Router:
    """What a new issue goes through, also on demand (``triage run`` / ``backfill``)."""
    return Router(triage_types, duplicates, missing_info)


def build_router() -> Router:
    """The router of this maintbot: every capability's handlers, composed once.

    Order matters within one event: the type label is decided first, so that the handlers
    after it (missing information asks bug reports only) read its decision."""
    return Router(core, triage_router(), triage_corrections, welcome, commands, report, bench)
