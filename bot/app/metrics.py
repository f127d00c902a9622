"""``/metrics`` in Prometheus' text format, off by default, on its own loopback listener.

Why a listener of its own: the webhook port faces GitHub through a reverse proxy, and a proxy
on the same host makes every visitor look like 127.0.0.1 to the receiver, so "loopback only"
could not be judged per request there. The metrics port is bound to ``127.0.0.1`` unless the
operator names another address, which then needs a bearer token.

What is exported (names and meanings are in docs/app.md): counts only, labelled by event
name, outcome or status; never a payload, a secret, a login or a repository name.

- this process, cumulative: the receiver's answers by event and outcome, its ack-time
  histogram, the unverified bodies in flight; GitHub API calls and the rate limit left, when
  this process makes API calls and feeds :data:`API_USAGE`;
- the store and the queue, read at scrape time (at most every few seconds): deliveries by
  event and status, queue depth, jobs by status, and job and delivery latency quantiles
  over the most recent finished ones. Any process that can open the store reports the same.

The rendering and the quantiles are pure functions; the counters are thread-safe because the
receiver counts on its event loop while the server reads from its own thread.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from bot.errors import UsageError

if TYPE_CHECKING:
    from bot.app.queue import DeliveryQueue
    from bot.store.database import Store

log = logging.getLogger(__name__)

METRICS_PORT_ENV = "MAINTBOT_METRICS_PORT"
METRICS_HOST_ENV = "MAINTBOT_METRICS_HOST"
METRICS_TOKEN_ENV = "MAINTBOT_METRICS_TOKEN"
DEFAULT_METRICS_HOST = "127.0.0.1"
#: A metrics token guards operational data only, but a short one is still guessed.
MIN_METRICS_TOKEN_LENGTH = 16

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Ack times: GitHub gives up after 10 s; the goal is well under 50 ms.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Label sets one counter keeps before folding the rest into ``other`` (bounded memory).
MAX_SERIES = 200
#: Finished jobs and deliveries the latency quantiles are computed over (a bounded query).
LATENCY_WINDOW = 1000
QUANTILES = (0.5, 0.9, 0.99)
#: Store queries are reused this long, so frequent scrapes cost the store little.
STORE_CACHE_S = 5.0


# --- the text format (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One line: ``name{labels} value``."""

    name: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Family:
    """One metric: its ``# HELP`` and ``# TYPE`` lines and its samples."""

    name: str
    kind: str  # counter, gauge, histogram
    help: str
    samples: tuple[Sample, ...] = ()


