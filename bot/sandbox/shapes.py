"""Render sandbox records as the JSON GitHub's REST API sends (shapes from its OpenAPI description).

Every URL points back at the sandbox's own base URL, because PyGithub and github3.py follow
``url`` fields (an ``Issue`` edits itself through its ``url``, a ``PullRequest`` lists files
under its ``url``).
"""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any
from urllib.parse import quote

from bot.sandbox.media import DEFAULT_FORMAT, BodyFormat, with_body_format
from bot.sandbox.state import SandboxState
from bot.sandbox.timeutil import format_time

LICENSES = {
    "mit": ("MIT License", "MIT"),
    "apache-2.0": ("Apache License 2.0", "Apache-2.0"),
    "bsd-3-clause": ('BSD 3-Clause "New" or "Revised" License', "BSD-3-Clause"),
    "gpl-3.0": ("GNU General Public License v3.0", "GPL-3.0"),
}


# What each caller may do with a repository, by its level (``permission`` of the API).
PERMISSION_FLAGS = {
    "admin": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
    "write": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
    "read": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
    "none": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": False},
}
# Fields of ``full-repository`` that list answers (``minimal-repository``) do not carry.
FULL_REPOSITORY_ONLY = ("organization", "network_count", "subscribers_count")


def node_id(kind: str, number: int | str) -> str:
    """GitHub's legacy global node id: base64 of ``0<len>:<Kind><id>`` ("04:User1")."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


class Shapes:
    """Turns records of one ``SandboxState`` into GitHub JSON, with URLs under ``base_url``.

    API URLs carry ``api_prefix`` (``/api/v3`` when the client called GitHub Enterprise's
    path, as GHE answers); web URLs (``html_url``, avatars, clone URLs) never do. Markdown
    bodies come in ``body_format``, the media type the client's ``Accept`` asked for.
    """

    def __init__(
        self,
        state: SandboxState,
        base_url: str,
        *,
        api_prefix: str = "",
        body_format: BodyFormat = DEFAULT_FORMAT,
    ) -> None:
        self.state = state
        self.web = base_url.rstrip("/")
        self.api = self.web + api_prefix
        self.body_format = body_format
        # Per-request caches (a Shapes lives for one request, under the state lock), so a
        # page of 100 issues does not rescan every comment and commit 100 times.
        self._comment_counts: dict[str, Counter[int]] = {}
        self._contributors: dict[str, set[str]] = {}

    def comment_count(self, repo: str, number: int) -> int:
        """Conversation comments on issue or PR ``number``."""
        if repo not in self._comment_counts:
            comments = self.state.repo(repo)["comments"].values()
            self._comment_counts[repo] = Counter(c["issue_number"] for c in comments)
        return self._comment_counts[repo][number]

    def association(self, repo: str, login: str, explicit: str | None) -> str:
        """OWNER, COLLABORATOR, CONTRIBUTOR (a commit on the default branch) or NONE."""
        if explicit:
            return explicit
        record = self.state.repo(repo)
        if login.lower() == record["owner"].lower():
            return "OWNER"
        if login.lower() in record["collaborators"]:
            return "COLLABORATOR"
        if repo not in self._contributors:
            self._contributors[repo] = {
                c["author"].lower()
                for c in record["commits"].values()
                if c["author"] and c["branch"] == record["default_branch"]
            }
        return "CONTRIBUTOR" if login.lower() in self._contributors[repo] else "NONE"

    # ------------------------------------------------------------------------ people

    def user(self, login: str | None) -> dict[str, Any] | None:
        """A ``simple-user``; None stays None where GitHub's schema says nullable."""
        if login is None:
            return None
        record = self.state.ensure_user(login)
        name = record["login"]
        api = f"{self.api}/users/{quote(name)}"
        return {
            "login": name,
            "id": record["id"],
            "node_id": node_id(record["type"], record["id"]),  # User, Bot or Organization
            "avatar_url": f"{self.web}/_sandbox/avatars/{quote(name)}",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.web}/{quote(name)}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": record["type"],
            "user_view_type": "public",
            "site_admin": record["site_admin"],
        }

    def full_user(self, login: str) -> dict[str, Any]:
        """``GET /users/{login}`` and ``GET /user``: the simple user plus the profile fields."""
        record = self.state.ensure_user(login)
        owned = self.state.owned_repos(login)
        return {
            **(self.user(login) or {}),
            "name": record.get("name"),
            "company": record.get("company"),
            "blog": record.get("blog", ""),
            "location": record.get("location"),
            "email": record.get("email"),
            "hireable": None,
            "bio": record.get("bio"),
            "twitter_username": None,
            "public_repos": sum(1 for r in owned if not r["private"]),
            "public_gists": 0,
            "followers": int(record.get("followers", 0)),
            "following": int(record.get("following", 0)),
            "created_at": format_time(record["created_at"]),
            "updated_at": format_time(record["created_at"]),
        }

    def organization(self, login: str) -> dict[str, Any]:
        """``GET /orgs/{org}``: an ``organization-full`` as a non-member sees it."""
        record = self.state.organization(login)
        name = record["login"]
        api = f"{self.api}/orgs/{quote(name)}"
        created = format_time(record["created_at"])
        # The schema has these as strings that are not nullable: unset ones are left out.
        profile = {k: record[k] for k in ("name", "company", "location", "email") if record.get(k)}
        return {
            **profile,
            "login": name,
            "id": record["id"],
            "node_id": node_id("Organization", record["id"]),
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"{self.web}/_sandbox/avatars/{quote(name)}",
            "description": record.get("description"),
            "blog": record.get("blog", ""),
            "twitter_username": None,
            "is_verified": False,
            "has_organization_projects": True,
            "has_repository_projects": True,
            "public_repos": sum(1 for r in self.state.owned_repos(name) if not r["private"]),
            "public_gists": 0,
            "followers": int(record.get("followers", 0)),
            "following": 0,
            "html_url": f"{self.web}/{quote(name)}",
            "type": "Organization",
            "created_at": created,
            "updated_at": created,
            "archived_at": None,
        }

    # ------------------------------------------------------------------ repositories

    def repo_url(self, full_name: str) -> str:
        return f"{self.api}/repos/{full_name}"

    def repo(self, full_name: str) -> dict[str, Any]:
        """A ``full-repository`` (also valid wherever GitHub embeds a ``repository``)."""
        record = self.state.repo(full_name)
        name = record["full_name"]
        api = self.repo_url(name)
        html = f"{self.web}/{name}"
        open_issues = sum(1 for i in record["issues"].values() if i["state"] == "open")
        license_key = record["license"]
        license_json = None
        if license_key:
            title, spdx = LICENSES.get(license_key, (license_key, license_key.upper()))
            license_json = {
                "key": license_key,
                "name": title,
                "spdx_id": spdx,
                "url": f"{self.api}/licenses/{license_key}",
                "node_id": node_id("License", license_key),
            }
        owner = self.user(record["owner"])
        repo_json: dict[str, Any] = {
            "id": record["id"],
            "node_id": node_id("Repository", record["id"]),
            "name": record["name"],
            "full_name": name,
            "owner": owner,
            "private": record["private"],
            "html_url": html,
            "description": record["description"],
            "fork": record["fork"],
            "url": api,
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{api}/assignees{{/user}}",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "comments_url": f"{api}/comments{{/number}}",
            "commits_url": f"{api}/commits{{/sha}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "contributors_url": f"{api}/contributors",
            "deployments_url": f"{api}/deployments",
            "downloads_url": f"{api}/downloads",
            "events_url": f"{api}/events",
            "forks_url": f"{api}/forks",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_url": f"git://{self.web.split('://', 1)[-1]}/{name}.git",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "issues_url": f"{api}/issues{{/number}}",
            "keys_url": f"{api}/keys{{/key_id}}",
            "labels_url": f"{api}/labels{{/name}}",
            "languages_url": f"{api}/languages",
            "merges_url": f"{api}/merges",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "releases_url": f"{api}/releases{{/id}}",
            "ssh_url": f"git@{self.web.split('://', 1)[-1]}:{name}.git",
            "stargazers_url": f"{api}/stargazers",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "tags_url": f"{api}/tags",
            "teams_url": f"{api}/teams",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "clone_url": f"{html}.git",
            "mirror_url": None,
            "hooks_url": f"{api}/hooks",
            "svn_url": html,
            "homepage": record["homepage"],
            "language": record["language"],
            "forks_count": record["forks_count"],
            "forks": record["forks_count"],
            "stargazers_count": record["stargazers_count"],
            "watchers_count": record["stargazers_count"],
            "watchers": record["stargazers_count"],
            "size": 1024,
            "default_branch": record["default_branch"],
            "open_issues_count": open_issues,
            "open_issues": open_issues,
            "is_template": False,
            "topics": record["topics"],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": record["archived"],
            "disabled": False,
            "visibility": "private" if record["private"] else "public",
            "pushed_at": format_time(record["pushed_at"]),
            "created_at": format_time(record["created_at"]),
            "updated_at": format_time(record["updated_at"]),
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "license": license_json,
            "network_count": record["forks_count"],
            "subscribers_count": max(1, len(record["collaborators"]) + 1),
        }
        if owner and owner["type"] == "Organization":
            repo_json["organization"] = owner
        return repo_json

    def minimal_repo(self, full_name: str, permission: str | None) -> dict[str, Any]:
        """A ``minimal-repository`` (list answers), with the caller's ``permissions`` if known."""
        repo_json = self.repo(full_name)
        for name in FULL_REPOSITORY_ONLY:
            repo_json.pop(name, None)
        if permission is not None:
            repo_json["permissions"] = dict(PERMISSION_FLAGS[permission])
        return repo_json

    # ------------------------------------------------------------------------ labels

    def label(self, repo: str, name: str) -> dict[str, Any]:
        """A ``label`` (the repository's record, so colour edits show up everywhere)."""
        record = self.state.ensure_label(repo, name)
        return {
            "id": record["id"],
            "node_id": node_id("Label", record["id"]),
            "url": f"{self.repo_url(self.state.repo(repo)['full_name'])}/labels/"
            + quote(record["name"], safe=""),
            "name": record["name"],
            "color": record["color"],
            "default": record["default"],
            "description": record["description"],
        }

    # ------------------------------------------------------------------------ issues

    def issue(self, record: dict[str, Any], *, search_score: float | None = None) -> dict[str, Any]:
        """An ``issue``; a pull request's issue carries ``pull_request`` as on GitHub."""
        repo = record["repo"]
        api = f"{self.repo_url(repo)}/issues/{record['number']}"
        html_kind = "pull" if record["pull"] else "issues"
        comments = self.comment_count(repo, record["number"])
        assignees = [self.user(a) for a in record["assignees"]]
        issue_json: dict[str, Any] = {
            "id": record["id"],
            "node_id": node_id("PullRequest" if record["pull"] else "Issue", record["id"]),
            "url": api,
            "repository_url": self.repo_url(repo),
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.web}/{repo}/{html_kind}/{record['number']}",
            "number": record["number"],
            "state": record["state"],
            # null for open issues and for every pull request, as GitHub sends it (the
            # schema says nullable; its enum lacks null, a quirk the schema test allows for)
            "state_reason": record["state_reason"],
            "title": record["title"],
            "body": record["body"],
            "user": self.user(record["user"]),
            "labels": [self.label(repo, name) for name in record["labels"]],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "locked": record["locked"],
            "active_lock_reason": None,
            "comments": comments,
            "closed_at": format_time(record["closed_at"]),
            "created_at": format_time(record["created_at"]),
            "updated_at": format_time(record["updated_at"]),
            "closed_by": self.user(record["closed_by"]),
            "author_association": self.association(
                repo, record["user"], record["author_association"]
            ),
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": None,
            "reactions": self.reactions(f"{api}/reactions"),
        }
        if record["pull"]:
            pull = record["pull"]
            html = f"{self.web}/{repo}/pull/{record['number']}"
            issue_json["draft"] = pull["draft"]
            issue_json["pull_request"] = {
                "url": f"{self.repo_url(repo)}/pulls/{record['number']}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": format_time(pull["merged_at"]),
            }
        if search_score is not None:
            issue_json["score"] = search_score
            del issue_json["closed_by"]
        return with_body_format(issue_json, self.body_format)

    @staticmethod
    def reactions(url: str) -> dict[str, Any]:
        return {
            "url": url,
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "hooray": 0,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        }

    def issue_comment(self, record: dict[str, Any]) -> dict[str, Any]:
        """An ``issue-comment``."""
        repo = record["repo"]
        api = f"{self.repo_url(repo)}/issues/comments/{record['id']}"
        issue = self.state.issue(repo, record["issue_number"])
        kind = "pull" if issue["pull"] else "issues"
        comment: dict[str, Any] = {
            "id": record["id"],
            "node_id": node_id("IssueComment", record["id"]),
            "url": api,
            "html_url": f"{self.web}/{repo}/{kind}/{record['issue_number']}"
            f"#issuecomment-{record['id']}",
            "body": record["body"],
            "user": self.user(record["user"]),
            "created_at": format_time(record["created_at"]),
            "updated_at": format_time(record["updated_at"]),
            "issue_url": f"{self.repo_url(repo)}/issues/{record['issue_number']}",
            "author_association": self.association(
                repo, record["user"], record["author_association"]
            ),
            "performed_via_github_app": None,
            "reactions": self.reactions(f"{api}/reactions"),
        }
        return with_body_format(comment, self.body_format)

    def issue_event(self, record: dict[str, Any], *, with_issue: bool = False) -> dict[str, Any]:
        """An ``issue-event`` (what ``/issues/{n}/events`` lists)."""
        repo = record["repo"]
        event: dict[str, Any] = {
            "id": record["id"],
            "node_id": node_id("LabeledEvent", record["id"]),
            "url": f"{self.repo_url(repo)}/issues/events/{record['id']}",
            "actor": self.user(record["actor"]),
            "event": record["event"],
            "commit_id": None,
            "commit_url": None,
            "created_at": format_time(record["created_at"]),
            "performed_via_github_app": None,
        }
        if record["label"] is not None:
            label = self.state.repo(repo)["labels"].get(record["label"].lower())
            color = label["color"] if label else "ededed"
            event["label"] = {"name": record["label"], "color": color}
        if record["state_reason"] is not None:
            event["state_reason"] = record["state_reason"]
        if with_issue:
            event["issue"] = self.issue(self.state.issue(repo, record["issue_number"]))
        return event

    # ----------------------------------------------------------------- pull requests

    def _branch(self, repo: str, full_name: str, ref: str, sha: str) -> dict[str, Any]:
        repo_exists = full_name.lower() in self.state.repos
        owner = full_name.split("/", 1)[0]
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(owner),
            "repo": self.repo(full_name if repo_exists else repo),
        }

    def pull(self, record: dict[str, Any], *, simple: bool = False) -> dict[str, Any]:
        """A ``pull-request`` (``simple=True``: the ``pull-request-simple`` of list answers)."""
        repo = record["repo"]
        pull = record["pull"]
        number = record["number"]
        api = f"{self.repo_url(repo)}/pulls/{number}"
        issue_api = f"{self.repo_url(repo)}/issues/{number}"
        html = f"{self.web}/{repo}/pull/{number}"
        statuses = f"{self.repo_url(repo)}/statuses/{pull['head_sha']}"
        labels = [self.label(repo, name) for name in record["labels"]]
        if simple:  # pull-request-simple's schema wants a string description
            for label in labels:
                label["description"] = label["description"] or ""
        assignees = [self.user(a) for a in record["assignees"]]
        pull_json: dict[str, Any] = {
            "url": api,
            "id": pull["id"],
            "node_id": node_id("PullRequest", pull["id"]),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.repo_url(repo)}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": statuses,
            "number": number,
            "state": record["state"],
            "locked": record["locked"],
            "title": record["title"],
            "user": self.user(record["user"]),
            "body": record["body"],
            "labels": labels,
            "milestone": None,
            "active_lock_reason": None,
            "created_at": format_time(record["created_at"]),
            "updated_at": format_time(record["updated_at"]),
            "closed_at": format_time(record["closed_at"]),
            "merged_at": format_time(pull["merged_at"]),
            "merge_commit_sha": pull["merge_commit_sha"],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "requested_reviewers": [self.user(r) for r in pull["requested_reviewers"]],
            "requested_teams": [],
            "head": self._branch(repo, pull["head_repo"], pull["head_ref"], pull["head_sha"]),
            "base": self._branch(repo, repo, pull["base_ref"], pull["base_sha"]),
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "issue": {"href": issue_api},
                "comments": {"href": f"{issue_api}/comments"},
                "review_comments": {"href": f"{api}/comments"},
                "review_comment": {"href": f"{self.repo_url(repo)}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/commits"},
                "statuses": {"href": statuses},
            },
            "author_association": self.association(
                repo, record["user"], record["author_association"]
            ),
            "auto_merge": None,
            "draft": pull["draft"],
        }
        if simple:
            return with_body_format(pull_json, self.body_format)
        repo_record = self.state.repo(repo)
        merged = pull["merged_at"] is not None
        pull_json.update(
            {
                "merged": merged,
                "mergeable": None if merged else pull["mergeable"],
                "rebaseable": None if merged else pull["mergeable"],
                "mergeable_state": "unknown" if merged else "clean",
                "merged_by": self.user(pull["merged_by"]),
                "comments": self.comment_count(repo, number),
                "review_comments": sum(
                    1 for c in repo_record["review_comments"].values() if c["pull_number"] == number
                ),
                "maintainer_can_modify": False,
                "commits": len(pull["commits"]),
                "additions": sum(f["additions"] for f in pull["files"]),
                "deletions": sum(f["deletions"] for f in pull["files"]),
                "changed_files": len(pull["files"]),
            }
        )
        return with_body_format(pull_json, self.body_format)

    def diff_entry(self, repo: str, ref: str, record: dict[str, Any]) -> dict[str, Any]:
        """A ``diff-entry`` (a file of a pull request or commit)."""
        path = quote(record["filename"])
        entry = {
            "sha": record["sha"],
            "filename": record["filename"],
            "status": record["status"],
            "additions": record["additions"],
            "deletions": record["deletions"],
            "changes": record["changes"],
            "blob_url": f"{self.web}/{repo}/blob/{ref}/{path}",
            "raw_url": f"{self.web}/{repo}/raw/{ref}/{path}",
            "contents_url": f"{self.repo_url(repo)}/contents/{path}?ref={ref}",
        }
        if record.get("patch") is not None:
            entry["patch"] = record["patch"]
        if record.get("previous_filename"):
            entry["previous_filename"] = record["previous_filename"]
        return entry

    def review(self, record: dict[str, Any]) -> dict[str, Any]:
        """A ``pull-request-review``."""
        repo = record["repo"]
        html = f"{self.web}/{repo}/pull/{record['pull_number']}#pullrequestreview-{record['id']}"
        pull_api = f"{self.repo_url(repo)}/pulls/{record['pull_number']}"
        review: dict[str, Any] = {
            "id": record["id"],
            "node_id": node_id("PullRequestReview", record["id"]),
            "user": self.user(record["user"]),
            "body": record["body"],
            "state": record["state"],
            "html_url": html,
            "pull_request_url": pull_api,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_api}},
            "submitted_at": format_time(record["submitted_at"]),
            "commit_id": record["commit_id"],
            "author_association": self.association(
                repo, record["user"], record["author_association"]
            ),
        }
        return with_body_format(review, self.body_format)

    def review_comment(self, record: dict[str, Any]) -> dict[str, Any]:
        """A ``pull-request-review-comment`` (a comment on a diff line)."""
        repo = record["repo"]
        api = f"{self.repo_url(repo)}/pulls/comments/{record['id']}"
        pull_api = f"{self.repo_url(repo)}/pulls/{record['pull_number']}"
        html = f"{self.web}/{repo}/pull/{record['pull_number']}#discussion_r{record['id']}"
        comment: dict[str, Any] = {
            "url": api,
            "pull_request_review_id": record["review_id"],
            "id": record["id"],
            "node_id": node_id("PullRequestReviewComment", record["id"]),
            "diff_hunk": record["diff_hunk"],
            "path": record["path"],
            "position": record["line"],
            "original_position": record["line"],
            "commit_id": record["commit_id"],
            "original_commit_id": record["commit_id"],
            "user": self.user(record["user"]),
            "body": record["body"],
            "created_at": format_time(record["created_at"]),
            "updated_at": format_time(record["updated_at"]),
            "html_url": html,
            "pull_request_url": pull_api,
            "author_association": self.association(
                repo, record["user"], record["author_association"]
            ),
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "pull_request": {"href": pull_api},
            },
            "line": record["line"],
            "original_line": record["line"],
            "side": record["side"],
            "subject_type": "line",
            "reactions": self.reactions(f"{api}/reactions"),
        }
        if record["in_reply_to_id"] is not None:
            comment["in_reply_to_id"] = record["in_reply_to_id"]
        return with_body_format(comment, self.body_format)

    # ----------------------------------------------------------------------- commits

    def commit(self, record: dict[str, Any], *, with_files: bool = False) -> dict[str, Any]:
        """A ``commit``; ``author``/``committer`` are ``{}`` for an e-mail with no account."""
        repo = record["repo"]
        api = f"{self.repo_url(repo)}/commits/{record['sha']}"
        commit_json: dict[str, Any] = {
            "url": api,
            "sha": record["sha"],
            "node_id": node_id("Commit", record["sha"][:12]),
            "html_url": f"{self.web}/{repo}/commit/{record['sha']}",
            "comments_url": f"{api}/comments",
            "commit": {
                "url": f"{self.repo_url(repo)}/git/commits/{record['sha']}",
                "author": {
                    "name": record["author_name"],
                    "email": record["author_email"],
                    "date": format_time(record["date"]),
                },
                "committer": {
                    "name": record["committer_name"],
                    "email": record["committer_email"],
                    "date": format_time(record["committer_date"]),
                },
                "message": record["message"],
                "comment_count": 0,
                "tree": {
                    "sha": record["sha"][::-1],
                    "url": f"{self.repo_url(repo)}/git/trees/{record['sha'][::-1]}",
                },
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            # ``{}`` (the schema's ``empty-object``) when the e-mail maps to no GitHub account;
            # GitHub also sends null there, which the schema's nullable oneOf fails to admit.
            "author": self.user(record["author"]) or {},
            "committer": self.user(record["committer"]) or {},
            "parents": [
                {
                    "sha": parent,
                    "url": f"{self.repo_url(repo)}/commits/{parent}",
                    "html_url": f"{self.web}/{repo}/commit/{parent}",
                }
                for parent in record["parents"]
            ],
        }
        if with_files:
            additions = sum(f["additions"] for f in record["files"])
            deletions = sum(f["deletions"] for f in record["files"])
            commit_json["stats"] = {
                "additions": additions,
                "deletions": deletions,
                "total": additions + deletions,
            }
            commit_json["files"] = [
                self.diff_entry(repo, record["sha"], f) for f in record["files"]
            ]
        return commit_json

    def contributor(self, login: str, contributions: int) -> dict[str, Any]:
        """A ``contributor``: a simple user plus the number of commits."""
        return {**(self.user(login) or {}), "contributions": contributions}

    # -------------------------------------------------------------------- check runs

    def app(self) -> dict[str, Any] | None:
        """The sandbox's GitHub App as an ``integration`` (None when none is configured)."""
        app = self.state.app
        if app is None:
            return None
        return {
            "id": app["id"],
            "slug": app["slug"],
            "client_id": f"Iv1.sandbox{app['id']}",
            "node_id": node_id("Integration", app["id"]),
            "owner": self.user(app["owner"]),
            "name": app["name"],
            "description": app["description"],
            "external_url": f"{self.web}/apps/{app['slug']}",
            "html_url": f"{self.web}/apps/{app['slug']}",
            "created_at": format_time(app["created_at"]),
            "updated_at": format_time(app["updated_at"]),
            "permissions": dict(app["permissions"]),
            "events": list(app["events"]),
            "installations_count": len(self.state.installations),
        }

    def check_run(self, record: dict[str, Any]) -> dict[str, Any]:
        """A ``check-run``, with the pull requests whose head is its commit."""
        repo = record["repo"]
        api = f"{self.repo_url(repo)}/check-runs/{record['id']}"
        output = record["output"]
        pulls = [
            issue
            for issue in self.state.repo(repo)["issues"].values()
            if issue["pull"] and issue["pull"]["head_sha"] == record["head_sha"]
        ]
        repo_ref = {"id": self.state.repo(repo)["id"], "url": self.repo_url(repo), "name": repo}
        return {
            "id": record["id"],
            "head_sha": record["head_sha"],
            "node_id": node_id("CheckRun", record["id"]),
            "external_id": record["external_id"],
            "url": api,
            "html_url": f"{self.web}/{repo}/runs/{record['id']}",
            "details_url": record["details_url"] or f"{self.web}/{repo}/runs/{record['id']}",
            "status": record["status"],
            "conclusion": record["conclusion"],
            "started_at": format_time(record["started_at"]),
            "completed_at": format_time(record["completed_at"]),
            "output": {
                "title": output.get("title"),
                "summary": output.get("summary"),
                "text": output.get("text"),
                "annotations_count": len(output.get("annotations", [])),
                "annotations_url": f"{api}/annotations",
            },
            "name": record["name"],
            "check_suite": {"id": record["check_suite_id"]},
            "app": self.app(),
            "pull_requests": [
                {
                    "id": issue["pull"]["id"],
                    "number": issue["number"],
                    "url": f"{self.repo_url(repo)}/pulls/{issue['number']}",
                    "head": {
                        "ref": issue["pull"]["head_ref"],
                        "sha": issue["pull"]["head_sha"],
                        "repo": repo_ref,
                    },
                    "base": {
                        "ref": issue["pull"]["base_ref"],
                        "sha": issue["pull"]["base_sha"],
                        "repo": repo_ref,
                    },
                }
                for issue in pulls
            ],
        }

    # ----------------------------------------------------------------- installations

    def installation(self, record: dict[str, Any]) -> dict[str, Any]:
        """An ``installation`` of the sandbox's App."""
        app = self.state.app or {"id": 0, "slug": "maintbot"}
        account = self.user(record["account"]) or {}
        return {
            "id": record["id"],
            "account": account,
            "repository_selection": "all" if record["repositories"] is None else "selected",
            "access_tokens_url": f"{self.api}/app/installations/{record['id']}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.web}/settings/installations/{record['id']}",
            "app_id": app["id"],
            "client_id": f"Iv1.sandbox{app['id']}",
            "target_id": account.get("id", 0),
            "target_type": account.get("type", "User"),
            "permissions": dict(record["permissions"]),
            "events": list(record["events"]),
            "created_at": format_time(record["created_at"]),
            "updated_at": format_time(record["created_at"]),
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "app_slug": app["slug"],
            "suspended_by": None,
            "suspended_at": None,
        }

    # ------------------------------------------------------------------------ errors

    @staticmethod
    def error(message: str, status: int) -> dict[str, Any]:
        """``basic-error``: what GitHub answers for 401, 403 and 404."""
        return {
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }
