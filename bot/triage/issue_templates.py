"""A repository's issue templates, as sections, so an answered section of a report counts.

GitHub offers two kinds of template in ``.github/ISSUE_TEMPLATE/``: markdown files (front
matter, then headings with default text under them, pasted into the new issue as is) and
issue forms (``*.yml``: body items with a label, rendered into the issue as ``### Label``
then the answer, ``_No response_`` when an optional one is left empty). Both become an
:class:`IssueTemplate`: its sections (heading, the text that stands there until the author
replaces it) and its boilerplate lines, so a report that left the template's example text in
place is not taken for an answer. Parsing is pure; :func:`fetch_templates` reads them through
the contents API, once per repository per process for a while.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from bot.sanitize import strip_html_comments

log = logging.getLogger(__name__)

TEMPLATE_DIR = ".github/ISSUE_TEMPLATE"
TEMPLATE_SUFFIXES = (".md", ".yml", ".yaml")
CHOOSER_FILES = frozenset({"config.yml", "config.yaml"})  # the template chooser, not a template
MAX_TEMPLATES = 25
MAX_TEMPLATE_CHARS = 100_000
CACHE_SECONDS = 600.0
NO_RESPONSE = "_No response_"
"""What GitHub writes under the heading of an issue-form field left empty."""

SectionKind = Literal["heading", "textarea", "input", "dropdown", "checkboxes"]

_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*))?")
_BOLD_LINE = re.compile(r"\s{0,3}\*\*([^*\n]{1,120}?)\*\*\s*:?\s*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_LIST_MARK = re.compile(r"^(?:[-*+]|\d{1,3}[.)])\s+")
_NOT_WORD = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class TemplateSection:
    """One part of a template: its heading as written and what stands under it by default."""

    label: str
    kind: SectionKind
    default: str = ""  # markdown: the text under the heading; forms: value and placeholder
    required: bool = False

    @property
    def key(self) -> str:
        return heading_key(self.label)


@dataclass(frozen=True)
class IssueTemplate:
    """A parsed template: where it lives, what it is called, its sections and boilerplate."""

    path: str
    name: str
    kind: Literal["markdown", "form"]
    sections: tuple[TemplateSection, ...]
    labels: tuple[str, ...] = ()
    boilerplate: frozenset[str] = field(default_factory=frozenset)
    """Normalised lines of the template's default text: left unchanged, they say nothing."""

    def section(self, key: str) -> TemplateSection | None:
        return next((s for s in self.sections if s.key == key), None)


# ------------------------------------------------------------------------------ markdown lines


