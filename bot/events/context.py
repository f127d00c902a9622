"""What a handler gets: GitHub access, the repository's config, the store, and dry-run."""

from __future__ import annotations

import logging
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
    the type label was written (dry-run)."""
    _repos: dict[str, Any] = field(default_factory=dict, repr=False)

    def repo(self, full_name: str) -> Any:
        """The PyGithub repository, fetched once per event however many handlers ask."""
        if self.github is None:
            raise RuntimeError("no GitHub client: check ctx.github before asking for a repo")
        if full_name not in self._repos:
            self._repos[full_name] = self.github.get_repo(full_name)
        return self._repos[full_name]

    def plan(self, action: str, **details: Any) -> None:
        """Records a write that dry-run skipped, so the caller can show what would happen."""
        self.planned.append({"action": action, **details})
        self.log.info("dry-run: would %s %s", action, details)


def context_for_event(
    event: Event,
    *,
    github: Github | None,
    store: Store | None = None,
    dry_run: bool = False,
    config: Config | None = None,
) -> HandlerContext:
    """The one way a handler context is built, for the Action, the App, replay and the demo.

    ``config`` None reads the repository's ``.github/maintbot.yml`` through ``github`` (the
    defaults for an event without a repository or without a client); the repository fetched
    for it is kept, so the handlers do not fetch it again.
    """
    from bot.config.schema import Config

    repo = None
    if config is None:
        if github is not None and event.repo_full_name:
            from github import GithubException
            from requests import RequestException

            from bot.config.remote import fetch_repo_config
            from bot.github.errors import explain_github_error

            try:
                repo = github.get_repo(event.repo_full_name)
            except (GithubException, RequestException) as exc:
                action = f"read the repository {event.repo_full_name}"
                raise explain_github_error(exc, action=action) from exc
            config = fetch_repo_config(repo)
        else:
            config = Config.default()
    ctx = HandlerContext(github=github, config=config, store=store, dry_run=dry_run)
    if repo is not None:
        ctx._repos[repo.full_name] = repo
    return ctx
