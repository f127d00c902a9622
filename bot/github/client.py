"""The one place that builds a PyGithub client: from a token or from GitHub App credentials.

Every capability gets its ``github.Github`` from :func:`build_github`, so the API URL
(GitHub.com, Enterprise or the sandbox), the retry policy, the page size and the pause between
writes are the same everywhere. Credentials come from flags or the environment through
:func:`credentials_from_env`; a token is never logged or shown in a repr.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from github import Auth, Github, GithubIntegration

from bot import __version__
from bot.errors import UsageError
from bot.github.app_auth import (
    InstallationAuth,
    app_token_cache,
    load_private_key,
    read_private_key_file,
)
from bot.github.http_retry import PolicyRetry
from bot.github.redact import install_log_redaction
from bot.github.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_USER_AGENT = f"maintbot/{__version__} (+https://github.com/maintbot/maintbot)"
# GitHub asks integrators to leave at least a second between writes (secondary rate limits).
DEFAULT_SECONDS_BETWEEN_WRITES = 1.0
DEFAULT_PER_PAGE = 100  # GitHub's maximum: fewer requests for every listing

TOKEN_ENV_VARS = ("GITHUB_TOKEN", "GH_TOKEN")

MISSING_CREDENTIALS_HINT = (
    "pass --token or set GITHUB_TOKEN (or GH_TOKEN); a GitHub App sets MAINTBOT_APP_ID, "
    "MAINTBOT_APP_PRIVATE_KEY_FILE (or MAINTBOT_APP_PRIVATE_KEY) and MAINTBOT_APP_INSTALLATION_ID"
)


@dataclass(frozen=True)
class GitHubCredentials:
    """Who we are to GitHub: a token, or an App (id, key, installation); and where GitHub is."""

    token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    private_key: str | None = field(default=None, repr=False)
    installation_id: int | None = None
    api_url: str = DEFAULT_API_URL

    @property
    def is_app(self) -> bool:
        return self.app_id is not None

    @property
    def usable(self) -> bool:
        """Some credentials were given; :func:`build_github` names anything still missing."""
        return bool(self.token) or self.app_id is not None


def credentials_from_env(
    env: Mapping[str, str] | None = None,
    *,
    token: str | None = None,
    api_url: str | None = None,
) -> GitHubCredentials:
    """Credentials from flags (``token``, ``api_url``) first, then the environment.

    An explicit ``token`` wins; otherwise App credentials (``MAINTBOT_APP_ID`` with
    ``MAINTBOT_APP_PRIVATE_KEY`` or ``MAINTBOT_APP_PRIVATE_KEY_FILE``, and
    ``MAINTBOT_APP_INSTALLATION_ID``) win over ``GITHUB_TOKEN``/``GH_TOKEN``, because setting
    them is a deliberate choice while an Actions runner always has a ``GITHUB_TOKEN``.
    Returns credentials that may not be ``usable``; :func:`build_github` says what is missing.
    """
    env = os.environ if env is None else env
    url = _normalize_api_url(api_url or env.get("GITHUB_API_URL") or DEFAULT_API_URL)
    if token:
        return GitHubCredentials(token=token.strip(), api_url=url)

    app_id = (env.get("MAINTBOT_APP_ID") or "").strip() or None
    key_text = env.get("MAINTBOT_APP_PRIVATE_KEY") or None
    key_file = (env.get("MAINTBOT_APP_PRIVATE_KEY_FILE") or "").strip() or None
    if app_id or key_text or key_file:
        if not app_id:
            raise UsageError(
                "a GitHub App private key is set but MAINTBOT_APP_ID is not",
                hint="set MAINTBOT_APP_ID to the App's numeric id (the App's settings page)",
            )
        if key_text is None and key_file is None:
            raise UsageError(
                "MAINTBOT_APP_ID is set but no private key for the App",
                hint="set MAINTBOT_APP_PRIVATE_KEY_FILE to the App's .pem file, or put its "
                "content in MAINTBOT_APP_PRIVATE_KEY",
            )
        private_key = load_private_key(key_text if key_text else read_private_key_file(key_file))
        return GitHubCredentials(
            app_id=app_id,
            private_key=private_key,
            installation_id=_installation_id(env.get("MAINTBOT_APP_INSTALLATION_ID")),
            api_url=url,
        )

    env_token = next((env[v].strip() for v in TOKEN_ENV_VARS if (env.get(v) or "").strip()), None)
    return GitHubCredentials(token=env_token, api_url=url)


def build_github(
    *,
    credentials: GitHubCredentials | None = None,
    token: str | None = None,
    app_id: int | str | None = None,
    private_key: str | None = None,
    installation_id: int | None = None,
    api_url: str | None = None,
    timeout: int = 15,
    user_agent: str = DEFAULT_USER_AGENT,
    retry: RetryPolicy | None = RetryPolicy(),  # noqa: B008 - frozen, so one shared default is safe
    per_page: int = DEFAULT_PER_PAGE,
    seconds_between_writes: float | None = DEFAULT_SECONDS_BETWEEN_WRITES,
) -> Github:
    """A PyGithub client with maintbot's retry policy, authenticated by token or as an App.

    Pass ``credentials`` (from :func:`credentials_from_env`) or the same fields one by one.
    ``retry=None`` disables retries. App installation tokens come from a process-wide cache,
    so building many clients for one installation mints one token.
    """
    if credentials is not None:
        token = token or credentials.token
        app_id = app_id if app_id is not None else credentials.app_id
        private_key = private_key or credentials.private_key
        installation_id = (
            installation_id if installation_id is not None else credentials.installation_id
        )
        api_url = api_url or credentials.api_url
    base_url = _normalize_api_url(api_url or DEFAULT_API_URL)
    install_log_redaction()
    http_retry = PolicyRetry(retry) if retry is not None else None
    common = {
        "base_url": base_url,
        "timeout": int(timeout),
        "user_agent": user_agent,
        "retry": http_retry,
    }

    auth: Auth.Auth
    if token and app_id is not None:
        raise UsageError(
            "both a token and GitHub App credentials were given",
            hint="use one: --token/GITHUB_TOKEN, or the MAINTBOT_APP_* variables",
        )
    if token:
        auth = Auth.Token(token)
    elif app_id is not None:
        if not private_key:
            raise UsageError(
                f"GitHub App {app_id} has no private key",
                hint="set MAINTBOT_APP_PRIVATE_KEY_FILE to the App's .pem file",
            )
        if installation_id is None:
            raise UsageError(
                f"GitHub App {app_id} needs an installation id to act on repositories",
                hint="set MAINTBOT_APP_INSTALLATION_ID (the number at the end of the "
                "installation's settings URL), or take it from the webhook's installation.id",
            )
        pem = load_private_key(private_key)
        app_auth = Auth.AppAuth(str(app_id), pem)
        # Minting is a POST, but a second token is harmless: retry it like a GET.
        mint_retry = PolicyRetry(replace(retry, retry_unsafe_methods=True)) if retry else None
        cache = app_token_cache(
            base_url,
            app_id,
            pem,
            lambda: GithubIntegration(auth=app_auth, **{**common, "retry": mint_retry}),
        )
        auth = InstallationAuth(cache, int(installation_id))
    else:
        raise UsageError("no GitHub credentials were given", hint=MISSING_CREDENTIALS_HINT)

    return Github(
        auth=auth,
        per_page=per_page,
        seconds_between_requests=None,  # maintbot's requests are sequential already
        seconds_between_writes=seconds_between_writes,
        **common,
    )


def _normalize_api_url(url: str) -> str:
    """``https://api.github.com``, ``https://HOST/api/v3``, ``http://127.0.0.1:PORT``; no slash."""
    text = url.strip().rstrip("/")
    parsed = urllib.parse.urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(
            f"the GitHub API URL {text!r} is not an http(s) URL",
            hint="use https://api.github.com, https://HOST/api/v3 for GitHub Enterprise, or "
            "the sandbox's http://127.0.0.1:PORT (--api-url / GITHUB_API_URL)",
        )
    return text


def _installation_id(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError as exc:
        raise UsageError(
            f"MAINTBOT_APP_INSTALLATION_ID must be a number, not {value.strip()!r}",
            hint="copy the number at the end of the installation's settings URL",
        ) from exc


ResponseObserver = Callable[[int, Mapping[str, Any]], None]


def observe_responses(github: Github, observe: ResponseObserver) -> Github:
    """Calls ``observe(status, headers)`` after every response ``github`` receives.

    PyGithub has no response hook; every request of a client goes through its requester's
    ``requestJson`` / ``requestBlob`` / ``requestMultipart`` (the ``…AndCheck`` methods and
    paginated lists call them on the same instance), so those are wrapped on this instance.
    An observer's failure never fails the request. Used for the App's ``/metrics``."""
    requester = github.requester
    for name in ("requestJson", "requestBlob", "requestMultipart"):
        original = getattr(requester, name)

        def wrapped(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            result = _original(*args, **kwargs)
            try:
                observe(int(result[0]), result[1] or {})
            except Exception:  # metrics must not break a request
                log.debug("response observer failed", exc_info=True)
            return result

        setattr(requester, name, wrapped)
    return github
