"""What each command means for one issue, and the reply's words: pure, over plain values.

The handler gathers the issue's labels, the repository's labels and the commenter's role,
asks these functions, and performs what they return. Every text that a commenter wrote and
a reply repeats (a label name, a command) goes through :func:`bot.sanitize.inline`, so a
reply never pings anyone, links anywhere or breaks out of its Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.commands.parse import COMMANDS, MAX_COMMANDS, Command
from bot.config.schema import LabelsConfig
from bot.sanitize import inline

MAX_LISTED_LABELS = 20
ISSUES_ONLY = {"type", "duplicate", "not-duplicate", "triage"}
EVERYONE = {"help"}
"""Commands anyone may run: they change nothing."""


@dataclass(frozen=True)
class TypeChange:
    """``/type``: the label to add, the labels it replaces, and the type before and after."""

    to_type: str
    label: str
    remove: tuple[str, ...]
    from_type: str | None
    """The issue's type before (None: it had no type label)."""

    @property
    def changes_type(self) -> bool:
        return self.from_type is not None and self.from_type != self.to_type


@dataclass(frozen=True)
class Outcome:
    """One command's result, as one line of the reply."""

    command: str
    ok: bool
    message: str


def needs_permission(commands: Iterable[Command]) -> list[Command]:
    """The commands that change something, so the commenter's role matters."""
    return [c for c in commands if c.name not in EVERYONE]


def find_label(name: str, names: Iterable[str]) -> str | None:
    """The repository's spelling of ``name`` (GitHub compares label names caselessly)."""
    wanted = name.casefold()
    return next((n for n in names if n.casefold() == wanted), None)


def plan_type(labels: LabelsConfig, wanted: str, current: Sequence[str]) -> TypeChange | str:
    """``/type wanted`` on an issue labelled ``current``: the change, or why not (a str).

    ``wanted`` is an issue type (``feature``) or its repository label (``enhancement``).
    The issue's other type labels and ``needs-triage`` make way for the new one."""
    key = wanted.casefold()
    issue_type = next((t for t in labels.types if t.casefold() == key), None)
    issue_type = issue_type or labels.type_for(wanted)
    if issue_type is None:
        known = ", ".join(f"{t} (label {inline(n, 50)})" for t, n in labels.types.items())
        return f"{inline(wanted, 50)} is not an issue type here; the types are: {known}"
    label = labels.types[issue_type]
    current_types = [(name, labels.type_for(name)) for name in current]
    typed = [(name, t) for name, t in current_types if t is not None]
    remove = [name for name, t in typed if name.casefold() != label.casefold()]
    if find_label(labels.needs_triage, current) is not None:
        remove.append(find_label(labels.needs_triage, current) or labels.needs_triage)
    others = [t for _, t in typed if t != issue_type]
    from_type = others[0] if others else (issue_type if typed else None)
    return TypeChange(issue_type, label, tuple(remove), from_type)


def no_such_label(name: str, existing: Sequence[str]) -> str:
    """The reply to a label the repository does not have (maintbot never creates it)."""
    shown = ", ".join(inline(n, 50) for n in sorted(existing, key=str.casefold)[:MAX_LISTED_LABELS])
    more = len(existing) - MAX_LISTED_LABELS
    if more > 0:
        shown += f" and {more} more"
    return f"no label named {inline(name, 50)} here; existing: {shown or 'none'}"


def refusal(role: str, minimum: str, commands: Sequence[Command]) -> str:
    """The one polite answer to someone whose role does not allow the commands."""
    names = ", ".join(f"`/{c.name}`" for c in commands)
    return (
        f"Sorry, {names} can only be used by people with the **{minimum}** role or higher "
        f"in this repository (your role here: {role}). Nothing was changed; a maintainer "
        "can run the command for you. `/help` lists the commands."
    )


def help_text(minimum: str) -> str:
    """The command list ``/help`` answers with."""
    lines = [
        f"- `{usage}`:{meaning}"
        for usage, meaning in (text.split(":", 1) for text in COMMANDS.values())
    ]
    return (
        "maintbot commands (one per line, at the start of the line, in a new comment):\n\n"
        + "\n".join(lines)
        + f"\n\nEveryone may use `/help`; the others need the **{minimum}** role or higher."
    )


def render_reply(
    outcomes: Sequence[Outcome],
    *,
    unknown: Sequence[str] = (),
    ignored: int = 0,
    preface: str | None = None,
    help_section: str | None = None,
) -> str:
    """The reply comment: one line per command, then unknown and ignored commands, then help."""
    parts: list[str] = []
    if preface:
        parts.append(preface)
    if outcomes:
        parts.append(
            "\n".join(
                f"- {'✅' if o.ok else '⚠️'} {inline(o.command, 80)}: {o.message}" for o in outcomes
            )
        )
    if unknown:
        names = ", ".join(f"/{inline(name, 40)}" for name in unknown)
        parts.append(f"Unknown command(s): {names}. `/help` lists the commands.")
    if ignored:
        parts.append(
            f"{ignored} more command(s) ignored: at most {MAX_COMMANDS} are run per comment."
        )
    if help_section:
        parts.append(help_section)
    return "\n\n".join(parts)