def heading_key(text: str) -> str:
    """A heading as compared: letters and digits only, lower case (emoji, ``:``, ``?`` dropped)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NOT_WORD.sub(" ", text.replace("_", " ")).split())


def heading_of(line: str) -> str | None:
    """The text of a markdown heading line (``## Env`` or a whole-line ``**Env**``), else None."""
    if len(line) > 300:
        return None
    match = _ATX.fullmatch(line)
    if match:
        text = (match.group(2) or "").strip()
        text = text.rstrip("#").strip() if text.endswith("#") else text
        return text or None
    match = _BOLD_LINE.fullmatch(line)
    if match:
        return match.group(1).strip().rstrip(":").strip() or None
    return None


def fence_of(line: str) -> tuple[str, str] | None:
    """``(fence, info)`` when ``line`` opens or closes a fenced code block, else None."""
    if len(line) > 300 or not line.lstrip(" ").startswith(("```", "~~~")):
        return None
    match = _FENCE.fullmatch(line)
    if match is None:
        return None
    fence, info = match.group(1), match.group(2).strip()
    if fence[0] == "`" and "`" in info:  # CommonMark: a backtick fence's info has none
        return None
    return fence, info


def closes(fenced: tuple[str, str], opening: str) -> bool:
    """Whether fence line ``fenced`` closes a block opened by ``opening`` (same kind, as long)."""
    fence, info = fenced
    return not info and fence[0] == opening[0] and len(fence) >= len(opening)


def normalize_line(line: str) -> str:
    """A line as compared with a template's: trimmed, list mark dropped, spaces collapsed."""
    text = " ".join(line.split())
    text = _LIST_MARK.sub("", text)
    return text.casefold()


def content_lines(text: str) -> list[str]:
    """The normalised lines of ``text`` that carry words (no fences, blanks or punctuation)."""
    lines = []
    for line in strip_html_comments(text).splitlines():
        if fence_of(line) is not None:
            continue
        norm = normalize_line(line)
        if any(ch.isalnum() for ch in norm):
            lines.append(norm)
    return lines


# ------------------------------------------------------------------------------ parsing


def parse_template(path: str, text: str) -> IssueTemplate | None:
    """The template in file ``path`` (markdown or issue form), or None when it is not one."""
    name = path.rsplit("/", 1)[-1]
    lower = name.lower()
    if lower in CHOOSER_FILES:
        return None
    text = text[:MAX_TEMPLATE_CHARS].replace("\r\n", "\n")
    if lower.endswith(".md"):
        return parse_markdown_template(path, text)
    if lower.endswith((".yml", ".yaml")):
        return parse_form_template(path, text)
    return None


def parse_markdown_template(path: str, text: str) -> IssueTemplate:
    """A markdown template: optional YAML front matter, then headings and their default text."""
    meta: dict[str, Any] = {}
    body = text
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end >= 0:
            meta = _yaml_mapping(text[4:end], path)
            body = text[end + 4 :].split("\n", 1)[1] if "\n" in text[end + 4 :] else ""
    sections: list[TemplateSection] = []
    label: str | None = None
    lines: list[str] = []
    fence: str | None = None

    def close() -> None:
        if label is not None:
            sections.append(TemplateSection(label, "heading", "\n".join(lines).strip()))

    for line in body.split("\n"):
        fenced = fence_of(line)
        if fence is not None:
            if fenced and closes(fenced, fence):
                fence = None
            lines.append(line)
            continue
        if fenced is not None:
            fence = fenced[0]
            lines.append(line)
            continue
        heading = heading_of(line)
        if heading is not None:
            close()
            label, lines = heading, []
        else:
            lines.append(line)
    close()
    name = _text(meta.get("name")) or path.rsplit("/", 1)[-1]
    return IssueTemplate(
        path=path,
        name=name,
        kind="markdown",
        sections=tuple(sections),
        labels=_labels(meta.get("labels")),
        boilerplate=frozenset(content_lines(body)),
    )


def parse_form_template(path: str, text: str) -> IssueTemplate | None:
    """An issue form: its textarea, input, dropdown and checkboxes items become sections."""
    data = _yaml_mapping(text, path)
    items = data.get("body")
    if not isinstance(items, list):
        return None
    sections: list[TemplateSection] = []
    boilerplate: set[str] = set()
    for item in items[:200]:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        attributes = item.get("attributes")
        if kind not in ("textarea", "input", "dropdown", "checkboxes"):
            continue
        if not isinstance(attributes, dict):
            continue
        label = _text(attributes.get("label"))
        if not label:
            continue
        defaults = [_text(attributes.get("value")), _text(attributes.get("placeholder"))]
        default = "\n".join(d for d in defaults if d)
        validations = item.get("validations")
        required = isinstance(validations, dict) and validations.get("required") is True
        sections.append(TemplateSection(label, kind, default, required))
        # pre-filled text lands in the issue when the author keeps it; a placeholder only
        # when pasted, and then it says no more than it did in the form
        boilerplate.update(content_lines(default))
    name = _text(data.get("name")) or path.rsplit("/", 1)[-1]
    return IssueTemplate(
        path=path,
        name=name,
        kind="form",
        sections=tuple(sections),
        labels=_labels(data.get("labels")),
        boilerplate=frozenset(boilerplate),
    )


def match_template(
    heading_keys: Iterable[str], templates: Sequence[IssueTemplate]
) -> IssueTemplate | None:
    """The template an issue was written from, judged by its headings, or None.

    The best share of a template's sections found among the issue's headings wins, when at
    least half of them (and two, for a template of more than one section) are there."""
    found = set(heading_keys)
    best: tuple[float, int, IssueTemplate] | None = None
    for template in templates:
        keys = {s.key for s in template.sections if s.key}
        if not keys:
            continue
        hits = len(keys & found)
        share = hits / len(keys)
        if hits < min(2, len(keys)) or share < 0.5:
            continue
        if best is None or (share, hits) > best[:2]:
            best = (share, hits, template)
    return best[2] if best else None


def _yaml_mapping(text: str, path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        log.warning("issue template %s is not valid YAML: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _labels(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list):
        return tuple(v.strip() for v in value if isinstance(v, str) and v.strip())
    return ()


# ------------------------------------------------------------------------------ fetching

_cache: dict[str, tuple[float, tuple[IssueTemplate, ...]]] = {}
_cache_lock = threading.Lock()


def fetch_templates(
    repo: Any, *, now: float | None = None, max_age: float = CACHE_SECONDS
) -> tuple[IssueTemplate, ...]:
    """The issue templates of ``repo`` (PyGithub) on its default branch; none when absent.

    Kept ``max_age`` seconds per repository, so a busy repository costs one directory listing
    and one read per template every few minutes, not per event. A failure other than 404
    is logged and gives no templates (not cached): the check then counts every answered
    heading, which can only ask for less, never for more."""
    from github import GithubException, UnknownObjectException
    from requests import RequestException

    now = time.monotonic() if now is None else now
    key = str(getattr(repo, "url", None) or repo.full_name)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < max_age:
        return hit[1]
    try:
        listing = repo.get_contents(TEMPLATE_DIR)
        if not isinstance(listing, list):
            listing = []  # a file where the directory should be
        templates: list[IssueTemplate] = []
        files = [
            entry
            for entry in listing
            if entry.type == "file" and entry.name.lower().endswith(TEMPLATE_SUFFIXES)
        ]
        for entry in sorted(files, key=lambda e: e.path)[:MAX_TEMPLATES]:
            if entry.name.lower() in CHOOSER_FILES or (entry.size or 0) > MAX_TEMPLATE_CHARS:
                continue
            content = repo.get_contents(entry.path)
            if isinstance(content, list) or content.encoding != "base64":
                continue
            text = content.decoded_content.decode("utf-8", errors="replace")
            template = parse_template(entry.path, text)
            if template is not None:
                templates.append(template)
    except UnknownObjectException:
        templates = []
    except (GithubException, RequestException) as exc:
        log.warning("could not read the issue templates of %s: %s", repo.full_name, exc)
        return ()
    result = tuple(templates)
    with _cache_lock:
        _cache[key] = (now, result)
    return result


def clear_template_cache() -> None:
    """Forgets every repository's templates (a test, or a process that wants them fresh)."""
    with _cache_lock:
        _cache.clear()
