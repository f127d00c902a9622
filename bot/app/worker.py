"""The worker: runs one stored delivery through the handlers, as the App's installation.

The queue hands over only a delivery id; the payload comes from the store, the client is
built for the delivery's installation (App key -> installation token, cached per process),
the configuration comes from the repository, and :func:`bot.events.router.dispatch` runs the
same handlers as the Action and ``maintbot replay``. The delivery ends ``done`` or ``failed`` with
the error; transient failures are retried by the queue, and nothing is lost on a crash
because :func:`recover` queues again whatever a dead process left unfinished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.errors import ExitCode, MaintbotError, UsageError
from bot.events.context import HandlerContext, context_for_event
from bot.events.router import DispatchResult, Event, Router, dispatch
from bot.store.database import Store
from bot.store.deliveries import get_delivery, mark_delivery, pending_deliveries
from bot.store.jobs import finish_job, start_job
from bot.store.models import DeliveryStatus, WebhookDelivery

if TYPE_CHECKING:
    from github import Github

    from bot.app.queue import DeliveryQueue
    from bot.app.settings import AppSettings

log = logging.getLogger(__name__)

#: How many deliveries recovery or a re-queue takes in one go (each is a small row).
MAX_REQUEUE = 10_000


class DeliveryAttemptFailed(MaintbotError):
    """One attempt at a delivery failed in a way another attempt may fix; the queue retries."""


@dataclass(frozen=True)
class Verdict:
    """How an attempt ends: the delivery's new status, its error, and whether to try again."""

    status: DeliveryStatus
    error: str | None = None
    retry: bool = False


def judge_dispatch(result: DispatchResult, *, final_attempt: bool) -> Verdict:
    """Done when every handler succeeded; failed otherwise, retried unless it cannot help.

    A handler that raised a finding (exit code 1, e.g. a regression reported on the PR) did
    its job. A usage or configuration error (exit code 2) fails the same way every time, so
    only other failures (GitHub, network, database: exit code 3) are retried.
    """
    failed = [o for o in result.outcomes if not o.ok and o.exit_code is not ExitCode.FINDING]
    if not failed:
        return Verdict(DeliveryStatus.DONE)
    error = "; ".join(f"{o.handler}: {o.error}" for o in failed)
    transient = any(o.exit_code is ExitCode.EXTERNAL for o in failed)
    return Verdict(DeliveryStatus.FAILED, error, retry=transient and not final_attempt)


def judge_exception(exc: BaseException, *, final_attempt: bool) -> Verdict:
    """A failure before the handlers ran (client, token, repository config)."""
    transient = not isinstance(exc, UsageError)  # a bad maintbot.yml stays bad on retry
    message = exc.message if isinstance(exc, MaintbotError) else str(exc) or type(exc).__name__
    return Verdict(
        DeliveryStatus.FAILED,
        f"{type(exc).__name__}: {message}",
        retry=transient and not final_attempt,
    )


def app_client_factory(settings: AppSettings) -> Callable[[int], Github]:
    """Builds a client per installation; installation tokens are cached process-wide."""
    from bot.github.client import build_github

    def github_for(installation_id: int) -> Github:
        return build_github(
            app_id=settings.app_id,
            private_key=settings.private_key,
            installation_id=installation_id,
            api_url=settings.api_url,
            seconds_between_writes=settings.seconds_between_writes,
        )

    return github_for


class Worker:
    """Processes deliveries by id: ``perform`` is what the queue calls for each attempt."""

    def __init__(
        self,
        store: Store,
        router: Router,
        github_for: Callable[[int], Github],
        *,
        dry_run: bool = False,
    ) -> None:
        self.store = store
        self.router = router
        self.github_for = github_for
        self.dry_run = dry_run

    def perform(self, delivery_id: str, final_attempt: bool = True) -> Verdict | None:
        """One attempt; raises :class:`DeliveryAttemptFailed` when the queue should retry.

        Returns None when there was nothing to do (unknown id, or already done).
        """
        with self.store.session() as session:
            delivery = get_delivery(session, delivery_id)
            if delivery is None:
                log.warning("delivery %s is not in the store; nothing to do", delivery_id)
                return None
            if delivery.status is DeliveryStatus.DONE:
                log.info("delivery %s is done already; skipping", delivery_id)
                return None
            event = Event(delivery.event, dict(delivery.payload), delivery.delivery_id)
            installation_id = delivery.installation_id

        try:
            ctx = self.context_for(event, installation_id)
        except Exception as exc:  # the delivery must end marked, whatever went wrong
            log.warning("delivery %s (%s): cannot start: %s", delivery_id, event.key, exc)
            verdict = judge_exception(exc, final_attempt=final_attempt)
        else:
            with self.store.session() as session:
                job = start_job(
                    session,
                    f"webhook:{event.key}",
                    repo=event.repo_full_name,
                    delivery_id=delivery_id,
                )
            result = dispatch(self.router, event, ctx)
            result.planned = list(ctx.planned)
            verdict = judge_dispatch(result, final_attempt=final_attempt)
            with self.store.session() as session:
                finish_job(session, job, error=verdict.error, summary=result.summary())
        self._record(delivery_id, verdict)
        if verdict.retry:
            raise DeliveryAttemptFailed(
                f"delivery {delivery_id} ({event.key}) failed and will be retried: {verdict.error}",
                hint="see the delivery's last_error in the store",
            )
        log.info("delivery %s (%s): %s", delivery_id, event.key, verdict.status.value)
        return verdict

    def context_for(self, event: Event, installation_id: int | None) -> HandlerContext:
        """Client for the delivery's installation and the repository's configuration.

        An event without an installation (a repository webhook's ``ping``) gets no client
        and the default configuration: its handlers cannot act on GitHub anyway.
        """
        github = self.github_for(installation_id) if installation_id is not None else None
        return context_for_event(event, github=github, store=self.store, dry_run=self.dry_run)

    def _record(self, delivery_id: str, verdict: Verdict) -> None:
        with self.store.session() as session:
            mark_delivery(session, delivery_id, verdict.status, error=verdict.error)
            if verdict.retry:  # counted as a failed attempt, and back in the queue
                mark_delivery(session, delivery_id, DeliveryStatus.QUEUED)


def queue_delivery(store: Store, queue: DeliveryQueue, delivery_id: str) -> None:
    """Marks a delivery queued, then queues it; if the queue fails it goes back to received.

    Marked first, so a fast worker's ``done`` is never overwritten by a late ``queued``.
    """
    with store.session() as session:
        mark_delivery(session, delivery_id, DeliveryStatus.QUEUED)
    try:
        queue.enqueue(delivery_id)
    except Exception:
        with store.session() as session:
            mark_delivery(session, delivery_id, DeliveryStatus.RECEIVED)
        raise


def recover(store: Store, queue: DeliveryQueue) -> list[str]:
    """Queues again the deliveries a crash left ``received`` or ``queued`` but not in the queue.

    A task a worker had taken from the queue when its process died is gone from the queue
    while its delivery still says ``queued``: this finds it. Run when a worker starts.
    """
    waiting = queue.waiting_ids()
    with store.session() as session:
        unfinished = [d.delivery_id for d in pending_deliveries(session, limit=MAX_REQUEUE)]
    recovered = [delivery_id for delivery_id in unfinished if delivery_id not in waiting]
    for delivery_id in recovered:
        queue_delivery(store, queue, delivery_id)
    if recovered:
        log.warning("re-queued %d unfinished deliveries: %s", len(recovered), recovered)
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
    for delivery_id in failed:
        queue_delivery(store, queue, delivery_id)
    return failed
