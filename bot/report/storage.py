"""Collected records and collection cursors, kept in the store's ``kv_cache`` table.

One row per record, in a namespace per repository and kind (``report:octo/lab:items``), so an
incremental run rewrites only what changed. Reviews are kept per pull request, with the ETag
of their list and the pull request's ``updated_at`` when they were fetched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.report.records import (
    Actor,
    ActorKind,
    BenchPoint,
    Comment,
    CommentKind,
    Commit,
    Dataset,
    Item,
    ItemKind,
    Review,
    TriagePrediction,
)
from bot.store.cache import cache_get, cache_put, cache_put_many, cache_scan
from bot.store.database import Store
from bot.store.models import BenchResult
from bot.triage.corrections import (
    BotPrediction,
    LabelEvent,
    prediction_from_record,
    records_from_github,
    records_from_store,
)
from bot.triage.metrics import NEEDS_TRIAGE

NAMESPACE_MAX = 100  # the kv_cache column's width


def namespace(repo: str, kind: str) -> str:
    """``report:owner/name:kind``; a hash stands in for very long repository names."""
    name = f"report:{repo.lower()}:{kind}"
    if len(name) <= NAMESPACE_MAX:
        return name
    digest = hashlib.sha256(repo.lower().encode()).hexdigest()[:24]
    return f"report:{digest}:{kind}"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _actor(value: Actor) -> list[str]:
    return [value.name, value.kind.value]


_ACTOR_KINDS = {kind.value: kind for kind in ActorKind}
_ITEM_KINDS = {kind.value: kind for kind in ItemKind}
_COMMENT_KINDS = {kind.value: kind for kind in CommentKind}


def _read_actor(value: list[str]) -> Actor:
    return Actor(value[0], _ACTOR_KINDS[value[1]])


def item_to_json(item: Item) -> dict[str, Any]:
    return {
        "number": item.number,
        "kind": item.kind.value,
        "title": item.title,
        "author": _actor(item.author),
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
        "closed_at": _time(item.closed_at),
        "labels": list(item.labels),
        "html_url": item.html_url,
        "merged_at": _time(item.merged_at),
        "draft": item.draft,
        "ready_for_review_at": _time(item.ready_for_review_at),
    }


def item_from_json(repo: str, data: Mapping[str, Any]) -> Item:
    return Item(
        repo=repo,
        number=data["number"],
        kind=_ITEM_KINDS[data["kind"]],
        title=data["title"],
        author=_read_actor(data["author"]),
        created_at=_parse(data["created_at"]),  # type: ignore[arg-type]
        updated_at=_parse(data["updated_at"]),  # type: ignore[arg-type]
        closed_at=_parse(data["closed_at"]),
        labels=tuple(data["labels"]),
        html_url=data["html_url"],
        merged_at=_parse(data["merged_at"]),
        draft=data["draft"],
        ready_for_review_at=_parse(data.get("ready_for_review_at")),
    )


def comment_to_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "number": comment.number,
        "author": _actor(comment.author),
        "created_at": _time(comment.created_at),
        "kind": comment.kind.value,
    }


def comment_from_json(repo: str, data: Mapping[str, Any]) -> Comment:
    return Comment(
        repo,
        data["id"],
        data["number"],
        _read_actor(data["author"]),
        _parse(data["created_at"]),  # type: ignore[arg-type]
        _COMMENT_KINDS[data["kind"]],
    )


def review_to_json(review: Review) -> dict[str, Any]:
    return {
        "id": review.id,
        "author": _actor(review.author),
        "submitted_at": _time(review.submitted_at),
        "state": review.state,
    }


def review_from_json(repo: str, number: int, data: Mapping[str, Any]) -> Review:
    return Review(
        repo,
        data["id"],
        number,
        _read_actor(data["author"]),
        _parse(data["submitted_at"]),  # type: ignore[arg-type]
        data["state"],
    )


def commit_to_json(commit: Commit) -> dict[str, Any]:
    return {"author": _actor(commit.author), "committed_at": _time(commit.committed_at)}


def commit_from_json(repo: str, sha: str, data: Mapping[str, Any]) -> Commit:
    return Commit(repo, sha, _read_actor(data["author"]), _parse(data["committed_at"]))  # type: ignore[arg-type]


def _with_ready(item: Item, ready: Mapping[int, datetime | None]) -> Item:
    moment = ready.get(item.number) if item.is_pull else None
    return replace(item, ready_for_review_at=moment) if moment is not None else item


@dataclass
class ReviewsEntry:
    """The stored reviews of one pull request, and what they were fetched for."""

    reviews: list[Review] = field(default_factory=list)
    pull_updated_at: datetime | None = None
    etag: str | None = None


class RecordStore:
    """Reads and writes one repository's collected records."""

    def __init__(self, store: Store, repo: str) -> None:
        self.store = store
        self.repo = repo

    def _ns(self, kind: str) -> str:
        return namespace(self.repo, kind)

    def _rows(self, session: Session, kind: str) -> list[tuple[str, Any, str | None]]:
        """``(key, value, etag)`` of every record of ``kind``."""
        return cache_scan(session, self._ns(kind))

    def _put(
        self, kind: str, rows: Mapping[str, Any], etags: Mapping[str, str] | None = None
    ) -> None:
        with self.store.session() as session:
            cache_put_many(session, self._ns(kind), rows, etags=etags)

    # ------------------------------------------------------------------ cursors

    def cursor(self) -> dict[str, Any]:
        """Where the last collection stopped, per listing (``since`` values, ETags)."""
        with self.store.session() as session:
            entry = cache_get(session, self._ns("sync"), "cursor")
            return dict(entry.value) if entry is not None else {}

    def save_cursor(self, cursor: Mapping[str, Any]) -> None:
        with self.store.session() as session:
            cache_put(session, self._ns("sync"), "cursor", dict(cursor))

    # ------------------------------------------------------------------ records

    def put_items(self, items: Iterable[Item]) -> None:
        self._put("items", {str(item.number): item_to_json(item) for item in items})

    def put_comments(self, comments: Iterable[Comment]) -> None:
        self._put("comments", {f"{c.kind.value}:{c.id}": comment_to_json(c) for c in comments})

    def put_commits(self, commits: Iterable[Commit]) -> None:
        self._put("commits", {c.sha: commit_to_json(c) for c in commits})

    def put_reviews(self, entries: Mapping[int, ReviewsEntry]) -> None:
        """The reviews of several pull requests, with the ETag of each list, in one statement."""
        rows = {
            str(number): {
                "pull_updated_at": _time(entry.pull_updated_at),
                "reviews": [review_to_json(r) for r in entry.reviews],
            }
            for number, entry in entries.items()
        }
        etags = {str(n): entry.etag for n, entry in entries.items() if entry.etag is not None}
        self._put("reviews", rows, etags)

    def put_ready_times(self, ready: Mapping[int, datetime]) -> None:
        """When draft pull requests were first marked ready; the earliest moment is kept."""
        with self.store.session() as session:
            known = {key: _parse(value) for key, value, _ in self._rows(session, "ready")}
            earlier = {
                str(number): _time(moment)
                for number, moment in ready.items()
                if (was := known.get(str(number))) is None or moment < was
            }
            cache_put_many(session, self._ns("ready"), earlier)

    def put_triage_marks(self, marks: Mapping[int, Mapping[str, Any]]) -> None:
        """maintbot's prediction markers (its comment's hidden line), by issue number, with
        the comment's author and time: what the Action's GitHub remembers of its triage."""
        self._put("triage-marks", {str(number): dict(mark) for number, mark in marks.items()})

    def put_label_events(self, events: Mapping[int, Iterable[LabelEvent]]) -> None:
        """Issues' ``labeled`` / ``unlabeled`` events, one row per event (keyed by its id)."""
        rows = {
            f"{number}:{event.id if event.id is not None else event.at.isoformat()}": {
                "number": number,
                **event.to_json(),
            }
            for number, found in events.items()
            for event in found
        }
        self._put("label-events", rows)

    def triage_history(self) -> tuple[dict[int, BotPrediction], dict[int, list[LabelEvent]]]:
        """The collected markers and label events, as :mod:`bot.triage.corrections` reads them."""
        with self.store.session() as session:
            marks = {}
            for key, value, _ in self._rows(session, "triage-marks"):
                found = prediction_from_record(value)
                if found is not None:
                    marks[int(key)] = found
            events: dict[int, list[LabelEvent]] = {}
            for _, value, _ in self._rows(session, "label-events"):
                events.setdefault(int(value["number"]), []).append(LabelEvent.from_record(value))
        return marks, events

    def items(self) -> dict[int, Item]:
        with self.store.session() as session:
            return {
                int(key): item_from_json(self.repo, value)
                for key, value, _ in self._rows(session, "items")
            }

    def reviews(self) -> dict[int, ReviewsEntry]:
        with self.store.session() as session:
            found = {}
            for key, value, etag in self._rows(session, "reviews"):
                number = int(key)
                found[number] = ReviewsEntry(
                    [review_from_json(self.repo, number, r) for r in value["reviews"]],
                    _parse(value["pull_updated_at"]),
                    etag,
                )
            return found

    def dataset(self) -> Dataset:
        """Everything collected for the repository, as the metrics read it."""
        with self.store.session() as session:
            ready = {int(key): _parse(value) for key, value, _ in self._rows(session, "ready")}
            items = [
                _with_ready(item_from_json(self.repo, value), ready)
                for _, value, _ in self._rows(session, "items")
            ]
            comments = [
                comment_from_json(self.repo, value)
                for _, value, _ in self._rows(session, "comments")
            ]
            commits = [
                commit_from_json(self.repo, key, value)
                for key, value, _ in self._rows(session, "commits")
            ]
        reviews = [r for entry in self.reviews().values() for r in entry.reviews]
        return Dataset(items, comments, reviews, commits, repos=(self.repo,))


