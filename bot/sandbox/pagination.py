"""Page slicing and the ``Link`` header, as GitHub paginates list answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import urlencode

T = TypeVar("T")

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


def page_slice(items: Sequence[T], page: int, per_page: int) -> list[T]:
    """Items of 1-based ``page``; past the end is an empty page, as on GitHub."""
    start = (page - 1) * per_page
    return list(items[start : start + per_page])


def last_page(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def link_header(
    url: str, query: dict[str, str], page: int, per_page: int, total: int
) -> str | None:
    """``<url?page=2>; rel="next", ...`` with absolute URLs; None when everything fits one page.

    Like GitHub, ``first``/``prev`` appear after page 1 and ``next``/``last`` before the end.
    """
    final = last_page(total, per_page)
    if final == 1 and page == 1:
        return None

    def page_url(number: int) -> str:
        params = {k: v for k, v in query.items() if k != "page"}
        params["page"] = str(number)
        return f"{url}?{urlencode(params)}"

    links = []
    if page < final:
        links.append(f'<{page_url(page + 1)}>; rel="next"')
        links.append(f'<{page_url(final)}>; rel="last"')
    if page > 1:
        links.append(f'<{page_url(1)}>; rel="first"')
        links.append(f'<{page_url(min(page - 1, final))}>; rel="prev"')
    return ", ".join(links) if links else None
