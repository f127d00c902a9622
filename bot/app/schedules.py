"""The App's ``schedule`` events: GitHub sends an App no cron events, so workers make them.

Each minute a worker asks which installed repositories' ``report.schedule`` falls on this
minute and stores a ``schedule`` delivery for each, with the id
``schedule:<repo>:<YYYYMMDDTHHMM>``. The store keeps a delivery id once, so however many
worker processes tick in the same minute, one report job is queued; the delivery then goes
through the same router as the Action's ``schedule`` run (``bot.report.handlers``).
Repositories and their configuration are read again at most every ``refresh_s`` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huey import crontab

log = logging.getLogger(__name__)

SCHEDULE_EVENT = "schedule"
#: After a failed read of the installed repositories, read again this soon (not a whole
#: ``refresh_s`` later); a rate limit's reset is at most an hour away.
RETRY_READ_S = 300.0


def cron_matches(cron: str, moment: datetime) -> bool:
    """Whether a 5-field cron line (UTC, as GitHub Actions reads it) fires at ``moment``."""
    fields = cron.split()
    if len(fields) != 5:
        return False
    minute, hour, day, month, weekday = fields
    try:
        return bool(crontab(minute, hour, day, month, weekday)(moment.astimezone(UTC)))
    except ValueError:
        return False


@dataclass(frozen=True)
class ScheduledRepo:
    """An installed repository and the cron line of its report."""

    installation_id: int
    repo: str
    cron: str


def schedule_delivery_id(repo: str, moment: datetime) -> str:
    """One id per repository and minute: the store's unique key makes the tick exactly-once."""
    return f"schedule:{repo}:{moment.astimezone(UTC):%Y%m%dT%H%M}"


def due(repos: Iterable[ScheduledRepo], moment: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The ``schedule`` deliveries (id, payload) to store at ``moment``."""
    return [
        (
            schedule_delivery_id(r.repo, moment),
            {
                "schedule": r.cron,
                "repository": {"full_name": r.repo},
                "installation": {"id": r.installation_id},
            },
        )
        for r in repos
        if cron_matches(r.cron, moment)
    ]


class ReportScheduler:
    """Finds the installed repositories whose report is due and queues their deliveries."""

    def __init__(
        self,
        store: Any,
        enqueue: Callable[[str], None],
        installations: Callable[[], Iterable[int]],
        github_for: Callable[[int], Any],
        *,
        refresh_s: float = 3600.0,
    ) -> None:
        self.store = store
        self.enqueue = enqueue
        self.installations = installations
        self.github_for = github_for
        self.refresh_s = refresh_s
        self._repos: dict[int, list[ScheduledRepo]] = {}
        self._read_at: float | None = None
        self._complete = False

    def repos(self) -> list[ScheduledRepo]:
        """Installed repositories with the report switched on (cached for ``refresh_s``).

        An installation that cannot be read now (rate limit, network, revoked token) keeps
        the repositories last read for it, and the read is tried again within
        :data:`RETRY_READ_S`; a tick never fails for it.
        """
        wait = self.refresh_s if self._complete else min(self.refresh_s, RETRY_READ_S)
        if self._read_at is None or time.monotonic() - self._read_at > wait:
            self._read_at = time.monotonic()
            self._complete = self._read_all()
        return [repo for repos in self._repos.values() for repo in repos]

    def _read_all(self) -> bool:
        """Reads every installation's repositories; False if any could not be read."""
        try:
            installations = list(self.installations())
        except Exception as exc:
            log.warning("report schedules: the App's installations not listed: %s", exc)
            return False
        complete = True
        for installation_id in installations:
            try:
                self._repos[installation_id] = list(self._read_repos(installation_id))
            except Exception as exc:
                log.warning(
                    "report schedules of installation %s not read (kept as last read): %s",
                    installation_id,
                    exc,
                )
                complete = False
        for gone in set(self._repos) - set(installations):
            del self._repos[gone]
        return complete

    def _read_repos(self, installation_id: int) -> Iterator[ScheduledRepo]:
        from github.PaginatedList import PaginatedList
        from github.Repository import Repository

        from bot.config.remote import fetch_repo_config

        github = self.github_for(installation_id)
        listing = PaginatedList(
            Repository,
            github.requester,
            "/installation/repositories",
            None,
            list_item="repositories",
        )
        for repo in listing:
            try:
                report = fetch_repo_config(repo).report
            except Exception as exc:  # one bad config must not stop the others' reports
                log.warning("report schedule of %s not read: %s", repo.full_name, exc)
                continue
            if report.enabled:
                yield ScheduledRepo(installation_id, repo.full_name, report.schedule)

    def tick(self, now: datetime | None = None) -> list[str]:
        """Stores and queues the deliveries due this minute; returns the ids queued."""
        from bot.store.deliveries import record_delivery

        moment = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
        queued = []
        for delivery_id, payload in due(self.repos(), moment):
            with self.store.session() as session:
                fresh = record_delivery(session, delivery_id, SCHEDULE_EVENT, payload)
            if fresh:
                self.enqueue(delivery_id)
                queued.append(delivery_id)
        if queued:
            log.info("scheduled %d report(s): %s", len(queued), ", ".join(queued))
        return queued


def app_installations(settings: Any) -> Callable[[], list[int]]:
    """The ids of the App's installations, listed with its JWT (``GET /app/installations``)."""

    def listing() -> list[int]:
        from github import Auth, GithubIntegration

        integration = GithubIntegration(
            auth=Auth.AppAuth(int(settings.app_id), settings.private_key),
            base_url=settings.api_url.rstrip("/"),
        )
        return [installation.id for installation in integration.get_installations()]

    return listing
