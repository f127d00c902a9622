"""Issue text as the classifier reads it: template noise out, logs and code short but kept.

Issue bodies are mostly boilerplate by volume: template instructions in HTML comments,
unanswered template fields (``_No response_``), pasted logs hundreds of lines long. The
words that tell a bug from a question (an error message, "how do I", "it would be nice")
are few, so cleaning keeps every signal but spends few tokens on each.
"""

from __future__ import annotations

import re

MAX_CODE_LINES = 6  # a code block or log keeps its first lines and its last ones
CODE_TAIL_LINES = 2
MAX_LINE_CHARS = 200

_HTML_COMMENT = re.compile(r"<!--.*?(-->|\Z)", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img[^>]*>", re.IGNORECASE)
_URL = re.compile(r"https?://([^/\s)>\]]+)[^\s)>\]]*")
_HTML_TAG = re.compile(r"</?(details|summary|br|p|div|span|sub|sup|b|i|em|strong)[^>]*>", re.I)
_FENCE = re.compile(r"^\s*(```|~~~)")
_NO_ANSWER = re.compile(r"^\s*(_no response_|no response|none|n/?a|-+|\.+|_+)\s*$", re.IGNORECASE)
_HEADING = re.compile(r"^\s*(#{1,6}\s+(?P<h>.+?)|\*\*(?P<b>.{2,120}?)\*\*:?)\s*:?\s*$")
_TRACE_LINE = re.compile(
    r"^\s*(at\s+\S+|File \"|Traceback \(|\w+(\.\w+)+(Error|Exception)\b|#\d+\s+0x|"
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d|\[\s*\d+\.\d+\]|E\s+\w+|\S+\.(py|js|ts|cpp|cc|h|java):\d+)"
)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def clean_body(body: str) -> str:
    """The body with comments, images and unanswered template fields removed, URLs shortened
    to their host, and each code block or log run cut to its first and last lines."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    text = _HTML_COMMENT.sub("", text)
    text = _IMAGE.sub(" [image] ", text)
    text = _URL.sub(lambda m: f"[{m.group(1)}]", text)
    text = _HTML_TAG.sub(" ", text)
    lines = _shorten_blocks(text.split("\n"))
    lines = _drop_unanswered_fields(lines)
    out = []
    for line in lines:
        line = _SPACES.sub(" ", line).strip()
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + " …"
        out.append(line)
    return _BLANKS.sub("\n\n", "\n".join(out)).strip()


def clean_title(title: str) -> str:
    """Titles are short and all signal; only whitespace is normalised."""
    return _SPACES.sub(" ", title.replace("\n", " ")).strip()


def _shorten(block: list[str]) -> list[str]:
    if len(block) <= MAX_CODE_LINES:
        return block
    head = block[: MAX_CODE_LINES - CODE_TAIL_LINES]
    tail = block[-CODE_TAIL_LINES:]
    return [*head, f"… ({len(block) - len(head) - len(tail)} lines)", *tail]


def _shorten_blocks(lines: list[str]) -> list[str]:
    """Fenced code and runs of stack-trace or log lines keep their first and last lines."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            j = i + 1
            while j < len(lines) and not _FENCE.match(lines[j]):
                j += 1
            inner = [x for x in lines[i + 1 : j] if x.strip()]
            out.append("[code]")
            out.extend(_shorten(inner))
            out.append("[/code]")
            i = j + 1
            continue
        if _TRACE_LINE.match(line):
            j = i
            while j < len(lines) and (_TRACE_LINE.match(lines[j]) or not lines[j].strip()):
                j += 1
            run = [x for x in lines[i:j] if x.strip()]
            out.extend(_shorten(run))
            i = j
            continue
        out.append(line)
        i += 1
    return out


def _heading_text(line: str) -> str | None:
    match = _HEADING.match(line)
    if not match:
        return None
    return (match.group("h") or match.group("b") or "").replace("*", "").strip().rstrip(":").strip()


def _drop_unanswered_fields(lines: list[str]) -> list[str]:
    """Template headings whose answer is empty or "_No response_" are noise; answered ones
    become ``Heading: answer`` so the template's structure costs few tokens."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        heading = _heading_text(lines[i])
        if heading is None:
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        answer: list[str] = []
        while j < len(lines) and _heading_text(lines[j]) is None:
            if lines[j].strip():
                answer.append(lines[j])
            j += 1
        if not answer or all(_NO_ANSWER.match(a) for a in answer):
            i = j
            continue
        if len(answer) == 1 and len(answer[0]) < 80 and not answer[0].startswith("["):
            out.append(f"{heading}: {answer[0].strip()}")
        else:
            out.append(f"{heading}:")
            out.extend(answer)
        i = j
    return out


def issue_text(title: str, body: str) -> str:
    """Title and cleaned body as one string (for lexical features and display)."""
    return f"{clean_title(title)}\n{clean_body(body)}".strip()
