"""The global CLI options, and the objects built from them only when a command needs them.

Commands never read the environment or build clients themselves: they ask ``Settings`` for
the GitHub client, the configuration or the store, so `--token`, `--api-url`, `--config` and
`--dry-run` mean the same thing everywhere. A command gets the one ``Settings`` of its
invocation with ``bot.cli_context.pass_settings``.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import UsageError

if TYPE_CHECKING:
    from github import Github

    from bot.config.schema import Config
    from bot.store.database import Store

DEFAULT_API_URL = "https://api.github.com"


@dataclass
class Settings:
    """Global options of ``maintbot`` (see ``maintbot --help``)."""

    api_url: str = DEFAULT_API_URL
    token: str | None = None
    config_path: Path | None = None
    dry_run: bool = False
    as_json: bool = False
    verbose: int = 0
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    def github(self, *, required: bool = True) -> Github | None:
        """A PyGithub client for ``--api-url`` with ``--token`` (or App credentials from env)."""
        if "github" not in self._cache:
            from bot.github.client import build_github, credentials_from_env

            creds = credentials_from_env(token=self.token, api_url=self.api_url)
            if not creds.usable:
                if required:
                    raise UsageError(
                        "no GitHub credentials: this command talks to the GitHub API",
                        hint="pass --token, or set GITHUB_TOKEN (a GitHub App uses "
                        "MAINTBOT_APP_ID and MAINTBOT_APP_PRIVATE_KEY_FILE)",
                    )
                return None
            self._cache["github"] = build_github(credentials=creds)
        return self._cache["github"]  # type: ignore[return-value]

    def emit(self, data: object, text: str | None = None) -> None:
        """Prints ``data`` as one JSON line with ``--json``, else ``text`` (or ``data``)."""
        import json

        import click

        if self.as_json:
            click.echo(json.dumps(data, default=str, sort_keys=True))
        else:
            click.echo(text if text is not None else data)

    def config(self) -> Config:
        """The ``--config`` file, or every default when none was given."""
        if "config" not in self._cache:
            from bot.config.loader import load_config

            self._cache["config"] = load_config(self.config_path)
        return self._cache["config"]  # type: ignore[return-value]

    def store(self) -> Store:
        """The local store (``MAINTBOT_DATABASE_URL`` or the default SQLite file)."""
        if "store" not in self._cache:
            from bot.store.database import Store

            self._cache["store"] = Store.open()
        return self._cache["store"]  # type: ignore[return-value]


@functools.cache
def configure_logging(verbose: int) -> None:
    """``-v`` shows what maintbot does, ``-vv`` also what the libraries do."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose < 2:
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        logging.getLogger("github").setLevel(logging.WARNING)
