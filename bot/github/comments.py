"""Sticky comments: one comment per purpose on an issue or PR, edited in place, never re-posted.

Our comment carries a hidden marker on its first line, ``<!-- maintbot:KEY -->``. An upsert
lists the comments, finds ours by that marker, edits it only when the body changed (an
unchanged body makes no write, so no "edited" noise), creates it only when absent, and deletes
extra copies left by an old race. The decision (:func:`plan_sticky`) is pure; the upsert
performs it, or only reports it under dry-run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.errors import UsageError

log = logging.getLogger(__name__)

MAX_COMMENT_CHARS = 65_536  # GitHub refuses longer comment bodies (422)
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}")
_FENCE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)

StickyAction = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class StickyResult:
    """What the upsert did (or, under dry-run, would do)."""

    action: StickyAction
    comment_id: int | None  # None only when a dry-run would create it
    url: str | None
    deleted: tuple[int, ...] = ()  # duplicate copies removed
    truncated: bool = False
    dry_run: bool = False

    @property
    def wrote(self) -> bool:
        return not self.dry_run and (self.action != "unchanged" or bool(self.deleted))


@dataclass(frozen=True)
class ExistingComment:
    """A comment as the planner needs it: its id and body."""

    id: int
    body: str


@dataclass(frozen=True)
class StickyPlan:
    """``create``, ``update`` ``keep`` or leave it ``unchanged``; then delete ``delete``."""

    action: StickyAction
    keep: int | None
    delete: tuple[int, ...]


class _Auto:
    """The default of ``acting_as``: asked of the token the issue object was fetched with."""


AUTO = _Auto()


def marker(key: str) -> str:
    """The hidden first line that identifies our comment for ``key``."""
    if not _KEY.fullmatch(key):
        raise UsageError(
            f"sticky comment key {key!r} is not a plain name",
            hint="use letters, digits and . _ : / - (e.g. 'bench' or 'triage:duplicates')",
        )
    return f"<!-- maintbot:{key} -->"


def render_sticky_body(key: str, body: str) -> tuple[str, bool]:
    """The full comment: marker line, then ``body`` cut to GitHub's limit; and whether cut."""
    head = marker(key) + "\n"
    text, truncated = fit_comment(body, MAX_COMMENT_CHARS - len(head))
    return head + text, truncated


def fit_comment(body: str, limit: int = MAX_COMMENT_CHARS) -> tuple[str, bool]:
    """``body`` if it fits in ``limit`` characters, else its head, a closed code fence, a note.

    The cut falls at a line break when one is near, so a table row or a word is not split.
    """
    if len(body) <= limit:
        return body, False
    note_for = "\n\n*(cut to fit GitHub's comment size limit: {} characters omitted)*"
    reserve = len(note_for.format(len(body))) + len("\n```")
    keep = body[: max(0, limit - reserve)]
    line_break = keep.rfind("\n")
    if line_break >= len(keep) - 2_000:
        keep = keep[:line_break]
    omitted = len(body) - len(keep)
    if len(_FENCE.findall(keep)) % 2:  # the cut left a code block open
        keep += "\n```"
    return keep + note_for.format(omitted), True


def is_ours(body: str | None, key: str) -> bool:
    """Ours when the marker opens the body; a quote of our comment elsewhere does not count."""
    return (body or "").lstrip().startswith(marker(key))


def same_body(existing: str | None, wanted: str) -> bool:
    """GitHub may store CRLF line ends and trim; compare what a reader would see."""
    return (existing or "").replace("\r\n", "\n").strip() == wanted.replace("\r\n", "\n").strip()


def plan_sticky(existing: Sequence[ExistingComment], key: str, wanted: str) -> StickyPlan:
    """Keep the oldest of our comments (its link stays valid), delete the other copies."""
    ours = [c for c in existing if is_ours(c.body, key)]
    if not ours:
        return StickyPlan("created", None, ())
    keep, duplicates = ours[0], tuple(c.id for c in ours[1:])
    action: StickyAction = "unchanged" if same_body(keep.body, wanted) else "updated"
    return StickyPlan(action, keep.id, duplicates)


def sticky_text(body: str | None, key: str) -> str | None:
    """What our comment for ``key`` says below its marker line (None: not our comment)."""
    if not is_ours(body, key):
        return None
    return (body or "").lstrip()[len(marker(key)) :].lstrip("\r\n")


def upsert_sticky_comment(
    issue: Any,
    key: str,
    body: str | Callable[[str | None], str],
    *,
    dry_run: bool = False,
    author: str | None = None,
    acting_as: str | None | Literal[False] | _Auto = AUTO,
    thread: IssueComments | None = None,
) -> StickyResult:
    """Makes ``issue`` (a PyGithub Issue or PullRequest) carry exactly one comment for ``key``.

    ``body`` is the text, or a function of the comment's current text (None when there is
    none yet), so a caller can change one part of the comment with a single listing.
    ``author`` (our login, e.g. ``maintbot[bot]``), when known, also ignores marker-bearing
    comments written by anyone else. Only comments of a bot account or of the account the
    token acts as (``acting_as``; by default asked of the issue's token, see
    ``bot.github.identity``) are read, so a marker someone pasted is not taken for ours.
    ``thread``: the issue's conversation as this event already listed it.
    """
    marker(key)  # a bad key is refused before any request
    acting_as = _acting(issue, acting_as)
    thread = thread if thread is not None else IssueComments(issue)
    comments = {c.id: c for c in thread.all() if _trusted(c, author, acting_as)}
    existing = [ExistingComment(c.id, c.body or "") for c in comments.values()]
    if callable(body):
        current = next((sticky_text(c.body, key) for c in existing if is_ours(c.body, key)), None)
        body = body(current)
    wanted, truncated = render_sticky_body(key, body)
    plan = plan_sticky(existing, key, wanted)

    if dry_run:
        kept = comments.get(plan.keep) if plan.keep is not None else None
        log.info("dry-run: sticky comment %r would be %s", key, plan.action)
        return StickyResult(
            plan.action, plan.keep, getattr(kept, "html_url", None), plan.delete, truncated, True
        )

    if plan.action == "created":
        comment = thread.create(wanted)
    else:
        assert plan.keep is not None
        comment = comments[plan.keep]
        if plan.action == "updated":
            comment.edit(wanted)
    for duplicate in plan.delete:
        thread.delete(comments[duplicate])
    if plan.delete:
        log.info("sticky comment %r: deleted %d duplicate(s)", key, len(plan.delete))
    return StickyResult(plan.action, comment.id, comment.html_url, plan.delete, truncated)


