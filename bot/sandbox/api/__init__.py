"""The REST routes the sandbox answers, one module per area of GitHub's API."""

from __future__ import annotations

from bot.sandbox.api import (
    actions,
    apps,
    checks,
    comments,
    commits,
    events,
    issues,
    labels,
    orgs,
    pulls,
    repos,
    search,
)
from bot.sandbox.routing import RouteTable

# Match order: literal segments are registered before parameters.
AREAS = (
    repos,
    orgs,
    apps,
    search,
    labels,
    comments,
    events,
    issues,
    pulls,
    commits,
    checks,
    actions,
)


def build_routes() -> RouteTable:
    """Every route of every area, in match order."""
    table = RouteTable()
    for module in AREAS:
        table.extend(module.routes)
    return table
