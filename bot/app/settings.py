"""The App's settings from the environment, checked at start so a bad deploy fails at once.

Each setting has one variable; a missing one is an error that names it, for the part that
needs it (the receiver needs the webhook secret, the worker needs the App's id and key).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import UsageError
from bot.github.app_auth import read_private_key_file
from bot.github.client import DEFAULT_API_URL
from bot.store.urls import data_dir

WEBHOOK_SECRET_ENV = "MAINTBOT_WEBHOOK_SECRET"
APP_ID_ENV = "MAINTBOT_APP_ID"
PRIVATE_KEY_FILE_ENV = "MAINTBOT_APP_PRIVATE_KEY_FILE"
PRIVATE_KEY_ENV = "MAINTBOT_APP_PRIVATE_KEY"
REDIS_URL_ENV = "MAINTBOT_REDIS_URL"
QUEUE_FILE_ENV = "MAINTBOT_QUEUE_FILE"
API_URL_ENV = "GITHUB_API_URL"

#: Shorter webhook secrets are refused: an HMAC is only as strong as the secret behind it.
MIN_SECRET_LENGTH = 16


def parse_secrets(value: str | None) -> tuple[bytes, ...]:
    """The webhook secrets in ``value``: comma-separated for rotation, each one trimmed.

    A secret read from a file keeps its trailing newline, and ``old,new`` during a rotation
    names two secrets; neither may turn into a secret no delivery is signed with.
    """
    return tuple(part.strip().encode() for part in (value or "").split(",") if part.strip())


#: Attempts after the first one, and the first pause; each later pause doubles (huey's backoff).
DEFAULT_RETRIES = 4
DEFAULT_RETRY_DELAY_S = 30.0
RETRY_BACKOFF = 2.0
#: Worker processes run this much nicer than the receiver: with both on the same CPUs, the
#: model's work waits and GitHub's acknowledgements do not (docs/app.md, "Load").
DEFAULT_WORKER_NICE = 10
#: Threads in each worker process. One: a delivery's work is mostly the model's CPU, which
#: threads cannot share (one interpreter lock), and on a small host more threads made the
#: receiver wait behind them for the CPU and the store (docs/app.md, "Load").
DEFAULT_WORKER_THREADS = 1

LEASE_ENV = "MAINTBOT_LEASE_SECONDS"
SETTLE_ENV = "MAINTBOT_WRITE_SETTLE_SECONDS"
REQUEST_TIMEOUT_ENV = "MAINTBOT_REQUEST_TIMEOUT"
WRITE_PAUSE_ENV = "MAINTBOT_SECONDS_BETWEEN_WRITES"
#: How long a worker's claim on a delivery lasts without a heartbeat (beats every third of
#: it): a worker that died is replaced after at most this long.
DEFAULT_LEASE_S = 60.0
#: The least pause before repeating a delivery whose write timed out: long enough for a
#: write still in flight at GitHub to land, so the retry reads it instead of writing twice.
DEFAULT_WRITE_SETTLE_S = 60.0
#: The client's timeout per request (seconds), as for every maintbot command.
DEFAULT_REQUEST_TIMEOUT_S = 15
#: How long a worker keeps a repository's maintbot.yml (a push to it is seen at once).
DEFAULT_CONFIG_CACHE_S = 300.0


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds from ``name``, or ``default`` when unset."""
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError as exc:
        raise UsageError(
            f"{name} must be a number of seconds, not {text!r}", hint=f"unset {name} or fix it"
        ) from exc
    if value <= 0:
        raise UsageError(f"{name} must be more than 0 seconds", hint=f"unset {name} or fix it")
    return value


def _write_pause(env: Mapping[str, str]) -> float | None:
    """GitHub asks for a second between writes; a test against the sandbox may say 0."""
    text = (env.get(WRITE_PAUSE_ENV) or "").strip()
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError as exc:
        raise UsageError(
            f"{WRITE_PAUSE_ENV} must be a number of seconds, not {text!r}",
            hint=f"unset {WRITE_PAUSE_ENV}: GitHub asks for 1 s between writes",
        ) from exc
    return value if value > 0 else None


def default_queue_file(env: Mapping[str, str]) -> Path:
    """The SqliteHuey file beside the default store: ``~/.local/share/maintbot/queue.sqlite3``."""
    return data_dir(env) / "queue.sqlite3"


