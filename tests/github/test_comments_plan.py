"""The sticky-comment decision and the size limit, with plain values."""

from __future__ import annotations

import pytest

from bot.errors import UsageError
from bot.github.comments import (
    MAX_COMMENT_CHARS,
    ExistingComment,
    fit_comment,
    marker,
    plan_sticky,
    render_sticky_body,
)

KEY = "bench"
MARK = "<!-- maintbot:bench -->"


def test_marker_is_a_hidden_html_comment_and_keys_are_checked():
    assert marker(KEY) == MARK
    with pytest.raises(UsageError):
        marker("bad key -->")


def test_no_comment_of_ours_means_create():
    existing = [ExistingComment(1, "hello"), ExistingComment(2, f"quoting you: {MARK}")]
    plan = plan_sticky(existing, KEY, MARK + "\nbody")
    assert (plan.action, plan.keep, plan.delete) == ("created", None, ())


def test_same_body_means_no_write_even_with_crlf_and_trailing_space():
    existing = [ExistingComment(5, MARK + "\r\nline one\r\nline two\n")]
    plan = plan_sticky(existing, KEY, MARK + "\nline one\nline two")
    assert (plan.action, plan.keep, plan.delete) == ("unchanged", 5, ())


def test_changed_body_means_update_of_our_comment():
    existing = [ExistingComment(3, "someone else"), ExistingComment(5, MARK + "\nold")]
    plan = plan_sticky(existing, KEY, MARK + "\nnew")
    assert (plan.action, plan.keep, plan.delete) == ("updated", 5, ())


def test_duplicates_keep_the_oldest_and_delete_the_rest():
    existing = [
        ExistingComment(10, MARK + "\nv1"),
        ExistingComment(11, "unrelated"),
        ExistingComment(12, MARK + "\nv2"),
        ExistingComment(13, "<!-- maintbot:other -->\nv2"),
        ExistingComment(14, MARK + "\nv3"),
    ]
    plan = plan_sticky(existing, KEY, MARK + "\nv3")
    assert (plan.action, plan.keep, plan.delete) == ("updated", 10, (12, 14))


def test_short_bodies_are_untouched():
    assert fit_comment("abc", limit=10) == ("abc", False)


def test_long_body_is_cut_to_the_limit_with_a_note_saying_how_much():
    body = "\n".join(f"line {i:05d}" for i in range(20_000))  # 199,999 characters
    text, truncated = fit_comment(body)
    assert truncated
    assert len(text) <= MAX_COMMENT_CHARS
    kept = text.split("\n\n*(cut", 1)[0]
    assert body.startswith(kept) and kept.endswith("line " + kept[-5:])  # cut at a line end
    omitted = len(body) - len(kept)
    assert f"{omitted} characters omitted" in text


def test_a_cut_inside_a_code_block_closes_the_fence():
    body = "intro\n```\n" + "x = 1\n" * 20_000
    text, truncated = fit_comment(body)
    assert truncated and len(text) <= MAX_COMMENT_CHARS
    assert text.count("```") == 2


def test_rendered_sticky_body_starts_with_the_marker_and_fits():
    text, truncated = render_sticky_body(KEY, "z" * 100_000)
    assert text.startswith(MARK + "\n") and truncated
    assert len(text) <= MAX_COMMENT_CHARS


def test_sections_are_set_one_at_a_time_in_their_order():
    from bot.github.comments import comment_sections, merge_section

    order = ("type", "duplicates", "missing_info")
    text = merge_section(None, "missing_info", "Please add your versions.", order)
    text = merge_section(text, "type", "Labelled `bug`.", order)
    assert list(comment_sections(text)) == ["type", "missing_info"]
    assert comment_sections(text)["missing_info"] == "Please add your versions."
    text = merge_section(text, "missing_info", None, order)
    assert comment_sections(text) == {"type": "Labelled `bug`."}
    assert merge_section(text, "type", "Labelled `bug`.", order) == text
