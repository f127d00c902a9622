"""Pure decisions behind the sandbox's GitHub Enterprise path and media types: which body
format an ``Accept`` header selects, the fields each format sends, the Markdown rendering,
and how ``/api/v3`` is split off a path. Plain values in, plain values out."""

from __future__ import annotations

import pytest

from bot.sandbox.markdown import render_html, render_text
from bot.sandbox.media import body_format, media_type_header, with_body_format
from bot.sandbox.routing import split_api_prefix


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "raw"),
        ("", "raw"),
        ("*/*", "raw"),
        ("application/json", "raw"),
        ("application/vnd.github+json", "raw"),
        ("application/vnd.github.v3+json", "raw"),
        ("application/vnd.github.raw+json", "raw"),
        ("application/vnd.github.v3.raw+json", "raw"),
        ("application/vnd.github.text+json", "text"),
        ("application/vnd.github.v3.text+json", "text"),
        ("application/vnd.github.html+json", "html"),
        ("application/vnd.github.v3.html", "html"),  # +json is optional in the pattern
        ("application/vnd.github.full+json", "full"),
        ("application/vnd.github.v3.full+json", "full"),  # what github3.py always sends
        ("Application/VND.GitHub.V3.Full+JSON", "full"),
        ("application/vnd.github.full+json; charset=utf-8", "full"),
        # preview and other media types select no body format
        ("application/vnd.github.symmetra-preview+json", "raw"),
        ("application/vnd.github.v3.diff", "raw"),
        ("application/vnd.github.fullish+json", "raw"),
        ("application/vnd.github.v4.full+json", "raw"),
        # a list: the first body media type wins
        ("application/vnd.github.squirrel-girl-preview, application/vnd.github.html+json", "html"),
        ("application/vnd.github.text+json, application/vnd.github.full+json", "text"),
    ],
)
def test_body_format_from_accept(accept, expected):
    assert body_format(accept) == expected


def test_media_type_header_echoes_the_param():
    assert media_type_header("raw") == "github.v3; format=json"
    assert media_type_header("full") == "github.v3; param=full; format=json"
    assert media_type_header("text") == "github.v3; param=text; format=json"


COMMENT = {"id": 7, "body": "Use **this**", "user": {"login": "a"}}


@pytest.mark.parametrize(
    ("fmt", "keys"),
    [
        ("raw", ["id", "body", "user"]),
        ("text", ["id", "body_text", "user"]),
        ("html", ["id", "body_html", "user"]),
        ("full", ["id", "body", "body_text", "body_html", "user"]),
    ],
)
def test_each_format_sends_its_body_fields_where_body_was(fmt, keys):
    shaped = with_body_format(dict(COMMENT), fmt)
    assert list(shaped) == keys
    assert shaped.get("body", "Use **this**") == "Use **this**"
    assert shaped.get("body_text", "Use this") == "Use this"
    assert shaped.get("body_html", "<p>Use <strong>this</strong></p>") == (
        "<p>Use <strong>this</strong></p>"
    )


def test_a_null_body_stays_null_and_renders_empty():
    shaped = with_body_format({"body": None}, "full")
    assert shaped == {"body": None, "body_text": "", "body_html": ""}


def test_objects_without_a_body_are_left_alone():
    label = {"name": "bug", "color": "d73a4a"}
    assert with_body_format(label, "full") == label


def test_the_original_object_is_not_changed():
    original = dict(COMMENT)
    with_body_format(original, "text")
    assert original == COMMENT


# ----------------------------------------------------------------------------- markdown


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("Hello", "<p>Hello</p>"),
        ("one\ntwo", "<p>one<br>\ntwo</p>"),
        ("one\r\n\r\ntwo", "<p>one</p>\n<p>two</p>"),
        ("## Steps", "<h2>Steps</h2>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"),
        ("> quoted\n> text", "<blockquote>\n<p>quoted<br>\ntext</p>\n</blockquote>"),
        # a list item's continuation line is part of it, not repeated as a paragraph after
        ("- a\n  more\n- b\n\nend", "<ul>\n<li>a more</li>\n<li>b</li>\n</ul>\n<p>end</p>"),
        ("para\n- item", "<p>para</p>\n<ul>\n<li>item</li>\n</ul>"),
        (
            "```python\nif a < b:\n\n    pass\n```",
            '<pre><code class="language-python">if a &lt; b:\n\n    pass</code></pre>',
        ),
        ("`**not bold**`", "<p><code>**not bold**</code></p>"),
        (
            "*it* and _it_ and **bold**",
            "<p><em>it</em> and <em>it</em> and <strong>bold</strong></p>",
        ),
        ("snake_case_name", "<p>snake_case_name</p>"),
        (
            "[docs](https://example.org/a?b=1&c=2)",
            '<p><a href="https://example.org/a?b=1&amp;c=2" rel="nofollow">docs</a></p>',
        ),
        (
            "see https://example.org/x.",
            '<p>see <a href="https://example.org/x" rel="nofollow">https://example.org/x</a>.</p>',
        ),
    ],
)
def test_render_html(source, html):
    assert render_html(source) == html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "`<script>`",
        "[<b>x</b>](https://example.org)",
        "```\n</code></pre><script>\n```",
        '[x](https://example.org/"onmouseover="alert(1))',
    ],
)
def test_render_html_never_passes_markup_through(source):
    html = render_html(source)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert 'href="https://example.org/"onmouseover' not in html


def test_only_safe_link_schemes_become_anchors():
    assert render_html("[x](javascript:alert(1))") == "<p>x</p>"
    assert render_html("[x](data:text/html,hi)") == "<p>x</p>"
    assert "<a href=" in render_html("[mail](mailto:a@example.org)")


def test_deeply_nested_quotes_render_without_recursing_forever():
    html = render_html(">" * 5000 + " deep")
    assert html.count("<blockquote>") <= 9 and "deep" in html


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("Hello <b>x</b>", "Hello <b>x</b>"),
        ("**bold** and `code` and [link](https://example.org)", "bold and code and link"),
        ("## Title\n\nBody line\nsecond", "Title\nBody line\nsecond"),
        ("- a\n- b", "a\nb"),
        ("```\nx = 1\n```", "x = 1"),
        ("> quoted", "quoted"),
    ],
)
def test_render_text(source, text):
    assert render_text(source) == text


def test_empty_bodies_render_empty():
    assert render_html(None) == render_text(None) == ""
    assert render_html("") == render_text("") == ""


# ------------------------------------------------------------------------- /api/v3 paths


@pytest.mark.parametrize(
    ("path", "split"),
    [
        ("/rate_limit", ("", "/rate_limit")),
        ("/api/v3/rate_limit", ("/api/v3", "/rate_limit")),
        ("/api/v3/repos/o/r/issues", ("/api/v3", "/repos/o/r/issues")),
        ("/api/v3", ("/api/v3", "/")),
        ("/api/v3/", ("/api/v3", "/")),
        ("/api/v30/rate_limit", ("", "/api/v30/rate_limit")),
        ("/repos/api/v3/x", ("", "/repos/api/v3/x")),
    ],
)
def test_split_api_prefix(path, split):
    assert split_api_prefix(path) == split
