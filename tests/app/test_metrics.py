"""``/metrics``: the text format, the instruments, the store's figures, and the listener.

The text is read back with a small parser written here (one regex per line of the format), so
a malformed line fails the test. The listener is real (loopback, a free port), and so is the
store (SQLite and PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.app.metrics import (
    ApiUsage,
    Counter,
    Family,
    Histogram,
    MetricsServer,
    MetricsSettings,
    ReceiverMetrics,
    Sample,
    StoreMetrics,
    authorized,
    is_loopback,
    quantiles,
    render,
    start_metrics,
)
from bot.app.receiver import create_receiver
from bot.errors import UsageError
from bot.store.database import Store
from bot.store.deliveries import mark_delivery, record_delivery
from bot.store.jobs import finish_job, start_job
from tests.app.test_receiver import SECRET, ServedApp, example, signed, sqlite_queue, triage_router

_HELP = re.compile(r"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$")
_TYPE = re.compile(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary)$")
_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? '
    r"(-?[0-9.e+-]+|\+Inf|-Inf|NaN)$"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples by (name, labels); fails on any line that is not the text format."""
    assert text.endswith("\n")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP"):
            assert _HELP.match(line), line
            continue
        if line.startswith("# TYPE"):
            match = _TYPE.match(line)
            assert match, line
            assert match.group(1) not in typed, f"{match.group(1)} typed twice"
            typed.add(match.group(1))
            continue
        match = _SAMPLE.match(line)
        assert match, line
        name, labels, value = match.groups()
        assert any(name == t or name.startswith(t + "_") for t in typed), f"{name} has no TYPE"
        key = (name, frozenset(_LABEL.findall(labels or "")))
        assert key not in samples, f"{line} twice"
        samples[key] = float(value)
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


# --- pure parts -------------------------------------------------------------------------------


def test_render_writes_the_text_format_with_escaped_labels():
    text = render(
        [
            Family(
                "x_total",
                "counter",
                "Things.\nTwo lines.",
                (
                    Sample("x_total", 3, (("event", 'is"sues\\'),)),
                    Sample("x_total", 0.25, (("event", "a\nb"),)),
                ),
            ),
            Family("up", "gauge", "Up.", (Sample("up", float("inf")),)),
        ]
    )
    assert text == (
        "# HELP x_total Things.\\nTwo lines.\n"
        "# TYPE x_total counter\n"
        'x_total{event="is\\"sues\\\\"} 3\n'
        'x_total{event="a\\nb"} 0.25\n'
        "# HELP up Up.\n"
        "# TYPE up gauge\n"
        "up +Inf\n"
    )
    assert value(parse(text), "x_total", event='is\\"sues\\\\') == 3


def test_quantiles_are_nearest_rank():
    assert quantiles([]) == {}
    assert quantiles([5.0]) == {0.5: 5.0, 0.9: 5.0, 0.99: 5.0}
    values = [float(i) for i in range(1, 101)]  # 1..100
    assert quantiles(values) == {0.5: 50.0, 0.9: 90.0, 0.99: 99.0}
    assert quantiles(list(reversed(values)), (0.01, 1.0)) == {0.01: 1.0, 1.0: 100.0}


def test_a_counter_folds_label_sets_past_its_cap_into_other():
    counter = Counter("c_total", "C.", ("event", "outcome"), max_series=2)
    counter.inc("issues", "accepted")
    counter.inc("ping", "accepted")
    counter.inc("made_up_1", "accepted")
    counter.inc("made_up_2", "rejected", amount=2)
    counter.inc("issues", "accepted")
    samples = parse(render([counter.family()]))
    assert value(samples, "c_total", event="issues", outcome="accepted") == 2
    assert value(samples, "c_total", event="other", outcome="other") == 3
    assert len(samples) == 3


def test_a_histogram_is_cumulative_with_sum_and_count():
    histogram = Histogram("ack_seconds", "Ack.", buckets=(0.01, 0.1, 1.0))
    for seconds in (0.005, 0.05, 0.05, 0.5, 5.0):
        histogram.observe(seconds)
    samples = parse(render([histogram.family()]))
    assert [value(samples, "ack_seconds_bucket", le=le) for le in ("0.01", "0.1", "1", "+Inf")] == [
        1,
        3,
        4,
        5,
    ]
    assert value(samples, "ack_seconds_count") == 5
    assert value(samples, "ack_seconds_sum") == pytest.approx(5.605)


