"""Runs the slash commands of a new issue comment (``/type bug``, ``/label gpu``, ``/help``).

Only ``issue_comment.created`` runs commands, so editing a comment never runs one twice.
The commenter's role is asked of GitHub (:mod:`bot.commands.permissions`); someone below
``commands.min_permission`` gets one polite refusal and nothing changes. Each command comment
gets one reply, a sticky comment keyed by the command comment's id and written last: a
redelivery finds it and does nothing again, and labels are compared with the issue's
current ones, so nothing is written twice. ``/type`` is how a maintainer corrects the bot:
it is recorded as a correction.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from github import GithubException

from bot.commands import decide
from bot.commands.decide import Outcome
from bot.commands.parse import Command, Parsed, parse_commands
from bot.commands.permissions import allowed, repository_role
from bot.events.context import HandlerContext
from bot.events.router import Event, Router, Skipped
from bot.github.comments import is_ours, upsert_sticky_comment
from bot.github.identity import comment_written_by_us, is_bot_account
from bot.github.labels import LabelResult
from bot.sanitize import inline

log = logging.getLogger(__name__)
router = Router()


def reply_key(comment_id: int) -> str:
    """The sticky key of the reply to one command comment."""
    return f"command:{comment_id}"


@router.on("issue_comment", "created")
def run_commands(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """Parses the comment, checks the commenter's role, runs the commands, replies once."""
    if not ctx.config.commands.enabled:
        return Skipped("commands.enabled is false")
    comment, issue, repo_name = _inputs(event)
    if comment is None or issue is None or repo_name is None:
        return Skipped("the payload lacks a comment, an issue or a repository")
    login, is_bot = _author(comment, event)
    if not login:
        return Skipped("the comment has no author")
    if is_bot:
        return Skipped(f"comment by a bot ({login})")
    parsed = parse_commands(comment.get("body") if isinstance(comment.get("body"), str) else "")
    if parsed.empty:
        return Skipped("no command in the comment")
    listed = [c.text for c in parsed.commands]
    if ctx.github is None:
        return Skipped(
            "no GitHub client: the commenter's role cannot be checked",
            {"commands": listed, "unknown": list(parsed.unknown)},
        )
    comment_id, number = comment["id"], issue["number"]
    repo = ctx.repo(repo_name)
    gh_issue = ctx.issue(repo_name, number)
    key = reply_key(comment_id)
    acting = ctx.acting_login()
    if any(
        is_ours(c.body, key) and comment_written_by_us(c, acting)
        for c in ctx.issue_comments(repo_name, number).all()
    ):
        return Skipped("this comment was already answered (a redelivery)", {"commands": listed})

    minimum = ctx.config.commands.min_permission
    guarded = decide.needs_permission(parsed.commands)
    only_unknown = not parsed.commands
    role = repository_role(repo, login) if guarded or only_unknown else None
    if only_unknown and role is not None and not allowed(role, minimum):
        # "/tmp is full" is more likely a path than a command: only people who may run
        # commands are told that a /word is unknown; others get no reply at all
        return Skipped(f"only unknown commands ({', '.join(parsed.unknown)}) from a {role}")
    result: dict[str, Any] = {
        "commenter": login,
        "role": role,
        "commands": listed,
        "unknown": list(parsed.unknown),
        "ignored": parsed.ignored,
    }
    if guarded and role is not None and not allowed(role, minimum):
        body = decide.render_reply(
            [],
            unknown=parsed.unknown,
            preface=decide.refusal(role, minimum, guarded),
            help_section=_help_if_asked(parsed, minimum),
        )
        result.update(allowed=False, outcomes=[])
    else:
        runner = _Runner(ctx, event, repo, gh_issue, issue, login, comment)
        outcomes = [runner.run(command) for command in parsed.commands if command.name != "help"]
        body = decide.render_reply(
            outcomes,
            unknown=parsed.unknown,
            ignored=parsed.ignored,
            help_section=_help_if_asked(parsed, minimum),
        )
        result.update(allowed=True, outcomes=[dataclasses.asdict(o) for o in outcomes])
    result["reply"] = _reply(ctx, repo_name, gh_issue, key, body)
    return result


