"""Keeps tokens out of logs, including PyGithub's own debug log of response bodies.

PyGithub masks the ``Authorization`` header it logs, but at DEBUG (``-vv``) it logs response
bodies as they are, and the body of ``POST /app/installations/{id}/access_tokens`` is a token.
"""

from __future__ import annotations

import logging
import re

REDACTED = "***"
_SECRETS = re.compile(
    r"\bgh[pousr]_[A-Za-z0-9_]{16,}"  # GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_
    r"|\bgithub_pat_[A-Za-z0-9_]{16,}"  # fine-grained personal access tokens
    r"|\beyJ[\w-]+\.[\w-]+\.[\w-]+"  # JWTs (an App's signed assertion)
)
_TOKEN_FIELD = re.compile(r"""(["']token["']\s*:\s*["'])[^"']+(["'])""")


def redact(text: str) -> str:
    """``text`` with anything that looks like a GitHub token or JWT replaced by ``***``."""
    return _TOKEN_FIELD.sub(rf"\g<1>{REDACTED}\g<2>", _SECRETS.sub(REDACTED, text))


class RedactTokens(logging.Filter):
    """A logging filter that rewrites each record's message without tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_log_redaction(logger_names: tuple[str, ...] = ("github.Requester",)) -> None:
    """Adds :class:`RedactTokens` to the loggers that print request or response data.

    A logger's filters see only the records logged on that very logger, so the filter goes on
    PyGithub's ``github.Requester`` itself; installing twice adds nothing.
    """
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
