"""A repository's duplicate-search index: harvested from GitHub, kept in the store, cached.

The store keeps, per issue, what search needs and nothing more (hashed terms, hashed error
signatures and the embedding as bytes; the title and link to show; no body), so that
loading 50,000 issues is a few array concatenations, not a re-reading of their text. A
repository's row in ``duplicate_indexes`` carries a version that every change bumps: a
process keeps the loaded :class:`~bot.triage.duplicates.DuplicateIndex` until the version
moves, so a search costs one small query plus the search itself. The embeddings belong to
one model: when ``triage.model`` changes, the index is dropped and harvested again.

The harvest reads open issues and those closed within ``triage.duplicates.closed_within_days``
as raw listing pages (:mod:`bot.github.listing`: one request per 100 issues); later harvests
ask only for issues updated since the last one. Every issue event updates its issue's row
(:func:`upsert_issues`, :func:`remove_issue`), and an unchanged text is never embedded twice,
so replaying an event writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
from sqlalchemy import delete, select

from bot.github.listing import repo_issues, since_param
from bot.triage.duplicates import DuplicateIndex, IndexedIssue, IssueFeatures, issue_features

log = logging.getLogger(__name__)

EMBED_BATCH = 64
HARVEST_PAGE = 100
IN_MEMORY_LIMIT = 300
"""Issues read from the API for one event when there is no store to keep an index in."""


class Embedder(Protocol):
    """What the index needs of a model: unit-length (title, body) embeddings."""

    def issue_embeddings(self, issues: Sequence[tuple[str, str]]) -> np.ndarray: ...


def load_embedder(model_spec: str, target_precision: float | None = None) -> Any:
    """The triage model of ``model_spec`` (empty: the built-in one), the same loaded copy
    the type-label handler uses when ``target_precision`` is ``triage.min_precision``."""
    from bot.triage.runtime import loaded_predictor

    return loaded_predictor(model_spec, target_precision)


def model_key(model_spec: str, embedder: Any) -> str:
    """Names the embeddings' model: its spec and creation time (a retrained model differs)."""
    manifest = getattr(embedder, "manifest", None)
    created = getattr(manifest, "created", "") if manifest is not None else ""
    return f"{model_spec or 'built-in'}@{created}"[:300]


@dataclass(frozen=True)
class IssueText:
    """An issue as GitHub gives it, reduced to what the index reads."""

    number: int
    title: str
    body: str
    state: str = "open"
    closed_at: datetime | None = None
    html_url: str | None = None
    is_pull: bool = False

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\x00{self.body}".encode()).hexdigest()


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def issue_from_payload(issue: Mapping[str, Any]) -> IssueText:
    """The webhook payload's ``issue`` object (keys may be missing or null)."""
    return IssueText(
        number=int(issue.get("number") or 0),
        title=str(issue.get("title") or ""),
        body=str(issue.get("body") or ""),
        state=str(issue.get("state") or "open"),
        closed_at=_when(issue.get("closed_at")),
        html_url=issue.get("html_url") if isinstance(issue.get("html_url"), str) else None,
        is_pull="pull_request" in issue,
    )


def features_of(issues: Sequence[IssueText], embedder: Embedder | None) -> list[IssueFeatures]:
    """Each issue's features, the embeddings computed in batches."""
    out: list[IssueFeatures] = []
    for start in range(0, len(issues), EMBED_BATCH):
        chunk = issues[start : start + EMBED_BATCH]
        texts = [(i.title, i.body) for i in chunk]
        vectors = embedder.issue_embeddings(texts) if embedder is not None else None
        for k, issue in enumerate(chunk):
            out.append(
                issue_features(issue.title, issue.body, None if vectors is None else vectors[k])
            )
    return out


# -- bytes --------------------------------------------------------------------------------


def _pack(cols: np.ndarray, weights: np.ndarray) -> bytes:
    return cols.astype("<i4").tobytes() + weights.astype("<f4").tobytes()


