"""Where the store lives: explicit URL, MAINTBOT_DATABASE_URL, or the XDG default file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import UsageError
from bot.store.urls import default_sqlite_path, parse_database_url, resolve_database_target


def test_default_path_follows_xdg_data_home(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": "/nonexistent-home"}
    assert default_sqlite_path(env) == tmp_path / "data" / "maintbot" / "maintbot.sqlite3"


@pytest.mark.parametrize("xdg", [None, "", "relative/dir"])
def test_default_path_falls_back_to_local_share(xdg):
    env = {"HOME": "/home/someone"}
    if xdg is not None:
        env["XDG_DATA_HOME"] = xdg
    expected = Path("/home/someone/.local/share/maintbot/maintbot.sqlite3")
    assert default_sqlite_path(env) == expected


def test_argument_wins_over_environment():
    env = {"MAINTBOT_DATABASE_URL": "sqlite:////from/env.sqlite3"}
    target = resolve_database_target("sqlite:////from/argument.sqlite3", env)
    assert target.sqlite_path == Path("/from/argument.sqlite3")
    assert target.source == "the database argument"


def test_environment_wins_over_default():
    env = {"MAINTBOT_DATABASE_URL": "postgresql://bot:secret@db.example:5433/maint", "HOME": "/h"}
    target = resolve_database_target(None, env)
    assert target.source == "MAINTBOT_DATABASE_URL"
    assert target.backend == "postgresql"


def test_default_is_sqlite_file_under_xdg(tmp_path):
    target = resolve_database_target(None, {"XDG_DATA_HOME": str(tmp_path)})
    assert target.backend == "sqlite"
    assert target.sqlite_path == tmp_path / "maintbot" / "maintbot.sqlite3"


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://bot:pw@localhost/maint", "postgresql+psycopg"),
        ("postgres://bot:pw@localhost/maint", "postgresql+psycopg"),
        ("postgresql+psycopg://bot:pw@localhost/maint", "postgresql+psycopg"),
        ("postgresql+psycopg2://bot:pw@localhost/maint", "postgresql+psycopg2"),
    ],
)
def test_plain_postgres_urls_get_psycopg3(given, driver):
    target = parse_database_url(given, source="test")
    assert target.url.drivername == driver
    assert (target.url.host, target.url.database, target.url.username) == (
        "localhost",
        "maint",
        "bot",
    )


def test_display_hides_the_password():
    target = parse_database_url("postgresql://bot:hunter2@localhost/maint", source="test")
    assert "hunter2" not in target.display()
    assert "bot" in target.display() and "localhost" in target.display()


def test_plain_path_means_a_sqlite_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = parse_database_url("state/bot.sqlite3", source="test")
    assert target.backend == "sqlite"
    assert target.sqlite_path == tmp_path / "state" / "bot.sqlite3"


def test_in_memory_sqlite_has_no_file():
    assert parse_database_url("sqlite://", source="test").sqlite_path is None


def test_unsupported_backend_is_a_usage_error():
    with pytest.raises(UsageError) as caught:
        parse_database_url("mysql://bot@localhost/maint", source="MAINTBOT_DATABASE_URL")
    assert "mysql" in caught.value.message
    assert "MAINTBOT_DATABASE_URL" in caught.value.message
    assert caught.value.hint and "postgresql://" in caught.value.hint
