"""GitHub's media types for Markdown bodies: which of ``body``/``body_text``/``body_html`` to send.

``Accept: application/vnd.github[.v3].PARAM[+json]`` with PARAM ``raw`` (the default: ``body``),
``text`` (``body_text`` only), ``html`` (``body_html`` only) or ``full`` (all three) applies to
issues, issue comments, pull requests, reviews and review comments. Clients such as github3.py
always ask for ``full`` and fail on objects without ``body_html``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from bot.sandbox.markdown import render_html, render_text

BodyFormat = Literal["raw", "text", "html", "full"]

DEFAULT_FORMAT: BodyFormat = "raw"
# application/vnd.github.v3.full+json, application/vnd.github.html, ... ; preview types
# (application/vnd.github.symmetra-preview+json) and plain JSON leave the default.
MEDIA_TYPE = re.compile(
    r"^application/vnd\.github(?:\.v3)?\.(raw|text|html|full)(?:\+json)?$", re.IGNORECASE
)


def body_format(accept: str | None) -> BodyFormat:
    """The body format an ``Accept`` header asks for: its first GitHub body media type."""
    for media_range in (accept or "").split(","):
        found = MEDIA_TYPE.match(media_range.split(";", 1)[0].strip())
        if found:
            return found.group(1).lower()  # type: ignore[return-value]
    return DEFAULT_FORMAT


def media_type_header(fmt: BodyFormat) -> str:
    """``X-GitHub-Media-Type``, as GitHub echoes the media type it used."""
    if fmt == DEFAULT_FORMAT:
        return "github.v3; format=json"
    return f"github.v3; param={fmt}; format=json"


def body_fields(body: str | None, fmt: BodyFormat) -> dict[str, Any]:
    """The body fields an object carries in ``fmt`` (``body`` stays null where it is null)."""
    fields: dict[str, Any] = {}
    if fmt in ("raw", "full"):
        fields["body"] = body
    if fmt in ("text", "full"):
        fields["body_text"] = render_text(body)
    if fmt in ("html", "full"):
        fields["body_html"] = render_html(body)
    return fields


def with_body_format(obj: dict[str, Any], fmt: BodyFormat) -> dict[str, Any]:
    """``obj`` (a rendered issue, comment, pull or review) with its body fields for ``fmt``."""
    if fmt == DEFAULT_FORMAT or "body" not in obj:
        return obj
    fields = body_fields(obj["body"], fmt)
    shaped: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "body":
            shaped.update(fields)  # where ``body`` was, so the field order reads naturally
        else:
            shaped[key] = value
    return shaped
