"""A key-value cache of API answers for report collection, with ETags for cheap revalidation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import CacheEntry, utcnow
from bot.store.upsert import insert_or_update


def cache_get(session: Session, namespace: str, key: str) -> CacheEntry | None:
    """The cached entry (value, etag, updated_at), or None when nothing is cached."""
    statement = select(CacheEntry).where(CacheEntry.namespace == namespace, CacheEntry.key == key)
    return session.execute(statement.execution_options(populate_existing=True)).scalar()


def cache_put(
    session: Session, namespace: str, key: str, value: Any, *, etag: str | None = None
) -> None:
    """Stores ``value`` (anything JSON can hold) under the key, replacing what was there."""
    values = {
        "namespace": namespace,
        "key": key,
        "value": value,
        "etag": etag,
        "updated_at": utcnow(),
    }
    insert_or_update(session, CacheEntry.__table__, values, unique=["namespace", "key"])
