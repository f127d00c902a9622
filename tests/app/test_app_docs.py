"""docs/app.md asks an App's owner to subscribe to exactly the events maintbot handles."""

from __future__ import annotations

import re

from bot.handlers import build_router
from tests.paths import REPO_ROOT

NOT_WEBHOOKS = {"ping", "schedule"}  # GitHub sends ping unasked; schedule is made by workers


def test_the_events_to_subscribe_to_are_the_events_handled():
    text = (REPO_ROOT / "docs" / "app.md").read_text(encoding="utf-8")
    line = re.search(r"\*\*Subscribe to events\*\*: ([^.]+)\.", text)
    assert line, "docs/app.md lost its list of events"
    listed = {name.strip().lower().replace(" ", "_") for name in line.group(1).split(",")}
    handled = {event for event, _, _ in build_router().routes()} - NOT_WEBHOOKS
    assert listed == handled
