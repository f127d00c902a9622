"""Untrusted text rendered by a real CommonMark renderer must come out inert.

The Markdown is rendered with markdown-it-py (CommonMark plus GFM tables), then GitHub's own
mention, reference and autolink patterns (re-typed here from GitHub's documented syntax) are
run over the rendered text, which is where GitHub's filters look for them.
"""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from bot.sanitize import inline, neutralize

ZWJ = "\u200d"
RENDER = MarkdownIt("commonmark").enable(["table", "strikethrough"])

# GitHub's mention filter: @login or @org/team after a non-word character.
GITHUB_MENTION = re.compile(r"(?:^|\W)@[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9_-]*)?", re.I)
# Issue references: #123, owner/repo#123, GH-123.
GITHUB_REFERENCE = re.compile(r"(?:^|[^\w&])#\d+|\bGH-\d+", re.I)
# GFM's extended autolinks.
GITHUB_AUTOLINK = re.compile(r"(?:https?|ftp)://|\bwww\.", re.I)


def rendered_text(markdown: str) -> str:
    """The text nodes of the rendered HTML: what GitHub's filters and a reader see."""
    without_tags = re.sub(r"<[^>]+>", "", RENDER.render(markdown))
    return html.unescape(without_tags).strip()


def visible(text: str) -> str:
    return text.replace(ZWJ, "").replace("\u00a0", " ")


@pytest.mark.parametrize(
    "text",
    ["thanks @octocat!", "cc @github/core-team", "@a", "(@b)", "mail me: x@example.com"],
)
def test_mentions_do_not_ping_but_read_the_same(text):
    out = rendered_text(neutralize(text))
    assert not GITHUB_MENTION.search(out)
    assert visible(out).strip() == text


@pytest.mark.parametrize("text", ["fixes #123", "see octo/repo#7", "GH-42 again", "gh-9"])
def test_references_cannot_create_back_links(text):
    out = rendered_text(inline(text))
    assert not GITHUB_REFERENCE.search(out)
    assert visible(out) == text


@pytest.mark.parametrize(
    "text",
    ["https://github.com/octo/repo/issues/1", "www.example.com/x", "FTP://host/file"],
)
def test_bare_urls_are_not_autolinked(text):
    out = rendered_text(neutralize(text))
    assert not GITHUB_AUTOLINK.search(out)
    assert visible(out) == text


@pytest.mark.parametrize(
    "text",
    [
        "<img src=x onerror=alert(1)>",
        "<!-- maintbot:bench -->",
        "<details open><summary>x</summary></details>",
        "<https://evil.example/>",
    ],
)
def test_raw_html_is_shown_as_text_not_parsed(text):
    markdown = neutralize(text)
    rendered = RENDER.render(markdown)
    assert "<img" not in rendered and "<!--" not in rendered and "<details" not in rendered
    assert "<a " not in rendered
    assert visible(rendered_text(markdown)) == text


def test_an_entity_cannot_smuggle_a_mention():
    out = rendered_text(neutralize("&#64;octocat and &lt;b&gt;"))
    assert visible(out) == "&#64;octocat and &lt;b&gt;"
    assert not GITHUB_MENTION.search(out)


@pytest.mark.parametrize(
    "text",
    [
        "![tracker](https://evil.example/pixel.png)",
        "[click me](https://evil.example)",
        "[ref][1]\n\n[1]: https://evil.example",
        "`code` **bold** ~~gone~~",
    ],
)
def test_images_links_and_formatting_render_as_plain_text(text):
    rendered = RENDER.render(neutralize(text))
    for tag in ("<img", "<a ", "<code", "<strong", "<s>", "<del"):
        assert tag not in rendered
    assert visible(rendered_text(neutralize(text))).split() == text.split()


def test_an_unclosed_code_fence_does_not_swallow_what_follows():
    markdown = neutralize("```python\nimport os\n    indented") + "\n\n**our footer**"
    rendered = RENDER.render(markdown)
    assert "<pre" not in rendered and "<code" not in rendered
    assert "<strong>our footer</strong>" in rendered


@pytest.mark.parametrize("text", ["# Heading", "---", "1. item", "- item", "> quote", "===="])
def test_line_start_syntax_stays_plain_text(text):
    rendered = RENDER.render("Our paragraph\n" + neutralize(text))
    for tag in ("<h1", "<h2", "<hr", "<ol", "<ul", "<blockquote"):
        assert tag not in rendered


def test_inline_stays_inside_its_table_cell():
    title = "a | b\nsecond line | @someone"
    table = f"| issue | title |\n|---|---|\n| 1 | {inline(title)} |\n"
    rendered = RENDER.render(table)
    cells = re.findall(r"<td>(.*?)</td>", rendered, flags=re.S)
    assert len(cells) == 2
    assert visible(html.unescape(cells[1])) == "a | b second line | @someone"
    assert not GITHUB_MENTION.search(html.unescape(cells[1]))


def test_inline_caps_the_visible_length_with_an_ellipsis():
    out = visible(rendered_text(inline("x" * 200, max_len=10)))
    assert out == "x" * 9 + "…"
    assert visible(rendered_text(inline("short", max_len=10))) == "short"


def test_neutralize_caps_long_text_and_says_how_much_was_cut():
    out = visible(rendered_text(neutralize("y" * 50, max_len=20)))
    assert out.startswith("y" * 20 + "…") and "30 more characters" in out


def test_bidi_overrides_and_control_characters_are_dropped():
    assert visible(inline("safe\u202eevil\x07")) == "safeevil"
