"""Which lines of a comment are commands: only those a reader sees as plain lines."""

from __future__ import annotations

import time

from bot.commands.parse import MAX_COMMANDS, Command, parse_commands


def names(body: str) -> list[str]:
    return [c.text for c in parse_commands(body).commands]


def test_commands_at_the_start_of_lines_with_their_arguments():
    body = "Thanks!\n/type bug\n  /label good first issue\n/unlabel gpu\n/duplicate #12\n"
    assert names(body) == ["/type bug", "/label good first issue", "/unlabel gpu", "/duplicate #12"]
    parsed = parse_commands(body)
    assert parsed.commands[0] == Command("type", "bug", 2)
    assert parsed.commands[3].issue_number == 12


def test_names_are_caseless_and_quotes_are_dropped():
    assert names('/LABEL "needs repro"\n/Not-Duplicate\n/triage\n/help') == [
        "/label needs repro",
        "/not-duplicate",
        "/triage",
        "/help",
    ]


def test_mid_line_and_path_like_text_is_not_a_command():
    body = "please /type bug\n/usr/bin/python crashes\nsee https://x/label\n`/type bug`"
    assert parse_commands(body).empty


def test_fenced_code_blocks_are_text():
    body = (
        "```bash\n/type bug\n```\n"
        "~~~~\n/label x\n~~~\n/label still-inside\n~~~~\n"
        "````\n```\n/label nested\n````\n"
        "/label after"
    )
    assert names(body) == ["/label after"]


def test_an_unclosed_fence_hides_the_rest():
    assert parse_commands("```\n/type bug\n").empty


def test_indented_code_blocks_are_text():
    assert parse_commands("    /type bug\n\t/label x").empty
    assert names("   /type bug") == ["/type bug"]  # three spaces: still a paragraph


def test_blockquotes_and_their_lazy_lines_are_text():
    body = "> /type bug\n> said the maintainer\n/label lazy\n\n/label real"
    assert names(body) == ["/label real"]
    assert parse_commands(">/type bug\n  > /label x").empty


def test_html_comments_are_text_even_across_lines():
    body = "<!--\n/type bug\n-->\n/label seen <!-- hidden -->\n<!-- /label x -->"
    assert names(body) == ["/label seen"]
    assert parse_commands("<!-- never closed\n/type bug").empty


def test_unknown_commands_are_reported_and_problems_named():
    parsed = parse_commands("/frobnicate now\n/type\n/duplicate twelve\n/label")
    assert parsed.unknown == ("frobnicate",)
    problems = {c.name: c.problem for c in parsed.commands}
    assert "needs an argument" in problems["type"]
    assert "issue number" in problems["duplicate"]
    assert "needs an argument" in problems["label"]


def test_at_most_a_handful_of_commands():
    parsed = parse_commands("\n".join(f"/label l{i}" for i in range(40)))
    assert len(parsed.commands) == MAX_COMMANDS
    assert parsed.ignored == 40 - MAX_COMMANDS


def test_a_one_megabyte_comment_is_parsed_in_bounded_time():
    hostile = [
        "/label " + "x" * 1_000_000,  # one huge line
        "<!--" * 250_000,  # unclosed comment openers
        "```\n" * 250_000,  # fences opening and closing
        "> " + "/type bug\n" * 100_000,  # a long lazy quote
        "/type bug\n" * 100_000,  # a flood of commands
        "\n" * 1_000_000,
        "/" * 1_000_000,
    ]
    for body in hostile:
        started = time.perf_counter()
        parsed = parse_commands(body)
        assert time.perf_counter() - started < 2.0
        assert len(parsed.commands) + len(parsed.unknown) <= MAX_COMMANDS
    assert len(parse_commands(hostile[0]).commands[0].argument) <= 100


def test_no_body():
    assert parse_commands(None).empty
    assert parse_commands("").empty
