"""Rendering: Markdown with Mermaid, self-contained HTML with SVG, JSON, templates, splitting."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from bot.errors import UsageError
from bot.report import charts
from bot.report.publish import FoundIssue, pick_report_issue, report_key, report_parts
from bot.report.render import render, split_markdown
from bot.report.window import Window
from tests.report.scenario import hostile_report, march_report, t

MARCH = Window(t("2024-03-01 00:00"), t("2024-04-01 00:00"))


def test_markdown_has_every_section_and_mermaid_charts():
    text = render(march_report(), "md")
    for heading in (
        "## Summary",
        "## Activity",
        "## Time to first response",
        "## Time to close and merge",
        "## Backlog at the end of the window",
        "## Contributors",
        "## First-timer retention",
        "## Contributor absence factor",
        "## Review load",
        "## Issue types",
        "## Benchmark trend on the default branch",
    ):
        assert heading in text
    assert text.count("```mermaid") == 3
    assert "xychart-beta" in text and "pie showData" in text
    assert "| All | 6 | 11h 20m | 7h 30m | 1d |" in text  # mean 68/6 h = 11 h 20 min
    assert "**Welcome to our new contributors:** carol, Zed Example." in text


def test_markdown_makes_untrusted_titles_inert():
    text = render(hostile_report(), "md")
    row = next(line for line in text.splitlines() if "alert" in line)
    assert "@everyone" not in row  # no ping: a zero-width joiner follows the @
    assert "<script>" not in row and "&lt;script&gt;" in row
    assert "#12" not in row  # no cross-reference back-link
    assert "![img](" not in row  # no image
    assert row.count(" | ") == 3  # the table row is not broken


def test_html_is_self_contained_and_escaped():
    html = render(hostile_report(), "html")
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert not re.search(
        r'(src|href)="https?://(?!github\.com)', html.replace("maintbot/maintbot", "")
    )
    assert "default-src 'none'" in html  # nothing may be fetched when it is opened
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == 3
    for svg in svgs:
        ET.fromstring(svg)  # well-formed XML


def test_json_is_the_plain_report():
    data = json.loads(render(march_report(), "json"))
    assert data["contributors"]["new_names"] == ["carol", "Zed Example"]
    assert data["first_response"]["overall"]["count"] == 6
    assert data["window"]["start"] == "2024-03-01T00:00:00Z"


def test_user_template_can_extend_the_builtin_one(tmp_path):
    template = tmp_path / "mine.md.j2"
    template.write_text(
        '{% extends "report.md.j2" %}{% block summary %}Active: {{ report.contributors.active }}'
        "{% endblock %}"
    )
    text = render(march_report(), "md", template=template)
    assert "Active: 6" in text and "## Summary" not in text and "## Backlog" in text


def test_broken_templates_are_usage_errors(tmp_path):
    syntax = tmp_path / "syntax.md.j2"
    syntax.write_text("line one\n{% if %}")
    with pytest.raises(UsageError, match="syntax error on line 2"):
        render(march_report(), "md", template=syntax)
    unknown = tmp_path / "unknown.md.j2"
    unknown.write_text("{{ report.no_such_metric }}")
    with pytest.raises(UsageError, match="no_such_metric"):
        render(march_report(), "md", template=unknown)
    with pytest.raises(UsageError, match="does not exist"):
        render(march_report(), "md", template=tmp_path / "missing.j2")


def fences_balanced(part: str) -> bool:
    return sum(1 for line in part.splitlines() if line.lstrip().startswith("```")) % 2 == 0


def test_split_keeps_short_text_whole():
    assert split_markdown("# A\n\ntext\n", 1000) == ["# A\n\ntext\n"]


def test_split_prefers_section_boundaries():
    sections = [f"## Section {i}\n" + "word " * 60 + "\n\n" for i in range(10)]
    text = "".join(sections)
    parts = split_markdown(text, 1000)
    assert all(len(p) <= 1000 for p in parts)
    assert "".join(parts) == text  # nothing lost, nothing added
    assert all(p.startswith("## Section") for p in parts)  # every cut falls before a heading


def test_split_closes_and_reopens_a_code_block():
    text = "## Chart\n\n```mermaid\n" + "".join(f"    line {i}\n" for i in range(200)) + "```\n"
    parts = split_markdown(text, 500)
    assert len(parts) > 1
    assert all(len(p) <= 500 and fences_balanced(p) for p in parts)
    assert all(p.startswith("```mermaid") for p in parts[1:])
    body = [line for p in parts for line in p.splitlines() if line.startswith("    line")]
    assert body == [f"    line {i}" for i in range(200)]


def test_split_cuts_a_very_long_line():
    parts = split_markdown("x" * 5000, 1000)
    assert all(len(p) <= 1000 for p in parts) and "".join(parts) == "x" * 5000


def test_report_parts_fit_github_and_say_which_part():
    long = "".join(f"## S{i}\n" + "y" * 900 + "\n" for i in range(200))  # ~180,000 characters
    parts = report_parts(long)
    assert len(parts) == 3
    assert all(len(p) <= 65_536 - 200 for p in parts)
    assert parts[0].startswith("*Part 1 of 3.*") and parts[2].startswith("*Part 3 of 3.*")


def test_report_issue_is_found_by_its_marker():
    key = report_key(MARCH)
    assert key == "report:2024-03-01..2024-03-31"
    mine = FoundIssue(9, "Report", f"<!-- maintbot:{key} -->\nbody")
    copy = FoundIssue(12, "Report", f"<!-- maintbot:{key} -->\nbody")
    quoted = FoundIssue(3, "Report", f"someone quoted <!-- maintbot:{key} -->")
    other = FoundIssue(4, "Report", "<!-- maintbot:report:2024-02-01..2024-02-29 -->")
    assert pick_report_issue([quoted, copy, other, mine], key) == mine
    assert pick_report_issue([quoted, other], key) is None


def test_svg_escapes_names_and_mermaid_quotes_labels():
    svg = charts.svg_hbars("Top <people>", [("a<b>&c", 3.0), ("d", 1.0)])
    root = ET.fromstring(svg)
    texts = [el.text for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "a<b>&c" in texts and "Top <people>" in texts
    chart = charts.mermaid_xychart('say "hi"', ["a", "b"], charts.Series("n", (1.0, 12.0)))
    assert "title \"say 'hi'\"" in chart
    assert 'y-axis "count" 0 --> 20' in chart and "bar [1, 12]" in chart
    assert charts.mermaid_pie("P", [("new", 0), ("returning", 3)]).count(" : ") == 1
