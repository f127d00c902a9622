"""What a handler gets: GitHub access, the repository's config, the store, and dry-run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from github import Github

    from bot.config.schema import Config
    from bot.events.router import Event
    from bot.store.database import Store


@dataclass
class HandlerContext:
    """Everything a handler may touch. Handlers never build clients or read env themselves.

    ``dry_run`` is honoured by every helper that writes to GitHub: the write is described in
    ``planned`` (and the log) instead of performed.
    """

    github: Github | None
    config: Config
    store: Store | None = None
    dry_run: bool = False
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("maintbot"))
    planned: list[dict[str, Any]] = field(default_factory=list)
    decisions: dict[str, Any] = field(default_factory=dict)
    """What earlier handlers of this event decided (``decisions["type"] = "bug"``), for the
    handlers after them: the missing-information check asks only bug reports, whether or not
    the type label was written (dry-run); the welcome leaves to it what it asked for
    (``decisions["missing_info_asked"]``)."""
    _repos: dict[str, Any] = field(default_factory=dict, repr=False)
    _issues: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)
    _threads: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)
    _label_names: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def repo(self, full_name: str) -> Any:
        """The PyGithub repository, fetched once per event however many handlers ask."""
        if self.github is None:
            raise RuntimeError("no GitHub client: check ctx.github before asking for a repo")
        if full_name not in self._repos:
            self._repos[full_name] = self.github.get_repo(full_name)
        return self._repos[full_name]

    def issue(self, full_name: str, number: int) -> Any:
        """The PyGithub issue as GitHub has it now, read once per event (not the payload's
        copy, which a redelivery may carry stale).

        Labels written through :meth:`apply_labels` make the next call read it again, so a
        later handler (or command) sees them.
        """
        key = (full_name, int(number))
        if key not in self._issues:
            self._issues[key] = self.repo(full_name).get_issue(int(number))
        return self._issues[key]

    def apply_labels(
        self, full_name: str, number: int, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> Any:
        """Adds and removes labels on an issue (only what differs from its labels now), with
        the configuration's colours and ``labels.create_missing``, honouring dry-run: the
        :class:`bot.github.labels.LabelResult`."""
        from bot.github.labels import apply_labels

        result = apply_labels(
            self.repo(full_name),
            self.issue(full_name, number),
            add=add,
            remove=remove,
            palette=self.config.labels.palette(),
            create_missing=self.config.labels.create_missing,
            dry_run=self.dry_run,
            repo_labels=lambda: self._repository_labels(full_name),
        )
        if result.changed and not self.dry_run:
            self._issues.pop((full_name, int(number)), None)  # read again when next asked
            if full_name in self._label_names:
                self._label_names[full_name].extend(result.created)
        return result

    def _repository_labels(self, full_name: str) -> list[str]:
        """The repository's label names, listed once per event (with those we create)."""
        if full_name not in self._label_names:
            self._label_names[full_name] = [
                label.name for label in self.repo(full_name).get_labels()
            ]
        return self._label_names[full_name]

    def issue_comments(self, full_name: str, number: int) -> Any:
        """The issue's conversation (:class:`bot.github.comments.IssueComments`), listed once
        per event and kept current by the writes made through it."""
        from bot.github.comments import IssueComments

        key = (full_name, int(number))
        if key not in self._threads:
            self._threads[key] = IssueComments(self.issue(full_name, number))
        return self._threads[key]

    def acting_login(self) -> str | None:
        """The personal token's account, or None (App, Actions token): with bot accounts,
        whose comments are maintbot's own (``bot.github.identity``)."""
        if self.github is None:
            return None
        from bot.github.identity import acting_login

        return acting_login(self.github)  # cached per token and process

    def plan(self, action: str, **details: Any) -> None:
        """Records a write that dry-run skipped, so the caller can show what would happen."""
        self.planned.append({"action": action, **details})
        self.log.info("dry-run: would %s %s", action, details)


