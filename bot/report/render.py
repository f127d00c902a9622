"""Turns a :class:`~bot.report.compose.Report` into Markdown, self-contained HTML or JSON.

Markdown and HTML come from jinja2 templates in ``bot/report/templates``; a user template
given by path replaces the built-in one (and may ``{% extends %}`` it). Everything an issue
author wrote (titles, logins) reaches Markdown only through :func:`bot.sanitize.inline`, and
HTML only through jinja2's autoescape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from bot.errors import UsageError
from bot.report import charts
from bot.report.compose import Report, to_plain
from bot.report.metrics.activity import SERIES
from bot.report.stats import humanize_seconds
from bot.sanitize import inline

TEMPLATES = Path(__file__).parent / "templates"
DEFINITIONS_URL = "https://github.com/maintbot/maintbot/blob/main/docs/metrics.md"
COMMENT_LIMIT = 65_536  # GitHub refuses longer issue bodies and comments
KIND_TITLES = {
    "commits": "Commits",
    "pulls_merged": "Pull requests merged",
    "reviews": "Reviews",
    "issues": "Issues opened",
    "comments": "Comments",
}


class Format(StrEnum):
    MD = "md"
    HTML = "html"
    JSON = "json"


DEFAULT_TEMPLATES = {Format.MD: "report.md.j2", Format.HTML: "report.html.j2"}


@dataclass(frozen=True)
class ChartData:
    """The numbers behind the report's three charts, shared by Mermaid and SVG."""

    period_labels: tuple[str, ...]
    opened: charts.Series
    closed: charts.Series
    response_labels: tuple[str, ...]
    responses: charts.Series
    contributors: tuple[tuple[str, float], ...]


def chart_data(report: Report) -> ChartData:
    periods = report.activity.periods
    day_format = "%m-%d" if report.activity.period_days < 30 else "%Y-%m"
    totals = {name: [p.counts[name] for p in periods] for name in SERIES}
    opened = [a + b for a, b in zip(totals["issues_opened"], totals["pulls_opened"], strict=True)]
    closed = [a + b for a, b in zip(totals["issues_closed"], totals["pulls_merged"], strict=True)]
    return ChartData(
        period_labels=tuple(p.start.strftime(day_format) for p in periods),
        opened=charts.Series("opened (issues + pull requests)", tuple(opened)),
        closed=charts.Series("closed or merged", tuple(closed)),
        response_labels=tuple(label for label, _ in report.response_histogram),
        responses=charts.Series("items", tuple(n for _, n in report.response_histogram)),
        contributors=tuple((c.name, c.count) for c in report.contributors.most_active),
    )


def _mermaid_charts(report: Report, data: ChartData) -> dict[str, str]:
    activity_title = f"Opened (bars) and closed or merged (line), per {_period_name(report)}"
    return {
        "activity": charts.mermaid_xychart(
            activity_title, data.period_labels, data.opened, data.closed
        ),
        "responses": charts.mermaid_xychart(
            "Time to first response", data.response_labels, data.responses
        ),
        "contributors": charts.mermaid_pie(
            "Active contributors",
            [("new", report.contributors.new), ("returning", report.contributors.returning)],
        ),
    }


def _svg_charts(report: Report, data: ChartData) -> dict[str, Markup]:
    every = max(1, len(data.period_labels) // 12)
    return {
        "activity": Markup(
            charts.svg_bars(
                f"Activity per {_period_name(report)}",
                data.period_labels,
                [data.opened, data.closed],
                label_every=every,
            )
        ),
        "responses": Markup(
            charts.svg_bars(
                "Time to first response (items)", data.response_labels, [data.responses]
            )
        ),
        "contributors": Markup(
            charts.svg_hbars("Most active contributors (contributions)", data.contributors)
        ),
    }


def _period_name(report: Report) -> str:
    return {1: "day", 7: "week"}.get(report.activity.period_days, "30 days")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def _accuracy(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f} %"


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _environment(fmt: Format, template_path: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(TEMPLATES)]
    if template_path is not None:
        loaders.insert(0, jinja2.FileSystemLoader(template_path.parent))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=fmt is Format.HTML,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        duration=humanize_seconds,
        percent=_percent,
        accuracy=_accuracy,
        utc=_utc,
        cell=lambda text, width=60: inline(text, width),
    )
    return env


