"""``GET /search/issues``: the search language over every repository the sandbox holds."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bot.sandbox.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE, link_header, page_slice
from bot.sandbox.routing import ApiRequest, Reply, RouteTable, invalid
from bot.sandbox.search import SearchItem, SearchSyntaxError, parse_query

routes = RouteTable()

MAX_RESULTS = 1000  # GitHub serves at most the first 1000 results of any search


def _item(repo: dict[str, Any], issue: dict[str, Any], comments: list[str]) -> SearchItem:
    pull = issue["pull"]
    return SearchItem(
        repo=repo["full_name"],
        is_pr=pull is not None,
        state=issue["state"],
        title=issue["title"] or "",
        body=issue["body"] or "",
        author=issue["user"],
        labels=list(issue["labels"]),
        assignees=list(issue["assignees"]),
        created_at=issue["created_at"],
        updated_at=issue["updated_at"],
        closed_at=issue["closed_at"],
        merged_at=pull["merged_at"] if pull else None,
        draft=bool(pull and pull["draft"]),
        comments=comments,
    )


@routes.add("GET", "/search/issues", resource="search")
def search_issues(req: ApiRequest) -> Reply:
    q = req.query.get("q", "")
    if not q.strip():
        raise invalid("Search", "q", "missing")
    try:
        query = parse_query(q)
    except SearchSyntaxError as exc:
        raise invalid("Search", "q", message=str(exc)) from exc
    sort = req.query.get("sort")
    if sort not in (None, "", "comments", "created", "updated"):
        raise invalid("Search", "sort")
    order = req.query.get("order", "desc")
    hits: list[tuple[dict[str, Any], SearchItem]] = []
    for repo in req.state.repos.values():
        if repo["private"] and req.identity.kind == "anonymous":
            continue
        bodies: dict[int, list[str]] = defaultdict(list)
        for comment in repo["comments"].values():
            bodies[comment["issue_number"]].append(comment["body"])
        for issue in repo["issues"].values():
            item = _item(repo, issue, bodies[issue["number"]])
            if query.matches(item):
                hits.append((issue, item))
    key = {
        "comments": lambda hit: len(hit[1].comments),
        "updated": lambda hit: hit[1].updated_at,
    }.get(sort or "", lambda hit: hit[1].created_at)
    hits.sort(key=lambda hit: hit[0]["id"])
    hits.sort(key=key, reverse=order != "asc")
    total = len(hits)
    served = hits[:MAX_RESULTS]
    per_page = req.query_int("per_page", DEFAULT_PER_PAGE, high=MAX_PER_PAGE)
    page = req.query_int("page", 1)
    items = [
        req.shapes.issue(issue, search_score=1.0) for issue, _ in page_slice(served, page, per_page)
    ]
    body = {
        "total_count": total,
        "incomplete_results": False,
        "search_type": "lexical",
        "items": items,
    }
    reply = Reply(200, body)
    link = link_header(req.base_url + req.path, req.query, page, per_page, len(served))
    if link:
        reply.headers["Link"] = link
    return reply
