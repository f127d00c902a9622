"""Plain records of what happened in a repository: the only input the report metrics read.

Collection turns GitHub's JSON into these; metrics never see PyGithub or the network, so a
report is reproducible from the stored records and cheap to re-render. Every timestamp is a
timezone-aware UTC ``datetime``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ActorKind(StrEnum):
    """Who did something, as far as people metrics are concerned."""

    USER = "user"  # a GitHub account
    BOT = "bot"  # type "Bot" or a "[bot]" login
    GHOST = "ghost"  # a deleted account: GitHub shows it as "ghost" (or null)
    UNLINKED = "unlinked"  # a commit whose git author matches no GitHub account


GHOST_LOGIN = "ghost"


@dataclass(frozen=True, order=True)
class Actor:
    """A login (or, for unlinked commits, the git author name) and what kind of account it is."""

    name: str
    kind: ActorKind = ActorKind.USER

    @property
    def is_bot(self) -> bool:
        return self.kind is ActorKind.BOT

    @property
    def is_ghost(self) -> bool:
        return self.kind is ActorKind.GHOST


GHOST = Actor(GHOST_LOGIN, ActorKind.GHOST)


class ItemKind(StrEnum):
    ISSUE = "issue"
    PULL = "pull"


@dataclass(frozen=True)
class Item:
    """An issue or a pull request (GitHub lists both as issues).

    ``ready_for_review_at`` is set for a pull request that was opened as a draft and later
    marked ready; ``draft`` is its draft state when it was collected.
    """

    repo: str
    number: int
    kind: ItemKind
    title: str
    author: Actor
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    labels: tuple[str, ...] = ()
    html_url: str = ""
    merged_at: datetime | None = None
    draft: bool = False
    ready_for_review_at: datetime | None = None

    @property
    def is_pull(self) -> bool:
        return self.kind is ItemKind.PULL

    @property
    def key(self) -> tuple[str, int]:
        return (self.repo, self.number)

    @property
    def review_requested_at(self) -> datetime | None:
        """When others were first asked to look: creation, or leaving draft; None while a draft."""
        if self.ready_for_review_at is not None:
            return self.ready_for_review_at
        return None if self.draft else self.created_at


class CommentKind(StrEnum):
    ISSUE = "issue"  # a comment in the conversation of an issue or pull request
    REVIEW = "review"  # a comment on a line of a pull request's diff


@dataclass(frozen=True)
class Comment:
    """A comment on an item (``number``), from the conversation or on the diff."""

    repo: str
    id: int
    number: int
    author: Actor
    created_at: datetime
    kind: CommentKind = CommentKind.ISSUE


@dataclass(frozen=True)
class Review:
    """A submitted pull-request review (pending reviews are never collected)."""

    repo: str
    id: int
    number: int
    author: Actor
    submitted_at: datetime
    state: str = "COMMENTED"


@dataclass(frozen=True)
class Commit:
    """A commit on the default branch, dated when it was committed (landed)."""

    repo: str
    sha: str
    author: Actor
    committed_at: datetime


@dataclass(frozen=True)
class TriagePrediction:
    """A label the triage model put on an issue, and the maintainer's correction if any."""

    repo: str
    number: int
    label: str
    created_at: datetime
    corrected_to: str | None = None


@dataclass(frozen=True)
class BenchPoint:
    """One benchmark result on the default branch."""

    repo: str
    model: str
    sha: str
    created_at: datetime
    accuracy: float | None = None
    loss: float | None = None
    train_seconds: float | None = None


@dataclass
class Dataset:
    """Everything collected for one or several repositories."""

    items: list[Item] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    predictions: list[TriagePrediction] = field(default_factory=list)
    bench: list[BenchPoint] = field(default_factory=list)
    repos: tuple[str, ...] = ()

    def merged_with(self, other: Dataset) -> Dataset:
        """One dataset for a combined report of several repositories."""
        return Dataset(
            items=[*self.items, *other.items],
            comments=[*self.comments, *other.comments],
            reviews=[*self.reviews, *other.reviews],
            commits=[*self.commits, *other.commits],
            predictions=[*self.predictions, *other.predictions],
            bench=[*self.bench, *other.bench],
            repos=(*self.repos, *other.repos),
        )
