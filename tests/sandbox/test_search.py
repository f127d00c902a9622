"""The sandbox's issue-search language, tested on plain values (no server)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.sandbox.search import SearchItem, SearchSyntaxError, parse_query


def item(**overrides) -> SearchItem:
    fields = {
        "repo": "octo/widgets",
        "is_pr": False,
        "state": "open",
        "title": "Crash on empty input",
        "body": "IndexError when the list is empty",
        "author": "alice",
        "labels": ["bug", "good first issue"],
        "assignees": [],
        "created_at": datetime(2024, 3, 10, 12, 0, tzinfo=UTC),
        "updated_at": datetime(2024, 3, 12, 8, 0, tzinfo=UTC),
        "comments": ["Thanks!", "Reproduced on 3.12"],
    }
    fields.update(overrides)
    return SearchItem(**fields)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("repo:octo/widgets", True),
        ("repo:OCTO/Widgets", True),
        ("repo:octo/other", False),
        ("repo:octo/other repo:octo/widgets", True),  # several repos: any of them
        ("is:issue is:open", True),
        ("is:pr", False),
        ("type:issue state:open", True),
        ("state:closed", False),
        ("label:bug", True),
        ('label:"good first issue"', True),
        ("label:bug label:docs", False),  # several label qualifiers: all of them
        ("label:docs,bug", True),  # a comma list: any of them
        ("-label:bug", False),
        ("-label:docs", True),
        ("no:label", False),
        ("no:assignee", True),
        ("author:alice", True),
        ("-author:alice", False),
        ("crash", True),
        ("crash empty", True),
        ("crash segfault", False),
        ('"on empty"', True),
        ("indexerror in:title", False),
        ("indexerror in:body", True),
        ("reproduced", False),
        ("reproduced in:comments", True),
        ("comments:2", True),
        ("comments:>2", False),
        ("comments:1..3", True),
    ],
)
def test_qualifiers(query, expected):
    assert parse_query(query).matches(item()) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("created:2024-03-10", True),  # a bare date is that whole day
        ("created:2024-03-11", False),
        ("created:>=2024-03-10", True),
        ("created:>2024-03-10", False),  # after the 10th means from the 11th
        ("created:<2024-03-10", False),
        ("created:<=2024-03-10", True),
        ("created:<2024-03-11", True),
        ("created:2024-03-01..2024-03-10", True),  # ranges include both days
        ("created:2024-03-11..*", False),
        ("created:*..2024-03-10", True),
        ("created:>=2024-03-10T12:00:00Z", True),
        ("created:>=2024-03-10T12:00:01Z", False),
        ("updated:>=2024-03-12", True),
        ("closed:>=2024-01-01", False),  # an open issue has no closed time
        ("merged:>=2024-01-01", False),
    ],
)
def test_date_qualifiers(query, expected):
    assert parse_query(query).matches(item()) is expected


def test_closed_and_merged_items():
    merged = item(
        is_pr=True,
        state="closed",
        closed_at=datetime(2024, 4, 1, tzinfo=UTC),
        merged_at=datetime(2024, 4, 1, tzinfo=UTC),
    )
    assert parse_query("is:pr is:merged closed:2024-04-01").matches(merged)
    assert not parse_query("is:unmerged").matches(merged)
    closed_unmerged = item(is_pr=True, state="closed", closed_at=datetime(2024, 4, 1, tzinfo=UTC))
    assert parse_query("is:unmerged").matches(closed_unmerged)


def test_unknown_qualifiers_are_words_and_bad_dates_are_errors():
    assert not parse_query("foo:bar").matches(item())
    assert parse_query("foo:bar").matches(item(body="see foo:bar"))
    with pytest.raises(SearchSyntaxError):
        parse_query("created:>=yesterday")
    with pytest.raises(SearchSyntaxError):
        parse_query("comments:>many")
