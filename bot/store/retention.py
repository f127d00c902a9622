"""What the App keeps, for how long, and who may read it: payload retention and file modes.

A delivery's payload holds issue text and logins. The worker needs it until the delivery is
finished; after that it only serves replays and debugging, so after ``N`` days (14 by default,
``MAINTBOT_PAYLOAD_RETENTION_DAYS``) it is replaced by ``{}`` and the handlers' detailed
results in its jobs are cut to their outcome. The delivery row stays, so a late redelivery of
the same id is still recognised as a duplicate.

The App's SQLite store and queue files are created ``0600`` in a ``0700`` folder when it
creates them, and tightened to ``0600`` when an older version left them wider: they hold
payloads and tokens' effects, and nobody else on the machine needs to read them.

:func:`retention_cutoff`, :func:`is_pruned` and :func:`slim_job_summary` are pure; the rest
touches the store or the file system.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, cast, select, text, update

from bot.errors import UsageError
from bot.store.database import Store
from bot.store.models import DeliveryStatus, Job, WebhookDelivery, utcnow
from bot.store.urls import resolve_database_target

if TYPE_CHECKING:
    from bot.app.settings import AppSettings

log = logging.getLogger(__name__)

PAYLOAD_RETENTION_ENV = "MAINTBOT_PAYLOAD_RETENTION_DAYS"
DEFAULT_PAYLOAD_RETENTION_DAYS = 14
#: Words that turn pruning off (payloads kept forever).
KEEP_FOREVER = ("never", "off", "forever")
#: What a pruned payload becomes: no GitHub payload is empty, so ``{}`` marks it.
PRUNED_PAYLOAD: dict[str, Any] = {}
#: Rows changed per transaction, so the receiver never waits long for the store's write lock.
BATCH_SIZE = 500
FINISHED = (DeliveryStatus.DONE, DeliveryStatus.FAILED)

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
PRIVATE_UMASK = 0o077
#: The files SQLite keeps beside a database; it creates them with the database file's mode.
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


# --- the policy (pure) ------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionPolicy:
    """How many days a finished delivery keeps its payload; None keeps it forever."""

    payload_days: int | None = DEFAULT_PAYLOAD_RETENTION_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionPolicy:
        env = os.environ if env is None else env
        value = (env.get(PAYLOAD_RETENTION_ENV) or "").strip().lower()
        if not value:
            return cls()
        if value in KEEP_FOREVER:
            return cls(payload_days=None)
        if not value.isdigit():
            raise UsageError(
                f"{PAYLOAD_RETENTION_ENV}={value!r} is not a number of days",
                hint=f"set it to a whole number of days (0: as soon as a delivery is finished), "
                f"or to 'never' to keep payloads; the default is {DEFAULT_PAYLOAD_RETENTION_DAYS}",
            )
        return cls(payload_days=int(value))


def retention_cutoff(policy: RetentionPolicy, now: datetime) -> datetime | None:
    """Deliveries finished before this moment lose their payload; None: nothing is pruned."""
    if policy.payload_days is None:
        return None
    return now - timedelta(days=policy.payload_days)


def is_pruned(payload: Mapping[str, Any] | None) -> bool:
    """True for a payload retention has removed: a worker or a re-queue has nothing to run."""
    return payload is not None and len(payload) == 0


def slim_job_summary(summary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A job's summary without what came from the payload: handlers' results and plans.

    What remains says which handler ran, whether it succeeded and how long it took.
    """
    if summary is None:
        return None
    handlers = summary.get("handlers")
    kept = [
        {key: h.get(key) for key in ("handler", "ok", "status", "seconds")}
        for h in (handlers if isinstance(handlers, list) else [])
        if isinstance(h, Mapping)
    ]
    return {"event": summary.get("event"), "ok": summary.get("ok"), "handlers": kept}


# --- applying it --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneResult:
    """What one run removed."""

    payloads: int = 0
    job_summaries: int = 0


