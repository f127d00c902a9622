"""Finds the slash commands in a comment, as a reader of the rendered comment would see them.

A command is a line that starts with ``/name`` (after at most three spaces). Lines inside
fenced or indented code blocks, blockquotes (with their lazy continuation lines) and HTML
comments are text, not commands: quoting a maintainer's ``/type bug`` or pasting a shell
session must never run anything. Pure and linear in the comment's length, with a cap on the
number of commands, so a 1 MB comment costs one pass and yields at most a handful.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.sanitize import strip_html_comments

MAX_COMMANDS = 5
"""Commands taken from one comment; the rest are reported as ignored."""
MAX_ARGUMENT_CHARS = 100
MAX_INPUT_CHARS = 1_100_000
"""A comment longer than this (GitHub stores at most 65,536) is read up to here only."""

COMMANDS: dict[str, str] = {
    "type": "/type <type or label>: set the issue's type (replaces its type label)",
    "label": "/label <name>: add an existing label",
    "unlabel": "/unlabel <name>: remove a label",
    "duplicate": "/duplicate #N: mark the issue as a possible duplicate of #N",
    "not-duplicate": "/not-duplicate: remove the possible-duplicate label",
    "triage": "/triage: run the type classifier on the issue again",
    "help": "/help: list these commands",
}
"""Every command, with the line ``/help`` shows for it."""

TAKES_ARGUMENT = {"type", "label", "unlabel", "duplicate"}

_COMMAND = re.compile(r"/([A-Za-z][A-Za-z0-9_-]{0,39})(?=\s|$)")
_FENCE = re.compile(r"(`{3,}|~{3,})")
_ISSUE_REF = re.compile(r"#?(\d{1,9})")


@dataclass(frozen=True)
class Command:
    """One command as written: its name (lowercase), argument and where it was."""

    name: str
    argument: str = ""
    line: int = 0
    problem: str | None = None
    """Why the command cannot run as written (a missing or malformed argument), or None."""

    @property
    def text(self) -> str:
        return f"/{self.name} {self.argument}".strip()

    @property
    def issue_number(self) -> int | None:
        """The ``N`` of ``/duplicate #N``."""
        match = _ISSUE_REF.fullmatch(self.argument)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Parsed:
    """The commands of a comment, the unknown ``/words`` and how many were left over."""

    commands: tuple[Command, ...] = ()
    unknown: tuple[str, ...] = ()
    ignored: int = 0

    @property
    def empty(self) -> bool:
        return not (self.commands or self.unknown)


def parse_commands(body: str | None, *, limit: int = MAX_COMMANDS) -> Parsed:
    """The commands in ``body`` (a comment's Markdown), in order, at most ``limit``."""
    text = strip_html_comments((body or "")[:MAX_INPUT_CHARS])
    commands: list[Command] = []
    unknown: list[str] = []
    ignored = 0
    fence: str | None = None  # the open fence's marker ("```", "~~~~"...)
    in_quote = False  # the previous line belongs to a blockquote paragraph
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if fence is not None:
            if indent < 4 and stripped.startswith(fence[0] * len(fence)):
                rest = stripped.lstrip(fence[0])
                if not rest.strip():
                    fence = None
            continue
        if not stripped.strip():
            in_quote = False
            continue
        if indent < 4:
            opening = _FENCE.match(stripped)
            if opening and not (opening.group(1)[0] == "`" and "`" in stripped[opening.end() :]):
                fence = opening.group(1)
                in_quote = False
                continue
            if stripped.startswith(">"):
                in_quote = True
                continue
        if in_quote:  # a lazy continuation line of the quote above
            continue
        if indent >= 4 or line.startswith("\t") or not stripped.startswith("/"):
            continue
        match = _COMMAND.match(stripped)
        if match is None:
            continue
        name = match.group(1).lower()
        if len(commands) + len(unknown) >= limit:
            ignored += 1
            continue
        if name not in COMMANDS:
            unknown.append(name)
            continue
        argument = _argument(stripped[match.end() :])
        commands.append(Command(name, argument, number, _problem(name, argument)))
    return Parsed(tuple(commands), tuple(unknown), ignored)


def _argument(rest: str) -> str:
    """The rest of the line, trimmed, unquoted and capped."""
    value = " ".join(rest.split())
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        value = value[1:-1].strip()
    return value[:MAX_ARGUMENT_CHARS]


def _problem(name: str, argument: str) -> str | None:
    if name in TAKES_ARGUMENT and not argument:
        return f"/{name} needs an argument: {COMMANDS[name]}"
    if name == "duplicate" and _ISSUE_REF.fullmatch(argument) is None:
        return "/duplicate takes an issue number, like /duplicate #12"
    return None
