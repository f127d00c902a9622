"""Rate limits and unknown-outcome writes against the sandbox (#26, items 2 and 3).

The sandbox counts a real quota per installation token (with a short window, so that its
reset comes within the test), answers secondary limits with ``Retry-After``, and stalls a
route past the client's timeout. Deliveries must all end ``done`` once the quota is back,
without spending attempts, and a write that timed out must not be written twice.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.app.worker import judge_failures
from bot.github.errors import Failure, FailureKind
from bot.store.deliveries import record_delivery
from bot.store.models import DeliveryStatus
from tests.app.worker_support import (
    LABEL_ROUTE,
    LabelAndComment,
    app_settings,
    consumers_fixture,  # noqa: F401 - the consumers fixture
    issue_labels,
    make_parts,
    open_issues,
    opened_payload,
    router_with,
    sqlite_store_fixture,  # noqa: F401 - the sqlite_store fixture
    wait_until_finished,
    writes_per_issue,
)

QUOTA = 50
WINDOW_S = 4

# ------------------------------------------------------------------------ pure verdicts

NOW = 1_700_000_000.0


def failure(kind: FailureKind, resume_at: float | None = None) -> tuple[str, Failure]:
    return ("h", Failure(kind, kind.value, resume_at))


def test_a_rate_limit_waits_for_the_latest_reset_and_spends_no_attempt():
    verdict = judge_failures(
        [
            failure(FailureKind.RATE_LIMITED, NOW + 60),
            failure(FailureKind.RATE_LIMITED, NOW + 3600),
            failure(FailureKind.PERMANENT),
        ],
        final_attempt=True,  # even on the last attempt: waiting is not an attempt
        spread=0.5,
    )
    assert verdict.deferred and not verdict.retry
    assert verdict.status is DeliveryStatus.QUEUED
    assert verdict.resume_at == NOW + 3600
    assert NOW + 3600 < verdict.wake_at <= NOW + 3600 + 5


def test_waiting_has_a_bound():
    verdict = judge_failures(
        [failure(FailureKind.RATE_LIMITED, NOW + 60)], final_attempt=False, may_wait=False
    )
    assert (verdict.deferred, verdict.retry) == (False, True)


def test_permanent_failures_end_at_once_and_unknown_writes_settle_before_a_retry():
    permanent = judge_failures([failure(FailureKind.PERMANENT)], final_attempt=False)
    assert (permanent.status, permanent.retry) == (DeliveryStatus.FAILED, False)
    unknown = judge_failures(
        [failure(FailureKind.TRANSIENT), failure(FailureKind.UNKNOWN_OUTCOME)],
        final_attempt=False,
        settle_s=60,
    )
    assert (unknown.retry, unknown.retry_delay_s) == (True, 60)
    transient = judge_failures([failure(FailureKind.TRANSIENT)], final_attempt=False)
    assert (transient.retry, transient.retry_delay_s) == (True, 0)
    last = judge_failures([failure(FailureKind.TRANSIENT)], final_attempt=True)
    assert (last.status, last.retry) == (DeliveryStatus.FAILED, False)
    assert judge_failures([], final_attempt=False).status is DeliveryStatus.DONE


# ------------------------------------------------------------------------- end to end


def test_a_spent_quota_delays_deliveries_until_its_reset_and_none_fails(
    store, make_sandbox, app_keys, shared_dir, tmp_path, consumers
):
    """60 new issues against a quota of 50 requests per window: all done, none failed."""
    sb = make_sandbox(
        seed_default=True,
        app_id=app_keys.app_id,
        app_public_key_pem=app_keys.public_pem,
        rate_limit=QUOTA,
        rate_limit_window=WINDOW_S,
    )
    installation = sb.state.add_installation(account="octo")["id"]
    numbers = open_issues(sb, 60)
    handler = LabelAndComment()
    settings = app_settings(sb, app_keys, tmp_path, retries=1, retry_delay_s=0)
    parts = make_parts(settings, store, router_with(handler))
    parts.worker()
    for number in numbers:
        with store.session() as session:
            record_delivery(
                session, f"q-{number}", "issues", opened_payload(shared_dir, installation, number)
            )
    consumers.append(parts.start_consumer(threads=2))

    finished = wait_until_finished(store, [f"q-{n}" for n in numbers], timeout_s=180)

    statuses = [row.status for row in finished.values()]
    assert statuses.count(DeliveryStatus.DONE) == 60, [r.last_error for r in finished.values()]
    assert {row.attempts for row in finished.values()} == {1}  # waiting spent no attempt
    assert sum(row.deferrals for row in finished.values()) > 0  # the quota did run out
    limited = [r for r in sb.requests if r.status == 403]
    assert limited, "the sandbox never refused a request: the quota was not exhausted"
    assert set(writes_per_issue(sb, LABEL_ROUTE).values()) == {1}
    assert sorted(handler.calls.values())[-1] >= 1


def test_a_secondary_limit_waits_for_retry_after(
    sqlite_store, make_sandbox, app_keys, shared_dir, tmp_path, consumers
):
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    installation = sb.state.add_installation(account="octo")["id"]
    (number,) = open_issues(sb, 1)
    sb.inject_fault(LABEL_ROUTE, kind="secondary_rate_limit", retry_after=2)
    handler = LabelAndComment()
    parts = make_parts(
        app_settings(sb, app_keys, tmp_path, retries=0), sqlite_store, router_with(handler)
    )
    parts.worker()
    with sqlite_store.session() as session:
        record_delivery(session, "s-1", "issues", opened_payload(shared_dir, installation, number))
    started = datetime.now(UTC)
    consumers.append(parts.start_consumer(threads=1))

    done = wait_until_finished(sqlite_store, ["s-1"])["s-1"]

    assert (done.status, done.attempts, done.deferrals) == (DeliveryStatus.DONE, 1, 1)
    assert handler.calls["s-1"] == 2  # with retries=0: the wait was not an attempt
    label_posts = [r for r in sb.requests if r.route == LABEL_ROUTE]
    assert [r.fault for r in label_posts] == ["secondary_rate_limit", None]
    assert label_posts[1].time - started.timestamp() >= 2  # not before Retry-After


def test_a_timed_out_write_is_checked_before_it_is_repeated(
    sqlite_store, make_sandbox, app_keys, shared_dir, tmp_path, consumers
):
    """The label POST stalls 6 s (the client gives up after 1 s): the write lands anyway.
    The retry waits for it to settle, reads the issue's labels again and writes nothing."""
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    installation = sb.state.add_installation(account="octo")["id"]
    (number,) = open_issues(sb, 1)
    sb.inject_fault(LABEL_ROUTE, kind="timeout", delay=6)
    handler = LabelAndComment()
    settings = app_settings(
        sb, app_keys, tmp_path, retries=2, request_timeout_s=1, write_settle_s=8.0
    )
    parts = make_parts(settings, sqlite_store, router_with(handler))
    parts.worker()
    with sqlite_store.session() as session:
        record_delivery(session, "t-1", "issues", opened_payload(shared_dir, installation, number))
    consumers.append(parts.start_consumer(threads=1))

    done = wait_until_finished(sqlite_store, ["t-1"])["t-1"]

    assert (done.status, done.attempts) == (DeliveryStatus.DONE, 2)
    assert handler.calls["t-1"] == 2
    deadline = time.monotonic() + 30  # the stalled request is logged once it has answered
    while not any(r.fault == "timeout" for r in sb.requests):
        assert time.monotonic() < deadline, "the stalled write never landed"
        time.sleep(0.1)
    assert writes_per_issue(sb, LABEL_ROUTE)[str(number)] == 1  # the stalled one, not again
    assert issue_labels(sb, number) == ["bug"]
