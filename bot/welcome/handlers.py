"""Welcomes a person's first issue or pull request in a repository, once.

On ``issues.opened`` and ``pull_request.opened``: an author GitHub does not already know as
part of the project (:mod:`bot.welcome.decide`) whose search finds no other issue or pull
request here gets a welcome rendered from the repository's template (``welcome.template``)
or the built-in one, pointing to the contributing guide and the good first issues. On an
issue it is the ``welcome`` section of the bot's one comment, written once (a redelivery
finds it and is skipped); on a pull request a sticky comment of its own, which a
redelivery renders again to the same text, so it is left unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from github import GithubException

from bot.events.context import HandlerContext
from bot.events.router import Event, Router, Skipped
from bot.github.comments import upsert_sticky_comment
from bot.github.identity import is_bot_account
from bot.triage.comment import bot_comment_text, write_section
from bot.welcome import decide
from bot.welcome.render import TemplateProblem, builtin_template, render_welcome

log = logging.getLogger(__name__)
router = Router()

WELCOME = "welcome"
"""The issue comment's section, and the pull request's sticky comment key."""


@router.on("issues", "opened")
def welcome_issue_author(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """A first-time issue author gets the welcome section of the bot's issue comment."""
    return _welcome(event, ctx, "issues")


@router.on("pull_request", "opened")
def welcome_pull_request_author(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """A first-time pull-request author gets one welcome comment."""
    return _welcome(event, ctx, "pull_request")


def _welcome(event: Event, ctx: HandlerContext, event_kind: str) -> dict[str, Any] | Skipped:
    if not ctx.config.welcome.enabled:
        return Skipped("welcome.enabled is false")
    item = event.payload.get("issue" if event_kind == "issues" else "pull_request")
    repo_name = event.repo_full_name
    number = item.get("number") if isinstance(item, dict) else None
    if not isinstance(item, dict) or not isinstance(number, int) or not repo_name:
        return Skipped("the payload lacks the issue, its number or the repository")
    if event_kind == "issues" and "pull_request" in item:
        return Skipped("a pull request (welcomed on pull_request.opened)")
    user = item.get("user") if isinstance(item.get("user"), dict) else {}
    login = str(user.get("login") or "")
    if not login:
        return Skipped("the author is unknown")
    if is_bot_account(login, user.get("type")):
        return Skipped(f"author {login} is a bot")
    if not (decide.plain_login(login) and decide.plain_repo(repo_name)):
        return Skipped("the author or repository name is not a plain GitHub name")
    association = item.get("author_association")
    if decide.known_contributor(association):
        return Skipped(f"{login} is already part of the project ({association})")
    if ctx.github is None:
        return Skipped("no GitHub client: earlier issues and pull requests cannot be searched")
    if event_kind == "issues" and _welcomed(ctx, repo_name, number):
        return Skipped("the bot's comment already welcomes the author")
    earlier = _earlier_work(ctx, repo_name, login, number)
    if earlier is not None:
        return Skipped(f"{login} opened #{earlier} here before")

    kind = decide.KINDS[event_kind]
    repo = ctx.repo(repo_name)
    text, template = _text(ctx, repo, event, login, kind)
    if event_kind == "issues":
        action = write_section(ctx, repo_name, number, WELCOME, text)
    else:
        if ctx.dry_run:
            ctx.plan("comment", repo=repo_name, issue=number, key=WELCOME, body=text)
        sticky = upsert_sticky_comment(
            ctx.issue(repo_name, number),
            WELCOME,
            text,
            dry_run=ctx.dry_run,
            thread=ctx.issue_comments(repo_name, number),
        )
        action = "planned" if ctx.dry_run else sticky.action
    return {
        "author": login,
        "association": association,
        "kind": kind,
        "template": template,
        "comment": action,
    }


def _welcomed(ctx: HandlerContext, repo: str, number: int) -> bool:
    """The issue's welcome is written once and then kept: a redelivery after the
    missing-information check changed its mind (the type corrected, the report completed)
    would render another text and edit it."""
    from bot.github.comments import comment_sections

    return WELCOME in comment_sections(bot_comment_text(ctx, repo, number))


def _earlier_work(ctx: HandlerContext, repo: str, login: str, number: int) -> int | None:
    """Another issue or pull request by ``login`` in ``repo``, found by GitHub's search."""
    assert ctx.github is not None
    for query in decide.search_queries(repo, login):
        found = decide.earlier_work((i.number for i in ctx.github.search_issues(query)), number)
        if found is not None:
            return found
    return None


def _text(ctx: HandlerContext, repo: Any, event: Event, login: str, kind: str) -> tuple[str, str]:
    """The welcome and which template made it (the repository's, or the built-in one)."""
    repository = event.payload.get("repository") or {}
    html_url = repository.get("html_url") or repo.html_url
    label = _label(repo, decide.GOOD_FIRST_ISSUE)
    variables = {
        "author": login,
        "repo": repo.full_name,
        "kind": kind,
        "contributing_url": _contributing_url(repo),
        "good_first_issues_url": decide.good_first_issues_url(html_url, label) if label else None,
        # the missing-information check ran before (bot/handlers.py) and asked for what this
        # bug report lacks: the welcome does not ask for the versions a second time
        "missing_info_asked": kind == "issue" and bool(ctx.decisions.get("missing_info_asked")),
    }
    path = ctx.config.welcome.template
    source = _file(repo, path)
    if source is not None:
        try:
            return render_welcome(source, variables), path
        except TemplateProblem as problem:
            log.warning("welcome template %s of %s: %s", path, repo.full_name, problem)
            return render_welcome(builtin_template(), variables), f"built-in ({path}: {problem})"
    return render_welcome(builtin_template(), variables), "built-in"


def _file(repo: Any, path: str) -> str | None:
    """A text file of the default branch, or None when there is none."""
    try:
        found = repo.get_contents(path)
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise
    if isinstance(found, list):  # a directory
        return None
    return found.decoded_content.decode("utf-8", "replace")


def _contributing_url(repo: Any) -> str | None:
    """Where the repository's contributing guide is read, or None."""
    for path in decide.CONTRIBUTING_PATHS:
        try:
            found = repo.get_contents(path)
        except GithubException as exc:
            if exc.status == 404:
                continue
            raise
        if not isinstance(found, list):
            return str(found.html_url)
    return None


def _label(repo: Any, name: str) -> str | None:
    """The repository's spelling of label ``name``, or None when it has no such label."""
    try:
        return str(repo.get_label(name).name)
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise
