"""The worker: runs one stored delivery through the handlers, as the App's installation.

The queue hands over only a delivery id. The worker first **claims** the delivery in the
store (one conditional ``UPDATE`` that exactly one worker wins, with a lease its heartbeat
extends), so copies of a task, a redelivery or a recovery never run the handlers twice at
once. The payload comes from the store, the client is built for the delivery's installation
(App key -> installation token, cached per process), the configuration comes from the
repository (cached per repository and push), and :func:`bot.events.router.dispatch` runs the
same handlers as the Action and ``maintbot replay``.

Each failure is classified (:func:`bot.github.errors.classify_failure`): a rate limit waits
for the quota's reset in huey's schedule without spending an attempt; a permanent failure
(bad payload, deleted repository, validation, configuration) ends the delivery ``failed`` at
once; a transient one is retried by the queue with backoff, and a write whose outcome is
unknown (timed out) only after a pause that lets it land, so the retry reads it back instead
of writing it again. Nothing is lost on a crash: :func:`recover` frees the claims of dead
workers once their lease expires and queues again whatever is left unfinished.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.app.settings import (
    DEFAULT_CONFIG_CACHE_S,
    DEFAULT_LEASE_S,
    DEFAULT_WRITE_SETTLE_S,
)
from bot.errors import ExitCode, MaintbotError
from bot.events.context import ConfigCache, HandlerContext, context_for_event
from bot.events.router import DispatchResult, Event, Router, dispatch
from bot.github.errors import Failure, FailureKind, classify_failure
from bot.store.database import Store
from bot.store.deliveries import (
    Claim,
    claim_delivery,
    defer_claim,
    finish_claim,
    get_delivery,
    installation_hold,
    latest_lease_expiry,
    release_expired_leases,
    renew_leases,
    stranded_deliveries,
    transition,
)
from bot.store.jobs import fail_orphaned_jobs, finish_job, start_attempt_job
from bot.store.models import DeliveryStatus, WebhookDelivery

if TYPE_CHECKING:
    from github import Github

    from bot.app.queue import DeliveryQueue
    from bot.app.settings import AppSettings

log = logging.getLogger(__name__)

#: How many deliveries recovery or a re-queue takes in one go (each is a small row).
MAX_REQUEUE = 10_000
#: A delivery still waiting for rate limits this long after it arrived is then treated as
#: failing transiently (a quota that never comes back cannot keep it forever). Waits are not
#: counted: a backlog behind a small quota waits once per reset, many times.
MAX_RATE_LIMIT_WAIT_S = 24 * 3600.0
#: Deliveries waiting for the same reset start within this many seconds of it, not at once.
DEFER_SPREAD_S = 5.0
#: A delivery whose worker died this many times is failed instead of run again (a delivery
#: that kills its worker must not take every worker down in turn).
MAX_LOST_LEASES = 3


class DeliveryAttemptFailed(MaintbotError):
    """One attempt at a delivery failed in a way another attempt may fix; the queue retries.

    ``min_delay_s`` asks the queue to wait at least that long first (a write whose outcome
    is unknown needs time to land before it is checked)."""

    def __init__(self, message: str, *, hint: str | None = None, min_delay_s: float = 0.0):
        super().__init__(message, hint=hint)
        self.min_delay_s = min_delay_s


class DeliveryDeferred(MaintbotError):
    """The delivery waits for a rate limit's reset: the queue schedules it for ``wake_at``
    without counting an attempt."""

    def __init__(self, message: str, *, wake_at: datetime) -> None:
        super().__init__(message)
        self.wake_at = wake_at


@dataclass(frozen=True)
class Verdict:
    """How an attempt ends: the delivery's new status, its error, and what comes next.

    ``retry``: the queue tries again (after at least ``retry_delay_s``). ``resume_at``: a
    rate limit holds the installation until then (epoch seconds); the delivery is scheduled
    for ``wake_at``, spread a little after it, spending no attempt.
    """

    status: DeliveryStatus
    error: str | None = None
    retry: bool = False
    retry_delay_s: float = 0.0
    resume_at: float | None = None
    wake_at: float | None = None

    @property
    def deferred(self) -> bool:
        return self.resume_at is not None


def judge_failures(
    failures: Sequence[tuple[str, Failure]],
    *,
    final_attempt: bool,
    may_wait: bool = True,
    settle_s: float = DEFAULT_WRITE_SETTLE_S,
    spread: float = 0.0,
) -> Verdict:
    """The verdict on one attempt from its classified failures (``(where, failure)`` pairs).

    No failure: done. A rate limit (``may_wait``): wait for the latest reset, whatever
    else failed, since the rerun redoes every handler. Otherwise any transient or
    unknown-outcome failure is retried unless this was the final attempt, an unknown outcome
    no sooner than ``settle_s``; permanent failures end it. ``spread`` in [0, 1) places the
    wake-up within :data:`DEFER_SPREAD_S` after the reset.
    """
    if not failures:
        return Verdict(DeliveryStatus.DONE)
    error = "; ".join(f"{where}: {failure.reason}" for where, failure in failures)
    limited = [f.resume_at for _, f in failures if f.kind is FailureKind.RATE_LIMITED]
    if limited and may_wait:
        resume_at = max(at for at in limited if at is not None)
        wake_at = resume_at + DEFER_SPREAD_S * min(max(spread, 0.0), 1.0)
        return Verdict(DeliveryStatus.QUEUED, error, resume_at=resume_at, wake_at=wake_at)
    kinds = {f.kind for _, f in failures}
    retryable = kinds & {
        FailureKind.TRANSIENT,
        FailureKind.UNKNOWN_OUTCOME,
        FailureKind.RATE_LIMITED,
    }
    if retryable and not final_attempt:
        delay = settle_s if FailureKind.UNKNOWN_OUTCOME in kinds else 0.0
        return Verdict(DeliveryStatus.FAILED, error, retry=True, retry_delay_s=delay)
    return Verdict(DeliveryStatus.FAILED, error)


def _exit_code_failure(code: ExitCode, error: str | None) -> Failure:
    """A handler outcome without its exception: classed by its exit code alone."""
    kind = FailureKind.TRANSIENT if code is ExitCode.EXTERNAL else FailureKind.PERMANENT
    return Failure(kind, error or "failed")


def judge_dispatch(result: DispatchResult, *, final_attempt: bool) -> Verdict:
    """Done when every handler succeeded; failed otherwise, retried unless it cannot help.

    A handler that raised a finding (exit code 1, e.g. a regression reported on the PR) did
    its job. A usage or configuration error (exit code 2) fails the same way every time, so
    only other failures (GitHub, network, database: exit code 3) are retried.
    """
    failures = [
        (o.handler, _exit_code_failure(o.exit_code, o.error))
        for o in result.outcomes
        if not o.ok and o.exit_code is not ExitCode.FINDING
    ]
    return judge_failures(failures, final_attempt=final_attempt)


def judge_exception(exc: BaseException, *, final_attempt: bool) -> Verdict:
    """A failure before the handlers ran (client, token, repository config)."""
    return judge_failures([("set-up", classify_failure(exc))], final_attempt=final_attempt)


def app_client_factory(settings: AppSettings) -> Callable[[int], Github]:
    """Builds a client per installation; installation tokens are cached process-wide.

    Its retry policy never sleeps for a rate limit (the queue waits instead) and never
    repeats a write whose outcome is unknown."""
    from bot.app.metrics import API_USAGE
    from bot.github.client import build_github, observe_responses
    from bot.github.retry import APP_WORKER_POLICY

    def github_for(installation_id: int) -> Github:
        github = build_github(
            app_id=settings.app_id,
            private_key=settings.private_key,
            installation_id=installation_id,
            api_url=settings.api_url,
            seconds_between_writes=settings.seconds_between_writes,
            timeout=settings.request_timeout_s,
            retry=APP_WORKER_POLICY,
        )
        # every response counts into /metrics: calls by status, the quota left per installation
        return observe_responses(
            github, lambda status, headers: API_USAGE.observe(status, headers, key=installation_id)
        )

    return github_for


def _capturing(router: Router, event: Event) -> tuple[Router, list[BaseException | None]]:
    """``router``'s handlers for ``event``, each keeping the exception it raised (by position),
    so that failures are classed by what was raised, not by the text the router keeps."""
    handlers = router.handlers_for(event)
    caught: list[BaseException | None] = [None] * len(handlers)
    view = Router()
    register = view.on(event.name, *((event.action,) if event.action else ()))
    for index, handler in enumerate(handlers):
        register(_keeping(handler, caught, index))
    return view, caught


def _keeping(handler: Any, caught: list[BaseException | None], index: int) -> Any:
    @functools.wraps(handler)
    def run(event: Event, ctx: HandlerContext) -> Any:
        try:
            return handler(event, ctx)
        except Exception as exc:
            caught[index] = exc
            raise

    # The router names a handler by module and qualified name: keep the handler's own.
    run.__module__ = getattr(handler, "__module__", run.__module__)
    run.__qualname__ = getattr(handler, "__qualname__", repr(handler))
    return run


class Worker:
    """Processes deliveries by id: ``perform`` is what the queue calls for each attempt."""

    def __init__(
        self,
        store: Store,
        router: Router,
        github_for: Callable[[int], Github],
        *,
        dry_run: bool = False,
        lease_s: float = DEFAULT_LEASE_S,
        write_settle_s: float = DEFAULT_WRITE_SETTLE_S,
        config_cache_s: float = DEFAULT_CONFIG_CACHE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.router = router
        self.github_for = github_for
        self.dry_run = dry_run
        self.lease_s = lease_s
        self.write_settle_s = write_settle_s
        self.config_cache = ConfigCache(config_cache_s) if config_cache_s > 0 else None
        self.clock = clock
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._holds: dict[int, float] = {}  # installation -> epoch its rate limit resets
        self._heartbeat: threading.Thread | None = None
        self._stopping = threading.Event()

    # -------------------------------------------------------------------- one attempt

    def perform(self, delivery_id: str, final_attempt: bool = True) -> Verdict | None:
        """One attempt; raises :class:`DeliveryAttemptFailed` when the queue should retry and
        :class:`DeliveryDeferred` when it should wait for a rate limit's reset.

        Returns None when there was nothing to do: unknown id, finished already, or another
        worker holds it (a copy of the task, a redelivery arriving while it runs).
        """
        owner = f"{self.identity}:{uuid.uuid4().hex[:12]}"
        with self.store.session() as session:
            claim = claim_delivery(session, delivery_id, owner, lease_s=self.lease_s)
            if claim is None:
                self._explain_no_claim(session, delivery_id)
                return None
        self._hold(owner)
        try:
            verdict = self._attempt(claim, final_attempt)
        finally:
            self._release(owner)
        key = Event(claim.event, claim.payload).key
        if verdict.deferred:
            assert verdict.wake_at is not None
            raise DeliveryDeferred(
                f"delivery {delivery_id} ({key}) waits for a rate limit until "
                f"{_iso(verdict.resume_at)}: {verdict.error}",
                wake_at=datetime.fromtimestamp(verdict.wake_at, UTC),
            )
        if verdict.retry:
            raise DeliveryAttemptFailed(
                f"delivery {delivery_id} ({key}) failed and will be retried: {verdict.error}",
                hint="see the delivery's last_error in the store",
                min_delay_s=verdict.retry_delay_s,
            )
        log.info("delivery %s (%s): %s", delivery_id, key, verdict.status.value)
        return verdict

    def _attempt(self, claim: Claim, final_attempt: bool) -> Verdict:
        event = Event(claim.event, claim.payload, claim.delivery_id)
        now = self.clock()
        if claim.lost_leases >= MAX_LOST_LEASES:
            verdict = Verdict(
                DeliveryStatus.FAILED,
                f"the worker handling it stopped {claim.lost_leases} times (killed, or out of "
                "memory): not run again",
            )
            return self._finish(claim, verdict, job=None)
        from bot.store.retention import is_pruned

        if is_pruned(claim.payload):  # a finished delivery requeued after its retention
            verdict = Verdict(
                DeliveryStatus.FAILED,
                "its payload was deleted after the retention period: redeliver it from the "
                "App's Advanced page if it must run again",
            )
            return self._finish(claim, verdict, job=None)
        held_until = self._installation_hold(claim.installation_id, now)
        if held_until is not None and self._may_wait(claim, now):
            reason = f"installation {claim.installation_id} waits for a rate limit"
            failure = Failure(FailureKind.RATE_LIMITED, reason, held_until)
            verdict = judge_failures(
                [("queue", failure)],
                final_attempt=final_attempt,
                spread=random.random(),
            )
            return self._finish(claim, verdict, job=None)

        try:
            ctx = self.context_for(event, claim.installation_id)
        except Exception as exc:  # the delivery must end marked, whatever went wrong
            log.warning("delivery %s (%s): cannot start: %s", claim.delivery_id, event.key, exc)
            failures = [("set-up", classify_failure(exc, now=self.clock()))]
            verdict = self._judge(failures, claim, final_attempt)
            return self._finish(claim, verdict, job=None)

        with self.store.session() as session:
            job = start_attempt_job(
                session,
                f"webhook:{event.key}",
                repo=event.repo_full_name,
                delivery_id=claim.delivery_id,
                attempt=claim.attempt,
            )
        view, caught = _capturing(self.router, event)
        result = dispatch(view, event, ctx)
        result.planned = list(ctx.planned)
        failures = []
        for outcome, exc in zip(result.outcomes, caught, strict=True):
            if outcome.ok or outcome.exit_code is ExitCode.FINDING:
                continue
            failure = (
                classify_failure(exc, now=self.clock())
                if exc is not None
                else _exit_code_failure(outcome.exit_code, outcome.error)
            )
            failures.append((outcome.handler, failure))
        verdict = self._judge(failures, claim, final_attempt)
        return self._finish(claim, verdict, job=job, summary=result.summary())

    def _judge(
        self, failures: list[tuple[str, Failure]], claim: Claim, final_attempt: bool
    ) -> Verdict:
        return judge_failures(
            failures,
            final_attempt=final_attempt,
            may_wait=self._may_wait(claim, self.clock()),
            settle_s=self.write_settle_s,
            spread=random.random(),
        )

    @staticmethod
    def _may_wait(claim: Claim, now: float) -> bool:
        return claim.received_at is None or now - claim.received_at.timestamp() < (
            MAX_RATE_LIMIT_WAIT_S
        )

    def _finish(
        self,
        claim: Claim,
        verdict: Verdict,
        *,
        job: Any,
        summary: dict[str, Any] | None = None,
    ) -> Verdict:
        """Records the verdict, job row and delivery together, while the claim is held."""
        with self.store.session() as session:
            if job is not None:
                job_error = verdict.error if verdict.status is not DeliveryStatus.DONE else None
                finish_job(session, job, error=job_error, summary=summary)
            if verdict.deferred:
                assert verdict.resume_at is not None
                until = datetime.fromtimestamp(verdict.resume_at, UTC)
                kept = defer_claim(session, claim, until, reason=verdict.error)
                if claim.installation_id is not None:
                    self._holds[claim.installation_id] = verdict.resume_at
            else:
                kept = finish_claim(
                    session, claim, verdict.status, error=verdict.error, retry=verdict.retry
                )
        if not kept:
            log.warning(
                "delivery %s: the claim expired while it ran and another worker took it over; "
                "this attempt's outcome is not recorded",
                claim.delivery_id,
            )
        return verdict

    def _installation_hold(self, installation_id: int | None, now: float) -> float | None:
        """Until when the installation waits for a rate limit, from this process or the store."""
        if installation_id is None:
            return None
        local = self._holds.get(installation_id)
        if local is not None and local > now:
            return local
        with self.store.reading() as session:
            shared = installation_hold(
                session, installation_id, now=datetime.fromtimestamp(now, UTC)
            )
        return shared.timestamp() if shared is not None else None

    def _explain_no_claim(self, session: Any, delivery_id: str) -> None:
        delivery = get_delivery(session, delivery_id)
        if delivery is None:
            log.warning("delivery %s is not in the store; nothing to do", delivery_id)
        elif delivery.status in (DeliveryStatus.DONE, DeliveryStatus.FAILED):
            log.info("delivery %s is %s already; skipping", delivery_id, delivery.status.value)
        else:
            log.info(
                "delivery %s is being handled by %s; skipping", delivery_id, delivery.lease_owner
            )

    def context_for(self, event: Event, installation_id: int | None) -> HandlerContext:
        """Client for the delivery's installation and the repository's configuration.

        An event without an installation (a repository webhook's ``ping``) gets no client
        and the default configuration: its handlers cannot act on GitHub anyway.
        """
        github = self.github_for(installation_id) if installation_id is not None else None
        return context_for_event(
            event,
            github=github,
            store=self.store,
            dry_run=self.dry_run,
            config_cache=self.config_cache,
            payload_repo=True,
        )

    # ------------------------------------------------------------------- heartbeat

    def _hold(self, owner: str) -> None:
        with self._held_lock:
            self._held.add(owner)
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(
                    target=self._beat, name="maintbot-heartbeat", daemon=True
                )
                self._heartbeat.start()

    def _release(self, owner: str) -> None:
        with self._held_lock:
            self._held.discard(owner)

    def _beat(self) -> None:
        """Extends this worker's leases every third of a lease, while it holds any."""
        while not self._stopping.wait(self.lease_s / 3):
            with self._held_lock:
                owners = set(self._held)
            if not owners:
                continue
            try:
                with self.store.session() as session:
                    renew_leases(session, owners, lease_s=self.lease_s)
            except Exception as exc:  # the next beat tries again; the lease has slack
                log.warning("heartbeat: could not extend %d leases: %s", len(owners), exc)

    def stop(self) -> None:
        """Stops the heartbeat (claims still held then expire after their lease)."""
        self._stopping.set()


def _iso(epoch: float | None) -> str:
    if epoch is None:
        return "?"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def queue_delivery(
    store: Store,
    queue: DeliveryQueue,
    delivery_id: str,
    *,
    from_statuses: Sequence[DeliveryStatus] = (DeliveryStatus.RECEIVED,),
) -> bool:
    """Moves a delivery to ``queued`` and queues it, once; True if this call queued it.

    Only the caller that moves it from one of ``from_statuses`` queues it: several copies of
    one delivery arriving together queue it once. If the queue fails it goes back.
    Marked first, so a fast worker's ``done`` is never overwritten by a late ``queued``.
    """
    with store.session() as session:
        moved = transition(session, delivery_id, DeliveryStatus.QUEUED, from_statuses=from_statuses)
    if not moved:
        return False
    enqueue_marked(store, queue, delivery_id)
    return True


def enqueue_marked(store: Store, queue: DeliveryQueue, delivery_id: str) -> None:
    """Queues a delivery already marked ``queued``; if the queue fails, marks it ``received``
    again (a redelivery or a worker's recovery queues it later) and raises the queue's error.
    A store that fails too leaves it ``queued``, which recovery also finds."""
    try:
        queue.enqueue(delivery_id)
    except Exception:
        try:
            with store.session() as session:
                transition(
                    session,
                    delivery_id,
                    DeliveryStatus.RECEIVED,
                    from_statuses=(DeliveryStatus.QUEUED,),
                )
        except Exception as exc:
            log.error("delivery %s: the store failed too: %s", delivery_id, type(exc).__name__)
        raise


def recover_at_start(store: Store, queue: DeliveryQueue) -> list[str]:
    """:func:`recover` now, and once more when the claims held now have expired.

    A worker starting after a crash finds the dead worker's claims still leased (for up to
    a lease): the second, scheduled recovery frees them as soon as they expire, instead of
    waiting for the minute's periodic one. Claims of live workers are renewed meanwhile and
    are left alone.
    """
    recovered = recover(store, queue)
    with store.reading() as session:
        latest = latest_lease_expiry(session)
    if latest is not None:
        queue.schedule_recovery(latest + timedelta(seconds=1))
    return recovered


def recover(store: Store, queue: DeliveryQueue) -> list[str]:
    """Queues again what dead processes left unfinished, once; returns the delivery ids.

    Frees the claims whose lease expired (their worker died; its job row is marked failed,
    and the rerun takes the same row back), then queues every unfinished delivery that no
    live worker holds and that is not waiting in the queue: one a worker took from the queue
    when it died, or one the receiver recorded but could not queue. A delivery waiting for a
    rate limit is scheduled for its reset. Run when a worker starts, and each minute.
    """
    with store.session() as session:
        released = release_expired_leases(session)
        orphaned = fail_orphaned_jobs(session)
    if released or orphaned:
        log.warning(
            "freed %d deliveries whose worker died (lease expired); %d job rows marked failed",
            len(released),
            orphaned,
        )
    waiting = queue.waiting_ids()
    with store.reading() as session:
        stranded = stranded_deliveries(session, limit=MAX_REQUEUE)
    recovered: list[str] = []
    for item in stranded:
        if item.delivery_id in waiting:
            continue
        with store.session() as session:
            transition(
                session,
                item.delivery_id,
                DeliveryStatus.QUEUED,
                from_statuses=(DeliveryStatus.RECEIVED,),
            )
        queue.enqueue(item.delivery_id, eta=item.not_before)
        recovered.append(item.delivery_id)
    if recovered:
        log.warning("re-queued %d unfinished deliveries: %s", len(recovered), recovered[:20])
    return recovered


def requeue_failed(store: Store, queue: DeliveryQueue) -> list[str]:
    """Queues every failed delivery again, with a fresh set of retries; returns their ids."""
    statement = (
        select(WebhookDelivery.delivery_id)
        .where(WebhookDelivery.status == DeliveryStatus.FAILED)
        .order_by(WebhookDelivery.received_at, WebhookDelivery.id)
        .limit(MAX_REQUEUE)
    )
    with store.session() as session:
        failed = list(session.execute(statement).scalars())
    return [
        delivery_id
        for delivery_id in failed
        if queue_delivery(store, queue, delivery_id, from_statuses=(DeliveryStatus.FAILED,))
    ]
