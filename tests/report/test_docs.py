"""docs/metrics.md cannot drift from the code: every metric, report field and block is in it."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re

import bot.report.metrics
from bot.report.compose import Report
from bot.report.render import TEMPLATES
from tests.paths import REPO_ROOT

DOCS = REPO_ROOT / "docs" / "metrics.md"


def headings() -> set[str]:
    return {line[3:].strip() for line in DOCS.read_text().splitlines() if line.startswith("## ")}


def test_every_metric_module_has_its_section():
    modules = [m.name for m in pkgutil.iter_modules(bot.report.metrics.__path__)]
    assert len(modules) >= 9
    for name in modules:
        module = importlib.import_module(f"bot.report.metrics.{name}")
        title = module.__doc__.split(":", 1)[0].strip()
        assert title in headings(), f"docs/metrics.md has no '## {title}' for {name}.py"


def test_every_report_field_is_documented_for_templates():
    text = DOCS.read_text()
    for field in dataclasses.fields(Report):
        assert f"`{field.name}`" in text


def test_every_template_block_is_documented():
    text = DOCS.read_text()
    for template in ("report.md.j2", "report.html.j2"):
        blocks = re.findall(r"{% block (\w+) %}", (TEMPLATES / template).read_text())
        assert blocks
        for block in blocks:
            assert f"`{block}`" in text, f"block {block} of {template} is not in docs/metrics.md"


def test_the_screenshot_is_there():
    png = DOCS.parent / "report-example.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(report-example.png)" in DOCS.read_text()
