"""A small, safe Markdown renderer for the ``body_html`` / ``body_text`` GitHub's media types add.

Not GitHub Flavored Markdown in full: paragraphs (a single newline is a ``<br>``, as GitHub
renders issue and comment bodies), ATX headings, fenced code, block quotes, bullet and ordered
lists, inline code, bold, italics and links. Every piece of the source is HTML-escaped and
only ``http``/``https``/``mailto`` links become anchors, so an untrusted body can never inject
markup into what the sandbox serves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
QUOTE = re.compile(r"^ {0,3}> ?")
BULLET = re.compile(r"^ {0,3}[-*+]\s+(.*)$")
ORDERED = re.compile(r"^ {0,3}\d{1,9}[.)]\s+(.*)$")

CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [label](url), the url allowed one level of balanced parentheses as in CommonMark
LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*((?:[^()\s]|\([^()\s]*\))+)\s*\)")
AUTOLINK = re.compile(r"(?<![\w/])(https?://[^\s<>()\"']+[^\s<>()\"'.,;:!?])")
STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
SAFE_SCHEMES = ("http://", "https://", "mailto:")
MAX_QUOTE_DEPTH = 8  # deeper ">" nesting renders flat, so no body can exhaust the stack


@dataclass(frozen=True)
class Block:
    """One block of a body: ``kind`` is p, h1-h6, code, quote, ul or ol."""

    kind: str
    lines: tuple[str, ...]
    info: str = ""  # a fenced block's language


def parse_blocks(source: str) -> list[Block]:
    """Split a Markdown body into blocks (pure: no rendering yet)."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fence = FENCE.match(line)
        if fence:
            marker, body = fence.group(1), []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                body.append(lines[i])
                i += 1
            blocks.append(Block("code", tuple(body), fence.group(2)))
            i += 1  # the closing fence (or the end of the body)
            continue
        heading = HEADING.match(line)
        if heading:
            blocks.append(Block(f"h{len(heading.group(1))}", (heading.group(2),)))
            i += 1
            continue
        kind, taken, used = _run(lines, i)
        blocks.append(Block(kind, tuple(taken)))
        i += used
    return blocks


def _kind(line: str) -> str:
    if QUOTE.match(line):
        return "quote"
    if BULLET.match(line):
        return "ul"
    return "ol" if ORDERED.match(line) else "p"


def _run(lines: list[str], start: int) -> tuple[str, list[str], int]:
    """The paragraph, quote or list at ``start``: its kind, its lines, how many lines it used.

    It ends at a blank line, a fence or heading, or a line that starts another kind of block
    (a list's other lines continue its last item, a quote's continue the quote).
    """
    kind = _kind(lines[start])
    taken: list[str] = []
    used = 0
    for line in lines[start:]:
        if taken and (not line.strip() or FENCE.match(line) or HEADING.match(line)):
            break
        line_kind = _kind(line)
        if taken and line_kind not in (kind, "p"):
            break
        if kind == "quote":
            taken.append(QUOTE.sub("", line, count=1))
        elif kind in ("ul", "ol"):
            item = (BULLET if kind == "ul" else ORDERED).match(line)
            if item:
                taken.append(item.group(1))
            else:  # a lazy continuation of the previous item
                taken[-1] += " " + line.strip()
        else:
            taken.append(line.strip())
        used += 1
    return kind, taken, used


# ---------------------------------------------------------------------------- inline


def _inline(text: str, *, html: bool) -> str:
    """Inline Markdown as escaped HTML (``html=True``) or as plain text."""
    stash: list[str] = []

    def keep(piece: str) -> str:
        stash.append(piece)
        return f"\x00{len(stash) - 1}\x00"

    def code(match: re.Match[str]) -> str:
        content = match.group(2).strip()
        return keep(f"<code>{escape(content)}</code>" if html else content)

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        if not html:
            return label or url
        inner = _emphasis(escape(label or url))
        if not url.lower().startswith(SAFE_SCHEMES):
            return keep(inner)  # javascript: and friends stay text
        return keep(f'<a href="{escape(url)}" rel="nofollow">{inner}</a>')

    def autolink(match: re.Match[str]) -> str:
        url = match.group(1)
        return keep(f'<a href="{escape(url)}" rel="nofollow">{escape(url)}</a>' if html else url)

    text = text.replace("\x00", "")
    text = CODE_SPAN.sub(code, text)
    text = LINK.sub(link, text)
    text = AUTOLINK.sub(autolink, text)
    text = _emphasis(escape(text)) if html else _strip_emphasis(text)
    return re.sub("\x00(\\d+)\x00", lambda m: stash[int(m.group(1))], text)


def _emphasis(escaped: str) -> str:
    escaped = STRONG.sub(r"<strong>\2</strong>", escaped)
    return EMPHASIS.sub(r"<em>\2</em>", escaped)


def _strip_emphasis(text: str) -> str:
    return EMPHASIS.sub(r"\2", STRONG.sub(r"\2", text))


# ------------------------------------------------------------------------- rendering


def render_html(source: str | None) -> str:
    """``body_html``: the body rendered to HTML with everything from the source escaped."""
    if not source:
        return ""
    return "\n".join(_html_blocks(parse_blocks(source)))


def _inner_blocks(block: Block, depth: int) -> list[Block]:
    """A quote's own blocks; past ``MAX_QUOTE_DEPTH`` its lines stay one paragraph."""
    if depth >= MAX_QUOTE_DEPTH:
        return [Block("p", tuple(line.strip() for line in block.lines))]
    return parse_blocks("\n".join(block.lines))


def _html_blocks(blocks: list[Block], depth: int = 0) -> Iterator[str]:
    for block in blocks:
        if block.kind == "code":
            language = f' class="language-{escape(block.info)}"' if block.info else ""
            yield f"<pre><code{language}>{escape(chr(10).join(block.lines))}</code></pre>"
        elif block.kind == "quote":
            inner = "\n".join(_html_blocks(_inner_blocks(block, depth), depth + 1))
            yield f"<blockquote>\n{inner}\n</blockquote>"
        elif block.kind in ("ul", "ol"):
            items = "\n".join(f"<li>{_inline(item, html=True)}</li>" for item in block.lines)
            yield f"<{block.kind}>\n{items}\n</{block.kind}>"
        elif block.kind == "p":
            yield "<p>" + "<br>\n".join(_inline(line, html=True) for line in block.lines) + "</p>"
        else:
            yield f"<{block.kind}>{_inline(block.lines[0], html=True)}</{block.kind}>"


def render_text(source: str | None) -> str:
    """``body_text``: the body as plain text, Markdown syntax removed, one line per line."""
    if not source:
        return ""
    return "\n".join(_text_blocks(parse_blocks(source)))


def _text_blocks(blocks: list[Block], depth: int = 0) -> Iterator[str]:
    for block in blocks:
        if block.kind == "code":
            yield "\n".join(block.lines)
        elif block.kind == "quote":
            yield from _text_blocks(_inner_blocks(block, depth), depth + 1)
        else:
            yield "\n".join(_inline(line, html=False) for line in block.lines)
