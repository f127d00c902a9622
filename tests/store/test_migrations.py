"""The packaged migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from bot.errors import MaintbotError
from bot.store.database import Store
from bot.store.migrate import alembic_config, current_revisions, head_revision, script_directory
from bot.store.models import Base
from bot.store.urls import parse_database_url

EXPECTED_TABLES = {
    "webhook_deliveries",
    "jobs",
    "predictions",
    "label_corrections",
    "bench_results",
    "kv_cache",
    "duplicate_indexes",
    "duplicate_index_issues",
}


def _sqlalchemy_url(database_url: str) -> URL:
    return parse_database_url(database_url, source="test").url


def test_one_linear_history_with_numbered_names():
    revisions = list(script_directory().walk_revisions())
    assert len(script_directory().get_heads()) == 1
    for revision in revisions:
        number, _, name = revision.revision.partition("_")
        assert number.isdigit() and len(number) == 4 and name, revision.revision
        assert revision.module.__file__.endswith(f"{revision.revision}.py")


def test_empty_database_migrates_to_head(database_url):
    engine = create_engine(_sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            assert current_revisions(connection) == ()
            assert set(inspect(connection).get_table_names()) == set()
        Store.open(database_url).close()
        with engine.connect() as connection:
            assert current_revisions(connection) == (head_revision(),)
            tables = set(inspect(connection).get_table_names())
        assert tables == EXPECTED_TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_models_match_the_migrated_schema(store):
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_downgrade_to_empty_and_back(store):
    with store.engine.connect() as connection:
        config = alembic_config(connection)
        command.downgrade(config, "base")
        connection.commit()
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        assert current_revisions(connection) == ()
    store.close()
    Store.open(store.target.url.render_as_string(hide_password=False)).close()
    with store.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == EXPECTED_TABLES | {"alembic_version"}


def test_opening_again_changes_nothing(database_url):
    Store.open(database_url).close()
    with Store.open(database_url) as again, again.engine.connect() as connection:
        assert current_revisions(connection) == (head_revision(),)


def test_database_from_a_newer_maintbot_is_refused(database_url):
    Store.open(database_url).close()
    engine = create_engine(_sqlalchemy_url(database_url))
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0999_from_future'"))
    finally:
        engine.dispose()
    with pytest.raises(MaintbotError) as caught:
        Store.open(database_url)
    assert "0999_from_future" in caught.value.message
    assert "newer maintbot" in caught.value.message
    assert caught.value.hint and "Upgrade maintbot" in caught.value.hint


def test_status_columns_reject_unknown_values_in_the_database(store):
    insert = text(
        "INSERT INTO webhook_deliveries (delivery_id, event, payload, status, attempts, "
        "received_at) VALUES ('d1', 'ping', '{}', 'exploded', 0, CURRENT_TIMESTAMP)"
    )
    with pytest.raises(IntegrityError), store.session() as session:
        session.execute(insert)


def test_sqlite_uses_wal_and_waits_for_locks(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    with store, store.engine.connect() as connection:
        journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    assert journal_mode == "wal"
    assert busy_timeout >= 1000
    assert foreign_keys == 1
