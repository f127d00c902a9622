"""The Store: one database engine, migrated on open, handing out transactional sessions."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.errors import MaintbotError
from bot.store.migrate import upgrade_to_head
from bot.store.urls import DATABASE_URL_ENV, DatabaseTarget, resolve_database_target

#: How long a SQLite writer waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 15_000
#: How long connecting to PostgreSQL may take before the host counts as unreachable.
POSTGRES_CONNECT_TIMEOUT_S = 10


def create_store_engine(target: DatabaseTarget, *, durable_commits: bool = True) -> Engine:
    """An engine for ``target``: SQLite in WAL mode with real transactions, or psycopg 3.

    ``durable_commits=False``: a commit returns before it is on disk (SQLite
    ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off``), for a process whose
    writes may be lost with the last moments before a power loss and are then redone (a
    worker's claims, job rows and results); the database stays consistent either way.
    """
    if target.backend == "sqlite":
        engine = _sqlite_engine(target)
        if not durable_commits:
            event.listen(engine, "connect", _sqlite_commits_without_fsync)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in target.url.query:
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    if not durable_commits:
        connect_args["options"] = "-c synchronous_commit=off"
    try:
        return create_engine(target.url, pool_pre_ping=True, connect_args=connect_args)
    except (ModuleNotFoundError, NoSuchModuleError) as exc:
        raise MaintbotError(
            f"cannot use the PostgreSQL database {target.display()}: its driver is not "
            f"installed ({exc}).",
            hint="Install the App extra, which brings psycopg 3: pip install 'maintbot[app]'.",
        ) from exc


def _sqlite_engine(target: DatabaseTarget) -> Engine:
    path = target.sqlite_path
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MaintbotError(
                f"cannot create the directory {path.parent} for the SQLite store: {exc}",
                hint=f"Make it writable, or set {DATABASE_URL_ENV} to a file in a writable place.",
            ) from exc
        engine = create_engine(target.url)
    else:
        # One shared connection, or every session would see its own empty in-memory database.
        engine = create_engine(
            target.url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin: the module's
    # legacy mode would autocommit DDL, so a migration could be half-applied.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)  # readers never block the writer
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_commits_without_fsync(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous = NORMAL")


def _switch_to_wal(cursor: Any) -> None:
    # Switching a new database to WAL takes an exclusive lock, and SQLite answers "database is
    # locked" at once instead of waiting for the busy timeout when another process is doing the
    # same: several processes opening one new store together would fail. Retry within the
    # busy timeout (without it the concurrent-open test failed about one run in twenty).
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


#: The execution option that makes a SQLite transaction begin deferred (Store.reading).
READ_ONLY_OPTION = "maintbot_read_only"


def _begin_immediate(connection: Any) -> None:
    # Take the write lock when the transaction starts: a deferred transaction that reads and
    # then writes fails at once ("database is locked") when another process wrote meanwhile,
    # whereas BEGIN IMMEDIATE waits for the busy timeout like any other writer. A session
    # that only reads (Store.reading) begins deferred: in WAL mode it neither waits for the
    # writer nor holds it up.
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """maintbot's state: webhook deliveries, jobs, predictions, benchmarks, report caches.

    Open it with :meth:`open`, use :meth:`session` for each unit of work, and :meth:`close` it
    (or use it as a context manager) when done.
    """

    def __init__(self, engine: Engine, target: DatabaseTarget) -> None:
        self.engine = engine
        self.target = target
        # Objects stay readable after commit: a handler may use what it recorded once the
        # session is closed, without a lazy load on a closed session.
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @classmethod
    def open(
        cls, url: str | None = None, *, migrate: bool = True, durable_commits: bool = True
    ) -> Store:
        """Opens the store at ``url``, else ``MAINTBOT_DATABASE_URL``, else the default file.

        The schema is migrated to this code's head first (unless ``migrate`` is false);
        ``durable_commits``: see :func:`create_store_engine`.
        """
        target = resolve_database_target(url, os.environ)
        engine = create_store_engine(target, durable_commits=durable_commits)
        try:
            with engine.connect() as connection:
                if migrate:
                    upgrade_to_head(connection, where=target.display())
        except DBAPIError as exc:
            engine.dispose()
            raise _unreachable(target, exc) from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, target)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.target.backend

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session that only reads, rolled back when the block ends.

        On SQLite a :meth:`session` takes the one write lock when it begins, so a worker's
        long read (a duplicate index of 50,000 issues) made the receiver wait to store a
        delivery; this one does not take it. Anything written in it is discarded.
        """
        session = self._read_sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def close(self) -> None:
        """Closes every pooled connection; the store cannot be used afterwards."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.target.display()}>"


def _unreachable(target: DatabaseTarget, exc: DBAPIError) -> MaintbotError:
    reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else repr(exc.orig)
    if target.backend == "sqlite":
        hint = (
            f"Check that {target.sqlite_path} is a SQLite database this user can read and write, "
            f"or set {DATABASE_URL_ENV} to another path."
        )
    else:
        hint = (
            f"Check the URL in {target.source} (host, port, user, password, database name) and "
            "that the PostgreSQL server is running and accepts connections from this machine."
        )
    return MaintbotError(f"cannot open the database {target.display()}: {reason}", hint=hint)
