"""The task queue between receiver and worker: huey, carrying nothing but delivery ids.

The payload stays in the store (the source of truth); the queue only says "work on this
delivery". A SQLite file is the default queue (one machine); ``MAINTBOT_REDIS_URL`` selects
Redis, which several receiver and worker processes on several machines can share.
Retries are huey's: a failed attempt is re-queued after a delay that doubles each time; a
delivery waiting for a rate limit is re-scheduled for the reset with huey's ``RetryTask``
(``eta``), which spends none of its retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import Task
from huey.exceptions import RetryTask
from huey.storage import SqliteStorage

from bot.app.settings import REDIS_URL_ENV, RETRY_BACKOFF, AppSettings
from bot.errors import MaintbotError, UsageError

log = logging.getLogger(__name__)

QUEUE_NAME = "maintbot"
#: The task's registered name: receiver and worker processes must agree on it.
TASK_NAME = "process_delivery"

#: A one-off recovery, scheduled for when the claims a dead worker left expire.
RECOVER_TASK_NAME = "recover_deliveries"

#: ``perform(delivery_id, final_attempt)``: the worker's unit of work for one delivery.
Perform = Callable[[str, bool], None]


def open_huey(settings: AppSettings) -> Huey:
    """Redis when ``MAINTBOT_REDIS_URL`` is set, else the SQLite queue file (created on use)."""
    if settings.redis_url:
        try:
            import redis
        except ModuleNotFoundError as exc:
            raise UsageError(
                f"{REDIS_URL_ENV} is set but the redis client is not installed",
                hint="install the App extra: pip install 'maintbot[app]'",
            ) from exc
        huey = RedisHuey(QUEUE_NAME, url=settings.redis_url, results=False)
        try:
            huey.storage.conn.ping()
        except redis.RedisError as exc:
            raise MaintbotError(
                f"cannot reach the Redis queue named by {REDIS_URL_ENV}: {type(exc).__name__}",
                hint="check the URL (redis://HOST:6379/0) and that the Redis server is running",
            ) from exc
        return huey
    path = settings.queue_file
    assert path is not None  # from_env always sets a default
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the directory {path.parent} for the queue file: {exc.strerror}",
            hint="set MAINTBOT_QUEUE_FILE to a file in a writable place",
        ) from exc
    return _SqliteQueue(QUEUE_NAME, filename=str(path), results=False)


class _QueueFileStorage(SqliteStorage):
    """The SQLite queue file without an fsync per task (``synchronous=NORMAL`` in WAL mode).

    The store is the durable record of a delivery: a task lost with the last commits before
    a power loss is a delivery still ``queued`` in the store, which :func:`bot.app.worker.
    recover` queues again within the minute. Left at SQLite's FULL, the receiver paid a
    second fsync per delivery for nothing.
    """

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


class _SqliteQueue(SqliteHuey):
    storage_class = _QueueFileStorage


class DeliveryQueue:
    """Queues delivery ids and, in a worker, runs them through ``perform`` with retries.

    The receiver only calls :meth:`enqueue`; a worker calls :meth:`attach` with its unit of
    work before starting a huey consumer on :attr:`huey`.
    """

    def __init__(
        self,
        huey: Huey,
        *,
        retries: int,
        retry_delay_s: float,
        retry_backoff: float = RETRY_BACKOFF,
    ) -> None:
        self.huey = huey
        self.retries = retries
        self._perform: Perform | None = None

        @huey.task(
            retries=retries,
            retry_delay=retry_delay_s,
            retry_backoff=retry_backoff if retry_delay_s else 0,
            context=True,
            name=TASK_NAME,
        )
        def process_delivery(delivery_id: str, task: Task | None = None) -> None:
            if self._perform is None:
                raise RuntimeError("this process queues deliveries but runs no worker")
            from bot.app.worker import DeliveryAttemptFailed, DeliveryDeferred

            # huey decrements ``retries`` each time it re-queues: 0 means no attempt follows.
            final_attempt = task is None or not task.retries
            try:
                self._perform(delivery_id, final_attempt)
            except DeliveryDeferred as exc:
                # huey adds the retry back for RetryTask: waiting spends no attempt.
                log.info("%s", exc.message)
                raise RetryTask(exc.message, eta=exc.wake_at) from None
            except DeliveryAttemptFailed as exc:
                if task is not None and (task.retry_delay or 0) < exc.min_delay_s:
                    task.retry_delay = exc.min_delay_s  # an unknown write settles first
                raise

        self._task = process_delivery
        self._recover: Callable[[], Any] | None = None

        @huey.task(name=RECOVER_TASK_NAME)
        def recover_deliveries() -> None:
            if self._recover is not None:
                self._recover()

        self._recover_task = recover_deliveries

    @classmethod
    def from_settings(cls, settings: AppSettings) -> DeliveryQueue:
        return cls(
            open_huey(settings), retries=settings.retries, retry_delay_s=settings.retry_delay_s
        )

    def attach(self, perform: Perform) -> None:
        """Makes this process a worker: queued deliveries are handed to ``perform``."""
        self._perform = perform

    def attach_recovery(self, recover: Callable[[], Any]) -> None:
        """What a scheduled recovery runs in this worker (see :meth:`schedule_recovery`)."""
        self._recover = recover

    def schedule_recovery(self, eta: datetime) -> None:
        """Runs the attached recovery at ``eta`` in whichever worker takes it first."""
        self._recover_task.schedule(eta=eta)

    @property
    def has_worker(self) -> bool:
        return self._perform is not None

    def enqueue(self, delivery_id: str, *, eta: datetime | None = None) -> None:
        """Queues one delivery (with a fresh count of retries), at ``eta`` if given."""
        if eta is None:
            self._task(delivery_id)
        else:
            self.huey.enqueue(self._task.s(delivery_id, eta=eta))

    def waiting_ids(self) -> set[str]:
        """Delivery ids queued or scheduled for a retry: what recovery must not queue again."""
        tasks: list[Any] = [*self.huey.pending(), *self.huey.scheduled()]
        return {str(t.args[0]) for t in tasks if t.args and t.name == TASK_NAME}

    def describe(self) -> str:
        """Where the queue is, safe to log (no password)."""
        storage = self.huey.storage
        filename = getattr(storage, "filename", None)
        return f"SQLite queue {filename}" if filename else "Redis queue"
