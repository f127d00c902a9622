"""A key-value cache of API answers for report collection, with ETags for cheap revalidation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import CacheEntry, utcnow
from bot.store.upsert import insert_or_update_many

CACHE_KEY = ("namespace", "key")


def cache_get(session: Session, namespace: str, key: str) -> CacheEntry | None:
    """The cached entry (value, etag, updated_at), or None when nothing is cached."""
    statement = select(CacheEntry).where(CacheEntry.namespace == namespace, CacheEntry.key == key)
    return session.execute(statement.execution_options(populate_existing=True)).scalar()


def cache_put(
    session: Session, namespace: str, key: str, value: Any, *, etag: str | None = None
) -> None:
    """Stores ``value`` (anything JSON can hold) under the key, replacing what was there."""
    cache_put_many(session, namespace, {key: value}, etags={key: etag} if etag else None)


def cache_put_many(
    session: Session,
    namespace: str,
    rows: Mapping[str, Any],
    *,
    etags: Mapping[str, str] | None = None,
) -> None:
    """Stores many ``key: value`` rows of one namespace, replacing what was there.

    One statement executed for all rows (an executemany), so a page of 100 records is one
    round trip rather than 100. A key missing from ``etags`` is stored without an ETag.
    """
    if not rows:
        return
    etags = etags or {}
    now = utcnow()
    values = [
        {"namespace": namespace, "key": k, "value": v, "etag": etags.get(k), "updated_at": now}
        for k, v in rows.items()
    ]
    insert_or_update_many(session, CacheEntry.__table__, values, unique=CACHE_KEY)


def cache_scan(session: Session, namespace: str) -> list[tuple[str, Any, str | None]]:
    """Every ``(key, value, etag)`` of a namespace, by key: plain rows, cheaper than entries."""
    statement = (
        select(CacheEntry.key, CacheEntry.value, CacheEntry.etag)
        .where(CacheEntry.namespace == namespace)
        .order_by(CacheEntry.key)
    )
    return [(key, value, etag) for key, value, etag in session.execute(statement)]
