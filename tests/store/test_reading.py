"""``Store.reading``: a session that only reads never takes SQLite's one write lock."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from bot.store.database import Store
from bot.store.deliveries import record_delivery
from bot.store.models import WebhookDelivery


def _write_in_thread(url: str, delivery_id: str) -> threading.Event:
    done = threading.Event()

    def write() -> None:
        with Store.open(url) as other, other.session() as session:
            record_delivery(session, delivery_id, "issues", {"action": "opened"})
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done


def test_a_writer_goes_ahead_while_a_reading_session_is_open(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    with Store.open(url) as store:
        with store.reading() as session:
            count = session.execute(select(func.count()).select_from(WebhookDelivery)).scalar()
            assert count == 0
            done = _write_in_thread(url, "d-1")
            # the write lock is free: the other store's write ends while this session is open
            assert done.wait(timeout=20)
        with store.reading() as session:
            assert session.execute(select(WebhookDelivery.delivery_id)).scalars().all() == ["d-1"]


def test_a_writing_session_holds_the_writer_back_until_it_ends(tmp_path):
    """The contrast: what every session did before, and what writes still need."""
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    with Store.open(url) as store:
        with store.session() as session:
            session.execute(select(func.count()).select_from(WebhookDelivery)).scalar()
            done = _write_in_thread(url, "d-2")
            assert not done.wait(timeout=1)
        assert done.wait(timeout=20)


def test_what_is_written_in_a_reading_session_is_discarded(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        with store.reading() as session:
            record_delivery(session, "d-3", "issues", {})
        with store.reading() as session:
            assert session.execute(select(WebhookDelivery)).first() is None
