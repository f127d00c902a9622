"""Renders a welcome template: the built-in one, or the repository's own, as untrusted code.

Anyone who can push to ``.github/maintbot/welcome.md.j2`` writes this template, and it runs
in the bot's process with the bot's token nearby, so it runs in jinja2's
``SandboxedEnvironment`` (no attribute tricks reaching Python internals), with
multiplication and powers bounded (``"x" * 10**9`` would otherwise allocate a gigabyte),
the template's size capped and its output cut off at a limit while it is generated.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 10_000
MAX_SEQUENCE = 10_000
"""The longest string or list a template may build with ``*``."""
BUILTIN = "welcome.md.j2"


class TemplateProblem(ValueError):
    """A repository's template that cannot be used; the message says why, for the log."""


class _BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` refused when they would build something huge."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise TemplateProblem("the template raises a number to a power over 100")
            return operator.pow(left, right)
        if op == "*":
            sequence, count = (left, right) if isinstance(right, int) else (right, left)
            sized = isinstance(sequence, str | list | tuple) and isinstance(count, int)
            if sized and len(sequence) * count > MAX_SEQUENCE:
                raise TemplateProblem(
                    f"the template builds a value over {MAX_SEQUENCE} items with *"
                )
            return operator.mul(left, right)
        return super().call_binop(context, op, left, right)


_ENV = _BoundedEnvironment(autoescape=False, keep_trailing_newline=False, trim_blocks=True)


def builtin_template() -> str:
    """The template shipped with maintbot."""
    return resources.files("bot.welcome").joinpath("templates", BUILTIN).read_text("utf-8")


def render_welcome(source: str, variables: Mapping[str, Any]) -> str:
    """``source`` rendered with ``variables``; :class:`TemplateProblem` when it cannot be."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(f"the template is over {MAX_TEMPLATE_CHARS} characters")
    try:
        template = _ENV.from_string(source)
        parts: list[str] = []
        size = 0
        for chunk in template.generate(**variables):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateProblem(f"the welcome is over {MAX_OUTPUT_CHARS} characters")
            parts.append(chunk)
    except TemplateProblem:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from exc
    except Exception as exc:  # SecurityError, TypeError, UndefinedError...: all the template's
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from exc
    text = "".join(parts).strip()
    if not text:
        raise TemplateProblem("the template renders to nothing")
    return text
