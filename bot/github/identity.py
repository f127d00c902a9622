"""Who maintbot is on GitHub, so that only its own comments are read as its own.

The bot's sticky comments carry hidden markers (what it predicted, what it asked). Anyone
can paste such a marker into a comment, so a comment counts as the bot's only when a bot
account wrote it (an App installation, ``github-actions[bot]``) or the very account the bot
acts as (a personal token). Which account a token is, is asked once per process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

_ACTING: dict[str, str | None] = {}


def acting_login(github_or_object: Any) -> str | None:
    """The login of a personal token's account (``GET /user``, once per token and process);
    None for an App installation or the Actions token, whose comments are a bot account's.

    Takes the client or any object it made (an issue, a pull request): their requester
    carries the token."""
    requester = getattr(github_or_object, "requester", None)
    auth = getattr(requester, "auth", None)
    token = getattr(auth, "token", None)
    if type(auth).__name__ != "Token" or not isinstance(token, str):
        return None
    key = hashlib.sha256(f"{requester.base_url}|{token}".encode()).hexdigest()
    if key not in _ACTING:
        from github import GithubException

        try:
            _, user = requester.requestJsonAndCheck("GET", "/user")
            _ACTING[key] = (user or {}).get("login")
        except GithubException:  # the Actions token may not read /user: a bot either way
            _ACTING[key] = None
    return _ACTING[key]


def is_bot_account(login: str | None, account_type: str | None = None) -> bool:
    """An App or the Actions bot: GitHub marks their accounts ``type: "Bot"``, and their
    logins end in ``[bot]``. The one test of "is this a bot" everywhere in maintbot."""
    return account_type == "Bot" or (login or "").lower().endswith("[bot]")


def written_by_us(login: str | None, account_type: str | None, acting: str | None) -> bool:
    """Whether a comment by ``login`` may be read as maintbot's own."""
    if is_bot_account(login, account_type):
        return True
    return acting is not None and (login or "").casefold() == acting.casefold()


def raw_written_by_us(raw: Mapping[str, Any], acting: str | None) -> bool:
    """:func:`written_by_us` for a comment as the REST API lists it (a JSON object)."""
    user = raw.get("user") or {}
    return written_by_us(user.get("login"), user.get("type"), acting)


def comment_written_by_us(comment: Any, acting: str | None) -> bool:
    """:func:`written_by_us` for a PyGithub comment."""
    user = getattr(comment, "user", None)
    return written_by_us(getattr(user, "login", None), getattr(user, "type", None), acting)
