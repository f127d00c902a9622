"""The App under load and faults (#26): a bounded, loopback-only benchmark of ``maintbot serve``.

It starts the sandbox GitHub with an App installed (in this process, on 127.0.0.1), then
``maintbot serve`` (a receiver process and its worker processes, SQLite store and queue in a
temporary directory), and sends signed ``issues.opened`` deliveries built from GitHub's real
example payload (``../shared/github/webhooks/issues/opened.json``). The real handlers run
(the built-in triage model and the others registered for a new issue). Four phases:

1. bursts: B bursts of 5 simultaneous copies of one delivery -> each handled once (job rows,
   and the sandbox's log of label and comment writes per issue); ack latency; API calls per
   event from the sandbox's request log.
2. quota: N deliveries against a quota of Q requests per window (the sandbox's rate-limit
   clock with a short window standing for GitHub's hour) -> all ``done``, none ``failed``.
   The default (60 deliveries, 200 per 10 s) needs several windows at ~9 calls per event.
3. kill: K deliveries while the worker process is SIGKILLed twice -> no job row left
   ``running``, no attempt with two rows, no duplicate prediction.
4. ack: fresh deliveries open-loop at ``--rate`` per second for ``--seconds`` while the
   worker process handles them -> ack p50/p90/p99 with workers busy on the same machine.

``--store postgresql`` and ``--queue redis`` run every phase on the scale-out layout instead
(a private PostgreSQL server and ``redis-server`` on loopback, started and stopped here).

It stops by itself and prints the figures (and ``--json`` them). Default sizes keep a run
under ~4 minutes; ``--full`` uses the issue's sizes (150 bursts, 6,000 deliveries against
5,000 per window of 60 s, 200 kill-phase deliveries), which takes about 25 minutes here.
``--phase`` runs some phases only; ``--quota-n`` and the like change one size.

    python benchmarks/app_load.py [--full] [--phase ack] [--workers N] [--worker-processes P]
        [--store sqlite|postgresql] [--queue file|redis] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.app.settings import DEFAULT_WORKER_THREADS  # noqa: E402
from bot.sandbox.server import Sandbox  # noqa: E402
from bot.store.database import Store  # noqa: E402
from bot.store.models import DeliveryStatus, Job, JobStatus, Prediction, WebhookDelivery  # noqa: E402

SHARED = Path(os.environ.get("MAINTBOT_SHARED_DIR", ROOT.parent / "shared"))
REPO = "octo/widgets"
SECRET = "benchmark-secret-0123456789abcdef"
LABELS = "POST /repos/{owner}/{repo}/issues/{issue_number}/labels"
COMMENTS = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
SERVE = (
    "import sys\n"
    "from bot.app.cli import serve\n"
    "from bot.settings import Settings, configure_logging\n"
    "configure_logging(0)\n"
    "serve.main(sys.argv[2:], obj=Settings(api_url=sys.argv[1]), prog_name='maintbot')\n"
)
TITLES = [
    ("Crash when loading the model", "Traceback (most recent call last):\nIndexError"),
    ("Add support for fp16 export", "It would be nice to export models in half precision."),
    ("How do I set the learning rate?", "I could not find it in the docs."),
    ("Typo in the README", "The install section says pip instal."),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    found: list[int] = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in path.read_text().split()]
    return found


class Backends:
    """Where every run keeps its state: SQLite files in its folder (the default), or the
    scale-out layout (``--store postgresql``, ``--queue redis``): a private PostgreSQL server
    and a private ``redis-server`` on loopback, started once, a fresh database per run."""

    def __init__(self, store: str = "sqlite", queue: str = "file") -> None:
        self.store, self.queue = store, queue
        self.postgres: Any = None
        self.redis: subprocess.Popen[bytes] | None = None
        self.redis_url = ""
        self.databases = 0

    def start(self, work: Path) -> None:
        if self.store == "postgresql":
            from tests.fixtures.databases import PrivatePostgres, find_postgres_bin_dir

            bin_dir = find_postgres_bin_dir()
            if bin_dir is None:
                raise SystemExit(
                    "--store postgresql: no initdb/pg_ctl found (apt-get install postgresql)"
                )
            self.postgres = PrivatePostgres(bin_dir)
            self.postgres.start()
        if self.queue == "redis":
            from tests.fixtures.databases import start_private_redis

            exe = shutil.which("redis-server")
            if exe is None:
                raise SystemExit(
                    "--queue redis: no redis-server found (apt-get install redis-server)"
                )
            folder = work / "redis"
            folder.mkdir(parents=True, exist_ok=True)
            try:
                self.redis, self.redis_url = start_private_redis(exe, folder, append_only=True)
            except RuntimeError as exc:
                raise SystemExit(str(exc)) from None

    def environment(self, work: Path) -> dict[str, str]:
        """The store and queue variables for one run: a new database, an empty queue."""
        env = {}
        if self.postgres is not None:
            import psycopg

            self.databases += 1
            name = f"maintbot_bench_{self.databases}"
            admin = self.postgres.url.set(drivername="postgresql")
            with psycopg.connect(
                admin.render_as_string(hide_password=False), autocommit=True
            ) as db:
                db.execute(f'CREATE DATABASE "{name}"')
            env["MAINTBOT_DATABASE_URL"] = admin.set(database=name).render_as_string(
                hide_password=False
            )
        else:
            env["MAINTBOT_DATABASE_URL"] = f"sqlite:///{work / 'store.sqlite3'}"
        if self.redis is not None:
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()
            env["MAINTBOT_REDIS_URL"] = self.redis_url
        else:
            env["MAINTBOT_QUEUE_FILE"] = str(work / "queue.sqlite3")
        return env

    def describe(self) -> str:
        store = "PostgreSQL" if self.postgres is not None else "SQLite file"
        return f"store: {store}, queue: {'Redis' if self.redis is not None else 'SQLite file'}"

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(timeout=30)
        if self.postgres is not None:
            self.postgres.stop()


class Run:
    """One sandbox and one ``maintbot serve`` with its own store, for one phase."""

    def __init__(
        self,
        work: Path,
        *,
        quota: int,
        window: int | None,
        workers: int,
        backends: Backends | None = None,
        worker_processes: int = 1,
    ) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.sb = Sandbox(
            app_id=4242, app_public_key_pem=public, rate_limit=quota, rate_limit_window=window
        )
        state = self.sb.state
        state.add_user("octo", type="Organization")
        state.add_repo(REPO, description="benchmark", collaborators=["maintainer"])
        for name in ("bug", "enhancement", "question", "documentation"):
            state.add_label(REPO, name)
        self.sb.start()
        self.installation = state.add_installation(account="octo")["id"]
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        (work / "app.pem").write_text(private)
        state_env = (backends or Backends()).environment(work)
        self.database_url = state_env["MAINTBOT_DATABASE_URL"]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "MAINTBOT_WEBHOOK_SECRET": SECRET,
            "MAINTBOT_APP_ID": "4242",
            "MAINTBOT_APP_PRIVATE_KEY_FILE": str(work / "app.pem"),
            **state_env,
            "MAINTBOT_LEASE_SECONDS": "3",
            "MAINTBOT_RETRY_DELAY": "2",
            "MAINTBOT_SECONDS_BETWEEN_WRITES": "0",
            "PYTHONPATH": str(ROOT),
        }
        self.workers = workers
        self.worker_processes = worker_processes
        self.serve: subprocess.Popen[bytes] | None = None
        self.base = json.loads((SHARED / "github/webhooks/issues/opened.json").read_text())

    def start(self) -> None:
        command = [sys.executable, "-c", SERVE, self.sb.base_url, "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        command += ["--worker-processes", str(self.worker_processes)]
        self.log = open(self.work / "serve.log", "wb")  # noqa: SIM115 - closed in stop()
        self.serve = subprocess.Popen(command, env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.serve.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("maintbot serve did not start:\n" + self.log_text())
            time.sleep(0.1)

    def log_text(self) -> str:
        return (self.work / "serve.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.serve is not None and self.serve.poll() is None:
            self.serve.send_signal(signal.SIGTERM)
            try:
                self.serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.serve.kill()
        self.sb.stop()

    def issues(self, count: int) -> list[int]:
        numbers = []
        for n in range(count):
            title, body = TITLES[n % len(TITLES)]
            issue = self.sb.state.add_issue(REPO, title=f"{title} ({n})", body=body, user="dave")
            numbers.append(issue["number"])
        return numbers

    def delivery(self, number: int, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        payload = json.loads(json.dumps(self.base))
        payload["repository"].update(full_name=REPO, name="widgets")
        payload["repository"]["owner"]["login"] = "octo"
        payload["issue"].update(number=number, labels=[])
        title, body = TITLES[number % len(TITLES)]
        payload["issue"].update(title=title, body=body)
        payload["installation"] = {"id": self.installation}
        raw = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": delivery_id,
            "X-Hub-Signature-256": signature,
        }
        return raw, headers

    def rows(self) -> list[WebhookDelivery]:
        with Store.open(self.database_url) as store, store.session() as session:
            return list(session.query(WebhookDelivery))

    def wait_finished(self, count: int, timeout_s: float) -> float:
        started = last_report = time.monotonic()
        while time.monotonic() - started < timeout_s:
            by_status, deferrals = self.tally()
            finished = by_status.get("done", 0) + by_status.get("failed", 0)
            if sum(by_status.values()) >= count and finished == sum(by_status.values()):
                break
            if time.monotonic() - last_report >= 15:
                last_report = time.monotonic()
                print(
                    f"  {last_report - started:6.0f} s: {by_status}, {deferrals} deferrals",
                    flush=True,
                )
            time.sleep(1.0)
        return time.monotonic() - started

    def tally(self) -> tuple[dict[str, int], int]:
        """Deliveries per status and deferrals, counted by the database (no payload read:
        polling 6,000 whole rows took CPU from the workers it watches)."""
        status, deferrals = WebhookDelivery.status, WebhookDelivery.deferrals
        with Store.open(self.database_url) as store, store.reading() as session:
            rows = session.execute(
                select(status, func.count(), func.sum(deferrals)).group_by(status)
            ).all()
        return {s.value: int(n) for s, n, _ in rows}, sum(int(d or 0) for *_, d in rows)

    def jobs_and_predictions(self) -> tuple[list[Job], list[Prediction]]:
        with Store.open(self.database_url) as store, store.session() as session:
            return list(session.query(Job)), list(session.query(Prediction))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def writes(sb: Sandbox, route: str) -> Counter[str]:
    return Counter(
        r.path.rsplit("/", 2)[-2]
        for r in sb.requests
        if r.route == route and r.status < 400 and r.fault in (None, "timeout")
    )


def outcome(run: Run) -> dict[str, Any]:
    rows = run.rows()
    jobs, predictions = run.jobs_and_predictions()
    per_attempt = Counter((j.delivery_id, j.attempt) for j in jobs)
    per_issue = Counter((p.repo, p.issue_number) for p in predictions)
    return {
        "deliveries": len(rows),
        "done": sum(r.status is DeliveryStatus.DONE for r in rows),
        "failed": sum(r.status is DeliveryStatus.FAILED for r in rows),
        "unfinished": sum(
            r.status not in (DeliveryStatus.DONE, DeliveryStatus.FAILED) for r in rows
        ),
        "attempts_max": max((r.attempts for r in rows), default=0),
        "deferrals": sum(r.deferrals for r in rows),
        "lost_leases": sum(r.lost_leases for r in rows),
        "job_rows": len(jobs),
        "jobs_running": sum(j.status is JobStatus.RUNNING for j in jobs),
        "attempts_with_two_job_rows": sum(1 for v in per_attempt.values() if v > 1),
        "issues_with_two_predictions": sum(1 for v in per_issue.values() if v > 1),
        # Label POSTs per issue: more than one is several handlers adding different labels
        # (the type, needs-info, possible-duplicate), so the figure is shown, not judged.
        "label_posts_per_issue": dict(sorted(Counter(writes(run.sb, LABELS).values()).items())),
        "issues_commented_twice": sum(1 for v in writes(run.sb, COMMENTS).values() if v > 1),
        "errors": sorted(
            {(r.last_error or "")[:160] for r in rows if r.status is DeliveryStatus.FAILED}
        )[:5],
    }


def phase_bursts(
    work: Path, bursts: int, workers: int, backends: Backends | None = None
) -> dict[str, Any]:
    run = Run(work, quota=1_000_000, window=None, workers=workers, backends=backends)
    try:
        run.start()
        numbers = run.issues(bursts)
        run.sb.clear_requests()
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        with httpx.Client(base_url=run.url, timeout=30) as client:

            def post(raw: bytes, headers: dict[str, str], barrier: threading.Barrier) -> None:
                barrier.wait()
                began = time.perf_counter()
                answer = client.post("/webhook", content=raw, headers=headers)
                with lock:
                    latencies.append(time.perf_counter() - began)
                    statuses[answer.status_code] += 1

            began = time.monotonic()
            with ThreadPoolExecutor(5) as pool:
                for number in numbers:
                    raw, headers = run.delivery(number, f"burst-{number}")
                    barrier = threading.Barrier(5)
                    for future in [pool.submit(post, raw, headers, barrier) for _ in range(5)]:
                        future.result()
            sent_s = time.monotonic() - began
        drained_s = run.wait_finished(bursts, timeout_s=600)
        result = outcome(run)
        calls = [r for r in run.sb.requests if not r.route.startswith("POST /app/")]
        by_route = Counter(r.route for r in calls)
        result.update(
            bursts=bursts,
            copies=5 * bursts,
            answers=dict(statuses),
            ack_p50_ms=round(1000 * statistics.median(latencies), 1),
            ack_p99_ms=round(1000 * percentile(latencies, 0.99), 1),
            send_s=round(sent_s, 1),
            drain_s=round(drained_s, 1),
            deliveries_per_s=round(bursts / max(drained_s, 1e-9), 1),
            api_calls_per_event=round(len(calls) / max(bursts, 1), 2),
            api_calls_by_route={k: round(v / bursts, 2) for k, v in by_route.most_common()},
        )
        return result
    finally:
        run.stop()


def phase_quota(
    work: Path,
    count: int,
    quota: int,
    window: int,
    workers: int,
    backends: Backends | None = None,
) -> dict[str, Any]:
    run = Run(work, quota=quota, window=window, workers=workers, backends=backends)
    try:
        run.start()
        numbers = run.issues(count)
        began = time.monotonic()
        with httpx.Client(base_url=run.url, timeout=30) as client:
            for number in numbers:
                raw, headers = run.delivery(number, f"quota-{number}")
                client.post("/webhook", content=raw, headers=headers)
        # at most ~20 calls per event: twice the windows the quota needs, at the least
        elapsed = run.wait_finished(count, timeout_s=max(600, 2 * window * count * 20 / quota))
        result = outcome(run)
        result.update(
            quota=quota,
            window_s=window,
            refused_403=sum(1 for r in run.sb.requests if r.status == 403),
            seconds=round(time.monotonic() - began, 1),
            drain_s=round(elapsed, 1),
        )
        return result
    finally:
        run.stop()


def phase_ack(
    work: Path,
    rate: float,
    seconds: float,
    workers: int,
    backends: Backends | None = None,
    *,
    warm: bool = True,
    worker_processes: int = 1,
) -> dict[str, Any]:
    """Open-loop ``issues.opened`` deliveries at ``rate`` per second for ``seconds`` to the
    whole ``serve`` (receiver, and a worker process handling them meanwhile against the
    sandbox): the ack latency GitHub sees while the workers work on the same machine.

    ``warm``: one delivery is handled first, as in a running App (the model loaded, the
    repository's duplicate index harvested); otherwise the load meets that first harvest of
    every issue, the heaviest write the worker makes."""
    import base64

    run = Run(
        work,
        quota=1_000_000,
        window=None,
        workers=workers,
        backends=backends,
        worker_processes=worker_processes,
    )
    try:
        run.start()
        count = int(rate) + int(rate * seconds)  # as the sender sends: 1 s of warm-up first
        numbers = run.issues(count + 1)
        if warm:
            with httpx.Client(base_url=run.url, timeout=30) as client:
                raw, headers = run.delivery(numbers[-1], "ack-warm")
                client.post("/webhook", content=raw, headers=headers)
            run.wait_finished(1, timeout_s=300)
        numbers = numbers[:-1]
        bodies = work / "bodies.jsonl"
        with bodies.open("w") as out:
            for n in numbers:
                raw = run.delivery(n, f"ack-{n}")[0]
                out.write(json.dumps(["issues", base64.b64encode(raw).decode()]) + "\n")
        # The load comes from its own process: in this one, the sandbox answering the
        # worker's API calls would hold the client's event loop back (the GIL), and the
        # client's own delays would be counted as the receiver's.
        command = [sys.executable, "-m", "benchmarks.receiver_ack", "--send", run.url]
        command += [str(bodies), "--rate", str(rate), "--seconds", str(seconds)]
        sender = subprocess.run(
            command,
            cwd=ROOT,
            env={**os.environ, "RECEIVER_ACK_SECRET": SECRET},
            capture_output=True,
            text=True,
            timeout=seconds + 180,
        )
        if sender.returncode != 0:
            raise SystemExit(f"the load process failed:\n{sender.stderr[-2000:]}")
        figures = json.loads(sender.stdout.strip().splitlines()[-1])
        by_status, _ = run.tally()
        figures.update(
            warm=warm,
            done_when_sent=by_status.get("done", 0),
            workers_per_process=workers,
            worker_processes=worker_processes,
        )
        drained = run.wait_finished(count + warm, timeout_s=300)
        figures.update(outcome(run), drain_s=round(drained, 1))
        return figures
    finally:
        run.stop()


def phase_kill(
    work: Path, count: int, workers: int, backends: Backends | None = None
) -> dict[str, Any]:
    run = Run(work, quota=1_000_000, window=None, workers=workers, backends=backends)
    try:
        run.start()
        assert run.serve is not None
        numbers = run.issues(count)
        with httpx.Client(base_url=run.url, timeout=30) as client:
            for number in numbers:
                raw, headers = run.delivery(number, f"kill-{number}")
                client.post("/webhook", content=raw, headers=headers)
        killed = 0
        for least in (count // 8, count // 4):
            deadline = time.monotonic() + 300
            while sum(r.status is DeliveryStatus.DONE for r in run.rows()) < least:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            while not children(run.serve.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            for pid in children(run.serve.pid):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        drained = run.wait_finished(count, timeout_s=600)
        result = outcome(run)
        result.update(sigkills=killed, drain_s=round(drained, 1))
        return result
    finally:
        run.stop()


PHASES = ("bursts", "quota", "kill", "ack")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (long)")
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKER_THREADS,
        help="threads per worker process (default: serve's)",
    )
    parser.add_argument(
        "--worker-processes", type=int, default=1, help="ack phase: worker processes"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--phase",
        action="append",
        choices=PHASES,
        help="run only this phase (repeatable; default: all three)",
    )
    parser.add_argument("--rate", type=float, default=200.0, help="ack phase: requests/s")
    parser.add_argument("--seconds", type=float, default=15.0, help="ack phase: seconds")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the store: a SQLite file (default) or a private PostgreSQL server",
    )
    parser.add_argument(
        "--queue",
        choices=("file", "redis"),
        default="file",
        help="the queue: the SQLite queue file (default) or a private redis-server",
    )
    for name in ("bursts", "quota_n", "quota", "window", "kill_n"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, help=f"override {name}")
    args = parser.parse_args()
    sizes = (
        {"bursts": 150, "quota_n": 6000, "quota": 5000, "window": 60, "kill_n": 200}
        if args.full
        else {"bursts": 30, "quota_n": 60, "quota": 200, "window": 10, "kill_n": 40}
    )
    sizes.update({k: getattr(args, k) for k in sizes if getattr(args, k) is not None})
    phases = args.phase or list(PHASES)
    figures: dict[str, Any] = {"sizes": sizes, "cpus": os.cpu_count()}
    backends = Backends(args.store, args.queue)
    with tempfile.TemporaryDirectory(prefix="maintbot-load-") as tmp:
        work = Path(tmp)
        backends.start(work)
        figures["backends"] = backends.describe()
        try:
            figures.update(run_phases(work, phases, sizes, args, backends))
        finally:
            backends.stop()
    print(f"total {figures['total_s']} s on {figures['cpus']} CPUs ({figures['backends']})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def run_phases(
    work: Path,
    phases: list[str],
    sizes: dict[str, int],
    args: argparse.Namespace,
    backends: Backends,
) -> dict[str, Any]:
    """The chosen phases, one after the other, each with a fresh serve and sandbox."""
    figures: dict[str, Any] = {}
    started = time.monotonic()
    workers = args.workers
    if "bursts" in phases:
        figures["bursts"] = phase_bursts(work / "bursts", sizes["bursts"], workers, backends)
        print("bursts:", json.dumps(figures["bursts"], indent=1), flush=True)
    if "quota" in phases:
        figures["quota"] = phase_quota(
            work / "quota", sizes["quota_n"], sizes["quota"], sizes["window"], workers, backends
        )
        print("quota:", json.dumps(figures["quota"], indent=1), flush=True)
    if "kill" in phases:
        figures["kill"] = phase_kill(work / "kill", sizes["kill_n"], workers, backends)
        print("kill:", json.dumps(figures["kill"], indent=1), flush=True)
    if "ack" in phases:
        processes = args.worker_processes
        ack = phase_ack(
            work / "ack", args.rate, args.seconds, workers, backends, worker_processes=processes
        )
        figures["ack"] = ack
        print("ack:", json.dumps(ack, indent=1), flush=True)
        cold = phase_ack(
            work / "ack-cold",
            args.rate,
            args.seconds,
            workers,
            backends,
            warm=False,
            worker_processes=processes,
        )
        figures["ack_cold"] = cold
        print("ack, cold (the first harvest meanwhile):", json.dumps(cold, indent=1))
    figures["total_s"] = round(time.monotonic() - started, 1)
    return figures


if __name__ == "__main__":
    main()
