"""Makes untrusted text inert before we echo it into a comment, a table or a job summary.

Whatever an issue author wrote (a title, a label, a body excerpt) must not let them ping people
through our account, create cross-reference back-links from our comments, inject HTML (or a fake
``<!-- maintbot:... -->`` marker), render images or links, or break the table we put it in.
The tools, in order: HTML entities for ``& < >``; backslash escapes for Markdown's inline and
line-start syntax; and a zero-width joiner (U+200D, invisible) inside ``@name``, ``#123``,
``GH-123``, ``https://`` and ``www.`` so GitHub's mention, reference and autolink filters no
longer match them, while a reader still sees the same characters. Pure and outside
``bot/github``, so the report and benchmark renderers use it without loading the GitHub layer.
"""

from __future__ import annotations

import re

ZWJ = "\u200d"
NBSP = "\u00a0"
ELLIPSIS = "…"

# Bidi overrides ("Trojan Source") and C0 controls other than tab and newline.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Inline Markdown that makes links, images, code, emphasis, tables or math.
_MARKDOWN_INLINE = re.compile(r"[\\`*_\[\]~|$]")
# Line starts that make headings, setext underlines, lists or thematic breaks.
_LINE_START_MARK = re.compile(r"^([#=+-])", re.MULTILINE)
_ORDERED_ITEM = re.compile(r"^(\d{1,9})([.)])", re.MULTILINE)
_LEADING_SPACE = re.compile(r"^[ \t]+", re.MULTILINE)

_MENTION = re.compile(r"@(?=[A-Za-z0-9])")  # @user, @org/team
_ISSUE_REF = re.compile(r"#(?=\d)")  # #12, owner/repo#12
_GH_REF = re.compile(r"\b(GH)(-\d)", re.IGNORECASE)  # GH-12
_URL_SCHEME = re.compile(r"\b(https?|ftp):(?=//)", re.IGNORECASE)
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)


def neutralize(text: object, max_len: int | None = None) -> str:
    """Untrusted text, made safe to embed in Markdown we post; line breaks are kept.

    ``max_len`` caps the original text (in characters) and says how much was cut.
    """
    value = _INVISIBLE.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    if max_len is not None and len(value) > max_len:
        cut = len(value) - max_len
        value = f"{value[:max_len].rstrip()}{ELLIPSIS} ({cut} more characters)"
    # Indentation would make a code block, where entities show raw: keep it visible, not code.
    value = _LEADING_SPACE.sub(lambda m: NBSP * len(m.group(0).expandtabs(4)), value)
    return _make_inert(value)


def inline(text: object, max_len: int = 80) -> str:
    """Untrusted text for one table cell or one line: one line, no ``|`` breakout, capped.

    ``max_len`` counts the characters a reader sees (before escaping); a cut ends with "…".
    """
    value = " ".join(_INVISIBLE.sub("", str(text)).split())
    if len(value) > max_len:
        value = value[: max(0, max_len - 1)].rstrip() + ELLIPSIS
    return _make_inert(value)


def _make_inert(value: str) -> str:
    """Entities for HTML, escapes for Markdown, zero-width joiners for mentions and links."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MARKDOWN_INLINE.sub(r"\\\g<0>", value)
    value = _LINE_START_MARK.sub(r"\\\1", value)
    value = _ORDERED_ITEM.sub(r"\1\\\2", value)
    value = _MENTION.sub("@" + ZWJ, value)
    value = _ISSUE_REF.sub("#" + ZWJ, value)
    value = _GH_REF.sub(lambda m: m.group(1) + ZWJ + m.group(2), value)
    value = _URL_SCHEME.sub(lambda m: m.group(1) + ":" + ZWJ, value)
    return _WWW.sub(lambda m: m.group(1) + ZWJ + ".", value)


def strip_html_comments(text: str) -> str:
    """``text`` as GitHub shows it: without ``<!-- ... -->`` (an unterminated comment hides
    the rest of the document). Linear in the text's length, whatever its shape."""
    if "<!--" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("<!--", pos)
        if start < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:start])
        end = text.find("-->", start + 4)
        if end < 0:
            break
        pos = end + 3
    return "".join(out)
