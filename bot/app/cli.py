"""``maintbot serve``: the GitHub App's webhook receiver and worker, together or apart."""

from __future__ import annotations

import os

import click

from bot.app.settings import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_DELAY_S,
    DEFAULT_WORKER_NICE,
    DEFAULT_WORKER_THREADS,
    REDIS_URL_ENV,
    WEBHOOK_SECRET_ENV,
    AppSettings,
)
from bot.cli_context import MaintbotCommand, pass_settings
from bot.errors import UsageError
from bot.settings import Settings


@click.command(cls=MaintbotCommand)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="MAINTBOT_HOST",
    show_envvar=True,
    help="Address the receiver listens on (0.0.0.0: every one).",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="MAINTBOT_PORT",
    show_envvar=True,
    help="Port of the receiver.",
)
@click.option(
    "--workers",
    default=DEFAULT_WORKER_THREADS,
    show_default=True,
    type=click.IntRange(1, 64),
    envvar="MAINTBOT_WORKERS",
    show_envvar=True,
    help="Worker threads in each worker process (in this process with --worker-only or "
    "--worker-processes 0). More overlap GitHub's latency, but share one interpreter: on a "
    "small host they slow the receiver's answers; add worker processes or hosts instead.",
)
@click.option(
    "--worker-processes",
    default=1,
    show_default=True,
    type=click.IntRange(0, 64),
    envvar="MAINTBOT_WORKER_PROCESSES",
    show_envvar=True,
    help="Worker processes this receiver starts (maintbot serve --worker-only), restarts when "
    "one dies and stops on SIGTERM; 0 runs the worker threads inside the receiver's process.",
)
@click.option(
    "--worker-nice",
    default=DEFAULT_WORKER_NICE,
    show_default=True,
    type=click.IntRange(0, 19),
    envvar="MAINTBOT_WORKER_NICE",
    show_envvar=True,
    help="How much lower the CPU priority of worker processes is (Unix nice): on shared "
    "CPUs the receiver acknowledges GitHub first and the model work waits; 0: the same.",
)
@click.option(
    "--receiver-only",
    is_flag=True,
    help="Only receive and queue deliveries (scale-out: workers run elsewhere).",
)
@click.option(
    "--worker-only",
    is_flag=True,
    help="Only run queued deliveries (scale-out: receivers run elsewhere).",
)
@click.option(
    "--requeue-failed",
    is_flag=True,
    help="Queue every failed delivery again with fresh retries, then exit.",
)
@click.option(
    "--retries",
    default=DEFAULT_RETRIES,
    show_default=True,
    type=click.IntRange(0, 20),
    envvar="MAINTBOT_RETRIES",
    show_envvar=True,
    help="Attempts after the first for a delivery that failed transiently.",
)
@click.option(
    "--retry-delay",
    default=DEFAULT_RETRY_DELAY_S,
    show_default=True,
    type=click.FloatRange(0, 3600),
    envvar="MAINTBOT_RETRY_DELAY",
    show_envvar=True,
    help="Seconds before the first retry; doubled for each later one.",
)
@click.option(
    "--insecure-no-secret",
    is_flag=True,
    help="Accept unsigned deliveries. For a local test only, never on a network.",
)
@pass_settings
def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    worker_processes: int,
    worker_nice: int,
    receiver_only: bool,
    worker_only: bool,
    requeue_failed: bool,
    retries: int,
    retry_delay: float,
    insecure_no_secret: bool,
) -> None:
    """Run the GitHub App: receive signed webhooks, queue them, and handle them.

    \b
    Environment:
      MAINTBOT_WEBHOOK_SECRET        the App's webhook secret (required by the receiver;
                                     old,new while rotating it)
      MAINTBOT_APP_ID                the App's numeric id (required by the worker)
      MAINTBOT_APP_PRIVATE_KEY_FILE  the App's .pem key (or MAINTBOT_APP_PRIVATE_KEY)
      GITHUB_API_URL                 GitHub Enterprise's https://HOST/api/v3, or the sandbox
      MAINTBOT_DATABASE_URL          the store (PostgreSQL when processes are several)
      MAINTBOT_REDIS_URL             the queue (Redis) when processes are several
      MAINTBOT_QUEUE_FILE            the SQLite queue file otherwise

    The receiver answers 202 as soon as a delivery is stored and queued; workers retry
    failures with backoff, and a restarted worker queues again whatever a crash left
    unfinished. See docs/app.md.
    """
    from bot.app.server import (
        WorkerProcesses,
        open_app,
        run_worker_forever,
        serve_http,
        worker_command,
        worker_environment,
    )
    from bot.app.worker import requeue_failed as requeue

    if receiver_only and worker_only:
        raise UsageError(
            "--receiver-only and --worker-only exclude each other",
            hint="give neither to run both in one process",
        )
    app_settings = AppSettings.from_env(api_url=settings.api_url, dry_run=settings.dry_run)
    app_settings = _with_retries(app_settings, retries, retry_delay)
    # Check what this process needs before opening anything, so a bad deploy fails at once.
    if not requeue_failed and not worker_only:
        app_settings.require_receiver(insecure_no_secret=insecure_no_secret)
        if insecure_no_secret:
            click.echo(_insecure_warning(app_settings, host, port), err=True)
    if not requeue_failed and not receiver_only:
        app_settings.require_worker()
    from bot.app.metrics import MetricsSettings, start_metrics
    from bot.store.retention import RetentionPolicy, secure_app_files

    metrics_settings = MetricsSettings.from_env()
    metrics_settings.check()
    RetentionPolicy.from_env()  # a bad MAINTBOT_PAYLOAD_RETENTION_DAYS stops us here
    if (receiver_only or worker_only) and app_settings.redis_url is None:
        click.echo(
            f"warning: no {REDIS_URL_ENV}: the SQLite queue {app_settings.queue_file} is shared "
            "only by processes on this machine",
            err=True,
        )

    secure_app_files(app_settings)  # umask 077; the store and queue files 0600
    parts = open_app(app_settings, worker_process=worker_only)
    metrics = None
    try:
        if not requeue_failed:
            # the receiver's process: its answers, the store and queue, the API calls of
            # in-process workers; a --worker-only process: its own API calls
            metrics = start_metrics(metrics_settings, store=parts.store, queue=parts.queue)
        if requeue_failed:
            ids = requeue(parts.store, parts.queue)
            settings.emit({"requeued": ids}, f"re-queued {len(ids)} failed deliveries")
            return
        if worker_only:
            if worker_nice:
                os.nice(worker_nice)
            parts.worker()
            click.echo(
                f"maintbot worker: {workers} threads on {parts.queue.describe()}, "
                f"store {parts.store.target.display()}",
                err=True,
            )
            run_worker_forever(parts, workers)
            return
        receiver = parts.receiver(insecure_no_secret=insecure_no_secret)
        stop = None
        if receiver_only:
            where = "no worker (receiver only); "
        elif worker_processes > 0:
            command = worker_command(app_settings, workers, verbose=_verbosity(), nice=worker_nice)
            group = WorkerProcesses(command, worker_processes, worker_environment())
            group.start()
            stop = group.stop
            where = f"{worker_processes} worker processes of {workers} threads {group.pids}; "
        else:
            parts.worker()
            consumer = parts.start_consumer(workers)
            stop = lambda: consumer.stop(graceful=True)  # noqa: E731
            where = f"{workers} worker threads in this process; "
        click.echo(
            f"maintbot App: webhooks at http://{host}:{port}/webhook; {where}"
            f"{parts.queue.describe()}; store {parts.store.target.display()}",
            err=True,
        )
        try:
            serve_http(receiver, host, port, on_stop=stop)
        finally:  # uvicorn failed to start, or stopped without a signal
            if stop is not None:
                stop()
    finally:
        if metrics is not None:
            metrics.close()
        parts.close()


def _insecure_warning(settings: AppSettings, host: str, port: int) -> str:
    """What ``--insecure-no-secret`` means, said where an operator cannot miss it."""
    if settings.webhook_secrets:
        return (
            f"note: --insecure-no-secret is ignored: {WEBHOOK_SECRET_ENV} is set, so every "
            "delivery must still be signed"
        )
    bar = "!" * 78
    return (
        f"{bar}\nWARNING: --insecure-no-secret: the receiver accepts UNSIGNED deliveries.\n"
        f"Anyone who can reach http://{host}:{port}/webhook can post fake events that the App "
        "acts on\nwith its own permissions. For a local test only, never on a network: set "
        f"{WEBHOOK_SECRET_ENV} instead.\n{bar}"
    )


def _verbosity() -> int:
    """This process's ``-v`` count, read back from the logging level, for its workers."""
    import logging

    level = logging.getLogger().getEffectiveLevel()
    return 2 if level <= logging.DEBUG else 1 if level <= logging.INFO else 0


def _with_retries(settings: AppSettings, retries: int, retry_delay: float) -> AppSettings:
    from dataclasses import replace

    return replace(settings, retries=retries, retry_delay_s=retry_delay)
