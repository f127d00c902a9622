"""Errors a person can act on, and the exit codes the CLI maps them to.

Every failure a user can see is one of these: a sentence saying what was wrong and a hint
saying what to do. The CLI prints ``message`` and ``hint`` and exits with ``exit_code``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit codes of every ``maintbot`` command."""

    OK = 0
    FINDING = 1  # the command worked and found something: a regression, a failing check
    USAGE = 2  # bad arguments, bad configuration, bad input file
    EXTERNAL = 3  # GitHub, the network, the database or a model runtime failed


class MaintbotError(Exception):
    """Base of every error maintbot reports to a person."""

    exit_code: ExitCode = ExitCode.EXTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class UsageError(MaintbotError):
    """The user asked for something that cannot work as asked (arguments, input files)."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A configuration file is invalid; names the file, the key and the line."""

    def __init__(
        self,
        message: str,
        *,
        source: str = "<config>",
        key: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = source if line is None else f"{source}:{line}"
        what = f"{where}: {key}: {message}" if key else f"{where}: {message}"
        super().__init__(what, hint=hint)
        self.source = source
        self.key = key
        self.line = line


class GitHubError(MaintbotError):
    """GitHub refused or failed a request in a way retrying did not fix."""


class RateLimitError(GitHubError):
    """The API quota is spent; says when it resets."""


class FindingError(MaintbotError):
    """The command ran fine and found a problem the caller must act on (exit 1)."""

    exit_code = ExitCode.FINDING
