"""GET /orgs/{org} and GET /orgs/{org}/repos, through PyGithub and on the wire."""

from __future__ import annotations

from base64 import b64decode

import httpx
import pytest
from github import Auth, Github, UnknownObjectException

ORG = "octo"
REPOS_ROUTE = "GET /orgs/{org}/repos"
FAST = {"retry": None, "seconds_between_requests": None, "seconds_between_writes": None}

# The fields GitHub's OpenAPI description (api.github.com, @octokit/openapi 23.0.2) marks
# required in ``organization-full`` and ``minimal-repository``.
ORGANIZATION_FULL_REQUIRED = {
    "login", "url", "id", "node_id", "repos_url", "events_url", "hooks_url", "issues_url",
    "members_url", "public_members_url", "avatar_url", "description", "html_url",
    "has_organization_projects", "has_repository_projects", "public_repos", "public_gists",
    "followers", "following", "type", "created_at", "updated_at", "archived_at",
}  # fmt: skip
MINIMAL_REPOSITORY_REQUIRED = {
    "archive_url", "assignees_url", "blobs_url", "branches_url", "collaborators_url",
    "comments_url", "commits_url", "compare_url", "contents_url", "contributors_url",
    "deployments_url", "description", "downloads_url", "events_url", "fork", "forks_url",
    "full_name", "git_commits_url", "git_refs_url", "git_tags_url", "hooks_url", "html_url",
    "id", "node_id", "issue_comment_url", "issue_events_url", "issues_url", "keys_url",
    "labels_url", "languages_url", "merges_url", "milestones_url", "name",
    "notifications_url", "owner", "private", "pulls_url", "releases_url", "stargazers_url",
    "statuses_url", "subscribers_url", "subscription_url", "tags_url", "teams_url",
    "trees_url", "url",
}  # fmt: skip


@pytest.fixture
def org_sandbox(make_sandbox):
    """octo (an organization) with four repositories of different kinds, and a user's repo.

    Newest first: delta (private), gamma (a fork), beta (archived), alpha.
    """
    sb = make_sandbox(tokens={"user-token": "octocat", "maint-token": "maint"})
    state = sb.state
    state.add_user(ORG, type="Organization", name="Octo Lab", description="Models and tools")
    state.add_repo(f"{ORG}/alpha", created_at="2021-01-01T00:00:00Z", collaborators=["maint"])
    state.add_repo(f"{ORG}/beta", created_at="2022-01-01T00:00:00Z", archived=True)
    state.add_repo(f"{ORG}/gamma", created_at="2023-01-01T00:00:00Z", fork=True)
    state.add_repo(f"{ORG}/delta", created_at="2024-01-01T00:00:00Z", private=True)
    state.add_repo("someone/elsewhere")
    return sb


def client(sb, *, per_page: int = 30, token: str = "user-token") -> Github:
    return Github(base_url=sb.base_url, auth=Auth.Token(token), per_page=per_page, **FAST)


def names(repos) -> list[str]:
    return [r.name for r in repos]


def test_pygithub_pages_through_an_organizations_repositories(org_sandbox):
    org = client(org_sandbox, per_page=3).get_organization(ORG)
    assert (org.login, org.name, org.description) == (ORG, "Octo Lab", "Models and tools")
    assert org.public_repos == 3  # delta is private
    org_sandbox.clear_requests()

    repos = list(org.get_repos())

    assert names(repos) == ["delta", "gamma", "beta", "alpha"]
    assert [(r.archived, r.fork, r.private) for r in repos] == [
        (False, False, True),
        (False, True, False),
        (True, False, False),
        (False, False, False),
    ]
    # Four repositories at three a page: two list requests, and no request per repository
    # (archived and fork came with the list).
    assert org_sandbox.request_counts() == {REPOS_ROUTE: 2}
    assert [r.query.get("page") for r in org_sandbox.requests] == [None, "2"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"type": "sources"}, ["delta", "beta", "alpha"]),
        ({"type": "forks"}, ["gamma"]),
        ({"type": "public"}, ["gamma", "beta", "alpha"]),
        ({"type": "private"}, ["delta"]),
        ({"type": "member"}, ["alpha"]),  # the token below is maint's, a collaborator of alpha
        ({"sort": "full_name"}, ["alpha", "beta", "delta", "gamma"]),
        ({"sort": "full_name", "direction": "desc"}, ["gamma", "delta", "beta", "alpha"]),
        ({"sort": "created", "direction": "asc"}, ["alpha", "beta", "gamma", "delta"]),
    ],
)
def test_type_sort_and_direction(org_sandbox, kwargs, expected):
    org = client(org_sandbox, token="maint-token").get_organization(ORG)
    assert names(org.get_repos(**kwargs)) == expected


