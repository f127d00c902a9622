"""Labelled issues harvested from a live repository, cached in the store between runs.

Every issue (open or closed, pull requests excluded) carrying exactly one of the configured
type labels (``labels.types``) becomes a training example of that type. Issues are cached
in the store under the repository's name with the time of the last harvest, so the next
run asks GitHub only for issues updated since (``since=``), and a relabelled issue moves to
its new type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.errors import UsageError
from bot.triage.data import LabelledIssue

log = logging.getLogger(__name__)

CACHE_NAMESPACE = "triage-harvest"
PROGRESS_EVERY = 100


def issue_type(label_names: Iterable[str], types: Mapping[str, str]) -> str | None:
    """The one classifier type an issue's labels say, or None (no type label, or several)."""
    by_label = {name.casefold(): t for t, name in types.items()}
    found = {by_label[n.casefold()] for n in label_names if n.casefold() in by_label}
    return found.pop() if len(found) == 1 else None


def merge(
    cached: dict[str, Any], fresh: Iterable[dict[str, Any]], types: Mapping[str, str]
) -> dict[str, Any]:
    """Cached issue records updated with freshly fetched ones (by number); an issue whose
    labels no longer name one type leaves the training set."""
    out = dict(cached)
    for record in fresh:
        key = str(record["number"])
        kind = issue_type(record["labels"], types)
        if kind is None:
            out.pop(key, None)
        else:
            out[key] = {"title": record["title"], "body": record["body"], "label": kind}
    return out


def harvest_repository(settings: Any, full_name: str) -> list[LabelledIssue]:
    """Fetches (incrementally) the labelled issues of ``full_name`` for training."""
    from bot.store.cache import cache_get, cache_put

    if full_name.count("/") != 1:
        raise UsageError(f"{full_name!r} is not a repository name", hint="use --repo OWNER/NAME")
    types = dict(settings.config().labels.types)
    github = settings.github()
    repo = github.get_repo(full_name)
    store = settings.store()
    with store.session() as session:
        entry = cache_get(session, CACHE_NAMESPACE, full_name)
        cached = dict(entry.value["issues"]) if entry else {}
        since = entry.value.get("harvested_at") if entry else None
    started = datetime.now(UTC).isoformat(timespec="seconds")
    fresh = []
    kwargs: dict[str, Any] = {"state": "all", "sort": "updated", "direction": "asc"}
    if since:
        kwargs["since"] = datetime.fromisoformat(since)
    for count, issue in enumerate(repo.get_issues(**kwargs), start=1):
        if issue.pull_request is not None:
            continue
        fresh.append(
            {
                "number": issue.number,
                "title": issue.title or "",
                "body": issue.body or "",
                "labels": [label.name for label in issue.labels],
            }
        )
        if count % PROGRESS_EVERY == 0:
            log.warning("harvest %s: %d issues read", full_name, count)
    issues = merge(cached, fresh, types)
    with store.session() as session:
        cache_put(session, CACHE_NAMESPACE, full_name, {"harvested_at": started, "issues": issues})
    log.warning(
        "harvest %s: %d new or updated, %d labelled in all", full_name, len(fresh), len(issues)
    )
    if not issues:
        raise UsageError(
            f"{full_name} has no issues labelled with a type ({', '.join(types.values())})",
            hint="map your labels in labels.types of .github/maintbot.yml, or train from a file",
        )
    return [
        LabelledIssue(
            title=v["title"], body=v["body"], label=v["label"], repo=full_name, number=int(k)
        )
        for k, v in sorted(issues.items(), key=lambda kv: int(kv[0]))
    ]
