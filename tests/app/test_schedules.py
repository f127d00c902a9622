"""The App's report schedule: the cron line of each installed repository, ticked each
minute by workers, one ``schedule`` delivery per repository and minute however many
workers tick, and that delivery posting the report issue through the same handler as the
Action's ``schedule`` run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app.schedules import (
    ReportScheduler,
    ScheduledRepo,
    app_installations,
    cron_matches,
    due,
)
from bot.app.worker import app_client_factory
from bot.handlers import build_router
from bot.store.database import Store
from bot.store.deliveries import get_delivery
from bot.store.models import DeliveryStatus
from tests.app.test_worker import app_settings, make_parts

FIRST_OF_MONTH_6AM = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_store(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}") as opened:
        yield opened


@pytest.mark.parametrize(
    ("cron", "moment", "fires"),
    [
        ("0 6 1 * *", FIRST_OF_MONTH_6AM, True),
        ("0 6 1 * *", datetime(2026, 12, 1, 6, 1, tzinfo=UTC), False),
        ("0 6 1 * *", datetime(2026, 12, 2, 6, 0, tzinfo=UTC), False),
        ("*/15 * * * *", datetime(2026, 12, 3, 9, 45, tzinfo=UTC), True),
        ("0 9 * * 1", datetime(2026, 12, 7, 9, 0, tzinfo=UTC), True),  # a Monday
        ("0 9 * * 1", datetime(2026, 12, 8, 9, 0, tzinfo=UTC), False),
        ("not a cron", FIRST_OF_MONTH_6AM, False),
    ],
)
def test_cron_lines_fire_on_their_minute_only(cron, moment, fires):
    assert cron_matches(cron, moment) is fires


def test_one_delivery_id_per_repository_and_minute():
    repos = [ScheduledRepo(7, "o/a", "0 6 1 * *"), ScheduledRepo(7, "o/b", "0 7 * * *")]
    (only,) = due(repos, FIRST_OF_MONTH_6AM)
    assert only[0] == "schedule:o/a:20261201T0600"
    assert only[1] == {
        "schedule": "0 6 1 * *",
        "repository": {"full_name": "o/a"},
        "installation": {"id": 7},
    }


def test_workers_ticking_together_queue_one_report_which_posts_the_issue(
    sqlite_store, make_sandbox, app_keys, tmp_path
):
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    sb.state.add_installation(account="octo")
    settings = app_settings(sb, app_keys, tmp_path)
    queued: list[str] = []
    schedulers = [
        ReportScheduler(
            sqlite_store, queued.append, app_installations(settings), app_client_factory(settings)
        )
        for _ in range(2)
    ]
    assert schedulers[0].repos() == [
        ScheduledRepo(schedulers[0].repos()[0].installation_id, "octo/widgets", "0 6 1 * *")
    ]
    for scheduler in schedulers:
        scheduler.tick(FIRST_OF_MONTH_6AM)
        scheduler.tick(datetime(2026, 12, 1, 6, 0, 30, tzinfo=UTC))  # the same minute again
    assert queued == ["schedule:octo/widgets:20261201T0600"]
    assert schedulers[0].tick(datetime(2026, 12, 1, 6, 1, tzinfo=UTC)) == []

    parts = make_parts(settings, sqlite_store, build_router())
    parts.worker().perform(queued[0])
    with sqlite_store.session() as session:
        assert get_delivery(session, queued[0]).status is DeliveryStatus.DONE
    with sb.state.lock:
        titles = [i["title"] for i in sb.state.repo("octo/widgets")["issues"].values()]
    assert (
        sum(title.startswith("Community health report for octo/widgets") for title in titles) == 1
    )


def test_a_repository_with_the_report_off_is_not_scheduled(
    sqlite_store, make_sandbox, app_keys, tmp_path
):
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    sb.state.add_installation(account="octo")
    sb.state.set_content("octo/widgets", ".github/maintbot.yml", "report:\n  enabled: false\n")
    settings = app_settings(sb, app_keys, tmp_path)
    scheduler = ReportScheduler(
        sqlite_store, lambda _: None, app_installations(settings), app_client_factory(settings)
    )
    assert scheduler.repos() == []


def test_a_rate_limited_read_keeps_the_repositories_last_read_and_the_tick_goes_on(
    sqlite_store, make_sandbox, app_keys, tmp_path, caplog
):
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    sb.state.add_installation(account="octo")
    settings = app_settings(sb, app_keys, tmp_path)
    queued: list[str] = []
    scheduler = ReportScheduler(
        sqlite_store, queued.append, app_installations(settings), app_client_factory(settings)
    )
    read = scheduler.repos()
    assert [r.repo for r in read] == ["octo/widgets"]
    scheduler._read_at = 0.0  # as if refresh_s had passed
    sb.inject_fault("GET /installation/repositories", kind="primary_rate_limit", times=5)
    assert scheduler.tick(FIRST_OF_MONTH_6AM) == ["schedule:octo/widgets:20261201T0600"]
    assert "not read (kept as last read)" in caplog.text and "rate limit" in caplog.text
    assert scheduler._complete is False  # read again within RETRY_READ_S, not an hour