def test_api_usage_reports_the_installation_closest_to_its_limit_until_its_reset():
    now = [1_000.0]
    usage = ApiUsage(clock=lambda: now[0])
    usage.observe(
        200,
        {
            "X-RateLimit-Remaining": "4000",
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Reset": "2000",
            "X-RateLimit-Resource": "core",
        },
        key=1,
    )
    usage.observe(201, {"x-ratelimit-remaining": "12", "x-ratelimit-limit": "5000",
                        "x-ratelimit-reset": "1500"}, key=2)  # fmt: skip
    usage.observe(403, {"x-ratelimit-remaining": "29", "x-ratelimit-resource": "search",
                        "x-ratelimit-reset": "1100"}, key=2)  # fmt: skip
    usage.observe(502, {})
    samples = parse(render(usage.families()))
    assert value(samples, "maintbot_github_api_requests_total", status="2xx") == 2
    assert value(samples, "maintbot_github_api_requests_total", status="4xx") == 1
    assert value(samples, "maintbot_github_api_requests_total", status="5xx") == 1
    assert value(samples, "maintbot_github_rate_limit_remaining", resource="core") == 12
    assert value(samples, "maintbot_github_rate_limit_limit", resource="core") == 5000
    assert value(samples, "maintbot_github_rate_limit_remaining", resource="search") == 29

    now[0] = 1_600.0  # installation 2's core window and the search window have reset
    samples = parse(render(usage.families()))
    assert value(samples, "maintbot_github_rate_limit_remaining", resource="core") == 4000
    assert value(samples, "maintbot_github_rate_limit_remaining", resource="search") is None


def test_metrics_are_off_unless_a_port_is_set_and_stay_on_loopback_without_a_token():
    assert not MetricsSettings.from_env({}).enabled
    on = MetricsSettings.from_env({"MAINTBOT_METRICS_PORT": "9101"})
    assert (on.enabled, on.port, on.host) == (True, 9101, "127.0.0.1")
    on.check()
    wide = MetricsSettings.from_env(
        {"MAINTBOT_METRICS_PORT": "9101", "MAINTBOT_METRICS_HOST": "0.0.0.0"}
    )
    with pytest.raises(UsageError, match="no token"):
        wide.check()
    token = "t" * 32
    guarded = MetricsSettings(port=9101, host="0.0.0.0", token=token)
    guarded.check()
    assert token not in repr(guarded)
    with pytest.raises(UsageError, match="under the minimum"):
        MetricsSettings(port=9101, token="short").check()
    with pytest.raises(UsageError, match="not a port"):
        MetricsSettings.from_env({"MAINTBOT_METRICS_PORT": "http"})


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.0.0.1", False),
     ("example.org", False)],
)  # fmt: skip
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_authorization_is_a_bearer_token_when_one_is_set():
    assert authorized(None, None)
    assert authorized("Bearer anything", None)
    assert authorized("Bearer " + "k" * 20, "k" * 20)
    assert authorized("bearer  " + "k" * 20, "k" * 20)
    assert not authorized(None, "k" * 20)
    assert not authorized("Bearer " + "k" * 19, "k" * 20)
    assert not authorized("Basic " + "k" * 20, "k" * 20)
    assert not authorized("Bearer é", "k" * 20)


# --- the store's figures ----------------------------------------------------------------------


def test_store_metrics_count_deliveries_and_jobs_and_time_them(store):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    payload = {"action": "opened", "repository": {"full_name": "secret-org/hidden-repo"},
               "issue": {"title": "private words in a title"}}  # fmt: skip
    with store.session() as session:
        for i, status in enumerate(["done", "done", "failed", "queued", "received"]):
            record_delivery(session, f"d-{i}", "issues", payload, received_at=start)
            if status != "received":
                mark_delivery(session, f"d-{i}", status, at=start + timedelta(seconds=i + 1))
            if status in ("done", "failed"):
                job = start_job(session, "webhook:issues.opened", repo="secret-org/hidden-repo",
                                delivery_id=f"d-{i}", at=start + timedelta(seconds=i))  # fmt: skip
                finish_job(session, job, error="boom" if status == "failed" else None,
                           at=start + timedelta(seconds=i + 0.5))  # fmt: skip
        record_delivery(session, "p-1", "ping", {"zen": "z"}, received_at=start)
    text = render(StoreMetrics(store).families())
    samples = parse(text)
    assert value(samples, "maintbot_store_up") == 1
    assert value(samples, "maintbot_deliveries", event="issues", status="done") == 2
    assert value(samples, "maintbot_deliveries", event="issues", status="failed") == 1
    assert value(samples, "maintbot_deliveries", event="issues", status="queued") == 1
    assert value(samples, "maintbot_deliveries", event="issues", status="received") == 1
    assert value(samples, "maintbot_deliveries", event="ping", status="received") == 1
    assert value(samples, "maintbot_jobs", status="done") == 2
    assert value(samples, "maintbot_jobs", status="failed") == 1
    assert value(samples, "maintbot_job_duration_seconds", quantile="0.5") == 0.5
    assert value(samples, "maintbot_job_duration_seconds_window") == 3
    # delivery latency: received at start, finished 1, 2 and 3 s later
    assert value(samples, "maintbot_delivery_latency_seconds", quantile="0.5") == 2
    assert value(samples, "maintbot_delivery_latency_seconds", quantile="0.99") == 3
    for private in ("secret-org", "hidden-repo", "private words", "d-1"):
        assert private not in text


