"""GitHub listings read page by page as raw JSON: one request per 100 entries, never more.

Raw, because PyGithub completes a listed object with one more request per object when an
attribute its listing lacks is read (``issue.pull_request`` of a plain issue): walking a
1,500-issue repository that way costs 1,515 requests instead of 15.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def since_param(when: datetime) -> str:
    """A ``since`` query parameter as GitHub reads it (UTC, ISO 8601); naive means UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def paginate(
    client: Any, url: str, params: Mapping[str, str] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every page of the listing at ``url`` (a path, or a full API URL such as a
    repository's ``url`` + ``/issues``) as raw JSON. ``client``: anything with PyGithub's
    ``requester`` (a ``Github`` or any object it returned)."""
    requester = client.requester
    next_url: str | None = url
    query: dict[str, str] | None = {**(params or {}), "per_page": "100"}
    while next_url is not None:
        headers, data = requester.requestJsonAndCheck("GET", next_url, query)
        yield list(data or [])
        match = _NEXT.search(headers.get("link") or "")
        next_url, query = (match.group(1) if match else None), None


def repo_issues(gh_repo: Any, **params: str) -> Iterator[dict[str, Any]]:
    """The repository's issues listing (pull requests included, as GitHub lists them), one
    raw issue at a time; ``params`` are the listing's query parameters."""
    for page in paginate(gh_repo, f"{gh_repo.url}/issues", params):
        yield from page
