"""One event router, three transports: the Action, the webhook App and `maintbot replay`."""

from bot.events.context import HandlerContext
from bot.events.router import DispatchResult, Event, HandlerOutcome, Router, dispatch

__all__ = ["DispatchResult", "Event", "HandlerContext", "HandlerOutcome", "Router", "dispatch"]