def test_store_metrics_are_cached_between_scrapes_and_report_a_store_that_fails(tmp_path):
    path = tmp_path / "store.sqlite3"
    store = Store.open(f"sqlite:///{path}")
    now = [0.0]
    metrics = StoreMetrics(store, cache_s=5, clock=lambda: now[0])
    assert value(parse(render(metrics.families())), "maintbot_deliveries", event="ping",
                 status="received") is None  # fmt: skip
    with store.session() as session:
        record_delivery(session, "p-1", "ping", {"zen": "z"})
    now[0] = 4.0  # still cached
    assert value(parse(render(metrics.families())), "maintbot_deliveries", event="ping",
                 status="received") is None  # fmt: skip
    now[0] = 5.0
    assert value(parse(render(metrics.families())), "maintbot_deliveries", event="ping",
                 status="received") == 1  # fmt: skip
    store.close()
    path.unlink()
    path.mkdir()  # the file is gone, a folder stands in its way
    now[0] = 10.0
    assert parse(render(metrics.families())) == {("maintbot_store_up", frozenset()): 0}


# --- the listener, with the receiver --------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}") as opened:
        yield opened


def test_metrics_listener_counts_the_receivers_answers_and_exposes_nothing_private(
    sqlite_store, tmp_path, shared_dir
):
    queue = sqlite_queue(tmp_path)
    receiver_metrics = ReceiverMetrics()
    app = create_receiver(
        store=sqlite_store,
        queue=queue,
        router=triage_router(),
        secrets=[SECRET],
        metrics=receiver_metrics,
    )
    body = example(shared_dir, "issues/opened.json")
    settings = MetricsSettings(port=0)
    with ServedApp(app) as served:
        answers = [
            httpx.post(f"{served.url}/webhook", content=body,
                       headers=signed(body, "issues", "d-1"), timeout=10),
            httpx.post(f"{served.url}/webhook", content=body,
                       headers=signed(body, "issues", "d-1"), timeout=10),
            httpx.post(f"{served.url}/webhook", content=body,
                       headers=signed(body, "issues", "d-2", secret=b"forged-secret-xyz"),
                       timeout=10),
        ]  # fmt: skip
        server = start_metrics(
            settings, store=sqlite_store, queue=queue, receiver=receiver_metrics, api=ApiUsage()
        )
        assert server is not None
        try:
            scrape = httpx.get(server.url, timeout=10)
            elsewhere = httpx.get(server.url.replace("/metrics", "/"), timeout=10)
        finally:
            server.close()
    assert [a.status_code for a in answers] == [202, 200, 401]
    assert server.url.startswith("http://127.0.0.1:")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert elsewhere.status_code == 404
    samples = parse(scrape.text)
    assert value(samples, "maintbot_webhook_deliveries_total", event="issues",
                 outcome="accepted") == 1  # fmt: skip
    assert value(samples, "maintbot_webhook_deliveries_total", event="issues",
                 outcome="duplicate") == 1  # fmt: skip
    assert value(samples, "maintbot_webhook_deliveries_total", event="-", outcome="rejected") == 1
    assert value(samples, "maintbot_webhook_ack_seconds_count") == 2
    assert value(samples, "maintbot_webhook_unverified_bodies") == 0
    assert value(samples, "maintbot_deliveries", event="issues", status="queued") == 1
    assert value(samples, "maintbot_queue_depth", state="pending") == 1
    assert value(samples, "maintbot_queue_depth", state="scheduled") == 0
    full_name = json_field(body, "repository", "full_name")
    login = json_field(body, "sender", "login")
    for private in (SECRET.decode(), full_name, login, "d-1", "d-2"):
        assert private not in scrape.text


def json_field(body: bytes, outer: str, inner: str) -> str:
    import json

    return str(json.loads(body)[outer][inner])


def test_a_token_guards_the_listener(sqlite_store):
    token = "metrics-token-0123456789"
    server = MetricsServer(MetricsSettings(port=0, token=token), [ReceiverMetrics().families])
    with server:
        missing = httpx.get(server.url, timeout=10)
        wrong = httpx.get(server.url, headers={"Authorization": "Bearer nope"}, timeout=10)
        right = httpx.get(server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert token not in right.text
    assert "maintbot_webhook_deliveries_total" in right.text


def test_start_metrics_does_nothing_when_off_and_refuses_an_open_unguarded_address(sqlite_store):
    assert start_metrics(MetricsSettings(), store=sqlite_store) is None
    with pytest.raises(UsageError):
        start_metrics(MetricsSettings(port=0, host="0.0.0.0"), store=sqlite_store)
