"""GitHub's real webhook payloads, re-aimed at a sandbox repository, and what the sandbox saw.

Shared by the command and welcome tests: each event is built from the payload in
``../shared/github/webhooks`` with only the fields a scenario needs changed (repository,
number, author, body, labels, ``author_association``), and the record it names (the issue,
the comment) exists in the sandbox, so handlers read the same state GitHub would serve.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from github import Auth, Github

from bot.config.schema import Config
from bot.events.context import HandlerContext
from bot.events.router import Event
from bot.github.comments import is_ours
from bot.sandbox.server import Sandbox

FAST = {"retry": None, "seconds_between_requests": None, "seconds_between_writes": None}


@cache
def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def real_payload(shared_dir: Path, name: str) -> dict[str, Any]:
    """A fresh copy of ``webhooks/<name>`` (e.g. ``issue_comment/created.json``)."""
    return copy.deepcopy(_load(shared_dir / "github" / "webhooks" / name))


def client(sb: Sandbox) -> Github:
    return Github(base_url=sb.base_url, auth=Auth.Token("bot-token"), **FAST)


def context(sb: Sandbox | None, config: Config | None = None, **kw: Any) -> HandlerContext:
    return HandlerContext(
        github=client(sb) if sb is not None else None, config=config or Config.default(), **kw
    )


def _user(payload_user: dict[str, Any], login: str) -> dict[str, Any]:
    user = dict(payload_user)
    user.update(
        login=login,
        type="Bot" if login.endswith("[bot]") else "User",
        url=f"https://api.github.com/users/{login}",
        html_url=f"https://github.com/{login}",
    )
    return user


def _aim(payload: dict[str, Any], repo: str, sender: str) -> dict[str, Any]:
    owner, name = repo.split("/")
    payload["repository"].update(full_name=repo, name=name, html_url=f"https://github.com/{repo}")
    payload["repository"]["owner"] = _user(payload["repository"]["owner"], owner)
    payload["sender"] = _user(payload["sender"], sender)
    return payload


def _issue_fields(sb: Sandbox, repo: str, number: int, base: dict[str, Any]) -> dict[str, Any]:
    record = sb.state.issue(repo, number)
    issue = dict(base)
    issue.update(
        number=number,
        id=record["id"],
        title=record["title"],
        body=record["body"],
        state=record["state"],
        labels=[{"name": name} for name in record["labels"]],
        user=_user(base["user"], record["user"]),
    )
    if record["pull"] is None:
        issue.pop("pull_request", None)
    else:
        issue["pull_request"] = {"url": f"https://api.github.com/repos/{repo}/pulls/{number}"}
    return issue


def comment_event(
    shared_dir: Path,
    sb: Sandbox,
    repo: str,
    number: int,
    body: str,
    *,
    user: str,
    association: str = "NONE",
    action: str = "created",
) -> Event:
    """``issue_comment.<action>`` for a new comment by ``user`` on ``repo#number``."""
    comment = sb.state.add_issue_comment(
        repo, number, body=body, user=user, author_association=association
    )
    payload = _aim(real_payload(shared_dir, "issue_comment/created.json"), repo, user)
    payload["action"] = action
    payload["issue"] = _issue_fields(sb, repo, number, payload["issue"])
    payload["comment"].update(
        id=comment["id"],
        body=body,
        author_association=association,
        created_at=comment["created_at"].isoformat().replace("+00:00", "Z"),
        user=_user(payload["comment"]["user"], user),
    )
    return Event("issue_comment", payload, f"delivery-{comment['id']}")


def issue_opened_event(
    shared_dir: Path, sb: Sandbox, repo: str, number: int, *, association: str = "NONE"
) -> Event:
    """``issues.opened`` for the sandbox issue ``repo#number``."""
    author = sb.state.issue(repo, number)["user"]
    payload = _aim(real_payload(shared_dir, "issues/opened.json"), repo, author)
    payload["issue"] = _issue_fields(sb, repo, number, payload["issue"])
    payload["issue"]["author_association"] = association
    return Event("issues", payload, f"delivery-issue-{number}")


def pull_opened_event(
    shared_dir: Path, sb: Sandbox, repo: str, number: int, *, association: str = "NONE"
) -> Event:
    """``pull_request.opened`` for the sandbox pull request ``repo#number``."""
    record = sb.state.pull(repo, number)
    payload = _aim(real_payload(shared_dir, "pull_request/opened.json"), repo, record["user"])
    payload.pop("installation", None)
    payload["number"] = number
    payload["pull_request"].update(
        number=number,
        id=record["id"],
        title=record["title"],
        body=record["body"],
        author_association=association,
        user=_user(payload["pull_request"]["user"], record["user"]),
    )
    return Event("pull_request", payload, f"delivery-pull-{number}")


def comments_with_key(sb: Sandbox, repo: str, number: int, key: str) -> list[dict[str, Any]]:
    """The sandbox's comments on ``repo#number`` that are maintbot's sticky ``key``."""
    return [
        c
        for c in sb.state.repo(repo)["comments"].values()
        if c["issue_number"] == number and is_ours(c["body"], key)
    ]


def label_events(sb: Sandbox, repo: str, number: int) -> list[tuple[str, str]]:
    """``(labeled|unlabeled, label)`` in the order GitHub recorded them."""
    return [
        (e["event"], e["label"])
        for e in sb.state.issue(repo, number)["events"]
        if e["event"] in ("labeled", "unlabeled")
    ]


def writes(sb: Sandbox) -> list[str]:
    """Every request that was not a read."""
    return [r.route for r in sb.requests if r.method not in ("GET", "HEAD")]