class ConfigCache:
    """Repositories' configurations, kept a short while by a long-running process (the App).

    The key holds the repository's ``pushed_at`` from the payload: a changed
    ``.github/maintbot.yml`` needs a push, which changes it, so a new file is read at the
    first event after it. ``ttl_s`` bounds how long a key lives anyway (a payload without
    ``pushed_at``, a file edited by another path). Thread-safe; at most ``max_entries``.
    """

    def __init__(
        self,
        ttl_s: float = 300.0,
        *,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, Config]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(api_url: str, event: Event) -> tuple[str, ...]:
        """Where the file was read from and which version of the repository it was."""
        repository = event.payload.get("repository")
        pushed = repository.get("pushed_at") if isinstance(repository, dict) else None
        return (api_url, (event.repo_full_name or "").lower(), str(pushed))

    def get(self, key: tuple[str, ...]) -> Config | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or self._clock() >= found[0]:
                self._entries.pop(key, None)
                self.misses += 1
                return None
            self.hits += 1
            return found[1]

    def put(self, key: tuple[str, ...], config: Config) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # rare and cheap to refill: one request per repository
            self._entries[key] = (self._clock() + self.ttl_s, config)


#: The repository fields a webhook payload carries in the REST API's shape.
_PAYLOAD_REPO_FIELDS = (
    "id",
    "node_id",
    "name",
    "full_name",
    "owner",
    "private",
    "html_url",
    "description",
    "fork",
    "default_branch",
    "archived",
    "disabled",
    "visibility",
    "has_issues",
    "language",
)


def repo_from_payload(github: Github, repository: dict[str, Any]) -> Any:
    """A PyGithub repository made from the payload's ``repository``, without a request.

    Its URL is built from the client's API root, not taken from the payload. A field the
    payload lacks is fetched by PyGithub on first use (one ``GET /repos/{owner}/{repo}``).
    """
    from github.Repository import Repository

    requester = github.requester
    attributes = {k: repository[k] for k in _PAYLOAD_REPO_FIELDS if k in repository}
    attributes["url"] = f"{requester.base_url}/repos/{repository['full_name']}"
    return Repository(requester, headers={}, attributes=attributes, completed=False)


def context_for_event(
    event: Event,
    *,
    github: Github | None,
    store: Store | None = None,
    dry_run: bool = False,
    config: Config | None = None,
    config_cache: ConfigCache | None = None,
    payload_repo: bool = False,
) -> HandlerContext:
    """The one way a handler context is built, for the Action, the App, replay and the demo.

    ``config`` None reads the repository's ``.github/maintbot.yml`` through ``github`` (the
    defaults for an event without a repository or without a client); the repository fetched
    for it is kept, so the handlers do not fetch it again. The App passes a ``config_cache``
    and ``payload_repo=True`` (the repository built from the payload, not fetched): a new
    issue then costs only the requests the payload cannot answer.
    """
    from bot.config.schema import Config

    repo = None
    if github is not None and event.repo_full_name and payload_repo:
        repository = event.payload.get("repository")
        if isinstance(repository, dict) and isinstance(repository.get("full_name"), str):
            repo = repo_from_payload(github, repository)
    if config is None:
        if github is not None and event.repo_full_name:
            key = ConfigCache.key(github.requester.base_url, event) if config_cache else None
            config = config_cache.get(key) if config_cache and key else None
            if config is None:
                config = _read_config(github, event.repo_full_name, repo)
                repo = repo or config.repo
                config = config.value
                if config_cache is not None and key is not None:
                    config_cache.put(key, config)
        else:
            config = Config.default()
    ctx = HandlerContext(github=github, config=config, store=store, dry_run=dry_run)
    if repo is not None:
        ctx._repos[event.repo_full_name if payload_repo else repo.full_name] = repo
    return ctx


@dataclass(frozen=True)
class _ReadConfig:
    value: Config
    repo: Any


def _read_config(github: Github, full_name: str, repo: Any) -> _ReadConfig:
    from github import GithubException
    from requests import RequestException

    from bot.config.remote import fetch_repo_config
    from bot.github.errors import explain_github_error

    if repo is None:
        try:
            repo = github.get_repo(full_name)
        except (GithubException, RequestException) as exc:
            raise explain_github_error(exc, action=f"read the repository {full_name}") from exc
    return _ReadConfig(fetch_repo_config(repo), repo)
