"""Collects a repository's history into the store: incrementally, and frugally with the API.

What one run requests (N = issues and pull requests, C = comments, R = commits):

- ``GET /repos/{o}/{r}/issues?state=all&sort=updated&direction=asc&per_page=100``: N/100
  pages on the first run, then only what changed (``since`` = the newest ``updated_at``
  seen). Pull requests come in this list too, with ``draft`` and ``merged_at``, so the pulls
  list is never needed.
- ``GET /repos/{o}/{r}/issues/comments`` and ``/pulls/comments`` (diff comments), repository-
  wide, with ``since``: C/100 pages, then only what changed.
- ``GET /repos/{o}/{r}/commits`` on the default branch with ``since``: R/100 pages, then new ones.
- ``GET /repos/{o}/{r}/issues/events``, newest first, only back to the reviews horizon (or
  where the last run stopped): the ``ready_for_review`` moments of draft pull requests, and
  the issues' ``labeled`` / ``unlabeled`` events, which with the prediction markers of
  maintbot's own comments (kept aside from the conversation) give the triage precision
  when no store survived (``bot.triage.corrections``). No request is added for them.
- ``GET /repos/{o}/{r}/pulls/{n}/reviews``: GitHub has no repository-wide review list, so
  this is one request per pull request, made only for pull requests updated since the
  *reviews horizon* (the start of the previous report window, for retention) whose
  ``updated_at`` changed since their reviews were last fetched; sent with ``If-None-Match``.

Every first page of a listing is sent with the ``ETag`` of the same request last time, so an
unchanged listing answers ``304 Not Modified``, which GitHub does not count against the rate
limit. A second run right after the first therefore makes a handful of requests.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from github import Github, GithubException

from bot.report import parse
from bot.report.records import Dataset, Item
from bot.report.storage import RecordStore, ReviewsEntry
from bot.triage.corrections import LabelEvent, issue_label_event, marker_record

log = logging.getLogger(__name__)

PER_PAGE = 100  # GitHub's maximum
REVIEWS_PER_WRITE = 50  # pull requests whose reviews are stored in one transaction
_LAST_PAGE = re.compile(r'<[^>]*[?&]page=(\d+)[^>]*>;\s*rel="last"')
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')

#: ``progress(listing, pages_or_items_done, total_or_None)``; the total is GitHub's own
#: page count (from the ``Link`` header) or the number of pull requests to visit.
Progress = Callable[[str, int, int | None], None]


def _no_progress(listing: str, done: int, total: int | None) -> None:
    return None


def last_page_number(link: str | None) -> int | None:
    """The page count GitHub announces in ``Link: <...&page=7>; rel="last"``."""
    match = _LAST_PAGE.search(link or "")
    return int(match.group(1)) if match else None


def next_page_url(link: str | None) -> str | None:
    match = _NEXT.search(link or "")
    return match.group(1) if match else None


MAINTBOT_MARKER = "<!-- maintbot:"


def is_maintbot_post(raw: dict[str, Any]) -> bool:
    """maintbot's own issues and sticky comments (reports, benchmark and triage notes).

    They are the bot speaking, whatever account posted them, so no metric counts them.
    """
    return str(raw.get("body") or "").lstrip().startswith(MAINTBOT_MARKER)


def triage_marks(comments: Iterable[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """maintbot's prediction markers among raw issue comments, by issue number.

    Its comments are not counted as conversation, but their hidden marker is what an Action
    (no lasting store) knows of the labels it gave; the report's triage precision reads it."""
    return dict(found for raw in comments if (found := marker_record(raw)) is not None)


def _latest(current: str | None, stamps: Iterable[str]) -> str | None:
    """The latest of ISO 8601 UTC stamps in GitHub's one format (they sort as text)."""
    return max((current or "", *stamps)) or None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Page:
    items: list[dict[str, Any]]
    number: int
    last: int | None


@dataclass
class Listing:
    """One paginated GET, with the ETag of its first page."""

    path: str
    params: dict[str, str]
    etag: str | None = None  # of the first page, as last sent
    not_modified: bool = False
    new_etag: str | None = None

    @property
    def key(self) -> str:
        return f"{self.path}?{urlencode(sorted(self.params.items()))}"


@dataclass
class CollectSummary:
    """What a collection run did, for the user and for the frugality bar."""

    repo: str
    requests: dict[str, int] = field(default_factory=dict)
    not_modified: int = 0
    items: int = 0
    comments: int = 0
    reviews_fetched_for: int = 0
    commits: int = 0
    events_available: bool = True

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