def prune_payloads(
    store: Store,
    policy: RetentionPolicy | None = None,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> PruneResult:
    """Empties the payloads of deliveries finished before the cutoff, and slims their jobs.

    Safe to run from several processes at once and as often as wanted: what is pruned stays
    pruned and is not touched again. On SQLite the freed space is overwritten
    (``secure_delete``) and the write-ahead log checkpointed, so the text leaves the files.
    """
    policy = policy if policy is not None else RetentionPolicy.from_env()
    cutoff = retention_cutoff(policy, now or utcnow())
    if cutoff is None:
        return PruneResult()
    payloads = _in_batches(
        store, lambda session: _prune_delivery_batch(session, cutoff, batch_size)
    )
    summaries = _in_batches(store, lambda session: _slim_job_batch(session, cutoff, batch_size))
    if store.backend == "sqlite" and (payloads or summaries):
        _checkpoint(store)
    if payloads or summaries:
        log.info("retention: pruned %d payloads and %d job summaries", payloads, summaries)
    return PruneResult(payloads, summaries)


def _in_batches(store: Store, step: Any) -> int:
    total = 0
    while True:
        with store.session() as session:
            if store.backend == "sqlite":
                session.execute(text("PRAGMA secure_delete = ON"))
            try:
                changed, more = step(session)
            finally:
                if store.backend == "sqlite":
                    session.execute(text("PRAGMA secure_delete = OFF"))
        total += changed
        if not more:
            return total


def _prune_delivery_batch(session: Any, cutoff: datetime, batch_size: int) -> tuple[int, bool]:
    prunable = (
        WebhookDelivery.status.in_(FINISHED),
        WebhookDelivery.finished_at < cutoff,
        cast(WebhookDelivery.payload, Text) != "{}",
    )
    ids = list(
        session.execute(
            select(WebhookDelivery.id)
            .where(*prunable)
            .order_by(WebhookDelivery.id)
            .limit(batch_size)
        ).scalars()
    )
    if not ids:
        return 0, False
    # The same conditions again: a delivery re-queued meanwhile keeps its payload.
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), *prunable)
        .values(payload=PRUNED_PAYLOAD)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0), len(ids) == batch_size


def _slim_job_batch(session: Any, cutoff: datetime, batch_size: int) -> tuple[int, bool]:
    # A summary straight from dispatch always has "planned"; a slimmed one never does.
    rows = session.execute(
        select(Job.id, Job.summary)
        .where(
            Job.finished_at < cutoff,
            Job.summary.is_not(None),
            cast(Job.summary, Text).contains('"planned"'),
        )
        .order_by(Job.id)
        .limit(batch_size)
    ).all()
    for job_id, summary in rows:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(summary=slim_job_summary(summary))
            .execution_options(synchronize_session=False)
        )
    return len(rows), len(rows) == batch_size


def _checkpoint(store: Store) -> None:
    """Copies the log into the database file and empties it (best effort: readers may block)."""
    connection = store.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    except Exception as exc:  # a busy reader: the next checkpoint does it
        log.info("retention: checkpoint postponed: %s", type(exc).__name__)
    finally:
        connection.close()


# --- file modes ---------------------------------------------------------------------------------


def restrict_umask() -> int:
    """Every file this process creates from now on is private to its user; returns the old mask.

    For ``maintbot serve``: the App writes nothing that another user should read.
    """
    return os.umask(PRIVATE_UMASK)


def make_private(path: Path, *, create: bool = True) -> bool:
    """Creates ``path`` empty with mode 0600 (folder 0700), or narrows it to 0600.

    An empty file is a valid empty SQLite database, and SQLite gives its ``-wal``, ``-shm`` and
    ``-journal`` files the database file's mode, so creating the database file first keeps
    them all private. Returns True when something was created or narrowed.
    """
    if not path.exists():
        if not create:
            return False
        if not path.parent.exists():
            path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process was quicker: narrow below
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
            return True
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~PRIVATE_FILE_MODE and path.is_file():
        os.chmod(path, mode & PRIVATE_FILE_MODE)
        log.warning("narrowed %s from mode %o to %o", path, mode, mode & PRIVATE_FILE_MODE)
        return True
    return False


def sqlite_files(path: Path) -> list[Path]:
    """A SQLite database and the side files SQLite keeps beside it."""
    return [path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_SUFFIXES)]


def app_files(settings: AppSettings, env: Mapping[str, str] | None = None) -> list[Path]:
    """The App's SQLite databases: the store (unless PostgreSQL), the queue (unless Redis)."""
    env = os.environ if env is None else env
    databases: list[Path] = []
    store_path = resolve_database_target(settings.database_url, env).sqlite_path
    if store_path is not None:
        databases.append(store_path)
    if settings.redis_url is None and settings.queue_file is not None:
        databases.append(settings.queue_file)
    return databases


def secure_app_files(settings: AppSettings, env: Mapping[str, str] | None = None) -> list[Path]:
    """Before the App opens anything: a private umask, the databases created or narrowed 0600.

    Returns the files it created or narrowed.
    """
    restrict_umask()
    changed: list[Path] = []
    for database in app_files(settings, env):
        for index, path in enumerate(sqlite_files(database)):
            if make_private(path, create=index == 0):
                changed.append(path)
    return changed