def _inputs(event: Event) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """The comment and issue of the payload, when they carry what a command needs."""
    comment = event.payload.get("comment")
    issue = event.payload.get("issue")
    if not isinstance(comment, dict) or not _is_int(comment.get("id")):
        comment = None
    if not isinstance(issue, dict) or not _is_int(issue.get("number")):
        issue = None
    return comment, issue, event.repo_full_name


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _author(comment: dict[str, Any], event: Event) -> tuple[str, bool]:
    user = comment.get("user") if isinstance(comment.get("user"), dict) else {}
    login = str(user.get("login") or event.sender_login or "")
    is_bot = is_bot_account(login, user.get("type")) or event.sender_is_bot
    return login, is_bot


def _help_if_asked(parsed: Parsed, minimum: str) -> str | None:
    return decide.help_text(minimum) if any(c.name == "help" for c in parsed.commands) else None


def _reply(ctx: HandlerContext, repo: str, gh_issue: Any, key: str, body: str) -> str:
    """Writes (or, under dry-run, plans) the one reply to the command comment."""
    if ctx.dry_run:
        ctx.plan("comment", repo=repo, issue=gh_issue.number, key=key, body=body)
    thread = ctx.issue_comments(repo, gh_issue.number)
    return upsert_sticky_comment(gh_issue, key, body, dry_run=ctx.dry_run, thread=thread).action


