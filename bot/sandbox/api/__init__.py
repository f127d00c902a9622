"""The REST routes the sandbox answers, one module per area of GitHub's API."""

from __future__ import annotations

from bot.sandbox.api import (
    apps,
    checks,
    comments,
    commits,
    events,
    issues,
    labels,
    pulls,
    repos,
    search,
)
from bot.sandbox.routing import RouteTable


def build_routes() -> RouteTable:
    """Every route, in match order (literal segments are registered before parameters)."""
    table = RouteTable()
    for module in (repos, apps, search, labels, comments, events, issues, pulls, commits, checks):
        table.extend(module.routes)
    return table
