"""Opening the store: where it goes, what it says when it cannot, and many openers at once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, func, select

from bot.errors import ExitCode, MaintbotError
from bot.store.database import Store
from bot.store.deliveries import record_delivery
from bot.store.migrate import head_revision
from bot.store.models import WebhookDelivery
from bot.store.urls import parse_database_url
from tests.fixtures.databases import free_loopback_port
from tests.paths import REPO_ROOT

REPO_ROOT = REPO_ROOT

# Each opener imports first, says it is ready, then waits for "go": the Store.open calls then
# start within milliseconds of each other, which is when an unguarded migration breaks.
OPENER = """
import pathlib, sys, time
from bot.store.database import Store
from bot.store.deliveries import record_delivery
url, delivery_id = sys.argv[1], sys.argv[4]
ready, go = pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.002)
with Store.open(url) as store, store.session() as session:
    record_delivery(session, delivery_id, "ping", {})
"""
OPENERS = 3


def test_default_store_is_created_under_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("MAINTBOT_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "not" / "there" / "yet"))
    with Store.open() as store:
        assert store.backend == "sqlite"
    assert (tmp_path / "not" / "there" / "yet" / "maintbot" / "maintbot.sqlite3").is_file()


def test_environment_variable_picks_the_database(tmp_path, monkeypatch):
    target = tmp_path / "from-env" / "state.sqlite3"
    monkeypatch.setenv("MAINTBOT_DATABASE_URL", f"sqlite:///{target}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    Store.open().close()
    assert target.is_file()
    assert not (tmp_path / "xdg").exists()


def test_session_commits_on_success_and_rolls_back_on_error(store):
    with store.session() as session:
        record_delivery(session, "kept", "ping", {})
    with pytest.raises(RuntimeError), store.session() as session:
        record_delivery(session, "dropped", "ping", {})
        raise RuntimeError("handler crashed")
    with store.session() as session:
        ids = session.execute(select(WebhookDelivery.delivery_id)).scalars().all()
    assert ids == ["kept"]


def test_unreachable_postgres_is_a_clear_error():
    port = free_loopback_port()  # nothing listens there
    url = f"postgresql://maintbot:s3cret@127.0.0.1:{port}/maintbot"
    with pytest.raises(MaintbotError) as caught:
        Store.open(url)
    error = caught.value
    assert f"127.0.0.1:{port}" in error.message
    assert "s3cret" not in str(error)
    assert error.hint and "PostgreSQL server is running" in error.hint
    assert error.exit_code == ExitCode.EXTERNAL


def test_unwritable_sqlite_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(MaintbotError) as caught:
        Store.open(f"sqlite:///{blocker / 'sub' / 'store.sqlite3'}")
    assert "cannot create the directory" in caught.value.message
    assert caught.value.hint and "MAINTBOT_DATABASE_URL" in caught.value.hint


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.sqlite3"
    bogus.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(MaintbotError) as caught:
        Store.open(str(bogus))
    assert str(bogus) in caught.value.message
    assert caught.value.hint


def test_concurrent_opens_of_one_empty_database_all_succeed(database_url, tmp_path):
    ready = [tmp_path / f"ready-{n}" for n in range(OPENERS)]
    go = tmp_path / "go"
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, database_url, str(ready[n]), str(go), f"opener-{n}"],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(OPENERS)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(path.exists() for path in ready) and time.monotonic() < deadline:
            if any(opener.poll() is not None for opener in openers):
                break
            time.sleep(0.01)
        go.touch()
        outcomes = [(opener.wait(timeout=120), opener.stdout.read()) for opener in openers]
    finally:
        for opener in openers:
            if opener.poll() is None:
                opener.kill()
                opener.wait(timeout=10)
            opener.stdout.close()
    assert [code for code, _ in outcomes] == [0] * OPENERS, [out for _, out in outcomes]

    engine = create_engine(parse_database_url(database_url, source="test").url)
    try:
        with engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
            deliveries = connection.execute(select(func.count(WebhookDelivery.id))).scalar()
    finally:
        engine.dispose()
    assert [row[0] for row in versions] == [head_revision()]
    assert deliveries == OPENERS
