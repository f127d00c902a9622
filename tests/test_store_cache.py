"""The report-collection cache stores JSON values with their ETag, one per namespace and key."""

from __future__ import annotations

from bot.store import cache_get, cache_put


def test_missing_key_is_none(store):
    with store.session() as session:
        assert cache_get(session, "issues", "o/r?page=1") is None


def test_put_then_get_round_trips_value_and_etag(store):
    value = {"items": [{"number": 1, "title": "Crash on import"}], "total": 1}
    with store.session() as session:
        cache_put(session, "issues", "o/r?page=1", value, etag='W/"abc"')
    with store.session() as session:
        entry = cache_get(session, "issues", "o/r?page=1")
    assert entry is not None
    assert (entry.value, entry.etag) == (value, 'W/"abc"')
    assert entry.updated_at.tzinfo is not None


def test_put_replaces_and_namespaces_are_separate(store):
    with store.session() as session:
        cache_put(session, "issues", "k", [1], etag="one")
        first = cache_get(session, "issues", "k").updated_at
        cache_put(session, "issues", "k", [1, 2], etag=None)
        cache_put(session, "pulls", "k", "other")
    with store.session() as session:
        issues = cache_get(session, "issues", "k")
        pulls = cache_get(session, "pulls", "k")
    assert (issues.value, issues.etag) == ([1, 2], None)
    assert issues.updated_at >= first
    assert pulls.value == "other"
    with store.engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT COUNT(*) FROM kv_cache").scalar()
    assert count == 2
