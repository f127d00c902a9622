"""Quota windows and ``Link`` headers, on plain values (no server)."""

from __future__ import annotations

from bot.sandbox.pagination import link_header, page_slice
from bot.sandbox.ratelimit import RateLimiter

URL = "http://127.0.0.1:9/repos/o/r/issues"


def test_link_header_on_first_middle_last_and_single_pages():
    query = {"state": "all", "per_page": "10"}
    assert link_header(URL, query, 1, 10, 10) is None
    assert link_header(URL, query, 1, 10, 25) == (
        f'<{URL}?state=all&per_page=10&page=2>; rel="next", '
        f'<{URL}?state=all&per_page=10&page=3>; rel="last"'
    )
    assert link_header(URL, {**query, "page": "2"}, 2, 10, 25) == (
        f'<{URL}?state=all&per_page=10&page=3>; rel="next", '
        f'<{URL}?state=all&per_page=10&page=3>; rel="last", '
        f'<{URL}?state=all&per_page=10&page=1>; rel="first", '
        f'<{URL}?state=all&per_page=10&page=1>; rel="prev"'
    )
    assert link_header(URL, query, 3, 10, 25) == (
        f'<{URL}?state=all&per_page=10&page=1>; rel="first", '
        f'<{URL}?state=all&per_page=10&page=2>; rel="prev"'
    )
    assert page_slice(list(range(25)), 3, 10) == [20, 21, 22, 23, 24]
    assert page_slice(list(range(25)), 4, 10) == []


def test_quota_is_per_token_and_restarts_with_its_window():
    now = [1_000_000.0]
    limiter = RateLimiter(core_limit=2, clock=lambda: now[0])
    assert limiter.try_spend("a", "core", anonymous=False)[0]
    spent, bucket = limiter.try_spend("a", "core", anonymous=False)
    assert spent and (bucket.remaining, bucket.reset) == (0, 1_000_000 + 3600)
    assert limiter.try_spend("a", "core", anonymous=False)[0] is False
    assert limiter.try_spend("b", "core", anonymous=False)[0]  # another token
    now[0] += 3600
    spent, bucket = limiter.try_spend("a", "core", anonymous=False)
    assert spent and bucket.used == 1 and bucket.reset == 1_000_000 + 7200


def test_search_quota_is_30_a_minute_and_anonymous_gets_less():
    limiter = RateLimiter(core_limit=5000, clock=lambda: 0.0)
    assert limiter.bucket("t", "search", anonymous=False).limit == 30
    assert limiter.bucket("t", "search", anonymous=False).reset == 60
    assert limiter.bucket("anonymous", "search", anonymous=True).limit == 10
    assert limiter.bucket("anonymous", "core", anonymous=True).limit == 60
