"""Runs the App's processes: receiver (uvicorn), worker (huey consumer threads), or both.

By default ``maintbot serve`` runs the receiver in its own process and starts the workers as
child processes (``maintbot serve --worker-only``), which it restarts when one dies and
stops with SIGTERM when it stops: the receiver only verifies, stores and queues, so its
answers never wait behind the handlers' work (the GIL, a model's inference). Separate
processes rather than huey's forked ``process`` workers: a fork would copy the receiver's
threads, database pools and sockets, whereas a fresh ``--worker-only`` process opens its
own, with a SQLite or a Redis queue alike. ``--worker-processes 0`` keeps the old
single-process mode (worker threads beside the receiver). For scale-out, ``--receiver-only``
processes behind a load balancer and ``--worker-only`` processes share a PostgreSQL store and
a Redis queue.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from huey import crontab
from huey.consumer import Consumer

from bot.app.queue import DeliveryQueue
from bot.app.receiver import create_receiver
from bot.app.schedules import ReportScheduler, app_installations
from bot.app.settings import DEFAULT_WORKER_NICE, AppSettings
from bot.app.worker import Worker, app_client_factory, recover, recover_at_start
from bot.errors import UsageError
from bot.events.router import Router
from bot.store.database import Store

if TYPE_CHECKING:
    from fastapi import FastAPI
    from github import Github

log = logging.getLogger(__name__)

#: How long a stopping worker waits for the deliveries in hand before it lets them go.
SHUTDOWN_TIMEOUT_S = 30.0


class EmbeddedConsumer(Consumer):
    """A huey consumer that leaves signals alone: uvicorn (or the caller) owns them.

    Huey's own consumer installs signal handlers, which only the main thread may do and
    which would fight uvicorn's; its threads are otherwise the same.
    """

    def _set_signal_handlers(self) -> None:
        pass


@dataclass
class AppParts:
    """The pieces of a running App, built once from the settings."""

    settings: AppSettings
    store: Store
    queue: DeliveryQueue
    router: Router
    scheduler: ReportScheduler | None = None
    retention: Any = None
    workers: list[Worker] = field(default_factory=list)

    def receiver(self, *, insecure_no_secret: bool = False) -> FastAPI:
        """The webhook receiver; refuses to exist without a secret unless told otherwise."""
        self.settings.require_receiver(insecure_no_secret=insecure_no_secret)
        return create_receiver(
            store=self.store,
            queue=self.queue,
            router=self.router,
            secrets=self.settings.webhook_secrets or None,
        )

    def worker(
        self,
        github_for: Callable[[int], Github] | None = None,
        installations: Callable[[], list[int]] | None = None,
    ) -> Worker:
        """A worker attached to the queue; App credentials are checked unless a factory is given.

        Its huey periodic tasks: the report scheduler each minute (GitHub sends an App no
        ``schedule`` events), the recovery of expired claims each minute, and the pruning of
        old payloads hourly (``MAINTBOT_PAYLOAD_RETENTION_DAYS``)."""
        if github_for is None:
            self.settings.require_worker()
            github_for = app_client_factory(self.settings)
        worker = Worker(
            self.store,
            self.router,
            github_for,
            dry_run=self.settings.dry_run,
            lease_s=self.settings.lease_s,
            write_settle_s=self.settings.write_settle_s,
            config_cache_s=self.settings.config_cache_s,
        )
        self.queue.attach(worker.perform)
        self.workers.append(worker)
        if self.scheduler is None:
            self.scheduler = ReportScheduler(
                self.store,
                self.queue.enqueue,
                installations or app_installations(self.settings),
                github_for,
            )
            self.queue.huey.periodic_task(crontab(), name="maintbot.report_schedules")(
                self.scheduler.tick
            )
            # A worker that died mid-delivery leaves a claim that expires: free it and queue
            # the delivery again, whichever worker process is still alive.
            self.queue.huey.periodic_task(crontab(), name="maintbot.recover")(
                lambda: recover(self.store, self.queue)
            )
        self.queue.attach_recovery(lambda: recover(self.store, self.queue))
        if self.retention is None:
            # payloads of deliveries finished long enough ago go, hourly (docs/app.md)
            from bot.store.retention import RetentionPolicy, prune_payloads

            self.retention = RetentionPolicy.from_env()
            policy = self.retention
            self.queue.huey.periodic_task(crontab(minute="7"), name="maintbot.prune_payloads")(
                lambda: prune_payloads(self.store, policy)
            )
        return worker

    def start_consumer(self, threads: int) -> EmbeddedConsumer:
        """Re-queues what a crash left behind, then starts ``threads`` worker threads."""
        if not self.queue.has_worker:
            raise UsageError(
                "the consumer has no worker to hand deliveries to",
                hint="call AppParts.worker() before start_consumer()",
            )
        recovered = recover_at_start(self.store, self.queue)
        if recovered:
            log.warning("recovered %d deliveries left unfinished", len(recovered))
        consumer = EmbeddedConsumer(
            self.queue.huey,
            workers=threads,
            worker_type="thread",
            periodic=True,
            initial_delay=0.05,
            max_delay=1.0,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
        consumer.start()
        return consumer

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.store.close()


def open_app(
    settings: AppSettings, router: Router | None = None, *, worker_process: bool = False
) -> AppParts:
    """Opens the store (migrated) and the queue named by ``settings``.

    A worker process (``--worker-only``) commits without waiting for the disk: what it
    writes is redone if lost (a claim expires, a delivery runs again, its effects are
    idempotent), and a commit waiting for an fsync held SQLite's one write lock, which the
    receiver needs to store each delivery before it answers GitHub. The receiver's process
    keeps durable commits: an acknowledged delivery must survive a power loss.
    """
    if router is None:
        from bot.handlers import build_router

        router = build_router()
    store = Store.open(settings.database_url, durable_commits=not worker_process)
    try:
        queue = DeliveryQueue.from_settings(settings)
    except BaseException:
        store.close()
        raise
    return AppParts(settings, store, queue, router)


def serve_http(
    app: FastAPI, host: str, port: int, on_stop: Callable[[], None] | None = None
) -> None:
    """Serves the receiver until SIGINT/SIGTERM, then runs ``on_stop`` (stop the workers).

    ``on_stop`` runs inside uvicorn's shutdown: after a signal uvicorn re-raises it once it
    has finished, which ends the process before any code after :meth:`uvicorn.Server.run`.
    """
    import asyncio

    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            await super().shutdown(sockets)
            if on_stop is not None:
                await asyncio.to_thread(on_stop)

    Server(uvicorn.Config(app, host=host, port=port, proxy_headers=True, server_header=False)).run()


def run_worker_forever(parts: AppParts, threads: int) -> None:
    """A worker-only process: huey's own consumer, with its signal handling, in the main thread.

    SIGTERM (and SIGINT) stop it gracefully: the deliveries in hand finish (at most
    :data:`SHUTDOWN_TIMEOUT_S`), the others stay in the queue.
    """
    if not parts.queue.has_worker:
        parts.worker()
    recover_at_start(parts.store, parts.queue)
    Consumer(
        parts.queue.huey,
        workers=threads,
        worker_type="thread",
        periodic=True,
        max_delay=1.0,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        graceful_signal="TERM",
    ).run()


#: A worker process that dies is started again after this pause, doubled while it keeps dying
#: within a minute of its start, up to :data:`RESTART_MAX_S`.
RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0


def worker_command(
    settings: AppSettings,
    threads: int,
    *,
    verbose: int = 0,
    nice: int = DEFAULT_WORKER_NICE,
    python: str = sys.executable,
) -> list[str]:
    """The command line of one worker process: ``maintbot serve --worker-only`` with the
    same API URL, retries, dry-run and verbosity as this process, at ``nice``.

    Started through the ``nice`` program where there is one, so every thread of the process
    runs nicer, also those that libraries start when they are imported (a thread's own
    ``os.nice`` on Linux leaves the threads started before it as they were)."""
    launcher = shutil.which("nice") if nice else None
    command = [launcher, "-n", str(nice)] if launcher else []
    command += [python, "-m", "bot", "--api-url", settings.api_url]
    command += ["-v"] * verbose
    command += ["serve", "--worker-only", "--workers", str(threads)]
    command += ["--worker-nice", "0" if launcher else str(nice)]
    command += ["--retries", str(settings.retries), "--retry-delay", str(settings.retry_delay_s)]
    if settings.dry_run:
        command.append("--dry-run")
    return command


def worker_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """What a worker process inherits: everything but the webhook secret it has no use for,
    and the metrics port, which the receiver's listener holds (a worker started alone with
    ``--worker-only`` may have its own)."""
    from bot.app.metrics import METRICS_PORT_ENV
    from bot.app.settings import WEBHOOK_SECRET_ENV

    env = dict(os.environ if environ is None else environ)
    env.pop(WEBHOOK_SECRET_ENV, None)
    env.pop(METRICS_PORT_ENV, None)
    return env


class WorkerProcesses:
    """Starts ``count`` worker processes, starts again any that dies, and stops them all.

    Stopping sends SIGTERM (each finishes the deliveries in hand, as huey's graceful
    shutdown) and waits up to :data:`SHUTDOWN_TIMEOUT_S` plus a margin, then kills.
    """

    def __init__(self, command: Sequence[str], count: int, env: dict[str, str]) -> None:
        self.command = list(command)
        self.count = count
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            self.processes = [self._spawn() for _ in range(self.count)]
        self._watcher = threading.Thread(target=self._watch, name="maintbot-workers", daemon=True)
        self._watcher.start()

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self.processes]

    def _spawn(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(self.command, env=self.env)
        log.info("worker process %d started", process.pid)
        return process

    def _watch(self) -> None:
        """Starts again a worker process that exited while we were not stopping."""
        started = {id(p): time.monotonic() for p in self.processes}
        pause = RESTART_FIRST_S
        while not self._stopping.wait(0.5):
            for index, process in enumerate(list(self.processes)):
                code = process.poll()
                if code is None or self._stopping.is_set():
                    continue
                lived = time.monotonic() - started.get(id(process), 0.0)
                pause = RESTART_FIRST_S if lived > 60 else min(pause * 2, RESTART_MAX_S)
                log.warning(
                    "worker process %d exited with %s; starting another in %.0f s",
                    process.pid,
                    code,
                    pause,
                )
                if self._stopping.wait(pause):
                    return
                with self._lock:
                    replacement = self._spawn()
                    self.processes[index] = replacement
                    self.restarts += 1
                started[id(replacement)] = time.monotonic()

    def stop(self, timeout_s: float = SHUTDOWN_TIMEOUT_S + 5) -> None:
        """SIGTERM to each worker process, a wait for them to finish, SIGKILL to any left."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            processes = list(self.processes)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker process %d did not stop in time; killing it", process.pid)
                process.kill()
                process.wait(timeout=10)
