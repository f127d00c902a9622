"""Who may run a command: the commenter's role in the repository, asked of GitHub and cached.

GitHub's ``GET /repos/{o}/{r}/collaborators/{user}/permission`` answers ``permission`` in the
four levels that predate the triage and maintain roles (a triager reads as ``read``, a
maintainer as ``write``) and ``role_name`` with the role itself; we read ``role_name`` and
fall back to ``permission`` for a custom role's name. The payload's ``author_association``
cannot stand in: it says nothing of triage rights. Answers are cached per process for a few
minutes, so a burst of commands costs one request per person; failures are never cached.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import quote

from github import GithubException

from bot.config.schema import PERMISSION_ORDER

CACHE_SECONDS = 300.0
_cache: dict[tuple[str, str], tuple[float, str]] = {}
_lock = threading.Lock()


def rank(role: str) -> int:
    """A role's place in ``PERMISSION_ORDER`` (weakest first); unknown roles rank as none."""
    return PERMISSION_ORDER.index(role) if role in PERMISSION_ORDER else 0


def allowed(role: str, minimum: str) -> bool:
    """Whether ``role`` is ``minimum`` or stronger."""
    return rank(role) >= rank(minimum)


def role_from_answer(data: dict[str, Any]) -> str:
    """The role of a permission answer: ``role_name`` when it is one of GitHub's roles,
    else the old ``permission`` level (a custom role is at least what that level says)."""
    role_name = str(data.get("role_name") or "").lower()
    if role_name in PERMISSION_ORDER:
        return role_name
    level = str(data.get("permission") or "none").lower()
    return level if level in PERMISSION_ORDER else "none"


def repository_role(repo: Any, login: str, *, now: float | None = None) -> str:
    """``login``'s role in ``repo`` (a PyGithub Repository): none, read ... admin.

    One request per (repository, person) per ``CACHE_SECONDS``; an unknown user is none."""
    key = (str(repo.url), login.lower())
    moment = time.monotonic() if now is None else now
    with _lock:
        cached = _cache.get(key)
        if cached is not None and moment - cached[0] < CACHE_SECONDS:
            return cached[1]
    try:
        _, data = repo.requester.requestJsonAndCheck(
            "GET", f"{repo.url}/collaborators/{quote(login, safe='')}/permission"
        )
    except GithubException as exc:
        if exc.status != 404:
            raise
        data = {}
    role = role_from_answer(data or {})
    with _lock:
        _cache[key] = (moment, role)
    return role


def clear_cache() -> None:
    """Forget every cached role (tests, or after a role change that must show at once)."""
    with _lock:
        _cache.clear()
