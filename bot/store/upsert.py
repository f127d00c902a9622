"""Insert-or-ignore and insert-or-update that are atomic on both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _insert(session: Session, table: Table, values: Mapping[str, Any]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).values(**values)
    if dialect == "sqlite":
        return sqlite.insert(table).values(**values)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def insert_unless_present(
    session: Session, table: Table, values: Mapping[str, Any], *, unique: Sequence[str]
) -> bool:
    """Inserts a row unless one with the same ``unique`` columns exists; True if inserted.

    A single statement, so two processes racing on the same key cannot both insert (a
    read-then-insert would let both see "absent").
    """
    statement = (
        _insert(session, table, values)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(*(table.c[name] for name in unique))
    )
    # RETURNING yields the row only when it was inserted; rowcount is not reliable here
    # (psycopg reports -1 for this statement).
    return session.execute(statement).first() is not None


def insert_or_update(
    session: Session,
    table: Table,
    values: Mapping[str, Any],
    *,
    unique: Sequence[str],
) -> None:
    """Inserts a row, or updates the other columns of the row with the same ``unique`` key."""
    insert_or_update_many(session, table, [values], unique=unique)


def insert_or_update_many(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: Sequence[str],
) -> None:
    """:func:`insert_or_update` for many rows in one statement executed for all (executemany)."""
    if not rows:
        return
    insert = _insert(session, table, {})
    changes = {name: insert.excluded[name] for name in rows[0] if name not in unique}
    session.execute(insert.on_conflict_do_update(index_elements=unique, set_=changes), list(rows))
