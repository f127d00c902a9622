"""Labelled issues harvested from a live repository, cached in the store between runs.

Every issue (open or closed, pull requests excluded) carrying exactly one of the configured
type labels (``labels.types``) becomes a training example of that type, unless that label
is maintbot's own guess that no person confirmed: a model must not learn from itself. An
issue a maintainer corrected is an example of the corrected type (:func:`training_label`).

Issues are cached in the store under the repository's name with the time of the last
harvest, so the next run asks GitHub only for what changed. Requests per run: the issues
updated since (``GET /repos/{o}/{r}/issues?since=``, N/100 pages), the comments updated
since (``GET /repos/{o}/{r}/issues/comments?since=``, C/100 pages: maintbot's markers), and
the repository's issue events back to the last harvest (``GET /repos/{o}/{r}/issues/events``,
E/100 pages: who set each label). Nothing is requested per issue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.errors import UsageError
from bot.github.identity import is_bot_account
from bot.github.listing import paginate
from bot.triage.corrections import (
    BotPrediction,
    LabelEvent,
    derive_feedback,
    latest,
    prediction_from_record,
    read_history,
)
from bot.triage.data import LabelledIssue

log = logging.getLogger(__name__)

CACHE_NAMESPACE = "triage-harvest"
FORMAT = 2  # issues keep their label names, with maintbot's markers and the label events
PROGRESS_PAGES = 10  # a progress line every 1,000 issues


def issue_type(label_names: Iterable[str], types: Mapping[str, str]) -> str | None:
    """The one classifier type an issue's labels say, or None (no type label, or several)."""
    by_label = {name.casefold(): t for t, name in types.items()}
    found = {by_label[n.casefold()] for n in label_names if n.casefold() in by_label}
    return found.pop() if len(found) == 1 else None


Why = str


def training_label(
    labels: Sequence[str],
    types: Mapping[str, str],
    prediction: BotPrediction | None,
    events: Sequence[LabelEvent],
) -> tuple[str | None, Why]:
    """The type an issue teaches (None: leave it out) and why.

    A type label a person set (its latest ``labeled`` event is a person's) counts as it is.
    A label maintbot (or another bot) set counts only when a person confirmed or corrected
    it: then the type the person chose (a ``/type`` command relabels through maintbot, so
    only the marker tells it). A label with no event and no marker (older than the event
    history) is taken as a person's, as before."""
    kind = issue_type(labels, types)
    setter = None
    if kind is not None:
        name = types[kind].casefold()
        added = [e for e in events if e.action == "labeled" and e.label.casefold() == name]
        if added:
            last = max(added, key=lambda e: (e.at, e.id or 0))
            is_bot = (
                prediction.is_bot(last.actor, last.actor_type)
                if prediction is not None
                else is_bot_account(last.actor, last.actor_type)
            )
            setter = "bot" if is_bot else "person"
        elif prediction is not None and name in {n.casefold() for n in prediction.labels}:
            setter = "bot"
    if kind is not None and setter == "person":
        return kind, "labelled by a person"
    said = latest(derive_feedback(prediction, events, types)) if prediction else None
    if said is not None and said.to_type is not None:
        return said.to_type, f"{said.kind} by {said.actor}"
    if kind is None:
        return None, "no single type label"
    if setter == "bot":
        return None, "labelled by a bot, never confirmed or corrected by a person"
    return kind, "labelled before the event history"


def harvest_repository(settings: Any, full_name: str) -> list[LabelledIssue]:
    """Fetches (incrementally) the labelled issues of ``full_name`` for training."""
    from bot.store.cache import cache_get, cache_put

    if full_name.count("/") != 1:
        raise UsageError(f"{full_name!r} is not a repository name", hint="use --repo OWNER/NAME")
    types = dict(settings.config().labels.types)
    github = settings.github()
    store = settings.store()
    with store.session() as session:
        entry = cache_get(session, CACHE_NAMESPACE, full_name)
        value = dict(entry.value) if entry and entry.value.get("format") == FORMAT else {}
    cached: dict[str, Any] = dict(value.get("issues") or {})
    since = value.get("harvested_at")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    params = {"state": "all", "sort": "updated", "direction": "asc"}
    if since:
        params["since"] = since
    fresh = pages = 0
    for page in paginate(github, f"/repos/{full_name}/issues", params):
        pages += 1
        for raw in page:
            if "pull_request" in raw:
                continue
            cached[str(raw["number"])] = {
                "title": raw.get("title") or "",
                "body": raw.get("body") or "",
                "labels": [label["name"] for label in raw.get("labels") or []],
            }
            fresh += 1
        if pages % PROGRESS_PAGES == 0:
            log.warning("harvest %s: %d issues read", full_name, fresh)
    history = read_history(
        github,
        full_name,
        comments_since=since,
        events_after=value.get("events_newest"),
        progress=lambda listing, pages: log.info(
            "harvest %s: %s page %d", full_name, listing, pages
        ),
    )
    marks = {**(value.get("marks") or {}), **{str(n): r for n, r in history.mark_records.items()}}
    events = _merge_events(value.get("events") or {}, history.events)
    issues, left_out = select_training(cached, marks, events, types)
    with store.session() as session:
        cache_put(
            session,
            CACHE_NAMESPACE,
            full_name,
            {
                "format": FORMAT,
                "harvested_at": started,
                "issues": cached,
                "marks": marks,
                "events": events,
                "events_newest": max(
                    filter(None, (value.get("events_newest"), history.newest_event)), default=None
                ),
            },
        )
    log.warning(
        "harvest %s: %d new or updated, %d labelled in all, %d left out (maintbot's own labels "
        "no person confirmed); %d requests (%d for issues, %d for markers and label events)",
        full_name,
        fresh,
        len(issues),
        len(left_out),
        pages + history.requests,
        pages,
        history.requests,
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


def _progress(full_name: str) -> Any:
    def progress(listing: str, pages: int) -> None:
        log.info("harvest %s: %s, page %d", full_name, listing, pages)

    return progress


def _merge_events(
    cached: Mapping[str, list[dict[str, Any]]], fresh: Mapping[int, list[LabelEvent]]
) -> dict[str, list[dict[str, Any]]]:
    """Cached label events plus the new ones, each once (by id)."""
    out = {number: list(found) for number, found in cached.items()}
    for number, found in fresh.items():
        have = out.setdefault(str(number), [])
        ids = {e.get("id") for e in have}
        have.extend(e.to_json() for e in found if e.id is None or e.id not in ids)
    return out


def select_training(
    issues: Mapping[str, Mapping[str, Any]],
    marks: Mapping[str, Mapping[str, Any]],
    events: Mapping[str, Sequence[Mapping[str, Any]]],
    types: Mapping[str, str],
) -> tuple[dict[str, dict[str, Any]], dict[str, Why]]:
    """The training examples (number → title, body, label) and the issues left out with why
    (only those with a type label maintbot set that no person confirmed)."""
    chosen: dict[str, dict[str, Any]] = {}
    left_out: dict[str, Why] = {}
    for number, record in issues.items():
        mark = marks.get(number)
        prediction = prediction_from_record(mark) if mark else None
        history = [LabelEvent.from_record(e) for e in events.get(number, ())]
        label, why = training_label(record["labels"], types, prediction, history)
        if label is not None and label in types:
            chosen[number] = {"title": record["title"], "body": record["body"], "label": label}
        elif issue_type(record["labels"], types) is not None:
            left_out[number] = why
    return chosen, left_out
