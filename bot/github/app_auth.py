"""GitHub App authentication: App id + private key -> JWT -> installation token, cached.

An installation token lives one hour. Minting one costs a request, so a process keeps one
:class:`InstallationTokenCache` per App (see :func:`app_token_cache`) and every client for an
installation reads its token from there, minting again only shortly before it expires. The
cache is thread-safe: concurrent requests for one installation mint once; different
installations do not wait for each other.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from github import Auth, GithubIntegration

from bot.errors import UsageError

log = logging.getLogger(__name__)

# Mint again this long before expiry, so no request starts with a token about to die.
REFRESH_MARGIN = timedelta(minutes=5)

Minter = Callable[[int], "MintedToken"]


@dataclass(frozen=True)
class MintedToken:
    """An installation token and when GitHub says it expires."""

    token: str
    expires_at: datetime

    def __repr__(self) -> str:  # never show the token, even in a traceback
        return f"MintedToken(token=***, expires_at={self.expires_at.isoformat()})"


class InstallationTokenCache:
    """Installation tokens of one App, minted on demand and reused until shortly before expiry."""

    def __init__(
        self,
        mint: Minter,
        *,
        refresh_margin: timedelta = REFRESH_MARGIN,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._mint = mint
        self._margin = refresh_margin
        self._clock = clock
        self._tokens: dict[int, MintedToken] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        self.mint_count = 0  # how many tokens this cache asked GitHub for

    def token(self, installation_id: int) -> str:
        """A valid token for the installation, minting one only when none is fresh enough."""
        cached = self._tokens.get(installation_id)
        if cached is not None and self._fresh(cached):
            return cached.token
        with self._lock_for(installation_id):
            cached = self._tokens.get(installation_id)  # another thread may have minted it
            if cached is not None and self._fresh(cached):
                return cached.token
            minted = self._mint(installation_id)
            self.mint_count += 1
            log.info(
                "minted a token for installation %s (expires %s)",
                installation_id,
                minted.expires_at.isoformat(),
            )
            self._tokens[installation_id] = minted
            return minted.token

    def invalidate(self, installation_id: int) -> None:
        """Forgets a token GitHub rejected (revoked early), so the next request mints anew."""
        with self._guard:
            self._tokens.pop(installation_id, None)

    def _fresh(self, minted: MintedToken) -> bool:
        return minted.expires_at - self._margin > self._clock()

    def _lock_for(self, installation_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(installation_id, threading.Lock())


class InstallationAuth(Auth.Auth):
    """PyGithub auth that reads the installation's token from a shared cache on every request."""

    def __init__(self, cache: InstallationTokenCache, installation_id: int) -> None:
        self._cache = cache
        self.installation_id = installation_id

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._cache.token(self.installation_id)

    @property
    def _masked_token(self) -> str:
        return "token (installation token removed)"


def key_fingerprint(pem: str) -> str:
    """sha256 of the PEM text: names a key in caches and logs without holding or showing it."""
    return hashlib.sha256(pem.encode()).hexdigest()


class LoadedKeys:
    """Private keys already checked, by fingerprint: checking one costs about 0.15 s of RSA
    arithmetic, and the App builds a client for every webhook delivery with the same key.

    Thread-safe (a key is checked once even when many threads ask at once) and bounded: the
    least recently used key is forgotten beyond ``max_keys``.
    """

    def __init__(self, max_keys: int = 8) -> None:
        self.max_keys = max_keys
        self._keys: OrderedDict[str, str] = OrderedDict()
        self._guard = threading.Lock()
        self.checks = 0  # how many times a key was really parsed and checked

    def load(self, pem: str) -> str:
        """The normalized PEM text of a valid private key; a ``UsageError`` for anything else."""
        fingerprint = key_fingerprint(pem)
        with self._guard:  # held while checking: keys are few, and each is checked once
            text = self._keys.get(fingerprint)
            if text is None:
                self.checks += 1
                text = _checked_private_key(pem)
                self._keys[fingerprint] = text
                while len(self._keys) > self.max_keys:
                    self._keys.popitem(last=False)
            self._keys.move_to_end(fingerprint)
            return text

    def clear(self) -> None:
        with self._guard:
            self._keys.clear()


loaded_keys = LoadedKeys()


def load_private_key(pem: str) -> str:
    """Checks that ``pem`` is a PEM private key now, rather than at the first request.

    Once per key and process: :data:`loaded_keys` remembers the keys already checked.
    """
    return loaded_keys.load(pem)


def _checked_private_key(pem: str) -> str:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    text = pem.strip().replace("\\n", "\n") + "\n"  # env vars often carry "\n" escaped
    try:
        load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            "the GitHub App private key is not a PEM private key without a passphrase",
            hint="use the .pem file GitHub generated for the App (MAINTBOT_APP_PRIVATE_KEY_FILE), "
            "or its content in MAINTBOT_APP_PRIVATE_KEY",
        ) from exc
    return text


def integration_minter(integration: GithubIntegration) -> Minter:
    """Mints through ``POST /app/installations/{id}/access_tokens`` with the App's JWT."""

    def mint(installation_id: int) -> MintedToken:
        authorization = integration.get_access_token(installation_id)
        expires_at = authorization.expires_at
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        return MintedToken(authorization.token, expires_at)

    return mint


_caches: dict[tuple[str, str, str], InstallationTokenCache] = {}
_caches_guard = threading.Lock()


def app_token_cache(
    base_url: str,
    app_id: int | str,
    private_key: str,
    make_integration: Callable[[], GithubIntegration],
) -> InstallationTokenCache:
    """The process-wide cache for one App on one GitHub host, created on first use.

    Keyed by host, App id and a fingerprint of the key (never the key itself), so a second
    client for the same installation reuses its token instead of minting another.
    """
    key = (base_url, str(app_id), key_fingerprint(private_key))
    with _caches_guard:
        cache = _caches.get(key)
        if cache is None:
            cache = InstallationTokenCache(integration_minter(make_integration()))
            _caches[key] = cache
        return cache


def read_private_key_file(path: str) -> str:
    """The App's ``.pem`` file, or a clear error naming the file and the variable to fix."""
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read the GitHub App private key file {path}: {exc.strerror or exc}",
            hint="set MAINTBOT_APP_PRIVATE_KEY_FILE to the .pem file GitHub generated for the App",
        ) from exc
