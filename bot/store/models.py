"""The tables maintbot keeps, as typed SQLAlchemy models; migrations must match them exactly."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Constraint names are fixed by convention so that later migrations can alter them by name on
# both backends (SQLite has no names of its own to find them by).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Our own documents: JSONB on PostgreSQL, so that they can be indexed and queried there.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")
#: Documents kept exactly as received: PostgreSQL's ``json`` stores the text verbatim, where
#: ``jsonb`` refuses a ``\u0000`` that any issue body may carry (and would lose the delivery).
VerbatimJSON = JSON()


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC: every timestamp in the store is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend stores.

    SQLite keeps no time zone, so without this a value read back would be naive and compare
    unequal (or raise) against the aware values written.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DeliveryStatus(enum.StrEnum):
    """Where a webhook delivery is in its life: received, handed to the queue, finished."""

    RECEIVED = "received"
    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"


class JobStatus(enum.StrEnum):
    """The outcome of one piece of work done for a delivery or a command."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def _status_column(enum_class: type[enum.StrEnum]) -> Enum:
    # A VARCHAR with a CHECK, not a native PostgreSQL ENUM type: adding a status later is a
    # plain constraint change on both backends.
    return Enum(
        enum_class,
        name=f"{enum_class.__name__.lower()}",
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Base of every model; carries the naming convention and the shared type map."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONDocument}


class WebhookDelivery(Base):
    """One webhook delivery as GitHub sent it; the unique delivery id drops redeliveries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(None, "status", "received_at"),
        Index(None, "installation_id", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(100), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    repo: Mapped[str | None] = mapped_column(String(200), index=True)
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(VerbatimJSON)
    status: Mapped[DeliveryStatus] = mapped_column(
        _status_column(DeliveryStatus), default=DeliveryStatus.RECEIVED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The claim of the one worker handling it now: a lease that its heartbeat extends, so a
    # dead worker's claim expires and another worker may take the delivery over.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    #: Claims taken over from a worker whose lease expired (it died while handling it).
    lost_leases: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Rate limits: the delivery waits until ``not_before`` (the quota's reset), which holds
    # back every delivery of its installation; waiting spends no attempt.
    not_before: Mapped[datetime | None]
    deferrals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.delivery_id} {self.event}.{self.action} {self.status}>"


class Job(Base):
    """An audit record of work done for a delivery or a maintainer command."""

    __tablename__ = "jobs"
    # One row per attempt at a delivery: the rerun of an attempt a dead worker left behind
    # takes the same row again instead of adding one.
    __table_args__ = (Index(None, "delivery_id", "attempt", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    repo: Mapped[str | None] = mapped_column(String(200), index=True)
    delivery_id: Mapped[str | None] = mapped_column(
        String(100),
        ForeignKey("webhook_deliveries.delivery_id", ondelete="SET NULL"),
        index=True,
    )
    status: Mapped[JobStatus] = mapped_column(_status_column(JobStatus), default=JobStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any] | None]
    attempt: Mapped[int | None] = mapped_column(Integer)  # 1 for a delivery's first attempt

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.repo} {self.status}>"


class Prediction(Base):
    """What the triage model said about an issue, and what the bot decided to do with it."""

    __tablename__ = "predictions"
    __table_args__ = (Index(None, "repo", "issue_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(String(200))
    issue_number: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(100))
    probabilities: Mapped[dict[str, Any]]
    decision: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    corrections: Mapped[list[LabelCorrection]] = relationship(
        back_populates="prediction",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="LabelCorrection.corrected_at, LabelCorrection.id",
    )

    def __repr__(self) -> str:
        return f"<Prediction {self.id} {self.repo}#{self.issue_number} {self.label}>"


class LabelCorrection(Base):
    """A maintainer changing the label the bot chose: the signal triage learns from."""

    __tablename__ = "label_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[int] = mapped_column(
        ForeignKey("predictions.id", ondelete="CASCADE"), index=True
    )
    from_label: Mapped[str | None] = mapped_column(String(100))
    to_label: Mapped[str | None] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(100))
    corrected_at: Mapped[datetime] = mapped_column(default=utcnow)

    prediction: Mapped[Prediction] = relationship(back_populates="corrections")

    def __repr__(self) -> str:
        return f"<LabelCorrection {self.from_label} -> {self.to_label} by {self.actor}>"


class BenchResult(Base):
    """One benchmark run of one reference model at one commit."""

    __tablename__ = "bench_results"
    __table_args__ = (Index(None, "repo", "model_name", "branch", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(String(200))
    ref: Mapped[str] = mapped_column(String(255))
    sha: Mapped[str] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(255))
    model_name: Mapped[str] = mapped_column(String(100))
    metrics: Mapped[dict[str, Any]]
    environment: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<BenchResult {self.repo} {self.model_name} {self.sha[:7]}>"


class CacheEntry(Base):
    """A cached API answer for report collection, with the ETag to revalidate it cheaply."""

    __tablename__ = "kv_cache"

    namespace: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONDocument)
    etag: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<CacheEntry {self.namespace}:{self.key}>"


class DuplicateIndexState(Base):
    """One repository's duplicate-search index: which model embedded it, whether a harvest
    completed, and a version that every change bumps (a process keeps the loaded index
    until the version moves)."""

    __tablename__ = "duplicate_indexes"

    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    model: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer, default=0)
    harvested_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<DuplicateIndexState {self.repo} v{self.version}>"


class DuplicateIndexIssue(Base):
    """One issue as duplicate search keeps it: hashed terms and error signatures (int32
    columns then float32 weights) and the float32 embedding, as bytes; no body."""

    __tablename__ = "duplicate_index_issues"

    repo: Mapped[str] = mapped_column(
        String(200), ForeignKey("duplicate_indexes.repo", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    html_url: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime | None]
    text_hash: Mapped[str] = mapped_column(String(64))
    terms: Mapped[bytes] = mapped_column(LargeBinary)
    errors: Mapped[bytes] = mapped_column(LargeBinary)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<DuplicateIndexIssue {self.repo}#{self.number}>"