class _Runner:
    """Performs the commands of one comment on one issue, one :class:`Outcome` each."""

    def __init__(
        self,
        ctx: HandlerContext,
        event: Event,
        repo: Any,
        gh_issue: Any,
        issue_payload: dict[str, Any],
        login: str,
        comment: dict[str, Any],
    ) -> None:
        self.ctx, self.event, self.repo = ctx, event, repo
        self.number = int(gh_issue.number)
        self.repo_name = event.repo_full_name or ""
        self.is_pr = "pull_request" in issue_payload or gh_issue.pull_request is not None
        self.login = login
        self.comment = comment
        self._repo_labels: list[str] | None = None

    def run(self, command: Command) -> Outcome:
        if command.problem:
            return Outcome(command.text, False, command.problem)
        if self.is_pr and command.name in decide.ISSUES_ONLY:
            return Outcome(command.text, False, f"/{command.name} works on issues only")
        action = getattr(self, "_" + command.name.replace("-", "_"))
        return action(command)

    # ------------------------------------------------------------------------ commands

    def _type(self, command: Command) -> Outcome:
        labels = self.ctx.config.labels
        change = decide.plan_type(labels, command.argument, self._labels())
        if isinstance(change, str):
            return Outcome(command.text, False, change)
        if not labels.create_missing and self._missing(change.label):
            return Outcome(command.text, False, self._no_such_label(change.label))
        self._apply(add=[change.label], remove=change.remove)
        message = f"the type is {change.to_type} (label {change.label})"
        if change.changes_type:
            message += f", was {change.from_type}"
        return Outcome(command.text, True, message + self._record_correction(change))

    def _label(self, command: Command) -> Outcome:
        name = decide.find_label(command.argument, self._all_labels())
        if name is None:
            return Outcome(command.text, False, self._no_such_label(command.argument))
        self._apply(add=[name])
        return Outcome(command.text, True, f"labelled {inline(name, 50)}")

    def _unlabel(self, command: Command) -> Outcome:
        on_issue = decide.find_label(command.argument, self._labels())
        if on_issue is None:
            if decide.find_label(command.argument, self._all_labels()) is None:
                return Outcome(command.text, False, self._no_such_label(command.argument))
            return Outcome(command.text, True, "that label is not on this issue")
        self._apply(remove=[on_issue])
        return Outcome(command.text, True, f"removed {inline(on_issue, 50)}")

    def _duplicate(self, command: Command) -> Outcome:
        other = command.issue_number
        assert other is not None  # parse checked the argument
        if other == self.issue.number:
            return Outcome(command.text, False, "an issue cannot duplicate itself")
        try:
            self.repo.get_issue(other)
        except GithubException as exc:
            if exc.status not in (404, 410):
                raise
            return Outcome(command.text, False, f"there is no issue #{other} in this repository")
        label = self.ctx.config.labels.possible_duplicate
        if label is None:
            return Outcome(
                command.text, True, f"duplicate of #{other} (labels.possible_duplicate is unset)"
            )
        if not self.ctx.config.labels.create_missing and self._missing(label):
            return Outcome(command.text, False, self._no_such_label(label))
        self._apply(add=[label])
        return Outcome(command.text, True, f"duplicate of #{other} (label {label})")

    def _not_duplicate(self, command: Command) -> Outcome:
        label = self.ctx.config.labels.possible_duplicate
        if label is None:
            return Outcome(command.text, False, "labels.possible_duplicate is not set here")
        on_issue = decide.find_label(label, self._labels())
        if on_issue is not None:
            self._apply(remove=[on_issue])
        return Outcome(command.text, True, f"not a duplicate ({label} removed)")

    def _triage(self, command: Command) -> Outcome:
        """Runs the ``issues.opened`` type-label handler on the issue as it is now."""
        from bot.triage.handlers import label_new_issue

        raw = dict(self.issue.raw_data)
        payload = {
            "action": "opened",
            "issue": raw,
            "repository": self.event.payload.get("repository"),
            "sender": raw.get("user") or {},
        }
        if "installation" in self.event.payload:
            payload["installation"] = self.event.payload["installation"]
        synthetic = Event("issues", payload, self.event.delivery_id)
        try:
            outcome = label_new_issue(synthetic, self.ctx)
        except Exception as exc:  # reported in the reply; the other commands still ran
            log.exception("/triage failed on %s#%s", self.repo_name, self.issue.number)
            return Outcome(command.text, False, f"triage failed ({type(exc).__name__})")
        self._repo_labels = None  # triage may have created a label
        if isinstance(outcome, Skipped):
            return Outcome(command.text, True, f"triage left the issue as it is: {outcome.reason}")
        added = ", ".join(outcome.get("labels") or []) or "no label"
        return Outcome(command.text, True, f"triaged again: {added}")

    # ------------------------------------------------------------------------- helpers

    def _labels(self) -> list[str]:
        return [label.name for label in self.issue.labels]

    def _all_labels(self) -> list[str]:
        """The repository's labels, read once per comment."""
        if self._repo_labels is None:
            self._repo_labels = [label.name for label in self.repo.get_labels()]
        return self._repo_labels

    def _missing(self, name: str) -> bool:
        return decide.find_label(name, self._all_labels()) is None

    def _no_such_label(self, name: str) -> str:
        return decide.no_such_label(name, self._all_labels())

    def _apply(self, add: Sequence[str] = (), remove: Sequence[str] = ()) -> LabelResult:
        """Adds and removes labels (only what differs from the issue's current labels)."""
        if self.ctx.dry_run:
            self.ctx.plan(
                "label",
                repo=self.repo_name,
                issue=self.issue.number,
                add=list(add),
                remove=list(remove),
            )
        result = self.ctx.apply_labels(self.repo_name, self.number, add=add, remove=remove)
        if result.created:
            self._repo_labels = None
        return result

    @property
    def issue(self) -> Any:
        """The issue as it is now: after a command changed its labels, read again (by the
        context), so the next command sees them."""
        return self.ctx.issue(self.repo_name, self.number)

    def _record_correction(self, change: decide.TypeChange) -> str:
        """A ``/type`` by someone allowed is a maintainer's verdict on the bot's label:
        :mod:`bot.triage.corrections` records it (a correction, or a confirmation of the
        bot's type) in the store and the marker of the bot's comment, or plans it under
        dry-run. Returns what the reply says of it. Nothing is recorded with
        ``triage.learn_from_corrections`` off, as for a relabel by hand."""
        from bot.triage.corrections import record_correction

        if not self.ctx.config.triage.learn_from_corrections:
            return ""

        try:
            recorded = record_correction(
                self.ctx,
                repo=self.repo_name,
                number=self.issue.number,
                from_type=change.from_type,
                to_type=change.to_type,
                actor=self.login,
                at=_created_at(self.comment),
            )
        except Exception as exc:  # the labels are set; the reply must still be written
            log.exception("recording /type on %s#%s failed", self.repo_name, self.issue.number)
            return f"; the correction could not be recorded ({type(exc).__name__})"
        if isinstance(recorded, dict) and recorded.get("recorded"):
            return f"; recorded as a {recorded.get('kind') or 'correction'}"
        return ""


def _created_at(comment: dict[str, Any]) -> datetime:
    """When the command was written (the payload's ``created_at``; now if it has none)."""
    raw = comment.get("created_at")
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)