def render(report: Report, fmt: Format | str, *, template: Path | None = None) -> str:
    """The report as text in ``fmt``; ``template`` is a user's jinja2 file to use instead."""
    fmt = Format(fmt)
    if fmt is Format.JSON:
        if template is not None:
            raise UsageError(
                "--template does not apply to JSON", hint="use --format md or html with it"
            )
        return json.dumps(to_plain(report), indent=2, ensure_ascii=False) + "\n"
    if template is not None and not template.is_file():
        raise UsageError(
            f"the report template {template} does not exist",
            hint=f"give the path of a jinja2 file; start from {TEMPLATES / DEFAULT_TEMPLATES[fmt]}",
        )
    env = _environment(fmt, template)
    name = template.name if template is not None else DEFAULT_TEMPLATES[fmt]
    data = chart_data(report)
    context: dict[str, Any] = {
        "report": report,
        "data": to_plain(report),
        "charts": _mermaid_charts(report, data) if fmt is Format.MD else _svg_charts(report, data),
        "kind_titles": KIND_TITLES,
        "definitions_url": DEFINITIONS_URL,
        "multi_repo": len(report.repos) > 1,
    }
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(
            f"the report template {exc.filename or name} has a syntax error on line "
            f"{exc.lineno}: {exc.message}",
            hint="fix the template; jinja2's syntax is at https://jinja.palletsprojects.com",
        ) from exc
    except jinja2.UndefinedError as exc:
        raise UsageError(
            f"the report template {name} uses something the report does not have: {exc.message}",
            hint="see the names a template can use in docs/metrics.md (Templates)",
        ) from exc


def split_markdown(text: str, limit: int = COMMENT_LIMIT) -> list[str]:
    """Cuts Markdown into parts of at most ``limit`` characters, between sections when possible.

    A part ends before the last heading that lets it fit, else at a line break; a code block
    (a Mermaid chart) cut in two is closed at the end of one part and reopened at the start of
    the next, so each part renders on its own. Lines longer than a quarter of ``limit`` are cut.
    """
    if limit < 200:
        raise ValueError("limit too small to split Markdown sensibly")
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    fence: str | None = None  # the opening line of the code block we are in, if any
    heading = -1  # where in ``current`` the last heading outside code blocks starts
    for line in _lines_within(text, limit // 4):
        while current and size + len(line) + _closing_size(fence) > limit:
            if heading > 0:
                parts.append("".join(current[:heading]))
                current, heading = current[heading:], 0
            else:
                parts.append(_close("".join(current), fence))
                current, heading = ([fence] if fence else []), -1
            size = sum(len(x) for x in current)
        stripped = line.lstrip(" ")
        mark = _fence_mark(stripped)
        if fence is None and stripped.startswith("#"):
            heading = len(current)
        elif fence is None and mark:
            fence = line if line.endswith("\n") else line + "\n"
        elif mark and mark == _fence_mark((fence or "").lstrip(" ")):
            fence = fence if stripped[len(mark) :].strip(" `~\n") else None
        current.append(line)
        size += len(line)
    parts.append("".join(current))
    return parts


def _fence_mark(line: str) -> str:
    for mark in ("```", "~~~"):
        if line.startswith(mark):
            return mark
    return ""


def _closing_size(fence: str | None) -> int:
    return 0 if fence is None else len("\n```\n")


def _close(chunk: str, fence: str | None) -> str:
    """``chunk`` with the code block it leaves open closed."""
    if fence is None:
        return chunk
    newline = "" if chunk.endswith("\n") else "\n"
    return f"{chunk}{newline}{_fence_mark(fence.lstrip(' '))}\n"


def _lines_within(text: str, width: int) -> list[str]:
    """The lines of ``text`` (with their ends), any longer than ``width`` cut into pieces."""
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        while len(line) > width:
            lines.append(line[:width])
            line = line[width:]
        lines.append(line)
    return lines
