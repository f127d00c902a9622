"""Commits of a branch (or reachable from a sha), one commit, and contributors."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bot.sandbox.api.common import paginated, query_time, repo_record
from bot.sandbox.routing import ApiRequest, Reply, RouteTable, not_found

routes = RouteTable()


def find_commit(repo: dict[str, Any], ref: str) -> dict[str, Any] | None:
    """A commit by full sha, unique prefix (7+ hex), or branch name (its newest commit)."""
    commits = repo["commits"]
    if ref in commits:
        return commits[ref]
    if len(ref) >= 7:
        matches = [c for sha, c in commits.items() if sha.startswith(ref.lower())]
        if len(matches) == 1:
            return matches[0]
    on_branch = [c for c in commits.values() if c["branch"] == ref]
    if on_branch:
        return max(on_branch, key=lambda c: c["committer_date"])
    return None


def history(repo: dict[str, Any], ref: str | None) -> list[dict[str, Any]]:
    """Commits reachable from ``ref`` (a branch: its commits; a sha: it and its ancestors)."""
    commits = repo["commits"]
    is_branch = (
        ref is not None and ref not in commits and any(c["branch"] == ref for c in commits.values())
    )
    if ref is None or is_branch:
        branch = ref or repo["default_branch"]
        return [c for c in commits.values() if c["branch"] == branch]
    start = find_commit(repo, ref)
    if start is None:
        return []
    seen: dict[str, dict[str, Any]] = {}
    todo = [start["sha"]]
    while todo and len(seen) < 100_000:
        sha = todo.pop()
        if sha in seen or sha not in commits:
            continue
        seen[sha] = commits[sha]
        todo.extend(commits[sha]["parents"])
    return list(seen.values())


@routes.add("GET", "/repos/{owner}/{repo}/commits")
def list_commits(req: ApiRequest) -> Reply:
    """Newest first; ``sha``, ``since``, ``until`` and ``author`` filter (``path`` is ignored)."""
    repo = repo_record(req)
    since, until = query_time(req, "since"), query_time(req, "until")
    author = (req.query.get("author") or "").lower()
    found = [
        c
        for c in history(repo, req.query.get("sha") or None)
        if (since is None or c["committer_date"] >= since)
        and (until is None or c["committer_date"] <= until)
        and (not author or author in ((c["author"] or "").lower(), c["author_email"].lower()))
    ]
    ordered = sorted(found, key=lambda c: c["committer_date"], reverse=True)
    return paginated(req, ordered, req.shapes.commit)


@routes.add("GET", "/repos/{owner}/{repo}/commits/{ref}")
def get_commit(req: ApiRequest) -> Reply:
    commit = find_commit(repo_record(req), req.params["ref"])
    if commit is None:
        raise not_found()
    return Reply(200, req.shapes.commit(commit, with_files=True))


@routes.add("GET", "/repos/{owner}/{repo}/contributors")
def list_contributors(req: ApiRequest) -> Reply:
    """Authors of default-branch commits by number of commits; 204 for an empty repository."""
    repo = repo_record(req)
    commits = [c for c in repo["commits"].values() if c["branch"] == repo["default_branch"]]
    if not commits:
        return Reply(204)
    counts = Counter(c["author"] for c in commits if c["author"])
    first_seen = {}
    for c in sorted(commits, key=lambda c: c["committer_date"]):
        if c["author"]:
            first_seen.setdefault(c["author"], c["committer_date"])
    ordered = sorted(counts, key=lambda login: (-counts[login], first_seen[login]))
    rows: list[dict[str, Any]] = [req.shapes.contributor(login, counts[login]) for login in ordered]
    if req.query.get("anon") in ("1", "true"):
        anonymous = Counter(
            (c["author_name"], c["author_email"]) for c in commits if not c["author"]
        )
        for (name, email), count in anonymous.most_common():
            rows.append({"type": "Anonymous", "name": name, "email": email, "contributions": count})
    return paginated(req, rows, lambda row: row)
