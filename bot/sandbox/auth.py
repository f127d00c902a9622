"""Who is calling: user tokens, GitHub App JWTs verified for real, and installation tokens.

An App JWT must be RS256-signed by the App's key, name the App in ``iss``, and have valid
``iat``/``exp`` at most ten minutes apart, as GitHub requires. Installation tokens
(``ghs_...``) are minted here and stop working an hour later.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jwt

from bot.sandbox.routing import ApiError, Identity

MAX_JWT_LIFETIME_S = 600
CLOCK_SKEW_S = 60
INSTALLATION_TOKEN_TTL_S = 3600
BAD_JWT = "A JSON web token could not be decoded"


@dataclass
class IssuedToken:
    token: str
    installation_id: int
    expires_at: float
    login: str


def looks_like_jwt(token: str) -> bool:
    """JWTs are three base64url parts and start with an encoded ``{"``."""
    return token.count(".") == 2 and token.startswith("eyJ")


class Authenticator:
    """Turns an ``Authorization`` header into an ``Identity`` or a 401."""

    def __init__(
        self,
        *,
        default_login: str,
        app_id: int | None = None,
        app_public_key_pem: str | bytes | None = None,
        tokens: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.default_login = default_login
        self.app_id = app_id
        self.public_key = (
            app_public_key_pem.encode()
            if isinstance(app_public_key_pem, str)
            else app_public_key_pem
        )
        self.user_tokens = dict(tokens) if tokens is not None else None
        self.clock = clock
        self._issued: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()

    @property
    def has_app(self) -> bool:
        return self.app_id is not None and self.public_key is not None

    def identify(self, header: str | None) -> Identity:
        """The caller behind ``header``; bad credentials are GitHub's 401."""
        if not header:
            return Identity("anonymous")
        scheme, _, credential = header.strip().partition(" ")
        credential = credential.strip()
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                login = base64.b64decode(credential).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(401, "Bad credentials") from exc
            return Identity("user", login=login, token=f"basic:{login}")
        if scheme not in ("token", "bearer") or not credential:
            raise ApiError(401, "Bad credentials")
        if looks_like_jwt(credential):
            self.verify_app_jwt(credential)
            return Identity("app", token=f"app:{self.app_id}")
        with self._lock:
            issued = self._issued.get(credential)
        if issued is not None:
            if issued.expires_at <= self.clock():
                raise ApiError(401, "Bad credentials")
            return Identity(
                "installation",
                login=issued.login,
                token=credential,
                installation_id=issued.installation_id,
            )
        if credential.startswith("ghs_"):
            raise ApiError(401, "Bad credentials")
        if self.user_tokens is not None:
            login = self.user_tokens.get(credential)
            if login is None:
                raise ApiError(401, "Bad credentials")
            return Identity("user", login=login, token=credential)
        return Identity("user", login=self.default_login, token=credential)

    def verify_app_jwt(self, token: str) -> dict[str, object]:
        """Check signature, issuer and times of an App JWT; any failure is a 401."""
        if not self.has_app:
            raise ApiError(401, BAD_JWT)
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iss": False},
                leeway=CLOCK_SKEW_S,
            )
        except jwt.PyJWTError as exc:
            raise ApiError(401, BAD_JWT) from exc
        now = self.clock()
        if str(claims["iss"]) != str(self.app_id):
            raise ApiError(401, BAD_JWT)
        issued_at, expires = float(claims["iat"]), float(claims["exp"])  # type: ignore[arg-type]
        if expires - issued_at > MAX_JWT_LIFETIME_S or expires <= issued_at:
            raise ApiError(
                401,
                "'Expiration time' claim ('exp') is too far in the future",
            )
        if issued_at > now + CLOCK_SKEW_S or expires <= now:
            raise ApiError(401, BAD_JWT)
        return claims

    def issue_installation_token(self, installation_id: int, login: str) -> IssuedToken:
        """Mint a ``ghs_`` token for the installation, valid for one hour."""
        token = "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "b")[:36]
        issued = IssuedToken(
            token=token,
            installation_id=installation_id,
            expires_at=self.clock() + INSTALLATION_TOKEN_TTL_S,
            login=login,
        )
        with self._lock:
            self._issued[token] = issued
        return issued

    def expire_installation_tokens(self) -> None:
        """Make every minted token stale at once (tests of token refresh use this)."""
        with self._lock:
            for issued in self._issued.values():
                issued.expires_at = 0.0