class Collector:
    """Fetches what changed in one repository and writes it to a :class:`RecordStore`."""

    def __init__(
        self,
        github: Github,
        records: RecordStore,
        *,
        reviews_horizon: datetime | None,
        progress: Progress = _no_progress,
    ) -> None:
        self.requester = github.requester
        self.records = records
        self.repo = records.repo
        self.reviews_horizon = reviews_horizon
        self.progress = progress
        self.summary = CollectSummary(self.repo)

    # ---------------------------------------------------------------- HTTP

    def _get(
        self, listing_name: str, url: str, params: dict[str, str] | None, etag: str | None
    ) -> tuple[int, dict[str, Any], Any]:
        headers = {"If-None-Match": etag} if etag else None
        status, response_headers, body = self.requester.requestJson("GET", url, params, headers)
        self.summary.requests[listing_name] = self.summary.requests.get(listing_name, 0) + 1
        if status == 304:
            self.summary.not_modified += 1
            return status, response_headers, None
        data = parse_json(body)
        if status >= 400:
            raise self.requester.createException(status, response_headers, data)
        return status, response_headers, data

    def _pages(self, name: str, listing: Listing, *, show: bool = True) -> Iterator[Page]:
        """Every page of ``listing``; nothing when its first page is unchanged (304).

        ``show`` puts the pages in the progress bar (the per-PR review listings are shown
        as one bar over all pull requests instead).
        """
        url: str | None = listing.path
        params: dict[str, str] | None = {**listing.params, "per_page": str(PER_PAGE)}
        number, last = 0, None
        while url is not None:
            etag = listing.etag if number == 0 else None
            status, headers, data = self._get(name, url, params, etag)
            number += 1
            if status == 304:
                listing.not_modified = True
                listing.new_etag = listing.etag
                if show:
                    self.progress(name, 1, 1)
                return
            if number == 1:
                listing.new_etag = headers.get("etag")
                last = last_page_number(headers.get("link")) or 1
            if show:
                self.progress(name, number, max(last or 1, number))
            yield Page(list(data or []), number, last)
            url, params = next_page_url(headers.get("link")), None

    # ---------------------------------------------------------------- listings

    def _since_listing(
        self, cursor: dict[str, Any], name: str, path: str, params: dict[str, str]
    ) -> Listing:
        state = cursor.get(name) or {}
        if state.get("since"):
            params = {**params, "since": state["since"]}
        listing = Listing(path, params)
        if state.get("key") == listing.key:
            listing.etag = state.get("etag")
        return listing

    @staticmethod
    def _remember(cursor: dict[str, Any], name: str, listing: Listing, newest: str | None) -> None:
        previous = (cursor.get(name) or {}).get("since")
        cursor[name] = {
            "since": max(filter(None, (previous, newest)), default=None),
            "key": listing.key,
            "etag": listing.new_etag,
        }

    def collect(self) -> CollectSummary:
        """One incremental pass over every listing; the cursor is saved after each."""
        cursor = self.records.cursor()
        base = f"/repos/{self.repo}"
        self._collect_items(cursor, base)
        self.records.save_cursor(cursor)
        self._collect_comments(cursor, base)
        self.records.save_cursor(cursor)
        self._collect_commits(cursor, base)
        self.records.save_cursor(cursor)
        self._collect_ready_events(cursor, base)
        self.records.save_cursor(cursor)
        self._collect_reviews(base)
        return self.summary

    def _collect_items(self, cursor: dict[str, Any], base: str) -> None:
        params = {"state": "all", "sort": "updated", "direction": "asc"}
        listing = self._since_listing(cursor, "issues", f"{base}/issues", params)
        newest = None
        for page in self._pages("issues", listing):
            items = [parse.item(self.repo, raw) for raw in page.items if not is_maintbot_post(raw)]
            self.records.put_items(items)
            self.summary.items += len(items)
            newest = _latest(newest, (_iso(i.updated_at) for i in items))
        self._remember(cursor, "issues", listing, newest)

    def _collect_comments(self, cursor: dict[str, Any], base: str) -> None:
        params = {"sort": "updated", "direction": "asc"}
        for name, path, parser in (
            ("issue comments", f"{base}/issues/comments", parse.issue_comment),
            ("review comments", f"{base}/pulls/comments", parse.review_comment),
        ):
            listing = self._since_listing(cursor, name, path, params)
            newest = None
            for page in self._pages(name, listing):
                self.records.put_comments(
                    parser(self.repo, raw) for raw in page.items if not is_maintbot_post(raw)
                )
                if name == "issue comments":
                    self.records.put_triage_marks(triage_marks(page.items))
                self.summary.comments += len(page.items)
                newest = _latest(newest, (str(raw["updated_at"]) for raw in page.items))
            self._remember(cursor, name, listing, newest)

    def _collect_commits(self, cursor: dict[str, Any], base: str) -> None:
        listing = self._since_listing(cursor, "commits", f"{base}/commits", {})
        newest = None
        try:
            for page in self._pages("commits", listing):
                commits = [parse.commit(self.repo, raw) for raw in page.items]
                self.records.put_commits(commits)
                self.summary.commits += len(commits)
                newest = _latest(newest, (_iso(c.committed_at) for c in commits))
        except GithubException as error:
            if error.status != 409:  # 409: the repository is empty, it has no commits
                raise
        self._remember(cursor, "commits", listing, newest)

    def _collect_ready_events(self, cursor: dict[str, Any], base: str) -> None:
        """``ready_for_review`` events, newest first, back to where the last run stopped."""
        state = cursor.get("events") or {}
        stop_at = state.get("newest") or (
            _iso(self.reviews_horizon) if self.reviews_horizon else None
        )
        listing = Listing(f"{base}/issues/events", {})
        listing.etag = state.get("etag")
        newest = state.get("newest")
        ready: dict[int, datetime] = {}
        labelled: dict[int, list[LabelEvent]] = {}
        try:
            for page in self._pages("issue events", listing):
                times = [str(e.get("created_at") or "") for e in page.items]
                if page.number == 1:
                    newest = _latest(newest, times)
                for event in page.items:
                    found = parse.ready_for_review_event(event)
                    if found:  # newest first, so the last one kept is the earliest
                        ready[found[0]] = found[1]
                    label_change = issue_label_event(event)  # for live triage precision
                    if label_change:
                        labelled.setdefault(label_change[0], []).append(label_change[1])
                if stop_at and times and min(times) < stop_at:
                    break
        except GithubException as error:
            if error.status != 404:  # some GitHub Enterprise versions lack this listing
                raise
            log.warning("%s: issue events are not available; drafts count from opening", self.repo)
            self.summary.events_available = False
            return
        self.records.put_ready_times(ready)
        self.records.put_label_events(labelled)
        cursor["events"] = {"newest": newest, "etag": listing.new_etag}

    def _collect_reviews(self, base: str) -> None:
        stored = self.records.reviews()
        fetched_for = {number: entry.pull_updated_at for number, entry in stored.items()}
        due = reviews_due(self.records.items().values(), fetched_for, self.reviews_horizon)
        batch: dict[int, ReviewsEntry] = {}
        for done, item in enumerate(due, start=1):
            entry = self._fetch_reviews(base, item.number, stored.get(item.number, ReviewsEntry()))
            entry.pull_updated_at = item.updated_at
            batch[item.number] = entry
            if len(batch) == REVIEWS_PER_WRITE or done == len(due):
                self.records.put_reviews(batch)  # what is written is not fetched again
                batch = {}
            self.summary.reviews_fetched_for += 1
            self.progress("reviews", done, len(due))

    def _fetch_reviews(self, base: str, number: int, previous: ReviewsEntry) -> ReviewsEntry:
        listing = Listing(f"{base}/pulls/{number}/reviews", {}, etag=previous.etag)
        reviews = []
        for page in self._pages("reviews", listing, show=False):
            found = (parse.review(self.repo, number, raw) for raw in page.items)
            reviews.extend(r for r in found if r is not None)
        if listing.not_modified:
            return replace(previous, etag=listing.new_etag)
        return ReviewsEntry(reviews, None, listing.new_etag)


def reviews_due(
    items: Iterable[Item],
    fetched_for: Mapping[int, datetime | None],
    horizon: datetime | None,
) -> list[Item]:
    """Pull requests whose reviews must be (re)fetched, by number.

    Those updated since ``horizon`` (None: all) whose ``updated_at`` is not the one their
    stored reviews were fetched for: a new review changes a pull request's ``updated_at``.
    """
    return sorted(
        (
            item
            for item in items
            if item.is_pull
            and (horizon is None or item.updated_at >= horizon)
            and (item.number not in fetched_for or fetched_for[item.number] != item.updated_at)
        ),
        key=lambda item: item.number,
    )


def parse_json(body: str) -> Any:
    return json.loads(body) if body else None


def collect_repository(
    github: Github,
    records: RecordStore,
    *,
    reviews_horizon: datetime | None,
    progress: Progress = _no_progress,
) -> tuple[Dataset, CollectSummary]:
    """Brings the stored records of ``records.repo`` up to date, then reads them all back."""
    summary = Collector(
        github, records, reviews_horizon=reviews_horizon, progress=progress
    ).collect()
    return records.dataset(), summary
