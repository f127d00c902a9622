"""The report-collection cache stores JSON values with their ETag, one per namespace and key."""

from __future__ import annotations

from sqlalchemy import event

from bot.store.cache import cache_get, cache_put, cache_put_many, cache_scan


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


def test_put_many_inserts_and_replaces_in_one_statement(store):
    with store.session() as session:
        cache_put(session, "items", "1", {"title": "old"}, etag="stale")
        cache_put(session, "other", "1", "untouched", etag="kept")
    statements = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        with store.session() as session:
            cache_put_many(
                session,
                "items",
                {"1": {"title": "new"}, "2": [1, 2], "3": None},
                etags={"2": 'W/"two"'},
            )
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1  # one executemany, not a statement per row
    with store.session() as session:
        assert cache_scan(session, "items") == [
            ("1", {"title": "new"}, None),  # replaced, and its old ETag with it
            ("2", [1, 2], 'W/"two"'),
            ("3", None, None),
        ]
        assert cache_scan(session, "other") == [("1", "untouched", "kept")]
        assert cache_get(session, "items", "1").updated_at.tzinfo is not None


def test_put_many_of_nothing_writes_nothing(store):
    with store.session() as session:
        cache_put_many(session, "items", {})
        assert cache_scan(session, "items") == []


def test_scan_orders_by_key_and_keeps_namespaces_apart(store):
    with store.session() as session:
        cache_put_many(session, "b", {"z": 1, "a": 2})
        cache_put_many(session, "a", {"m": 3})
        cache_put_many(session, "bb", {"k": 4})  # a namespace that shares a prefix
    with store.session() as session:
        assert cache_scan(session, "b") == [("a", 2, None), ("z", 1, None)]
        assert cache_scan(session, "missing") == []
