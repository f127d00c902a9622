"""Alembic environment: runs the packaged migrations on the connection the store hands over.

``bot.store.migrate`` passes an open connection in ``config.attributes["connection"]`` (no
``alembic.ini`` at run time). Without one (``python -m bot.store``), it connects to the
database the store would open: ``MAINTBOT_DATABASE_URL`` or the default SQLite file.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON, Connection

from bot.store.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | bool:
    """Writes plain SQLAlchemy types into new migrations, so that old ones never import models."""
    if kind != "type":
        return False
    if isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(item, JSON) and "postgresql" in getattr(item, "_variant_mapping", {}):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def run_on(connection: Connection) -> None:
    """Runs the migrations; batch mode lets SQLite alter tables by copying them."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Uses the caller's connection, or opens the configured database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    from bot.store.database import create_store_engine
    from bot.store.urls import resolve_database_target

    engine = create_store_engine(resolve_database_target(None, os.environ))
    try:
        with engine.connect() as new_connection:
            run_on(new_connection)
            new_connection.commit()
    finally:
        engine.dispose()


def run_offline() -> None:
    """``--sql`` mode: prints the DDL for the configured database instead of running it."""
    from bot.store.urls import resolve_database_target

    target = resolve_database_target(None, os.environ)
    context.configure(
        url=target.url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=target.backend == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