def _unpack(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    n = len(data) // 8
    return (
        np.frombuffer(data, dtype="<i4", count=n).astype(np.int32),
        np.frombuffer(data, dtype="<f4", offset=4 * n).astype(np.float32),
    )


def _row_features(terms: bytes, errors: bytes, embedding: bytes | None) -> IssueFeatures:
    term_cols, term_tf = _unpack(terms)
    error_cols, error_tf = _unpack(errors)
    vector = np.frombuffer(embedding, dtype="<f4").astype(np.float32) if embedding else None
    return IssueFeatures(term_cols, term_tf, error_cols, error_tf, vector)


# -- the store ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexStatus:
    """A repository's index as the store has it."""

    repo: str
    model: str
    version: int
    issues: int
    harvested_at: datetime | None


def index_status(store: Any, repo: str) -> IndexStatus | None:
    """The repository's index, or None when none was ever built."""
    from sqlalchemy import func

    from bot.store.models import DuplicateIndexIssue, DuplicateIndexState

    with store.reading() as session:
        state = session.get(DuplicateIndexState, repo)
        if state is None:
            return None
        count = session.execute(
            select(func.count()).where(DuplicateIndexIssue.repo == repo)
        ).scalar_one()
        return IndexStatus(repo, state.model, state.version, int(count), state.harvested_at)


def _ensure_state(session: Any, repo: str, model: str) -> Any:
    """The repository's state row, created; emptied when its model is not ``model``."""
    from bot.store.models import DuplicateIndexIssue, DuplicateIndexState

    state = session.get(DuplicateIndexState, repo)
    if state is None:
        state = DuplicateIndexState(repo=repo, model=model, version=0, harvested_at=None)
        session.add(state)
        session.flush()
    elif state.model != model:
        session.execute(delete(DuplicateIndexIssue).where(DuplicateIndexIssue.repo == repo))
        state.model, state.version, state.harvested_at = model, state.version + 1, None
    return state


def upsert_issues(
    store: Any, repo: str, model: str, issues: Iterable[IssueText], embedder: Embedder | None
) -> int:
    """Adds or updates issues (pull requests are left out); how many rows changed. An issue
    whose text, state and close time are unchanged costs no embedding and no write."""
    from bot.store.models import DuplicateIndexIssue

    wanted = {i.number: i for i in issues if not i.is_pull and i.number > 0}
    rows_now = select(DuplicateIndexIssue).where(
        DuplicateIndexIssue.repo == repo, DuplicateIndexIssue.number.in_(list(wanted))
    )
    # The encoder runs between two transactions, not inside one: on SQLite a writing
    # transaction holds the one write lock, and the receiver would wait for the model.
    with store.reading() as session:
        hashes = {row.number: row.text_hash for row in session.execute(rows_now).scalars()}
    retext = [i for n, i in wanted.items() if hashes.get(n) != i.text_hash]
    features = dict(zip([i.number for i in retext], features_of(retext, embedder), strict=True))
    with store.session() as session:
        state = _ensure_state(session, repo, model)
        rows = {row.number: row for row in session.execute(rows_now).scalars()}
        # rows another process dropped or rewrote since the read (rare): embedded here
        late = [
            i
            for n, i in wanted.items()
            if n not in features and (n not in rows or rows[n].text_hash != i.text_hash)
        ]
        features.update(zip([i.number for i in late], features_of(late, embedder), strict=True))
        changed = 0
        for number, issue in wanted.items():
            row = rows.get(number)
            meta = (issue.title, issue.html_url, issue.state, issue.closed_at)
            unchanged = row is not None and (row.title, row.html_url, row.state, row.closed_at)
            if number not in features and unchanged == meta:
                continue
            if row is None:
                row = DuplicateIndexIssue(repo=repo, number=number)
                session.add(row)
            row.title, row.html_url, row.state, row.closed_at = meta
            if number in features:
                f = features[number]
                row.text_hash = issue.text_hash
                row.terms = _pack(f.term_cols, f.term_tf)
                row.errors = _pack(f.error_cols, f.error_tf)
                row.embedding = None if f.embedding is None else f.embedding.astype("<f4").tobytes()
            changed += 1
        if changed:
            state.version += 1
    return changed


def remove_issue(store: Any, repo: str, number: int) -> bool:
    """Drops a deleted (or transferred) issue from the index; whether it was there."""
    from bot.store.models import DuplicateIndexIssue, DuplicateIndexState

    with store.session() as session:
        result = session.execute(
            delete(DuplicateIndexIssue).where(
                DuplicateIndexIssue.repo == repo, DuplicateIndexIssue.number == number
            )
        )
        if not result.rowcount:
            return False
        state = session.get(DuplicateIndexState, repo)
        if state is not None:
            state.version += 1
    return True


@dataclass(frozen=True)
class HarvestResult:
    """What a harvest read and changed."""

    repo: str
    read: int
    changed: int
    pruned: int
    issues: int
    incremental: bool
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "read": self.read,
            "changed": self.changed,
            "pruned": self.pruned,
            "issues": self.issues,
            "incremental": self.incremental,
            "seconds": round(self.seconds, 2),
        }


