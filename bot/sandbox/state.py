"""The sandbox's in-memory GitHub: users, repositories and everything in them, behind one lock.

Records are plain dicts with GitHub's field names, except that people are stored as logins and
times as aware ``datetime`` objects; ``bot.sandbox.shapes`` turns them into the JSON GitHub sends.
Every ``add_*`` method is what a seed file line or a test calls to build a history, so all
timestamps are settable and every field GitHub's schema requires gets a sensible default.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.sandbox.timeutil import parse_time, utcnow

DEFAULT_LOGIN = "octocat"
GHOST_LOGIN = "ghost"
GHOST_ID = 10137  # GitHub's real id for the account that replaces deleted users
DEFAULT_LABEL_COLOR = "ededed"  # the grey GitHub gives labels created implicitly


class SandboxStateError(LookupError):
    """A seed or test referred to something the sandbox does not hold (a repo, an issue...)."""


def _time(value: Any, default: datetime | None = None) -> datetime | None:
    parsed = parse_time(value)
    return parsed if parsed is not None else default


COLLABORATOR_ROLES = ("read", "triage", "write", "maintain", "admin")
"""GitHub's repository roles for a collaborator, weakest first."""


def _collaborator_roles(collaborators: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    """login (lowercased) -> role; a plain list of logins gives each the ``write`` role."""
    pairs = (
        collaborators.items()
        if isinstance(collaborators, Mapping)
        else ((login, "write") for login in collaborators)
    )
    roles: dict[str, str] = {}
    for login, role in pairs:
        if role not in COLLABORATOR_ROLES:
            raise SandboxStateError(
                f"collaborator {login!r} has role {role!r}; roles: {', '.join(COLLABORATOR_ROLES)}"
            )
        roles[login.lower()] = role
    return roles


def fake_sha(*parts: object) -> str:
    """A 40-hex id that is stable for the same inputs, like a git object name."""
    return hashlib.sha1("\0".join(str(p) for p in parts).encode()).hexdigest()


class SandboxState:
    """Everything the fake GitHub knows. Callers hold ``lock`` while reading or changing it."""

    def __init__(self, *, default_login: str = DEFAULT_LOGIN) -> None:
        self.lock = threading.RLock()
        self.default_login = default_login
        self.users: dict[str, dict[str, Any]] = {}
        self.repos: dict[str, dict[str, Any]] = {}
        self.installations: dict[int, dict[str, Any]] = {}
        self.app: dict[str, Any] | None = None
        self._ids = itertools.count(1001)
        self._taken_ids: set[int] = set()

    # ----------------------------------------------------------------- ids and lookups

    def new_id(self, wanted: int | None = None) -> int:
        """A fresh numeric id (or the seed's own, so fixtures can name stable ids)."""
        with self.lock:
            if wanted is not None:
                self._taken_ids.add(int(wanted))
                return int(wanted)
            while True:
                candidate = next(self._ids)
                if candidate not in self._taken_ids:
                    self._taken_ids.add(candidate)
                    return candidate

    def repo(self, full_name: str) -> dict[str, Any]:
        """The repository record, or ``SandboxStateError`` (a 404 on the wire)."""
        found = self.repos.get(full_name.lower())
        if found is None:
            raise SandboxStateError(f"no repository {full_name!r} in the sandbox")
        return found

    def issue(self, repo: str, number: int) -> dict[str, Any]:
        """An issue or pull request of ``repo`` by number (they share GitHub's numbering)."""
        found = self.repo(repo)["issues"].get(int(number))
        if found is None:
            raise SandboxStateError(f"no issue #{number} in {repo}")
        return found

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        """A pull request's issue record (its ``pull`` key holds the PR-only fields)."""
        found = self.issue(repo, number)
        if found.get("pull") is None:
            raise SandboxStateError(f"#{number} in {repo} is an issue, not a pull request")
        return found

    def user(self, login: str) -> dict[str, Any]:
        """The user, created on first mention as GitHub would already know them."""
        return self.ensure_user(login)

    def organization(self, login: str) -> dict[str, Any]:
        """The account ``login`` if it is an organization; a user is a 404 under ``/orgs``."""
        found = self.users.get(login.lower())
        if found is None or found["type"] != "Organization":
            raise SandboxStateError(f"no organization {login!r} in the sandbox")
        return found

    def owned_repos(self, owner: str) -> list[dict[str, Any]]:
        """The repositories of an account, in the order they were added."""
        return [r for r in self.repos.values() if r["owner"].lower() == owner.lower()]

    # ------------------------------------------------------------------------ people

    def add_user(
        self,
        login: str,
        *,
        type: str | None = None,  # noqa: A002 - GitHub's field name
        id: int | None = None,  # noqa: A002
        name: str | None = None,
        email: str | None = None,
        site_admin: bool = False,
        created_at: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add (or update) an account; ``...[bot]`` logins are Bots unless ``type`` differs."""
        with self.lock:
            existing = self.users.get(login.lower())
            if existing is not None:
                for key, value in (("type", type), ("name", name), ("email", email)):
                    if value is not None:
                        existing[key] = value
                existing.update(extra)
                return existing
            if type is None:
                type = "Bot" if login.endswith("[bot]") else "User"  # noqa: A001
            wanted = GHOST_ID if (id is None and login == GHOST_LOGIN) else id
            record = {
                "login": login,
                "id": self.new_id(wanted),
                "type": type,
                "name": name,
                "email": email,
                "site_admin": bool(site_admin),
                "created_at": _time(created_at, parse_time("2015-01-01T00:00:00Z")),
                **extra,
            }
            self.users[login.lower()] = record
            return record

    def ensure_user(self, login: str | None) -> dict[str, Any]:
        """The named account, created with defaults when a seed mentions it first."""
        login = login or GHOST_LOGIN
        with self.lock:
            return self.users.get(login.lower()) or self.add_user(login)

    # ------------------------------------------------------------------ repositories

    def add_repo(
        self,
        full_name: str,
        *,
        id: int | None = None,  # noqa: A002
        owner_type: str | None = None,
        description: str | None = None,
        private: bool = False,
        default_branch: str = "main",
        language: str | None = "Python",
        topics: Iterable[str] = (),
        homepage: str | None = None,
        license: str | None = "mit",  # noqa: A002 - an SPDX-like key, as GitHub's `license.key`
        created_at: Any = None,
        updated_at: Any = None,
        pushed_at: Any = None,
        stargazers_count: int = 0,
        forks_count: int = 0,
        collaborators: Iterable[str] | Mapping[str, str] = (),
        contents: Mapping[str, str] | None = None,
        archived: bool = False,
        fork: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add a repository ``owner/name``; ``collaborators`` get COLLABORATOR association.

        ``collaborators`` is a list of logins (each with the ``write`` role) or a mapping
        login -> role (``read``, ``triage``, ``write``, ``maintain`` or ``admin``, GitHub's
        repository roles); the owner is always ``admin``.

        ``owner_type="Organization"`` makes the owner an organization (``GET /orgs/{org}``);
        ``archived`` and ``fork`` are what ``maintbot report --org`` leaves out.
        """
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise SandboxStateError(f"a repository is named 'owner/name', not {full_name!r}")
        with self.lock:
            if full_name.lower() in self.repos:
                raise SandboxStateError(f"repository {full_name!r} is already in the sandbox")
            if owner_type:
                self.add_user(owner, type=owner_type)
            else:
                self.ensure_user(owner)
            created = _time(created_at, parse_time("2020-01-01T00:00:00Z"))
            roles = _collaborator_roles(collaborators)
            record: dict[str, Any] = {
                "id": self.new_id(id),
                "owner": owner,
                "name": name,
                "full_name": full_name,
                "description": description,
                "private": bool(private),
                "default_branch": default_branch,
                "language": language,
                "topics": list(topics),
                "homepage": homepage,
                "license": license,
                "created_at": created,
                "updated_at": _time(updated_at, created),
                "pushed_at": _time(pushed_at, created),
                "stargazers_count": int(stargazers_count),
                "forks_count": int(forks_count),
                "archived": bool(archived),
                "fork": bool(fork),
                "collaborators": list(roles),
                "roles": roles,
                "contents": dict(contents or {}),
                "labels": {},
                "issues": {},
                "comments": {},
                "review_comments": {},
                "commits": {},
                "branch_tips": {},  # branch -> sha of its newest commit
                "check_runs": {},
                "next_number": 1,
                **extra,
            }
            for login in record["collaborators"]:
                self.ensure_user(login)
            self.repos[full_name.lower()] = record
            return record

    def set_collaborator(self, repo: str, login: str, role: str | None = "write") -> None:
        """Give ``login`` a repository role (None: no longer a collaborator)."""
        with self.lock:
            record = self.repo(repo)
            roles: dict[str, str] = record["roles"]
            roles.pop(login.lower(), None)
            if role is not None:
                roles.update(_collaborator_roles({login: role}))
                self.ensure_user(login)
            record["collaborators"][:] = list(roles)

    def set_content(self, repo: str, path: str, text: str) -> None:
        """Put a file at ``path`` of the default branch (e.g. ``.github/maintbot.yml``)."""
        with self.lock:
            self.repo(repo)["contents"][path.strip("/")] = text

    # ------------------------------------------------------------------------ labels

    def add_label(
        self,
        repo: str,
        name: str,
        *,
        color: str = DEFAULT_LABEL_COLOR,
        description: str | None = None,
        default: bool = False,
        id: int | None = None,  # noqa: A002
    ) -> dict[str, Any]:
        """Add a repository label; names are unique without regard to case, as on GitHub."""
        with self.lock:
            labels = self.repo(repo)["labels"]
            if name.lower() in labels:
                raise SandboxStateError(f"label {name!r} already exists in {repo}")
            record = {
                "id": self.new_id(id),
                "name": name,
                "color": color.lstrip("#").lower(),
                "description": description,
                "default": bool(default),
            }
            labels[name.lower()] = record
            return record

    def ensure_label(self, repo: str, name: str) -> dict[str, Any]:
        """The label, created grey when an issue mentions a name the repository lacks."""
        with self.lock:
            return self.repo(repo)["labels"].get(name.lower()) or self.add_label(repo, name)

    # ------------------------------------------------------------------------ issues

    def _number(self, repo_record: dict[str, Any], wanted: int | None) -> int:
        if wanted is None:
            number = repo_record["next_number"]
        else:
            number = int(wanted)
            if number in repo_record["issues"]:
                raise SandboxStateError(f"#{number} already exists in {repo_record['full_name']}")
        repo_record["next_number"] = max(repo_record["next_number"], number + 1)
        return number

    def add_issue(
        self,
        repo: str,
        *,
        title: str,
        body: str | None = None,
        user: str | None = None,
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        state: str = "open",
        state_reason: str | None = None,
        created_at: Any = None,
        updated_at: Any = None,
        closed_at: Any = None,
        closed_by: str | None = None,
        number: int | None = None,
        id: int | None = None,  # noqa: A002
        locked: bool = False,
        author_association: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add an issue; missing labels and users are created, closed issues get a ``closed_at``."""
        if state not in ("open", "closed"):
            raise SandboxStateError(f"issue state is 'open' or 'closed', not {state!r}")
        with self.lock:
            repo_record = self.repo(repo)
            author = self.ensure_user(user or self.default_login)["login"]
            created = _time(created_at, utcnow())
            closed = _time(closed_at, None)
            if state == "closed" and closed is None:
                closed = _time(updated_at, created)
            if state == "closed" and state_reason is None:
                state_reason = "completed"
            updated = _time(updated_at, max(created, closed) if closed else created)
            record: dict[str, Any] = {
                "id": self.new_id(id),
                "number": self._number(repo_record, number),
                "repo": repo_record["full_name"],
                "title": title,
                "body": body,
                "user": author,
                "labels": [self.ensure_label(repo, name)["name"] for name in labels],
                "assignees": [self.ensure_user(a)["login"] for a in assignees],
                "state": state,
                "state_reason": state_reason,
                "locked": bool(locked),
                "created_at": created,
                "updated_at": updated,
                "closed_at": closed if state == "closed" else None,
                "closed_by": (closed_by or author) if state == "closed" else None,
                "author_association": author_association,
                "pull": None,
                "events": [],
                **extra,
            }
            if record["closed_by"]:
                self.ensure_user(record["closed_by"])
            repo_record["issues"][record["number"]] = record
            return record

    def add_pull(
        self,
        repo: str,
        *,
        title: str,
        body: str | None = None,
        user: str | None = None,
        head: str = "feature",
        base: str | None = None,
        head_repo: str | None = None,
        head_sha: str | None = None,
        base_sha: str | None = None,
        state: str = "open",
        draft: bool = False,
        merged_at: Any = None,
        merged_by: str | None = None,
        merge_commit_sha: str | None = None,
        mergeable: bool | None = True,
        requested_reviewers: Iterable[str] = (),
        files: Iterable[Mapping[str, Any]] = (),
        commits: Iterable[Mapping[str, Any] | str] = (),
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        created_at: Any = None,
        updated_at: Any = None,
        closed_at: Any = None,
        number: int | None = None,
        id: int | None = None,  # noqa: A002
        pull_id: int | None = None,
        author_association: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add a pull request (an issue record with a ``pull`` part).

        ``merged_at`` implies closed; ``commits`` are ``add_commit`` keyword dicts (or existing
        shas) and land on ``base`` when merged, else on the ``head`` branch; ``files`` are
        ``{"filename", "status", "additions", "deletions", "patch"}`` dicts.
        """
        merged = _time(merged_at, None)
        if merged is not None:
            state = "closed"
            closed_at = closed_at or merged
        with self.lock:
            repo_record = self.repo(repo)
            base = base or repo_record["default_branch"]
            author = user or self.default_login
            record = self.add_issue(
                repo,
                title=title,
                body=body,
                user=author,
                labels=labels,
                assignees=assignees,
                state=state,
                state_reason=None if state == "open" else "completed",
                created_at=created_at,
                updated_at=updated_at,
                closed_at=closed_at,
                closed_by=merged_by if merged else None,
                number=number,
                id=id,
                author_association=author_association,
                **extra,
            )
            record["state_reason"] = None  # pull requests carry no state_reason on GitHub
            branch = base if merged else head
            shas: list[str] = []
            for commit in commits:
                if isinstance(commit, str):
                    shas.append(commit)
                    continue
                spec = dict(commit)
                spec.setdefault("author", author)
                spec.setdefault("date", record["created_at"])
                spec.setdefault("branch", branch)
                shas.append(self.add_commit(repo, **spec)["sha"])
            default_head = fake_sha(repo, "head", record["number"])
            final_head = head_sha or (shas[-1] if shas else default_head)
            record["pull"] = {
                "id": self.new_id(pull_id),
                "head_ref": head,
                "head_repo": head_repo or repo_record["full_name"],
                "head_sha": final_head,
                "base_ref": base,
                "base_sha": base_sha or fake_sha(repo, "base", record["number"]),
                "draft": bool(draft),
                "merged_at": merged,
                "merged_by": self.ensure_user(merged_by)["login"] if merged_by else None,
                "merge_commit_sha": merge_commit_sha
                or (fake_sha(repo, "merge", record["number"]) if merged else None),
                "mergeable": mergeable,
                "requested_reviewers": [self.ensure_user(r)["login"] for r in requested_reviewers],
                "files": [self._file(repo, record["number"], f) for f in files],
                "commits": shas,
                "reviews": [],
            }
            if merged and record["pull"]["merged_by"]:
                record["closed_by"] = record["pull"]["merged_by"]
            return record

    @staticmethod
    def _file(repo: str, number: int, spec: Mapping[str, Any]) -> dict[str, Any]:
        additions = int(spec.get("additions", 0))
        deletions = int(spec.get("deletions", 0))
        return {
            "filename": spec["filename"],
            "status": spec.get("status", "modified"),
            "additions": additions,
            "deletions": deletions,
            "changes": int(spec.get("changes", additions + deletions)),
            "patch": spec.get("patch"),
            "previous_filename": spec.get("previous_filename"),
            "sha": spec.get("sha") or fake_sha(repo, number, spec["filename"]),
        }

    # ---------------------------------------------------------------------- comments

    def add_issue_comment(
        self,
        repo: str,
        issue_number: int,
        *,
        body: str,
        user: str | None = None,
        created_at: Any = None,
        updated_at: Any = None,
        id: int | None = None,  # noqa: A002
        author_association: str | None = None,
    ) -> dict[str, Any]:
        """Add a conversation comment on an issue or pull request."""
        with self.lock:
            issue = self.issue(repo, issue_number)
            created = _time(created_at, utcnow())
            record = {
                "id": self.new_id(id),
                "repo": issue["repo"],
                "issue_number": issue["number"],
                "body": body,
                "user": self.ensure_user(user or self.default_login)["login"],
                "created_at": created,
                "updated_at": _time(updated_at, created),
                "author_association": author_association,
            }
            self.repo(repo)["comments"][record["id"]] = record
            return record

    def add_review(
        self,
        repo: str,
        pull_number: int,
        *,
        user: str | None = None,
        state: str = "COMMENTED",
        body: str = "",
        submitted_at: Any = None,
        commit_id: str | None = None,
        id: int | None = None,  # noqa: A002
        author_association: str | None = None,
    ) -> dict[str, Any]:
        """Add a submitted review: APPROVED, CHANGES_REQUESTED, COMMENTED or DISMISSED."""
        state = state.upper()
        if state not in ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"):
            raise SandboxStateError(f"unknown review state {state!r}")
        with self.lock:
            pull = self.pull(repo, pull_number)
            record = {
                "id": self.new_id(id),
                "repo": pull["repo"],
                "pull_number": pull["number"],
                "user": self.ensure_user(user or self.default_login)["login"],
                "state": state,
                "body": body,
                "submitted_at": _time(submitted_at, utcnow()),
                "commit_id": commit_id or pull["pull"]["head_sha"],
                "author_association": author_association,
            }
            pull["pull"]["reviews"].append(record)
            return record

    def add_review_comment(
        self,
        repo: str,
        pull_number: int,
        *,
        body: str,
        path: str,
        user: str | None = None,
        line: int | None = 1,
        side: str = "RIGHT",
        diff_hunk: str = "@@ -1,1 +1,1 @@",
        commit_id: str | None = None,
        review_id: int | None = None,
        in_reply_to_id: int | None = None,
        created_at: Any = None,
        updated_at: Any = None,
        id: int | None = None,  # noqa: A002
        author_association: str | None = None,
    ) -> dict[str, Any]:
        """Add a comment on a line of a pull request's diff."""
        with self.lock:
            pull = self.pull(repo, pull_number)
            created = _time(created_at, utcnow())
            record = {
                "id": self.new_id(id),
                "repo": pull["repo"],
                "pull_number": pull["number"],
                "body": body,
                "path": path,
                "line": line,
                "side": side,
                "diff_hunk": diff_hunk,
                "commit_id": commit_id or pull["pull"]["head_sha"],
                "review_id": review_id,
                "in_reply_to_id": in_reply_to_id,
                "user": self.ensure_user(user or self.default_login)["login"],
                "created_at": created,
                "updated_at": _time(updated_at, created),
                "author_association": author_association,
            }
            self.repo(repo)["review_comments"][record["id"]] = record
            return record

    def add_issue_event(
        self,
        repo: str,
        issue_number: int,
        *,
        event: str,
        actor: str | None = None,
        label: str | None = None,
        state_reason: str | None = None,
        created_at: Any = None,
        id: int | None = None,  # noqa: A002
    ) -> dict[str, Any]:
        """Add a timeline event (``labeled``, ``unlabeled``, ``closed``, ``reopened``...).

        The API adds these itself when labels or state change; seeds add them for history
        (e.g. a maintainer relabelling what the bot predicted).
        """
        with self.lock:
            issue = self.issue(repo, issue_number)
            record = {
                "id": self.new_id(id),
                "repo": issue["repo"],
                "issue_number": issue["number"],
                "event": event,
                "actor": self.ensure_user(actor or self.default_login)["login"],
                "label": label,
                "state_reason": state_reason,
                "created_at": _time(created_at, utcnow()),
            }
            issue["events"].append(record)
            return record

    # ----------------------------------------------------------------------- commits

    def add_commit(
        self,
        repo: str,
        *,
        message: str,
        sha: str | None = None,
        author: str | None = None,
        author_name: str | None = None,
        author_email: str | None = None,
        date: Any = None,
        committer: str | None = None,
        committer_date: Any = None,
        parents: Iterable[str] | None = None,
        branch: str | None = None,
        files: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Add a commit on ``branch`` (default branch if None); parents default to the branch tip.

        ``author`` is a GitHub login or None for a commit whose e-mail maps to no account.
        """
        with self.lock:
            repo_record = self.repo(repo)
            branch = branch or repo_record["default_branch"]
            authored = _time(date, utcnow())
            tips = repo_record["branch_tips"]
            if parents is None:
                parents = [tips[branch]] if branch in tips else []
            login = self.ensure_user(author)["login"] if author else None
            committer_login = self.ensure_user(committer)["login"] if committer else login
            name = author_name or login or "Unknown Author"
            record = {
                "sha": sha or fake_sha(repo, len(repo_record["commits"]), message, authored),
                "repo": repo_record["full_name"],
                "message": message,
                "author": login,
                "author_name": name,
                "author_email": author_email or f"{(login or 'unknown').lower()}@users.noreply",
                "date": authored,
                "committer": committer_login,
                "committer_name": name if committer_login == login else committer_login,
                "committer_email": author_email or "noreply@github.com",
                "committer_date": _time(committer_date, authored),
                "parents": list(parents),
                "branch": branch,
                "files": [self._file(repo, 0, f) for f in files],
            }
            repo_record["commits"][record["sha"]] = record
            tips[branch] = record["sha"]
            if record["committer_date"] and record["committer_date"] > repo_record["pushed_at"]:
                repo_record["pushed_at"] = record["committer_date"]
            return record

    # -------------------------------------------------------------------- check runs

    def add_check_run(
        self,
        repo: str,
        *,
        name: str,
        head_sha: str,
        status: str = "queued",
        conclusion: str | None = None,
        started_at: Any = None,
        completed_at: Any = None,
        external_id: str | None = None,
        details_url: str | None = None,
        output: Mapping[str, Any] | None = None,
        app_id: int | None = None,
        id: int | None = None,  # noqa: A002
    ) -> dict[str, Any]:
        """Add a check run on a commit (what the benchmark posts on a PR's head)."""
        with self.lock:
            repo_record = self.repo(repo)
            if conclusion is not None:
                status = "completed"
            started = _time(started_at, utcnow())
            record = {
                "id": self.new_id(id),
                "repo": repo_record["full_name"],
                "name": name,
                "head_sha": head_sha,
                "status": status,
                "conclusion": conclusion,
                "started_at": started,
                "completed_at": _time(completed_at, utcnow() if status == "completed" else None),
                "external_id": external_id or "",
                "details_url": details_url,
                "output": dict(output or {}),
                "app_id": app_id,
                "check_suite_id": self.new_id(),
            }
            repo_record["check_runs"][record["id"]] = record
            return record

    def add_artifact(
        self,
        repo: str,
        *,
        run_id: int,
        name: str,
        files: Mapping[str, str | bytes] | None = None,
        zip_bytes: bytes | None = None,
        head_sha: str | None = None,
        expired: bool = False,
        created_at: Any = None,
        id: int | None = None,  # noqa: A002
    ) -> dict[str, Any]:
        """Add a workflow run's artifact: its zip is ``zip_bytes`` as given (a hostile one, for
        tests), or made of ``files`` (name -> text or bytes), as actions/upload-artifact does."""
        import io
        import secrets
        import zipfile

        if zip_bytes is None:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path, content in (files or {}).items():
                    archive.writestr(path, content)
            zip_bytes = buffer.getvalue()
        with self.lock:
            repo_record = self.repo(repo)
            created = _time(created_at, utcnow())
            record = {
                "id": self.new_id(id),
                "repo": repo_record["full_name"],
                "run_id": int(run_id),
                "name": name,
                "zip": zip_bytes,
                "head_sha": head_sha or fake_sha("run", run_id),
                "expired": bool(expired),
                "created_at": created,
                "blob_key": secrets.token_hex(16),  # the signature of its blob URL
            }
            repo_record.setdefault("artifacts", {})[record["id"]] = record
            return record

    # ------------------------------------------------------------------ GitHub Apps

    def set_app(
        self,
        app_id: int,
        *,
        slug: str = "maintbot",
        name: str = "maintbot",
        owner: str = "maintbot",
        description: str = "Maintenance bot for open-source ML projects (sandbox).",
    ) -> dict[str, Any]:
        """Describe the GitHub App the sandbox authenticates (``GET /app``)."""
        with self.lock:
            self.ensure_user(owner)
            self.ensure_user(f"{slug}[bot]")
            self.app = {
                "id": int(app_id),
                "slug": slug,
                "name": name,
                "owner": owner,
                "description": description,
                "created_at": parse_time("2024-01-01T00:00:00Z"),
                "updated_at": parse_time("2024-01-01T00:00:00Z"),
                "permissions": {
                    "metadata": "read",
                    "contents": "read",
                    "issues": "write",
                    "pull_requests": "write",
                    "checks": "write",
                },
                "events": ["issues", "issue_comment", "pull_request", "pull_request_review"],
            }
            return self.app

    def add_installation(
        self,
        *,
        account: str,
        id: int | None = None,  # noqa: A002
        repositories: Iterable[str] | None = None,
        permissions: Mapping[str, str] | None = None,
        events: Iterable[str] | None = None,
        created_at: Any = None,
    ) -> dict[str, Any]:
        """Install the App on ``account``: on every repo (``repositories=None``) or on some."""
        with self.lock:
            owner = self.ensure_user(account)
            record = {
                "id": self.new_id(id),
                "account": owner["login"],
                "repositories": None if repositories is None else [r.lower() for r in repositories],
                "permissions": dict(
                    permissions
                    or {
                        "issues": "write",
                        "pull_requests": "write",
                        "checks": "write",
                        "contents": "read",
                        "metadata": "read",
                    }
                ),
                "events": list(events or ["issues", "issue_comment", "pull_request"]),
                "created_at": _time(created_at, parse_time("2024-01-01T00:00:00Z")),
            }
            self.installations[record["id"]] = record
            return record

    def installation_for(self, repo: str) -> dict[str, Any]:
        """The installation covering ``repo`` (``GET /repos/{o}/{r}/installation``)."""
        repo_record = self.repo(repo)
        for installation in self.installations.values():
            if installation_covers(installation, repo_record):
                return installation
        raise SandboxStateError(f"the App is not installed on {repo}")


def installation_covers(installation: Mapping[str, Any], repo: Mapping[str, Any]) -> bool:
    """Whether an installation reaches ``repo``: its account's, and all or the selected ones."""
    if installation["account"].lower() != repo["owner"].lower():
        return False
    selected = installation["repositories"]
    return selected is None or repo["full_name"].lower() in selected