def test_sorting_by_push_follows_the_newest_commit(org_sandbox):
    org_sandbox.state.add_commit(f"{ORG}/alpha", message="Revive", date="2025-06-01T00:00:00Z")
    repos = client(org_sandbox).get_organization(ORG).get_repos(sort="pushed")
    assert names(repos)[0] == "alpha"


def test_a_user_or_unknown_login_is_not_an_organization(org_sandbox):
    github = client(org_sandbox)
    for login in ("someone", "nobody"):
        with pytest.raises(UnknownObjectException):
            github.get_organization(login).update()  # GET /orgs/{org}
        with pytest.raises(UnknownObjectException):
            list(github.get_organization(login).get_repos())


def test_anonymous_callers_see_public_repositories_only(org_sandbox):
    with httpx.Client(base_url=org_sandbox.base_url, timeout=10) as http:
        listed = http.get(f"/orgs/{ORG}/repos").json()
    assert [r["name"] for r in listed] == ["gamma", "beta", "alpha"]
    assert all("permissions" not in r for r in listed)  # nobody to have permissions


def test_installation_tokens_see_their_installations_repositories(make_sandbox, app_keys):
    sb = make_sandbox(app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem)
    state = sb.state
    state.add_user(ORG, type="Organization")
    for name in ("alpha", "beta", "gamma"):
        state.add_repo(f"{ORG}/{name}")
    installation = state.add_installation(account=ORG, repositories=[f"{ORG}/beta"])
    app = Auth.AppAuth(app_keys.app_id, app_keys.private_pem)
    github = Github(
        base_url=sb.base_url, auth=app.get_installation_auth(installation["id"]), **FAST
    )
    assert names(github.get_organization(ORG).get_repos()) == ["beta"]


def test_answers_carry_the_fields_github_requires(org_sandbox):
    with httpx.Client(base_url=org_sandbox.base_url, timeout=10) as http:
        headers = {"Authorization": "token user-token"}
        organization = http.get(f"/orgs/{ORG}", headers=headers).json()
        listed = http.get(f"/orgs/{ORG}/repos", headers=headers).json()
        bad = http.get(f"/orgs/{ORG}/repos", params={"type": "mine"}, headers=headers)
    assert organization.keys() >= ORGANIZATION_FULL_REQUIRED
    assert organization["type"] == "Organization"
    # GitHub's legacy node id: base64 of "012:Organization1" for organization 1.
    assert b64decode(organization["node_id"]) == f"012:Organization{organization['id']}".encode()
    assert organization["url"] == f"{org_sandbox.base_url}/orgs/{ORG}"
    for repo in listed:
        assert repo.keys() >= MINIMAL_REPOSITORY_REQUIRED, repo["name"]
        assert isinstance(repo["archived"], bool) and isinstance(repo["fork"], bool)
        assert repo["owner"]["login"] == ORG and repo["owner"]["type"] == "Organization"
    # octocat, the default user, owns none of them: read access to public repositories.
    alpha = next(r for r in listed if r["name"] == "alpha")
    assert alpha["permissions"] == {
        "admin": False,
        "maintain": False,
        "push": False,
        "triage": False,
        "pull": True,
    }
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"resource": "Repository", "field": "type", "code": "invalid"}]


def test_a_seed_document_makes_organizations_archives_and_forks(make_sandbox):
    sb = make_sandbox()
    sb.seed(
        {
            "users": [{"login": "lab", "type": "Organization"}],
            "repos": [
                {"full_name": "lab/kept", "created_at": "2024-01-01T00:00:00Z"},
                {"full_name": "lab/old", "archived": True, "created_at": "2023-01-01T00:00:00Z"},
                {"full_name": "lab/copy", "fork": True, "created_at": "2022-01-01T00:00:00Z"},
            ],
        }
    )
    repos = list(client(sb).get_organization("lab").get_repos())
    assert [(r.name, r.archived, r.fork) for r in repos] == [
        ("kept", False, False),
        ("old", True, False),
        ("copy", False, True),
    ]
