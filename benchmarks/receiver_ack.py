"""How fast the webhook receiver answers, and what unsigned 24 MB bodies cost it (issue #26).

Runs the receiver alone, as ``maintbot serve --receiver-only`` runs it (uvicorn through
``bot.app.server.serve_http``, the real router, a SQLite store and the real SQLite queue
file), in a child process on 127.0.0.1, and measures from this process:

1. **ack latency**: GitHub's real example payloads (``../shared/github/webhooks``, the events
   the router handles), each with a fresh delivery id and a valid signature, sent open-loop
   at ``--rate`` requests per second for ``--seconds`` (after one second of warm-up); p50,
   p90, p99 and max of the time from sending to the 202, the achieved rate, how late the
   client itself ran;
2. **unsigned bodies**: ``--bodies`` parallel POSTs of ``--mb`` MB each, once with no
   signature header and once with a well-formed forged one, while the server's RSS is
   sampled every 5 ms: its growth over the level before. Then the same forged bodies against
   a receiver whose budget of unverified bodies is lifted, which reads every body before
   checking it, as the receiver did before #26.

It stops by itself (every phase has a deadline; the child is killed at the end) and prints
JSON lines, then a Markdown table. The figures depend on the machine and on what else runs
on it: the CPU, the core count and the load average are printed beside them.

Usage:
    .venv/bin/python -m benchmarks.receiver_ack [--rate 200] [--seconds 15] [--bodies 20] [--mb 24]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.machine import cpu_facts

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SECRET_ENV = "RECEIVER_ACK_SECRET"
PHASE_DEADLINE_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the server (child process) ---------------------------------------------------------------


def serve(port: int, folder: Path, unlimited: bool) -> None:
    """The receiver alone, as ``maintbot serve --receiver-only`` builds it."""
    from bot.app.receiver import ReceiverLimits, create_receiver
    from bot.app.server import open_app, serve_http
    from bot.app.settings import AppSettings

    secret = os.environ[SECRET_ENV].encode()
    settings = AppSettings(
        webhook_secrets=(secret,),
        database_url=f"sqlite:///{folder / 'store.sqlite3'}",
        queue_file=folder / "queue.sqlite3",
        retries=0,
        retry_delay_s=0,
    )
    parts = open_app(settings)
    limits = (
        ReceiverLimits(max_unverified_bodies=10**6, max_unverified_bytes=10**12)
        if unlimited
        else ReceiverLimits()
    )
    app = create_receiver(
        store=parts.store,
        queue=parts.queue,
        router=parts.router,
        secrets=[secret],
        limits=limits,
    )
    serve_http(app, "127.0.0.1", port)


@contextmanager
def server(folder: Path, secret: str, *, unlimited: bool = False) -> Iterator[tuple[str, int]]:
    """Starts the child, waits for ``/healthz``, yields (url, pid), kills it afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.receiver_ack", "--serve", str(port), str(folder)]
    if unlimited:
        command.append("--unlimited")
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, SECRET_ENV: secret},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if child.poll() is not None:
                raise SystemExit(f"the receiver exited with {child.returncode} before it served")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the receiver did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield url, child.pid
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RssSampler:
    """The highest RSS of ``pid`` seen every 5 ms while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the load (this process) ------------------------------------------------------------------


def example_bodies() -> list[tuple[str, bytes]]:
    """(event, body) of every example payload some maintbot handler wants."""
    from bot.events.router import Event
    from bot.handlers import build_router
    from tests.webhook_payloads import example_payloads

    router = build_router()
    chosen = []
    for event, _action, path in example_payloads(SHARED):
        body = path.read_bytes()
        if router.handlers_for(Event(event, json.loads(body), "probe")):
            chosen.append((event, body))
    if not chosen:
        raise SystemExit(f"no example payload found under {SHARED / 'github' / 'webhooks'}")
    return chosen


def signed_headers(event: str, body: bytes, secret: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
        "User-Agent": "GitHub-Hookshot/benchmark",
    }


async def paced_load(
    url: str,
    secret: bytes,
    bodies: list[tuple[str, bytes]],
    rate: float,
    seconds: float,
    connections: int = 64,
) -> dict[str, object]:
    """Open-loop: request ``i`` is due at ``i / rate``; latency runs from its actual send.

    A lean HTTP/1.1 client (asyncio streams over ``connections`` keep-alive connections), not
    httpx: under load httpx's pool bookkeeping grew with the requests in flight and took
    the client's CPU, so the client, not the receiver, set the latency (``client_late``:
    how long after its due time each request went out).
    """
    address = httpx.URL(url)
    host, port = address.host, address.port or 80
    latencies: list[float] = []
    lateness: list[float] = []
    statuses: dict[int, int] = {}
    due_queue: asyncio.Queue[tuple[int, float, bool] | None] = asyncio.Queue()

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, i: int) -> int:
        event, body = bodies[i % len(bodies)]
        headers = {**signed_headers(event, body, secret), "Content-Length": str(len(body))}
        head = f"POST /webhook HTTP/1.1\r\nHost: {host}:{port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    async def connection() -> None:
        streams = None
        while (item := await due_queue.get()) is not None:
            i, due, record = item
            sent = time.perf_counter()
            try:
                if streams is None:
                    streams = await asyncio.open_connection(host, port)
                status = await exchange(*streams, i)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                status, streams = 0, None
            if record:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 202:
                    latencies.append(time.perf_counter() - sent)
                lateness.append(sent - due)
        if streams is not None:
            streams[1].close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    warmup = int(rate)  # one second, not counted
    total = warmup + int(rate * seconds)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due_queue.put_nowait((i, due, i >= warmup))
    for _ in workers:
        due_queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), timeout=PHASE_DEADLINE_S)
    measured_s = time.perf_counter() - (start + warmup / rate)

    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    return {
        "phase": "ack",
        "target_rate": rate,
        "requests": sum(statuses.values()),
        "achieved_rate": round(sum(statuses.values()) / measured_s, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "p50_ms": round(pct(0.50), 2),
        "p90_ms": round(pct(0.90), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "client_late_p99_ms": round(sorted(lateness)[int(0.99 * (len(lateness) - 1))] * 1000, 2),
    }


async def big_bodies(url: str, count: int, size_mb: float, forged: bool) -> dict[int, int]:
    """``count`` parallel POSTs of ``size_mb`` MB, unsigned or with a forged signature."""
    body = b'{"zen": "' + b"x" * int(size_mb * 1_000_000) + b'"}'
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "issues"}
    if forged:
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=count + 1)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def one(i: int) -> None:
            try:
                answer = await client.post(
                    "/webhook",
                    content=body,
                    headers={**headers, "X-GitHub-Delivery": f"big-{i}"},
                )
                status = answer.status_code
            except httpx.HTTPError:  # the server may answer and close before the body is sent
                status = 0
            statuses[status] = statuses.get(status, 0) + 1

        await asyncio.wait_for(
            asyncio.gather(*(one(i) for i in range(count))), timeout=PHASE_DEADLINE_S
        )
    return statuses


def rss_phase(url: str, pid: int, count: int, size_mb: float, forged: bool, label: str) -> dict:
    time.sleep(0.5)
    before = rss_mb(pid)
    with RssSampler(pid) as sampler:
        statuses = asyncio.run(big_bodies(url, count, size_mb, forged))
    time.sleep(0.5)
    return {
        "phase": "unsigned_bodies",
        "receiver": label,
        "bodies": count,
        "mb_each": size_mb,
        "signature": "forged" if forged else "none",
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(sampler.peak, 1),
        "rss_growth_mb": round(sampler.peak - before, 1),
        "rss_after_mb": round(rss_mb(pid), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds of load")
    parser.add_argument("--bodies", type=int, default=20, help="parallel unsigned bodies")
    parser.add_argument("--mb", type=float, default=24.0, help="size of each, in MB")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--unlimited", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--send", nargs=2, metavar=("URL", "BODIES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), Path(args.serve[1]), args.unlimited)
        return
    if args.send:  # the load alone, for a caller that runs the server (app_load.py's ack)
        url, path = args.send
        lines = Path(path).read_text().splitlines()
        sent = [(e, base64.b64decode(b)) for e, b in (json.loads(line) for line in lines)]
        secret_bytes = os.environ[SECRET_ENV].encode()
        figures = asyncio.run(paced_load(url, secret_bytes, sent, args.rate, args.seconds))
        print(json.dumps(figures))
        return

    secret = secrets.token_hex(32)
    facts = {
        **cpu_facts(),
        "cores": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
        "python": sys.version.split()[0],
    }
    results: list[dict] = []
    bodies = example_bodies()
    with tempfile.TemporaryDirectory(prefix="receiver-ack-") as tmp:
        with server(Path(tmp) / "a", secret) as (url, pid):
            results.append(
                {
                    **asyncio.run(
                        paced_load(url, secret.encode(), bodies, args.rate, args.seconds)
                    ),
                    "payload_kinds": len(bodies),
                    "rss_after_load_mb": round(rss_mb(pid), 1),
                }
            )
            for forged in (False, True):
                results.append(rss_phase(url, pid, args.bodies, args.mb, forged, "budgeted"))
        with server(Path(tmp) / "b", secret, unlimited=True) as (url, pid):
            results.append(rss_phase(url, pid, args.bodies, args.mb, True, "no budget (as before)"))
    facts["loadavg_after"] = os.getloadavg()
    print(json.dumps({"machine": facts}))
    for result in results:
        print(json.dumps(result))
    print()
    print(markdown(facts, results))


def markdown(facts: dict, results: list[dict]) -> str:
    ack = results[0]
    lines = [
        f"Receiver alone, SQLite store and queue, on {facts['cpu']} ({facts['cores']} cores, "
        f"load {facts['loadavg_before'][0]:.1f} before, {facts['loadavg_after'][0]:.1f} after):",
        "",
        "| target | achieved | requests | p50 | p90 | p99 | max | statuses |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {ack['target_rate']:.0f}/s | {ack['achieved_rate']}/s | {ack['requests']} | "
        f"{ack['p50_ms']} ms | {ack['p90_ms']} ms | {ack['p99_ms']} ms | {ack['max_ms']} ms | "
        f"{ack['statuses']} |",
        "",
        "| bodies | signature | receiver | answers | RSS before | peak | growth |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results[1:]:
        lines.append(
            f"| {r['bodies']} x {r['mb_each']:g} MB | {r['signature']} | {r['receiver']} | "
            f"{r['statuses']} | {r['rss_before_mb']} MB | {r['rss_peak_mb']} MB | "
            f"+{r['rss_growth_mb']} MB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
