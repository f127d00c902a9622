"""Brings a database to the schema this code expects, with Alembic, safely under concurrency.

No ``alembic.ini`` is needed: the configuration is built here and the scripts ship inside the
package. Several processes may open the same database at once (webhook receivers and
workers starting together): on PostgreSQL they serialise on an advisory lock, on SQLite on
the write lock that ``BEGIN IMMEDIATE`` takes, so exactly one of them migrates.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import MaintbotError

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")

#: Key of the PostgreSQL advisory lock taken while migrating: "maintbot" as a signed int64,
#: so that it cannot collide with another application's lock by accident.
MIGRATION_LOCK_KEY = int.from_bytes(b"maintbot", "big", signed=True)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration over the packaged scripts, bound to ``connection`` if given."""
    config = Config()
    # ConfigParser would read "%" in a path as interpolation.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("file_template", "%%(rev)s")
    config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    """The migration scripts that ship with this version of maintbot."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest schema revision this code knows."""
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads {heads}; merge them")
    return heads[0]


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions recorded in the database's ``alembic_version`` table (empty when new)."""
    return tuple(MigrationContext.configure(connection).get_current_heads())


def upgrade_to_head(connection: Connection, *, where: str) -> str | None:
    """Migrates the database behind ``connection`` to head in one transaction.

    Returns the revision the database was at before (None when it was empty). ``where`` names
    the database in error messages. The caller owns the connection; this commits on success.
    """
    script = script_directory()
    known = {revision.revision for revision in script.walk_revisions()}
    head = head_revision()
    with connection.begin():
        if connection.dialect.name == "postgresql":
            # Held until the transaction ends: the second process waits here, then finds the
            # schema at head and has nothing to do.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        current = current_revisions(connection)
        unknown = [revision for revision in current if revision not in known]
        if unknown:
            raise MaintbotError(
                f"the database {where} is at schema revision {', '.join(unknown)}, which this "
                f"version of maintbot does not know (its newest is {head}): a newer maintbot "
                "has migrated it.",
                hint="Upgrade maintbot (pip install -U maintbot) to the version that wrote this "
                "database, or point MAINTBOT_DATABASE_URL at another database.",
            )
        if current == (head,):
            return head
        config = alembic_config(connection)
        try:
            command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise MaintbotError(
                f"migrating the database {where} from revision "
                f"{', '.join(current) or '(empty)'} to {head} failed: {_first_line(exc)}",
                hint="The database was left as it was (the migration runs in one transaction "
                "on PostgreSQL). If its tables were created or changed by hand, back it up and "
                "start from an empty database.",
            ) from exc
    return current[0] if current else None


def _first_line(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
