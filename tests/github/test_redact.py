"""Token redaction in log text, with plain strings."""

from __future__ import annotations

import logging

from bot.github.redact import RedactTokens, redact


def test_github_tokens_jwts_and_token_fields_are_redacted():
    text = (
        'POST /app/installations/1/access_tokens ==> 201 {"token":"v1.0123456789abcdef", '
        '"expires_at":"2024-01-01T00:00:00Z"} auth=ghp_ABCDEFGHIJKLMNOPQRSTuvwx '
        "pat=github_pat_11ABCDEFG0123456789_abcdefghijkl "
        "jwt=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl"
    )
    out = redact(text)
    for secret in (
        "v1.0123456789abcdef",
        "ghp_ABCDEFGHIJKLMNOPQRSTuvwx",
        "github_pat_11ABCDEFG0123456789_abcdefghijkl",
        "eyJhbGciOiJSUzI1NiJ9",
    ):
        assert secret not in out
    assert '"expires_at":"2024-01-01T00:00:00Z"' in out  # the rest stays readable


def test_ordinary_text_is_left_alone():
    assert redact("GET /repos/octo/widgets/issues/1 ==> 200") == (
        "GET /repos/octo/widgets/issues/1 ==> 200"
    )


def test_filter_rewrites_the_formatted_record():
    record = logging.LogRecord(
        "github.Requester", logging.DEBUG, "x", 1, "got %s", ("ghs_" + "a" * 36,), None
    )
    assert RedactTokens().filter(record) is True
    assert record.getMessage() == "got ***"
