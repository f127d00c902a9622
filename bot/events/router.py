"""Routes a GitHub event to the handlers registered for it.

Handlers are registered once with ``@router.on("issues", "opened")`` in the module of the
behaviour they implement; every transport (Action, App worker, replay) calls :func:`dispatch`.
One failing handler does not stop the others: its error is recorded in the result so the
caller can retry the job or fail the Action, and nothing is silently lost.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.errors import ExitCode, MaintbotError
from bot.events.context import HandlerContext

log = logging.getLogger(__name__)

Handler = Callable[["Event", HandlerContext], Any]


@dataclass(frozen=True)
class Event:
    """A GitHub event as delivered: its name (``X-GitHub-Event``), payload and delivery id."""

    name: str
    payload: dict[str, Any]
    delivery_id: str | None = None

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def key(self) -> str:
        return f"{self.name}.{self.action}" if self.action else self.name

    @property
    def repo_full_name(self) -> str | None:
        repo = self.payload.get("repository")
        return repo.get("full_name") if isinstance(repo, dict) else None

    @property
    def installation_id(self) -> int | None:
        inst = self.payload.get("installation")
        return inst.get("id") if isinstance(inst, dict) else None

    @property
    def sender_login(self) -> str | None:
        sender = self.payload.get("sender")
        return sender.get("login") if isinstance(sender, dict) else None

    @property
    def sender_is_bot(self) -> bool:
        from bot.github.identity import is_bot_account

        sender = self.payload.get("sender")
        if not isinstance(sender, dict):
            return False
        return is_bot_account(str(sender.get("login", "")), sender.get("type"))


@dataclass(frozen=True)
class Skipped:
    """A handler's answer when it decided to do nothing: reported ``skipped: <reason>``,
    never ``ok``, so a maintainer sees why nothing happened."""

    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HandlerOutcome:
    """What one handler did with one event."""

    handler: str
    ok: bool
    seconds: float
    result: Any = None
    error: str | None = None
    exit_code: ExitCode = ExitCode.OK

    @property
    def kind(self) -> str:
        """``ok``, ``skipped`` or ``failed``: what a machine reads."""
        if not self.ok:
            return "failed"
        return "skipped" if isinstance(self.result, Skipped) else "ok"

    @property
    def status(self) -> str:
        """``ok``, ``skipped: <reason>`` or ``failed: <error>``: what a person reads."""
        if self.kind == "failed":
            return f"failed: {self.error}"
        if self.kind == "skipped":
            return f"skipped: {self.result.reason}"
        return "ok"


@dataclass
class DispatchResult:
    """Every handler's outcome for one event; ``ok`` only if all of them succeeded."""

    event: str
    outcomes: list[HandlerOutcome] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    @property
    def handled(self) -> bool:
        return bool(self.outcomes)

    def summary(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "ok": self.ok,
            "handlers": [
                {
                    "handler": o.handler,
                    "ok": o.ok,
                    "status": o.kind,
                    "reason": o.result.reason if isinstance(o.result, Skipped) else None,
                    "result": _plain(o.result),
                    "seconds": round(o.seconds, 3),
                    "error": o.error,
                }
                for o in self.outcomes
            ],
            "planned": self.planned,
        }


class Router:
    """Maps ``(event, action)`` to handlers; ``action=None`` means every action of the event."""

    def __init__(self, *routers: Router) -> None:
        self._routes: dict[tuple[str, str | None], list[Handler]] = {}
        for other in routers:
            self.include(other)

    def on(self, event: str, *actions: str) -> Callable[[Handler], Handler]:
        """Decorator: ``@router.on("issues", "opened", "edited")``."""

        def register(handler: Handler) -> Handler:
            for action in actions or (None,):
                self._routes.setdefault((event, action), []).append(handler)
            return handler

        return register

    def include(self, other: Router) -> None:
        """Adds every route of ``other`` (how capability routers are composed into one)."""
        for key, handlers in other._routes.items():
            self._routes.setdefault(key, []).extend(handlers)

    def handlers_for(self, event: Event) -> list[Handler]:
        exact = self._routes.get((event.name, event.action), []) if event.action else []
        return [*exact, *self._routes.get((event.name, None), [])]

    def routes(self) -> Iterable[tuple[str, str | None, str]]:
        for (event, action), handlers in sorted(
            self._routes.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
        ):
            for h in handlers:
                yield event, action, _handler_name(h)


def _plain(result: Any) -> Any:
    """A handler's result as JSON-ready data (a :class:`Skipped` as its details)."""
    return result.details if isinstance(result, Skipped) else result


def _handler_name(handler: Handler) -> str:
    return f"{handler.__module__}.{getattr(handler, '__qualname__', repr(handler))}"


def dispatch(router: Router, event: Event, ctx: HandlerContext) -> DispatchResult:
    """Runs every handler registered for ``event``; collects outcomes instead of raising."""
    result = DispatchResult(event=event.key)
    for handler in router.handlers_for(event):
        name = _handler_name(handler)
        started = time.perf_counter()
        try:
            value = handler(event, ctx)
        except Exception as exc:  # a handler's bug must not hide the other handlers' work
            log.error("handler %s failed on %s:\n%s", name, event.key, traceback.format_exc())
            error = f"{type(exc).__name__}: {exc}"
            code = exc.exit_code if isinstance(exc, MaintbotError) else ExitCode.EXTERNAL
            outcome = HandlerOutcome(
                name, False, time.perf_counter() - started, error=error, exit_code=code
            )
        else:
            outcome = HandlerOutcome(name, True, time.perf_counter() - started, result=value)
        result.outcomes.append(outcome)
    return result