def _pages(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    page: list[Any] = []
    for item in items:
        page.append(item)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def harvest(
    store: Any,
    gh_repo: Any,
    repo: str,
    model: str,
    embedder: Embedder | None,
    *,
    closed_within_days: int,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    full: bool = False,
) -> HarvestResult:
    """Builds or refreshes ``repo``'s index from the API (``gh_repo``: PyGithub's).

    The first harvest (or ``full``) reads every open issue and those closed within the
    window; a later one only the issues updated since the last harvest. Closed issues that
    left the window are pruned. ``progress`` is called with the count read so far."""
    import time

    from bot.store.models import DuplicateIndexIssue, DuplicateIndexState

    started = time.perf_counter()
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=closed_within_days)
    with store.session() as session:
        state = _ensure_state(session, repo, model)
        since = None if full else state.harvested_at
    if since is not None:
        sources = [
            repo_issues(
                gh_repo, state="all", since=since_param(since), sort="updated", direction="asc"
            )
        ]
    else:
        sources = [
            repo_issues(gh_repo, state="open", sort="created", direction="asc"),
            repo_issues(
                gh_repo, state="closed", since=since_param(cutoff), sort="updated", direction="asc"
            ),
        ]
    read = changed = 0
    for source in sources:
        for page in _pages(source, HARVEST_PAGE):
            texts = [issue_from_payload(i) for i in page]
            texts = [t for t in texts if not t.is_pull]
            read += len(texts)
            keep = [t for t in texts if t.state == "open" or (t.closed_at or now) >= cutoff]
            changed += upsert_issues(store, repo, model, keep, embedder)
            if progress is not None:
                progress(read)
    with store.session() as session:
        pruned = session.execute(
            delete(DuplicateIndexIssue).where(
                DuplicateIndexIssue.repo == repo,
                DuplicateIndexIssue.closed_at.is_not(None),
                DuplicateIndexIssue.closed_at < cutoff,
            )
        ).rowcount
        state = session.get(DuplicateIndexState, repo)
        state.harvested_at = now
        if pruned:
            state.version += 1
    status = index_status(store, repo)
    return HarvestResult(
        repo,
        read,
        changed,
        int(pruned or 0),
        status.issues if status else 0,
        since is not None,
        time.perf_counter() - started,
    )


_CACHE: dict[tuple[str, str], tuple[int, str, DuplicateIndex]] = {}
_CACHE_LOCK = threading.Lock()


def load_index(store: Any, repo: str) -> DuplicateIndex | None:
    """The repository's index as a searchable in-memory structure (None: never built).

    Kept per process, keyed by the store, the repository and the index's version: an
    unchanged index is not read again."""
    from bot.store.models import DuplicateIndexIssue, DuplicateIndexState

    key = (str(getattr(store, "target", id(store))), repo)
    with store.reading() as session:
        state = session.get(DuplicateIndexState, repo)
        if state is None:
            return None
        version, model = state.version, state.model
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
        if cached is not None and cached[:2] == (version, model):
            return cached[2]
        rows = session.execute(
            select(
                DuplicateIndexIssue.number,
                DuplicateIndexIssue.title,
                DuplicateIndexIssue.state,
                DuplicateIndexIssue.closed_at,
                DuplicateIndexIssue.html_url,
                DuplicateIndexIssue.terms,
                DuplicateIndexIssue.errors,
                DuplicateIndexIssue.embedding,
            )
            .where(DuplicateIndexIssue.repo == repo)
            .order_by(DuplicateIndexIssue.number)
        ).all()
    issues = [
        IndexedIssue(
            number=number,
            title=title,
            features=_row_features(terms, errors, embedding),
            state=state_,
            closed_at=closed_at,
            html_url=html_url,
        )
        for number, title, state_, closed_at, html_url, terms, errors, embedding in rows
    ]
    index = DuplicateIndex(issues)
    with _CACHE_LOCK:
        _CACHE[key] = (version, model, index)
    return index


def index_from_api(
    gh_repo: Any,
    embedder: Embedder | None,
    *,
    closed_within_days: int,
    limit: int = IN_MEMORY_LIMIT,
    now: datetime | None = None,
) -> DuplicateIndex:
    """An index of the ``limit`` most recently updated issues, read for one event when
    there is no store to keep one (bounded: a few pages of the API)."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=closed_within_days)
    texts: list[IssueText] = []
    for raw in repo_issues(gh_repo, state="all", sort="updated", direction="desc"):
        text = issue_from_payload(raw)
        if text.is_pull or (text.state != "open" and (text.closed_at or now) < cutoff):
            continue
        texts.append(text)
        if len(texts) >= limit:
            break
    feats = features_of(texts, embedder)
    return DuplicateIndex(
        [
            IndexedIssue(t.number, t.title, f, t.state, t.closed_at, t.html_url)
            for t, f in zip(texts, feats, strict=True)
        ]
    )
