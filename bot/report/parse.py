"""GitHub's REST JSON → report records. Pure: the collector hands in the decoded answers.

Only the fields the metrics read are kept, so the stored records stay small.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.github.identity import is_bot_account
from bot.report.records import (
    GHOST,
    Actor,
    ActorKind,
    Comment,
    CommentKind,
    Commit,
    Item,
    ItemKind,
    Review,
)


def parse_time(text: str | None) -> datetime | None:
    """GitHub's ``2024-03-01T12:00:00Z`` as an aware datetime (None stays None)."""
    return datetime.fromisoformat(text) if text else None


def actor(user: dict[str, Any] | None) -> Actor:
    """A GitHub user object; a deleted account is ``null`` or the ``ghost`` user."""
    if not user or not user.get("login"):
        return GHOST
    login = str(user["login"])
    if login == GHOST.name:
        return GHOST
    if is_bot_account(login, user.get("type")):
        return Actor(login, ActorKind.BOT)
    return Actor(login)


def item(repo: str, issue: dict[str, Any]) -> Item:
    """An entry of ``GET /repos/{owner}/{repo}/issues`` (issues and pull requests alike)."""
    pull = issue.get("pull_request")
    return Item(
        repo=repo,
        number=int(issue["number"]),
        kind=ItemKind.PULL if pull is not None else ItemKind.ISSUE,
        title=str(issue.get("title") or ""),
        author=actor(issue.get("user")),
        created_at=_required_time(issue, "created_at"),
        updated_at=_required_time(issue, "updated_at"),
        closed_at=parse_time(issue.get("closed_at")),
        labels=tuple(
            str(label["name"] if isinstance(label, dict) else label)
            for label in issue.get("labels") or ()
        ),
        html_url=str(issue.get("html_url") or ""),
        merged_at=parse_time((pull or {}).get("merged_at")),
        draft=bool(issue.get("draft")),
    )


def issue_comment(repo: str, comment: dict[str, Any]) -> Comment:
    """An entry of ``GET /repos/{owner}/{repo}/issues/comments``; the item is in ``issue_url``."""
    return Comment(
        repo=repo,
        id=int(comment["id"]),
        number=_trailing_number(comment["issue_url"]),
        author=actor(comment.get("user")),
        created_at=_required_time(comment, "created_at"),
        kind=CommentKind.ISSUE,
    )


def review_comment(repo: str, comment: dict[str, Any]) -> Comment:
    """An entry of ``GET /repos/{owner}/{repo}/pulls/comments`` (diff comments)."""
    return Comment(
        repo=repo,
        id=int(comment["id"]),
        number=_trailing_number(comment["pull_request_url"]),
        author=actor(comment.get("user")),
        created_at=_required_time(comment, "created_at"),
        kind=CommentKind.REVIEW,
    )


def review(repo: str, number: int, data: dict[str, Any]) -> Review | None:
    """An entry of ``GET .../pulls/{n}/reviews``; None for a pending (unsubmitted) review."""
    submitted = parse_time(data.get("submitted_at"))
    if submitted is None or data.get("state") == "PENDING":
        return None
    return Review(repo, int(data["id"]), number, actor(data.get("user")), submitted, data["state"])


def commit(repo: str, data: dict[str, Any]) -> Commit:
    """An entry of ``GET /repos/{owner}/{repo}/commits``.

    The author is the linked GitHub account; a commit whose e-mail matches none keeps its git
    author name (an "unlinked" contributor).
    """
    git = data.get("commit") or {}
    linked = data.get("author")
    if linked and linked.get("login"):
        who = actor(linked)
    else:
        name = ((git.get("author") or {}).get("name") or "").strip()
        who = Actor(name, ActorKind.UNLINKED) if name else GHOST
    committed = (git.get("committer") or {}).get("date") or (git.get("author") or {}).get("date")
    if not committed:
        raise ValueError(f"commit {data.get('sha')} has no date")
    return Commit(repo, str(data["sha"]), who, datetime.fromisoformat(committed))


def ready_for_review_event(event: dict[str, Any]) -> tuple[int, datetime] | None:
    """An entry of ``GET /repos/{owner}/{repo}/issues/events``: (number, time) if "ready"."""
    if event.get("event") != "ready_for_review":
        return None
    number = (event.get("issue") or {}).get("number")
    when = parse_time(event.get("created_at"))
    return (int(number), when) if number is not None and when is not None else None


def _required_time(data: dict[str, Any], key: str) -> datetime:
    value = parse_time(data.get(key))
    if value is None:
        raise ValueError(f"GitHub sent no {key} for {data.get('url') or data.get('id')}")
    return value


def _trailing_number(url: str) -> int:
    return int(str(url).rstrip("/").rsplit("/", 1)[1])