def triage_predictions(
    store: Store,
    repo: str,
    types: Mapping[str, str] | None = None,
    needs_triage: str | None = None,
) -> list[TriagePrediction]:
    """Labels the triage bot applied in ``repo`` and how maintainers corrected them.

    The same records as ``maintbot triage stats``: the store's predictions and corrections
    (the App, or an Action with a kept store), completed by what the collector found on
    GitHub (maintbot's comment markers and the issues' label events), which is all an
    Action with a fresh store has. For an issue in both, the store's record stands unless
    only GitHub shows a correction. ``types`` maps issue types to the repository's label
    names (``labels.types``; default: the default configuration's). A ``needs-triage``
    decision applied no type label, so it is not a prediction here; ``corrected_to`` is
    ``""`` when the label was removed without a replacement.
    """
    if types is None or needs_triage is None:
        from bot.config.schema import Config

        labels = Config.default().labels
        types = dict(labels.types) if types is None else types
        needs_triage = labels.needs_triage if needs_triage is None else needs_triage
    marks, events = RecordStore(store, repo).triage_history()
    records = {r.number: r for r in records_from_github(repo, marks, events, types, needs_triage)}
    for record in records_from_store(store, repo):
        derived = records.get(record.number)
        if record.final is None and derived is not None and derived.predicted == record.predicted:
            record = replace(record, final=derived.final)
        records[record.number] = record
    return [
        TriagePrediction(repo, r.number, r.predicted, r.at, r.corrected_to)  # type: ignore[arg-type]
        for r in sorted(records.values(), key=lambda r: r.number)
        if r.predicted != NEEDS_TRIAGE and r.at is not None
    ]


def bench_points(store: Store, repo: str, branch: str | None) -> list[BenchPoint]:
    """Benchmark results recorded for ``branch`` (the default branch) of ``repo``."""
    with store.session() as session:
        query = select(BenchResult).where(BenchResult.repo == repo)
        if branch is not None:
            query = query.where(BenchResult.branch == branch)
        return [
            BenchPoint(
                repo,
                row.model_name,
                row.sha,
                row.created_at,
                accuracy=_number(row.metrics.get("test_accuracy")),
                loss=_number(row.metrics.get("test_loss")),
                train_seconds=_number(row.metrics.get("train_seconds")),
            )
            for row in session.execute(query).scalars()
        ]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
