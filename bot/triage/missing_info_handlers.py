"""Asks the author of a bug report for what a maintainer needs and the report lacks.

On ``issues.opened``, ``reopened`` and ``edited``, after the type label: for an issue of a type
in ``triage.missing_info.types`` the description is checked (:mod:`bot.triage.missing_info`),
the bot's one comment gets a ``missing_info`` section listing what is missing, and the issue
gets ``labels.needs_info``. An edit that supplies it all removes that label (only when the
bot's own earlier ask says the bot set it) and turns the section into a thank-you. What the
bot asked is kept in a hidden marker of that section, so GitHub itself remembers it.
"""

from __future__ import annotations

from typing import Any

from bot.events.context import HandlerContext
from bot.events.router import Event, Router, Skipped
from bot.triage.comment import bot_comment_text, write_section
from bot.triage.missing_info import (
    SECTION,
    Asked,
    check_missing_info,
    issue_types,
    parse_asked,
    plan_missing_info,
    plan_withdrawal,
    skip_reason,
)

router = Router()


@router.on("issues", "opened", "reopened", "edited")
def ask_for_missing_info(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """Lists what a bug report is missing in the bot's comment and labels it needs-info."""
    issue = event.payload.get("issue")
    repo_name = event.repo_full_name
    if not isinstance(issue, dict) or not repo_name:
        return Skipped("the payload names no issue or repository")
    number = issue.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        return Skipped("the payload's issue has no number")
    reason = skip_reason(ctx.config, issue, sender_is_bot=event.sender_is_bot)
    if reason is not None:
        return Skipped(reason)
    settings = ctx.config.triage.missing_info
    wanted = set(settings.types)
    decided = ctx.decisions.get("type")
    payload_labels = _names(issue.get("labels"))
    types = issue_types(ctx.config, decided, payload_labels)
    gh_issue = None
    if not types & wanted and decided is None and ctx.github is not None:
        # the payload may predate a label: the issue's current labels decide
        gh_issue = ctx.issue(repo_name, number)
        types = issue_types(ctx.config, None, [label.name for label in gh_issue.labels])
    if not types & wanted:
        kind = ", ".join(sorted(types)) or "not known"
        skipped = f"type {kind} is not in triage.missing_info.types"
        if ctx.github is not None and event.action == "edited":
            withdrawn = _withdraw(ctx, repo_name, number, gh_issue)
            if withdrawn is not None:
                return {**withdrawn, "reason": f"{skipped}: its earlier ask is taken back"}
        return Skipped(skipped)

    if ctx.github is None:  # nothing to read: plan from the payload alone
        report = check_missing_info(
            issue.get("body"),
            ask_for=settings.ask_for,
            title=str(issue.get("title") or ""),
            packages=_packages(repo_name),
        )
        plan = plan_missing_info(report, None, payload_labels, ctx.config.labels.needs_info)
        if plan.add:
            ctx.plan("label", repo=repo_name, issue=number, labels=list(plan.add))
        comment = (
            write_section(ctx, repo_name, number, SECTION, plan.section) if plan.section else None
        )
        ctx.decisions["missing_info_asked"] = report.missing  # the welcome reads it
        return _result(report, plan.reason, list(plan.add), [], comment or "unchanged")

    from bot.triage.issue_templates import fetch_templates

    repo = ctx.repo(repo_name)
    gh_issue = gh_issue or ctx.issue(repo_name, number)
    if gh_issue.pull_request is not None:
        return Skipped("a pull request")
    if gh_issue.state == "closed":
        return Skipped("the issue is closed")
    current_section, previous = _previous_ask(ctx, repo_name, number)
    report = check_missing_info(
        gh_issue.body,
        fetch_templates(repo),
        ask_for=settings.ask_for,
        title=gh_issue.title or "",
        packages=_packages(repo_name),
    )
    labels_now = [label.name for label in gh_issue.labels]
    plan = plan_missing_info(report, previous, labels_now, ctx.config.labels.needs_info)
    # the label first: the section records it as the bot's only once it is really there
    done = ctx.apply_labels(repo_name, number, add=plan.add, remove=plan.remove)
    if ctx.dry_run:
        if done.added:
            ctx.plan("label", repo=repo_name, issue=number, labels=list(done.added))
        if done.removed:
            ctx.plan("unlabel", repo=repo_name, issue=number, labels=list(done.removed))
    comment = "unchanged"
    if plan.section is not None and (current_section or "").strip() != plan.section.strip():
        comment = write_section(ctx, repo_name, number, SECTION, plan.section)
    ctx.decisions["missing_info_asked"] = report.missing  # the welcome reads it
    return _result(report, plan.reason, list(done.added), list(done.removed), comment)


def _withdraw(
    ctx: HandlerContext, repo_name: str, number: int, gh_issue: Any
) -> dict[str, Any] | None:
    """Takes back the bot's ask (its section and its needs-info label) from an issue whose
    type no longer asks for it; None when the bot had asked nothing."""
    gh_issue = gh_issue or ctx.issue(repo_name, number)
    _, previous = _previous_ask(ctx, repo_name, number)
    plan = plan_withdrawal(previous, [label.name for label in gh_issue.labels])
    if previous is None or not previous.items:
        return None
    done = ctx.apply_labels(repo_name, number, remove=plan.remove)
    if ctx.dry_run and done.removed:
        ctx.plan("unlabel", repo=repo_name, issue=number, labels=list(done.removed))
    comment = write_section(ctx, repo_name, number, SECTION, None)
    return {"labels_removed": list(done.removed), "comment": comment}


def _previous_ask(
    ctx: HandlerContext, repo_name: str, number: int
) -> tuple[str | None, Asked | None]:
    """The bot's current ``missing_info`` section and the ask it records, if any."""
    from bot.github.comments import comment_sections

    text = comment_sections(bot_comment_text(ctx, repo_name, number)).get(SECTION)
    return text, parse_asked(text)


def _names(labels: object) -> list[str]:
    if not isinstance(labels, list):
        return []
    return [str(label["name"]) for label in labels if isinstance(label, dict) and label.get("name")]


def _packages(repo_name: str) -> tuple[str, ...]:
    """The repository's own name, whose version counts too (``keras-team/keras`` -> keras)."""
    return (repo_name.rsplit("/", 1)[-1],)


def _result(
    report: Any, reason: str, added: list[str], removed: list[str], comment: str
) -> dict[str, Any]:
    return {
        "missing": list(report.missing),
        "present": list(report.present),
        "why": report.why,
        "template": report.template,
        "reason": reason,
        "labels_added": added,
        "labels_removed": removed,
        "comment": comment,
    }