class IssueComments:
    """An issue's conversation, listed once and kept current by the writes made through it.

    The handlers of one event share one (``HandlerContext.issue_comments``): each section
    of the bot's comment used to list the whole conversation again before writing.
    Comments someone else writes meanwhile are not seen until the next event's listing;
    PyGithub updates an edited comment object in place.
    """

    def __init__(self, issue: Any) -> None:
        self.issue = issue
        self._items: list[Any] | None = None

    def all(self) -> list[Any]:
        """Every comment, read on first use (one request per 100 comments)."""
        if self._items is None:
            # A PullRequest's get_comments() lists review comments; its conversation is the
            # issue's.
            lister = getattr(self.issue, "get_issue_comments", None) or self.issue.get_comments
            self._items = list(lister())
        return self._items

    def create(self, body: str) -> Any:
        creator = getattr(self.issue, "create_issue_comment", None) or self.issue.create_comment
        comment = creator(body)
        if self._items is not None:
            self._items.append(comment)
        return comment

    def delete(self, comment: Any) -> None:
        comment.delete()
        if self._items is not None:
            self._items = [c for c in self._items if c.id != comment.id]


def _acting(
    issue: Any, acting_as: str | None | Literal[False] | _Auto
) -> str | None | Literal[False]:
    if not isinstance(acting_as, _Auto):
        return acting_as
    if getattr(issue, "requester", None) is None:
        return False  # not an object of a GitHub client (a test double): nothing to ask
    from bot.github.identity import acting_login

    return acting_login(issue)


def _trusted(comment: Any, author: str | None, acting_as: str | None | Literal[False]) -> bool:
    """``author``: that login only; ``acting_as`` (not False): a bot account or that login."""
    if author is not None and _login(comment) != author:
        return False
    if acting_as is False:
        return True
    from bot.github.identity import comment_written_by_us

    return comment_written_by_us(comment, acting_as)


def _login(comment: Any) -> str | None:
    user = getattr(comment, "user", None)
    return getattr(user, "login", None)


# ------------------------------------------------------------------------------ sections


NOTHING_LEFT = "_maintbot has nothing to add here any more._"


def _section_marks(name: str) -> tuple[str, str]:
    return f"<!-- maintbot-section:{name} -->", f"<!-- /maintbot-section:{name} -->"


def comment_sections(text: str | None) -> dict[str, str]:
    """The named sections of a sticky comment's text, in the order they appear."""
    found: dict[str, str] = {}
    for match in re.finditer(
        r"<!-- maintbot-section:([A-Za-z0-9_.-]+) -->\n?(.*?)\n?<!-- /maintbot-section:\1 -->",
        text or "",
        re.DOTALL,
    ):
        found[match.group(1)] = match.group(2)
    return found


def merge_section(text: str | None, name: str, content: str | None, order: Sequence[str]) -> str:
    """``text`` with section ``name`` set to ``content`` (None or empty: removed).

    Sections are laid out in ``order`` (unknown ones last), so each behaviour owns its part
    of the one comment and rewrites only that part."""
    sections = comment_sections(text)
    if content and content.strip():
        sections[name] = content.strip()
    else:
        sections.pop(name, None)
    rank = {section: i for i, section in enumerate(order)}
    ordered = sorted(sections, key=lambda s: rank.get(s, len(rank)))
    blocks = []
    for section in ordered:
        start, end = _section_marks(section)
        blocks.append(f"{start}\n{sections[section]}\n{end}")
    return "\n\n".join(blocks)


def upsert_comment_section(
    issue: Any,
    key: str,
    section: str,
    content: str | None,
    *,
    order: Sequence[str],
    dry_run: bool = False,
    author: str | None = None,
    acting_as: str | None | Literal[False] | _Auto = AUTO,
    thread: IssueComments | None = None,
) -> StickyResult | None:
    """Sets one section of the sticky comment ``key``, leaving the other sections as they are.

    No comment is created just to say nothing: when the comment does not exist and
    ``content`` is empty, nothing is written (None). A comment left with no section says
    so in one line rather than disappearing, so its link and history stay."""
    acting_as = _acting(issue, acting_as)
    thread = thread if thread is not None else IssueComments(issue)
    if not (content and content.strip()):
        comments = [c for c in thread.all() if _trusted(c, author, acting_as)]
        if not any(is_ours(c.body, key) for c in comments):
            return None
    return upsert_sticky_comment(
        issue,
        key,
        lambda current: merge_section(current, section, content, order) or NOTHING_LEFT,
        dry_run=dry_run,
        author=author,
        acting_as=acting_as,
        thread=thread,
    )
