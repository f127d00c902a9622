"""The bot's one comment on an issue: each behaviour writes its own section of it.

The type label's explanation, the likely duplicates, the missing information and the
welcome are sections of a single sticky comment (``bot.github.comments``), edited in place,
so an issue never collects a thread of bot messages. Under dry-run the section is planned
(with its exact text) instead of written.
"""

from __future__ import annotations

from bot.events.context import HandlerContext

ISSUE_COMMENT_KEY = "triage"
SECTIONS = ("welcome", "type", "duplicates", "missing_info", "commands")
"""The sections of the issue comment, in the order they are shown."""


def write_section(
    ctx: HandlerContext, repo: str, number: int, section: str, content: str | None
) -> str:
    """Sets ``section`` of issue ``number``'s comment (None: removes it); what happened.

    Returns ``planned``, ``created``, ``updated``, ``unchanged`` or ``absent`` (nothing to
    remove)."""
    if ctx.github is None or ctx.dry_run:
        if content is not None or ctx.github is None:
            ctx.plan("comment", repo=repo, issue=number, section=section, body=content)
        if ctx.github is None:
            return "planned"
    from bot.github.comments import upsert_comment_section

    # the conversation's own issue object: ctx.issue() reads the issue again after a label
    # write, which a comment does not need
    thread = ctx.issue_comments(repo, number)
    result = upsert_comment_section(
        thread.issue,
        ISSUE_COMMENT_KEY,
        section,
        content,
        order=SECTIONS,
        dry_run=ctx.dry_run,
        acting_as=ctx.acting_login(),
        thread=thread,
    )
    if result is None:
        return "absent"
    return "planned" if ctx.dry_run else result.action


def bot_comment_text(ctx: HandlerContext, repo: str, number: int) -> str | None:
    """The text of the bot's one comment on the issue (below its marker line), or None.

    Only a comment written by the bot counts: a marker pasted by someone else is not read."""
    from bot.github.comments import is_ours, sticky_text
    from bot.github.identity import comment_written_by_us

    acting = ctx.acting_login()
    for comment in ctx.issue_comments(repo, number).all():
        if is_ours(comment.body, ISSUE_COMMENT_KEY) and comment_written_by_us(comment, acting):
            return sticky_text(comment.body, ISSUE_COMMENT_KEY)
    return None