def render(families: Iterable[Family]) -> str:
    """Prometheus text exposition format 0.0.4 for ``families``, in the order given."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for sample in family.samples:
            labels = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sample.labels)
            lines.append(
                f"{sample.name}{{{labels}}} {format_value(sample.value)}"
                if labels
                else f"{sample.name} {format_value(sample.value)}"
            )
    return "\n".join(lines) + "\n"


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it: integers plainly, ``+Inf``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def quantiles(values: Sequence[float], qs: Sequence[float] = QUANTILES) -> dict[float, float]:
    """Nearest-rank quantiles of ``values`` (empty when there are none)."""
    if not values:
        return {}
    ordered = sorted(values)
    n = len(ordered)
    return {q: ordered[min(n - 1, max(0, math.ceil(q * n) - 1))] for q in qs}


# --- in-process instruments -----------------------------------------------------------------


class Counter:
    """A counter with labels; past :data:`MAX_SERIES` label sets new ones count as ``other``.

    The cap matters with ``--insecure-no-secret``, where event names come from anyone.
    """

    def __init__(
        self, name: str, help: str, labelnames: Sequence[str], max_series: int = MAX_SERIES
    ) -> None:
        self.name, self.help, self.labelnames = name, help, tuple(labelnames)
        self.max_series = max_series
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, *labelvalues: str, amount: float = 1.0) -> None:
        key = tuple(labelvalues)
        with self._lock:
            if key not in self._values and len(self._values) >= self.max_series:
                key = tuple("other" for _ in self.labelnames)
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labelvalues: str) -> float:
        with self._lock:
            return self._values.get(tuple(labelvalues), 0.0)

    def family(self) -> Family:
        with self._lock:
            items = sorted(self._values.items())
        return Family(
            self.name,
            "counter",
            self.help,
            tuple(
                Sample(self.name, v, tuple(zip(self.labelnames, k, strict=True))) for k, v in items
            ),
        )


class Histogram:
    """A cumulative histogram without labels (Prometheus' ``_bucket``, ``_sum``, ``_count``)."""

    def __init__(self, name: str, help: str, buckets: Sequence[float] = ACK_BUCKETS) -> None:
        self.name, self.help = name, help
        self.buckets = tuple(sorted(buckets))
        self._counts = [0] * len(self.buckets)
        self._sum = 0.0
        self._count = 0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    self._counts[i] += 1
            self._sum += value
            self._count += 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def family(self) -> Family:
        with self._lock:
            counts, total, count = list(self._counts), self._sum, self._count
        samples = [
            Sample(f"{self.name}_bucket", c, (("le", format_value(b)),))
            for b, c in zip(self.buckets, counts, strict=True)
        ]
        samples.append(Sample(f"{self.name}_bucket", count, (("le", "+Inf"),)))
        samples.append(Sample(f"{self.name}_sum", total))
        samples.append(Sample(f"{self.name}_count", count))
        return Family(self.name, "histogram", self.help, tuple(samples))


class ReceiverMetrics:
    """What the receiver counts: answers by event and outcome, ack time, unverified bodies."""

    def __init__(self) -> None:
        self.deliveries = Counter(
            "maintbot_webhook_deliveries_total",
            "Webhook requests answered by this process, by event and outcome (accepted, "
            "duplicate, ignored, rejected, deferred, busy). The event is '-' when no signed "
            "event name was read.",
            ("event", "outcome"),
        )
        self.ack = Histogram(
            "maintbot_webhook_ack_seconds",
            "Seconds from the start of a webhook request to its answer (verify, store, queue).",
        )
        #: ``() -> (bodies, bytes)`` of unverified bodies in flight, set by the receiver.
        self.in_flight: Callable[[], tuple[int, int]] | None = None

    def families(self) -> list[Family]:
        families = [self.deliveries.family(), self.ack.family()]
        if self.in_flight is not None:
            bodies, size = self.in_flight()
            families.append(
                Family(
                    "maintbot_webhook_unverified_bodies",
                    "gauge",
                    "Request bodies being read whose signature is not checked yet.",
                    (Sample("maintbot_webhook_unverified_bodies", bodies),),
                )
            )
            families.append(
                Family(
                    "maintbot_webhook_unverified_bytes",
                    "gauge",
                    "Bytes reserved for request bodies whose signature is not checked yet.",
                    (Sample("maintbot_webhook_unverified_bytes", size),),
                )
            )
        return families


@dataclass
class _Limit:
    remaining: int
    limit: int | None
    reset: float | None


class ApiUsage:
    """GitHub API calls and the rate limit left, from the responses this process saw.

    Feed it each response's status and headers (:meth:`observe`); ``key`` tells installations
    apart, so the exported ``remaining`` is the lowest among them, the one that runs out
    first. A value whose reset time has passed is dropped.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.calls = Counter(
            "maintbot_github_api_requests_total",
            "GitHub API responses this process received, by status class (2xx, 3xx, 4xx, 5xx).",
            ("status",),
        )
        self._limits: dict[tuple[str, str], _Limit] = {}
        self._lock = threading.Lock()

    def observe(self, status: int, headers: Mapping[str, str], *, key: object = "") -> None:
        self.calls.inc(f"{status // 100}xx" if 100 <= status <= 599 else "other")
        lower = {k.lower(): v for k, v in headers.items()}
        remaining = _int_or_none(lower.get("x-ratelimit-remaining"))
        if remaining is None:
            return
        resource = (lower.get("x-ratelimit-resource") or "core")[:40]
        limit = _Limit(
            remaining,
            _int_or_none(lower.get("x-ratelimit-limit")),
            _int_or_none(lower.get("x-ratelimit-reset")),
        )
        with self._lock:
            if len(self._limits) < 10_000 or (resource, str(key)) in self._limits:
                self._limits[(resource, str(key))] = limit

    def families(self) -> list[Family]:
        now = self.clock()
        lowest: dict[str, _Limit] = {}
        with self._lock:
            for (resource, key), limit in list(self._limits.items()):
                if limit.reset is not None and limit.reset <= now:
                    del self._limits[(resource, key)]
                    continue
                if resource not in lowest or limit.remaining < lowest[resource].remaining:
                    lowest[resource] = limit
        remaining = tuple(
            Sample("maintbot_github_rate_limit_remaining", v.remaining, (("resource", r),))
            for r, v in sorted(lowest.items())
        )
        limits = tuple(
            Sample("maintbot_github_rate_limit_limit", v.limit, (("resource", r),))
            for r, v in sorted(lowest.items())
            if v.limit is not None
        )
        resets = tuple(
            Sample(
                "maintbot_github_rate_limit_reset_timestamp_seconds", v.reset, (("resource", r),)
            )
            for r, v in sorted(lowest.items())
            if v.reset is not None
        )
        return [
            self.calls.family(),
            Family(
                "maintbot_github_rate_limit_remaining",
                "gauge",
                "Requests left in the current rate-limit window, the lowest among the "
                "installations this process used (x-ratelimit-remaining).",
                remaining,
            ),
            Family(
                "maintbot_github_rate_limit_limit",
                "gauge",
                "The size of that window (x-ratelimit-limit).",
                limits,
            ),
            Family(
                "maintbot_github_rate_limit_reset_timestamp_seconds",
                "gauge",
                "When that window resets, in Unix seconds (x-ratelimit-reset).",
                resets,
            ),
        ]


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


#: The process-wide instruments: the receiver counts into the first, GitHub calls into the second.
RECEIVER = ReceiverMetrics()
API_USAGE = ApiUsage()


# --- the store and the queue, read at scrape time -------------------------------------------


class StoreMetrics:
    """Deliveries, jobs and latencies from the store, queue depth from the queue.

    Read when scraped, at most every :data:`STORE_CACHE_S` seconds; a store that fails gives
    ``maintbot_store_up 0`` and nothing else from it (the scrape itself still answers).
    """

    def __init__(
        self,
        store: Store,
        queue: DeliveryQueue | None = None,
        *,
        cache_s: float = STORE_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.queue, self.cache_s, self.clock = store, queue, cache_s, clock
        self._cached: tuple[float, list[Family]] | None = None
        self._lock = threading.Lock()

    def families(self) -> list[Family]:
        with self._lock:
            now = self.clock()
            if self._cached is not None and now - self._cached[0] < self.cache_s:
                return self._cached[1]
            families = self._read()
            self._cached = (now, families)
            return families

    def _read(self) -> list[Family]:
        try:
            counts, jobs, job_durations, latencies = _store_counts(self.store)
        except Exception as exc:  # a scrape must answer even when the store does not
            log.warning("metrics: the store failed: %s", type(exc).__name__)
            return [_store_up(0)]
        families = [
            _store_up(1),
            Family(
                "maintbot_deliveries",
                "gauge",
                "Webhook deliveries in the store, by event and status (received, queued, done, "
                "failed). received + queued is the backlog.",
                tuple(
                    Sample("maintbot_deliveries", n, (("event", e), ("status", s)))
                    for (e, s), n in sorted(counts.items())
                ),
            ),
            Family(
                "maintbot_jobs",
                "gauge",
                "Jobs (handler runs) in the store, by status.",
                tuple(
                    Sample("maintbot_jobs", n, (("status", s),)) for s, n in sorted(jobs.items())
                ),
            ),
            *_quantile_families(
                "maintbot_job_duration_seconds",
                "Job run time (started to finished) over the most recent "
                f"{LATENCY_WINDOW} finished jobs.",
                job_durations,
            ),
            *_quantile_families(
                "maintbot_delivery_latency_seconds",
                "Time from a delivery's receipt to its end (queue wait plus work) over the "
                f"most recent {LATENCY_WINDOW} finished deliveries.",
                latencies,
            ),
        ]
        if self.queue is not None:
            families.append(_queue_depth(self.queue))
        return families


def _store_up(value: int) -> Family:
    return Family(
        "maintbot_store_up",
        "gauge",
        "1 when the store answered the last metrics query, else 0.",
        (Sample("maintbot_store_up", value),),
    )


def _quantile_families(name: str, help: str, values: Sequence[float]) -> list[Family]:
    """Quantiles over a recent window, as gauges: not a Prometheus summary, whose count and
    sum would have to be cumulative over the process's life."""
    samples = tuple(
        Sample(name, v, (("quantile", format_value(q)),)) for q, v in quantiles(values).items()
    )
    return [
        Family(name, "gauge", help + " Recomputed at each scrape.", samples),
        Family(
            f"{name}_window",
            "gauge",
            f"How many values {name} was computed over.",
            (Sample(f"{name}_window", len(values)),),
        ),
    ]


def _queue_depth(queue: DeliveryQueue) -> Family:
    samples = []
    for state, count in (
        ("pending", queue.huey.pending_count),
        ("scheduled", queue.huey.scheduled_count),
    ):
        try:
            samples.append(Sample("maintbot_queue_depth", count(), (("state", state),)))
        except Exception as exc:
            log.warning("metrics: the queue failed: %s", type(exc).__name__)
    return Family(
        "maintbot_queue_depth",
        "gauge",
        "Tasks in the queue: pending (ready to run) and scheduled (waiting for a retry time).",
        tuple(samples),
    )


def _store_counts(
    store: Store,
) -> tuple[dict[tuple[str, str], int], dict[str, int], list[float], list[float]]:
    from sqlalchemy import func, select

    from bot.store.models import Job, WebhookDelivery

    with store.reading() as session:
        rows = session.execute(
            select(WebhookDelivery.event, WebhookDelivery.status, func.count()).group_by(
                WebhookDelivery.event, WebhookDelivery.status
            )
        ).all()
        counts = {(str(e), _status_text(s)): int(n) for e, s, n in rows}
        job_rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        jobs = {_status_text(s): int(n) for s, n in job_rows}
        recent_jobs = session.execute(
            select(Job.started_at, Job.finished_at)
            .where(Job.finished_at.is_not(None))
            .order_by(Job.id.desc())
            .limit(LATENCY_WINDOW)
        ).all()
        recent_deliveries = session.execute(
            select(WebhookDelivery.received_at, WebhookDelivery.finished_at)
            .where(WebhookDelivery.finished_at.is_not(None))
            .order_by(WebhookDelivery.finished_at.desc())
            .limit(LATENCY_WINDOW)
        ).all()
    durations = [max(0.0, (f - s).total_seconds()) for s, f in recent_jobs if s and f]
    latencies = [max(0.0, (f - r).total_seconds()) for r, f in recent_deliveries if r and f]
    return counts, jobs, durations, latencies


def _status_text(status: Any) -> str:
    return str(getattr(status, "value", status))


# --- the listener ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricsSettings:
    """Where ``/metrics`` listens, if anywhere: off unless a port is given."""

    port: int | None = None
    host: str = DEFAULT_METRICS_HOST
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MetricsSettings:
        env = os.environ if env is None else env
        port_text = (env.get(METRICS_PORT_ENV) or "").strip()
        if port_text and not (port_text.isdigit() and 0 <= int(port_text) <= 65535):
            raise UsageError(
                f"{METRICS_PORT_ENV}={port_text!r} is not a port number",
                hint=f"set {METRICS_PORT_ENV} to a port such as 9101, or leave it unset to "
                "keep /metrics off",
            )
        return cls(
            port=int(port_text) if port_text else None,
            host=(env.get(METRICS_HOST_ENV) or "").strip() or DEFAULT_METRICS_HOST,
            token=(env.get(METRICS_TOKEN_ENV) or "").strip() or None,
        )

    @property
    def enabled(self) -> bool:
        return self.port is not None

    def check(self) -> None:
        """A listener off loopback needs a token; a token needs some length."""
        if self.token is not None and len(self.token) < MIN_METRICS_TOKEN_LENGTH:
            raise UsageError(
                f"{METRICS_TOKEN_ENV} has {len(self.token)} characters, under the minimum of "
                f"{MIN_METRICS_TOKEN_LENGTH}",
                hint='make one with python -c "import secrets; print(secrets.token_hex(32))"',
            )
        if self.enabled and not is_loopback(self.host) and self.token is None:
            raise UsageError(
                f"/metrics would listen on {self.host}, beyond this machine, with no token",
                hint=f"keep {METRICS_HOST_ENV} at 127.0.0.1, or set {METRICS_TOKEN_ENV} and "
                "give Prometheus the same token (authorization: credentials)",
            )


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def authorized(header: str | None, token: str | None) -> bool:
    """True when no token is required, or ``header`` is ``Bearer <token>`` (constant time)."""
    if token is None:
        return True
    if not header:
        return False
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


Collector = Callable[[], Iterable[Family]]


class MetricsServer:
    """``GET /metrics`` on its own port, in a daemon thread; :meth:`close` stops it."""

    def __init__(self, settings: MetricsSettings, collectors: Sequence[Collector]) -> None:
        settings.check()
        if settings.port is None:
            raise UsageError("metrics are off: no port given", hint=f"set {METRICS_PORT_ENV}")
        self.settings = settings
        self.collectors = list(collectors)
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "maintbot"
            sys_version = ""

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?", 1)[0] != "/metrics":
                    self._send(404, b"not found\n", "text/plain; charset=utf-8")
                    return
                if not authorized(self.headers.get("Authorization"), settings.token):
                    self._send(401, b"unauthorized\n", "text/plain; charset=utf-8")
                    return
                self._send(200, server.render().encode("utf-8"), CONTENT_TYPE)

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Bearer realm="maintbot metrics"')
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # scrapes every few seconds would flood the log

        self._httpd = ThreadingHTTPServer((settings.host, settings.port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="maintbot-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self.settings.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/metrics"

    def render(self) -> str:
        families: list[Family] = []
        for collect in self.collectors:
            try:
                families.extend(collect())
            except Exception as exc:  # one broken source must not hide the others
                log.warning("metrics: a collector failed: %s", type(exc).__name__)
        return render(families)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_metrics(
    settings: MetricsSettings,
    *,
    store: Store | None = None,
    queue: DeliveryQueue | None = None,
    receiver: ReceiverMetrics | None = RECEIVER,
    api: ApiUsage | None = API_USAGE,
) -> MetricsServer | None:
    """Starts the listener when ``settings`` enable it, else None; ``maintbot serve`` calls it."""
    if not settings.enabled:
        settings.check()
        return None
    collectors: list[Collector] = []
    if receiver is not None:
        collectors.append(receiver.families)
    if store is not None:
        collectors.append(StoreMetrics(store, queue).families)
    if api is not None:
        collectors.append(api.families)
    server = MetricsServer(settings, collectors).start()
    log.info("metrics at %s", server.url)
    return server
