"""GitHub's issue-search language (``repo:o/r is:issue label:"good first issue" created:>=...``).

``parse_query`` turns ``q`` into a ``SearchQuery``; ``SearchQuery.matches`` tests one
``SearchItem``. Both are pure so the qualifier semantics can be tested with plain values.
Supported: ``repo:``, ``is:``/``type:`` (issue, pr, open, closed, merged, unmerged, draft),
``state:``, ``label:``/``-label:`` (quoted or not), ``no:label``/``no:assignee``, ``author:``,
``-author:``, ``assignee:``, ``created:``/``updated:``/``closed:``/``merged:`` and
``comments:`` with ``>=``/``>``/``<=``/``<``/``A..B``/exact, ``in:title|body|comments``,
and plain words (all must appear, case-insensitive). Unknown qualifiers count as words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.sandbox.timeutil import day_bounds

TOKEN = re.compile(r'-?[\w.\-]+:"[^"]*"|"[^"]*"|\S+')
DATE_FIELDS = {"created", "updated", "closed", "merged"}


class SearchSyntaxError(ValueError):
    """A qualifier value GitHub would reject (answered as 422)."""


@dataclass
class SearchItem:
    """What search looks at in one issue or pull request."""

    repo: str
    is_pr: bool
    state: str
    title: str
    body: str
    author: str
    labels: list[str]
    assignees: list[str]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    draft: bool = False
    comments: list[str] = field(default_factory=list)


Predicate = Callable[[SearchItem], bool]


@dataclass
class SearchQuery:
    """A parsed query: every predicate must hold and every word must be found."""

    predicates: list[Predicate] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    word_fields: set[str] = field(default_factory=lambda: {"title", "body"})
    repos: list[str] = field(default_factory=list)

    def matches(self, item: SearchItem) -> bool:
        if self.repos and item.repo.lower() not in self.repos:
            return False
        if not all(predicate(item) for predicate in self.predicates):
            return False
        haystack = []
        if "title" in self.word_fields:
            haystack.append(item.title)
        if "body" in self.word_fields:
            haystack.append(item.body)
        if "comments" in self.word_fields:
            haystack.extend(item.comments)
        text = "\n".join(haystack).lower()
        return all(word in text for word in self.words)


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def range_predicate(value: str) -> Callable[[datetime | None], bool]:
    """Compare a time against ``>=D``, ``>D``, ``<=D``, ``<D``, ``A..B`` or ``D`` (a whole day)."""
    try:
        if ".." in value:
            start, end = value.split("..", 1)
            low = None if start in ("", "*") else day_bounds(start)[0]
            high = None if end in ("", "*") else day_bounds(end)[1]
            return lambda t: (
                t is not None and (low is None or t >= low) and (high is None or t < high)
            )
        operator = next((op for op in (">=", "<=", ">", "<") if value.startswith(op)), "")
        first, after = day_bounds(value[len(operator) :])
        low, high = {
            ">=": (first, None),
            ">": (after, None),
            "<=": (None, after),
            "<": (None, first),
            "": (first, after),
        }[operator]
        return lambda t: t is not None and (low is None or t >= low) and (high is None or t < high)
    except ValueError as exc:
        raise SearchSyntaxError(f"{value!r} is not a date or date range") from exc


def count_predicate(value: str) -> Callable[[int], bool]:
    """``comments:>5``, ``comments:1..3``, ``comments:0``."""
    try:
        if ".." in value:
            low, high = value.split("..", 1)
            return lambda n: (
                (low in ("", "*") or n >= int(low)) and (high in ("", "*") or n <= int(high))
            )
        for operator, test in (
            (">=", int.__ge__),
            ("<=", int.__le__),
            (">", int.__gt__),
            ("<", int.__lt__),
        ):
            if value.startswith(operator):
                bound = int(value[len(operator) :])
                return lambda n, test=test, bound=bound: test(n, bound)
        exact = int(value)
        return lambda n: n == exact
    except ValueError as exc:
        raise SearchSyntaxError(f"{value!r} is not a number or range") from exc


def _is(value: str) -> Predicate | None:
    return {
        "issue": lambda i: not i.is_pr,
        "pr": lambda i: i.is_pr,
        "pull-request": lambda i: i.is_pr,
        "open": lambda i: i.state == "open",
        "closed": lambda i: i.state == "closed",
        "merged": lambda i: i.merged_at is not None,
        "unmerged": lambda i: i.is_pr and i.state == "closed" and i.merged_at is None,
        "draft": lambda i: i.draft,
    }.get(value.lower())


def parse_query(q: str) -> SearchQuery:
    """Parse GitHub's search syntax into predicates (see the module docstring)."""
    query = SearchQuery()
    for token in TOKEN.findall(q or ""):
        negated = token.startswith("-") and ":" in token
        bare = token[1:] if negated else token
        name, sep, raw = bare.partition(":")
        if not sep or token.startswith('"'):
            word = _unquote(token).strip().lower()
            if word and word.upper() not in ("AND", "OR", "NOT"):
                query.words.append(word)
            continue
        name = name.lower()
        value = _unquote(raw)
        predicate: Predicate | None = None
        if name == "repo":
            query.repos.append(value.lower())
            continue
        if name in ("is", "type"):
            predicate = _is(value)
        elif name == "state":
            predicate = (lambda v: lambda i: i.state == v)(value.lower())
        elif name == "label":
            names = {n.strip().lower() for n in value.split(",")}
            predicate = lambda i, names=names: bool(names & {n.lower() for n in i.labels})  # noqa: E731
        elif name == "no":
            predicate = {
                "label": lambda i: not i.labels,
                "assignee": lambda i: not i.assignees,
            }.get(value.lower())
        elif name == "author":
            predicate = (lambda v: lambda i: i.author.lower() == v)(value.lower())
        elif name == "assignee":
            predicate = (lambda v: lambda i: v in {a.lower() for a in i.assignees})(value.lower())
        elif name in DATE_FIELDS:
            test = range_predicate(value)
            predicate = (lambda f, t: lambda i: t(getattr(i, f"{f}_at")))(name, test)
        elif name == "comments":
            count_test = count_predicate(value)
            predicate = lambda i, t=count_test: t(len(i.comments))  # noqa: E731
        elif name == "in":
            query.word_fields = {part.strip().lower() for part in value.split(",")}
            continue
        if predicate is None:
            query.words.append(token.lower())
            continue
        if negated:
            predicate = (lambda p: lambda i: not p(i))(predicate)
        query.predicates.append(predicate)
    return query
