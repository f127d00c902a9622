"""Where the store lives: the database URL from an argument, the environment or the default path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import UsageError

DATABASE_URL_ENV = "MAINTBOT_DATABASE_URL"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
URL_HINT = (
    f"Set {DATABASE_URL_ENV} to a PostgreSQL URL (postgresql://user:password@host:5432/dbname), "
    "a SQLite URL (sqlite:////absolute/path.sqlite3) or a plain file path."
)


@dataclass(frozen=True)
class DatabaseTarget:
    """A database URL ready for SQLAlchemy, and where it came from (for error messages)."""

    url: URL
    source: str

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL; None for PostgreSQL and in-memory SQLite."""
        if self.backend != "sqlite" or self.url.database in (None, "", ":memory:"):
            return None
        return Path(self.url.database)

    def display(self) -> str:
        """The URL as it is safe to print: the password is hidden."""
        return self.url.render_as_string(hide_password=True)


def data_dir(env: Mapping[str, str]) -> Path:
    """maintbot's data folder: ``$XDG_DATA_HOME/maintbot``, else ``~/.local/share/maintbot``.

    A relative ``XDG_DATA_HOME`` is ignored, as the XDG base directory specification asks.
    The store, the App's queue file and caches all live here.
    """
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        base = Path(xdg)
    else:
        home = env.get("HOME")
        base = (Path(home) if home else Path.home()) / ".local" / "share"
    return base / "maintbot"


def default_sqlite_path(env: Mapping[str, str]) -> Path:
    """The default store: ``maintbot.sqlite3`` in :func:`data_dir`."""
    return data_dir(env) / "maintbot.sqlite3"


def resolve_database_target(url: str | None, env: Mapping[str, str]) -> DatabaseTarget:
    """The explicit URL, else ``MAINTBOT_DATABASE_URL``, else the default SQLite file."""
    if url is not None and url.strip():
        return parse_database_url(url, source="the database argument")
    from_env = env.get(DATABASE_URL_ENV, "")
    if from_env.strip():
        return parse_database_url(from_env, source=DATABASE_URL_ENV)
    path = default_sqlite_path(env)
    return DatabaseTarget(URL.create("sqlite", database=str(path)), source="the default path")


def parse_database_url(text: str, *, source: str) -> DatabaseTarget:
    """Parses a URL or a file path; plain ``postgresql://`` URLs get the psycopg 3 driver."""
    text = text.strip()
    if "://" not in text:
        path = Path(text).expanduser().absolute()
        return DatabaseTarget(URL.create("sqlite", database=str(path)), source=source)
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise UsageError(f"{source} is not a database URL: {exc}", hint=URL_HINT) from exc
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        # "postgres://" is what Heroku and many hosts hand out; SQLAlchemy only knows the long
        # name. Without an explicit driver we pick psycopg 3, the one maintbot[app] installs.
        driver = url.get_driver_name() if "+" in url.drivername else "psycopg"
        url = url.set(drivername=f"postgresql+{driver}")
    elif backend != "sqlite":
        raise UsageError(
            f"{source} names a {backend!r} database; maintbot supports "
            f"{' and '.join(SUPPORTED_BACKENDS)} only.",
            hint=URL_HINT,
        )
    return DatabaseTarget(url, source=source)