@dataclass(frozen=True)
class AppSettings:
    """Everything ``maintbot serve`` reads from the environment. Secrets never appear in a repr."""

    webhook_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    app_id: str | None = None
    private_key: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    queue_file: Path | None = None
    database_url: str | None = field(default=None, repr=False)
    retries: int = DEFAULT_RETRIES
    retry_delay_s: float = DEFAULT_RETRY_DELAY_S
    seconds_between_writes: float | None = 1.0
    dry_run: bool = False
    lease_s: float = DEFAULT_LEASE_S
    write_settle_s: float = DEFAULT_WRITE_SETTLE_S
    request_timeout_s: int = DEFAULT_REQUEST_TIMEOUT_S
    config_cache_s: float = DEFAULT_CONFIG_CACHE_S

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        api_url: str | None = None,
        dry_run: bool = False,
    ) -> AppSettings:
        """Reads every variable; checks nothing yet (see :meth:`require_receiver` / worker)."""
        env = os.environ if env is None else env
        key_text = env.get(PRIVATE_KEY_ENV) or None
        key_file = (env.get(PRIVATE_KEY_FILE_ENV) or "").strip() or None
        if key_text is None and key_file is not None:
            key_text = read_private_key_file(key_file)
        queue_file = (env.get(QUEUE_FILE_ENV) or "").strip()
        return cls(
            webhook_secrets=parse_secrets(env.get(WEBHOOK_SECRET_ENV)),
            app_id=(env.get(APP_ID_ENV) or "").strip() or None,
            private_key=key_text,
            api_url=(api_url or env.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/"),
            redis_url=(env.get(REDIS_URL_ENV) or "").strip() or None,
            queue_file=Path(queue_file).expanduser() if queue_file else default_queue_file(env),
            database_url=(env.get("MAINTBOT_DATABASE_URL") or "").strip() or None,
            dry_run=dry_run,
            lease_s=_seconds(env, LEASE_ENV, DEFAULT_LEASE_S),
            seconds_between_writes=_write_pause(env),
            write_settle_s=_seconds(env, SETTLE_ENV, DEFAULT_WRITE_SETTLE_S),
            request_timeout_s=max(
                1, round(_seconds(env, REQUEST_TIMEOUT_ENV, DEFAULT_REQUEST_TIMEOUT_S))
            ),
        )

    def require_receiver(self, *, insecure_no_secret: bool) -> None:
        """The receiver refuses to start unsigned (unless it is a local test) or weakly signed."""
        if not self.webhook_secrets and not insecure_no_secret:
            raise UsageError(
                f"{WEBHOOK_SECRET_ENV} is not set: anyone could post fake events to the App",
                hint=f"set {WEBHOOK_SECRET_ENV} to the App's webhook secret; for a local test "
                "only, pass --insecure-no-secret",
            )
        for number, secret in enumerate(self.webhook_secrets, start=1):
            if len(secret) < MIN_SECRET_LENGTH:
                count = len(self.webhook_secrets)
                which = f"secret {number} of {count} in " if count > 1 else ""
                raise UsageError(
                    f"{which}{WEBHOOK_SECRET_ENV} has {len(secret)} characters, under the "
                    f"minimum of {MIN_SECRET_LENGTH}: a short secret can be guessed",
                    hint="set a long random secret on the App's settings page and here, e.g. "
                    'python -c "import secrets; print(secrets.token_hex(32))"',
                )

    def require_worker(self) -> None:
        """The worker acts as the App, so it needs the App's id and private key."""
        if not self.app_id:
            raise UsageError(
                f"{APP_ID_ENV} is not set: the worker cannot authenticate as the App",
                hint=f"set {APP_ID_ENV} to the App's numeric id (the App's settings page)",
            )
        if not self.private_key:
            raise UsageError(
                f"no private key for GitHub App {self.app_id}",
                hint=f"set {PRIVATE_KEY_FILE_ENV} to the .pem file GitHub generated for the App "
                f"(or its content in {PRIVATE_KEY_ENV})",
            )
        from bot.github.app_auth import load_private_key

        load_private_key(self.private_key)  # a bad key fails now, not at the first event
