"""A second client library, github3.py, drives the sandbox as GitHub Enterprise (real HTTP on
loopback): every route is also served under ``/api/v3``, the ``Accept`` media types shape
Markdown bodies, and ``state_reason`` is null where GitHub sends null."""

from __future__ import annotations

import github3
import httpx
import pytest
from github import Auth, Github

from tests.fixtures.sandbox import DEFAULT_REPO

OWNER, NAME = DEFAULT_REPO.split("/")
FULL = "application/vnd.github.full+json"
MARKDOWN = "Steps:\n\n1. call `widget([])`\n2. see **IndexError** <script>x</script>"
MARKDOWN_HTML = (
    "<p>Steps:</p>\n<ol>\n<li>call <code>widget([])</code></li>\n"
    "<li>see <strong>IndexError</strong> &lt;script&gt;x&lt;/script&gt;</li>\n</ol>"
)
MARKDOWN_TEXT = "Steps:\ncall widget([])\nsee IndexError <script>x</script>"


@pytest.fixture
def gh(sandbox) -> github3.GitHubEnterprise:
    """github3.py's Enterprise client; it puts ``/api/v3`` after the sandbox's root itself."""
    return github3.GitHubEnterprise(url=sandbox.base_url, token="user-token")


@pytest.fixture
def closed_pull(sandbox) -> int:
    """A pull request closed without merging (number 5, after the four seeded issues)."""
    record = sandbox.state.add_pull(
        DEFAULT_REPO,
        title="Rewrite widgets in Rust",
        body="Closing in favour of #1.",
        user="erin",
        head="rust",
        state="closed",
        created_at="2024-03-06T10:00:00Z",
        closed_at="2024-03-07T10:00:00Z",
    )
    return record["number"]


def api_paths(sandbox) -> list[str]:
    return [r.path for r in sandbox.requests]


# ------------------------------------------------------------------------------ github3


def test_rate_limit_is_answered_under_api_v3(gh, sandbox):
    core = gh.rate_limit()["resources"]["core"]
    assert core["limit"] == 5000
    assert [(r.route, r.path, r.status) for r in sandbox.requests] == [
        ("GET /rate_limit", "/api/v3/rate_limit", 200)
    ]


def test_reads_a_repository_with_prefixed_api_urls(gh, sandbox):
    repo = gh.repository(OWNER, NAME)
    assert repo.full_name == DEFAULT_REPO
    assert repo.description == "Widgets for tests"
    assert repo.url == f"{sandbox.base_url}/api/v3/repos/{DEFAULT_REPO}"
    assert repo.owner.url == f"{sandbox.base_url}/api/v3/users/{OWNER}"
    # web pages are not under the API path, on GitHub Enterprise either
    assert repo.html_url == f"{sandbox.base_url}/{DEFAULT_REPO}"


def test_lists_and_creates_issues(gh, sandbox):
    repo = gh.repository(OWNER, NAME)
    assert [i.number for i in repo.issues(state="all")] == [4, 3, 2, 1]
    assert [i.title for i in repo.issues(labels="bug")] == ["Widget crashes on empty input"]
    created = repo.create_issue("Widgets leak memory", body="RSS grows by 1 MB per widget.")
    assert created.number == 5
    assert created.user.login == "octocat"
    stored = sandbox.state.issue(DEFAULT_REPO, 5)
    assert (stored["title"], stored["body"]) == (
        "Widgets leak memory",
        "RSS grows by 1 MB per widget.",
    )
    assert [i.number for i in repo.issues(state="open")] == [5, 4, 2, 1]
    assert all(path.startswith("/api/v3/") for path in api_paths(sandbox))


def test_follows_prefixed_pagination_links(gh, sandbox):
    """github3 asks for 100 a page and follows ``Link: rel="next"`` to the rest."""
    for n in range(120):
        sandbox.state.add_issue(DEFAULT_REPO, title=f"bulk {n}", user="bot[bot]")
    numbers = [i.number for i in gh.repository(OWNER, NAME).issues(state="all")]
    assert sorted(numbers) == list(range(1, 125))
    pages = [r for r in sandbox.requests if r.route == "GET /repos/{owner}/{repo}/issues"]
    assert [r.query.get("page", "1") for r in pages] == ["1", "2"]
    assert all(r.path.startswith("/api/v3/") for r in pages)


def test_adds_labels(gh, sandbox):
    issue = gh.issue(OWNER, NAME, 4)
    added = issue.add_labels("bug", "documentation")
    assert sorted(label.name for label in added) == ["bug", "documentation"]
    assert sandbox.state.issue(DEFAULT_REPO, 4)["labels"] == ["bug", "documentation"]
    assert sorted(label.name for label in gh.issue(OWNER, NAME, 4).labels()) == [
        "bug",
        "documentation",
    ]


def test_creates_and_edits_a_comment(gh, sandbox):
    issue = gh.issue(OWNER, NAME, 2)
    comment = issue.create_comment("Blue is **planned**.")
    assert comment.body == "Blue is **planned**."
    assert comment.body_html == "<p>Blue is <strong>planned</strong>.</p>"
    assert comment.edit("Blue shipped in _1.2_.")
    assert comment.body == "Blue shipped in _1.2_."
    assert comment.body_html == "<p>Blue shipped in <em>1.2</em>.</p>"
    assert comment.body_text == "Blue shipped in 1.2."
    stored = sandbox.state.repo(DEFAULT_REPO)["comments"][comment.id]
    assert stored["body"] == "Blue shipped in _1.2_."
    assert [c.body for c in issue.comments()] == ["Blue shipped in _1.2_."]


def test_a_closed_pull_request_has_a_null_state_reason(gh, closed_pull):
    pull = gh.pull_request(OWNER, NAME, closed_pull)
    assert (pull.state, pull.merged) == ("closed", False)
    as_issue = pull.issue().as_dict()
    assert as_issue["state"] == "closed"
    assert "state_reason" in as_issue and as_issue["state_reason"] is None
    listed = {i.number: i.as_dict() for i in gh.repository(OWNER, NAME).issues(state="closed")}
    assert listed[closed_pull]["state_reason"] is None
    assert listed[3]["state_reason"] == "completed"  # the closed issue keeps its reason


def test_the_full_media_type_renders_bodies(gh, sandbox, closed_pull):
    sandbox.state.issue(DEFAULT_REPO, 1)["body"] = MARKDOWN
    issue = gh.issue(OWNER, NAME, 1)
    assert (issue.body, issue.body_text, issue.body_html) == (
        MARKDOWN,
        MARKDOWN_TEXT,
        MARKDOWN_HTML,
    )
    pull = gh.pull_request(OWNER, NAME, closed_pull)
    assert pull.body_html == "<p>Closing in favour of #1.</p>"
    assert pull.body_text == "Closing in favour of #1."
    [listed_pull] = gh.repository(OWNER, NAME).pull_requests(state="closed")
    assert listed_pull.body_html == pull.body_html
    [comment] = issue.comments()
    assert comment.body_html == "<p>Thanks, I can reproduce this.</p>"


# --------------------------------------------------------------------- raw HTTP checks


@pytest.fixture
def http(sandbox):
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as client:
        yield client


def test_both_paths_share_one_state(http, sandbox):
    created = http.post(
        f"/api/v3/repos/{DEFAULT_REPO}/issues",
        json={"title": "via GHE path"},
        headers={"Authorization": "token t"},
    )
    assert created.status_code == 201
    assert created.json()["url"] == f"{sandbox.base_url}/api/v3/repos/{DEFAULT_REPO}/issues/5"
    plain = http.get(f"/repos/{DEFAULT_REPO}/issues/5").json()
    assert plain["title"] == "via GHE path"
    assert plain["url"] == f"{sandbox.base_url}/repos/{DEFAULT_REPO}/issues/5"
    assert sandbox.request_counts() == {
        "POST /repos/{owner}/{repo}/issues": 1,
        "GET /repos/{owner}/{repo}/issues/{issue_number}": 1,
    }


def test_urls_in_responses_carry_the_prefix_the_client_used(http, sandbox):
    root = sandbox.base_url
    issue = http.get(f"/api/v3/repos/{DEFAULT_REPO}/issues/1").json()
    api = f"{root}/api/v3/repos/{DEFAULT_REPO}"
    assert issue["url"] == f"{api}/issues/1"
    assert issue["repository_url"] == api
    assert issue["comments_url"] == f"{api}/issues/1/comments"
    assert issue["user"]["url"] == f"{root}/api/v3/users/alice"
    assert issue["labels"][0]["url"] == f"{api}/labels/bug"
    assert issue["html_url"] == f"{root}/{DEFAULT_REPO}/issues/1"
    assert issue["user"]["avatar_url"] == f"{root}/_sandbox/avatars/alice"
    [comment] = http.get(f"/api/v3/repos/{DEFAULT_REPO}/issues/1/comments").json()
    assert comment["url"].startswith(f"{api}/issues/comments/")
    assert comment["issue_url"] == f"{api}/issues/1"


def test_link_headers_carry_the_prefix(http, sandbox):
    response = http.get(f"/api/v3/repos/{DEFAULT_REPO}/issues", params={"per_page": 1})
    expected_next = f"<{sandbox.base_url}/api/v3/repos/{DEFAULT_REPO}/issues?per_page=1&page=2>"
    assert response.headers["Link"].startswith(expected_next + '; rel="next"')
    plain = http.get(f"/repos/{DEFAULT_REPO}/issues", params={"per_page": 1})
    assert "/api/v3/" not in plain.headers["Link"]


def test_prefixed_requests_count_faults_and_quota_as_the_same_route(http, sandbox):
    sandbox.inject_fault("GET /rate_limit", status=503)
    assert http.get("/api/v3/rate_limit").status_code == 503
    assert http.get("/api/v3/rate_limit").status_code == 200
    assert http.get("/api/v3").status_code == 404
    assert http.get("/api/v30/rate_limit").status_code == 404


@pytest.mark.parametrize(
    ("accept", "fields"),
    [
        (None, {"body"}),
        ("application/vnd.github+json", {"body"}),
        ("application/vnd.github.raw+json", {"body"}),
        ("application/vnd.github.text+json", {"body_text"}),
        ("application/vnd.github.html+json", {"body_html"}),
        ("application/vnd.github.full+json", {"body", "body_text", "body_html"}),
        ("application/vnd.github.v3.full+json", {"body", "body_text", "body_html"}),
    ],
)
@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"/repos/{DEFAULT_REPO}/issues/1", {}),
        (f"/repos/{DEFAULT_REPO}/issues", {"state": "all"}),
        (f"/repos/{DEFAULT_REPO}/issues/1/comments", {}),
        (f"/repos/{DEFAULT_REPO}/issues/comments", {}),
        (f"/repos/{DEFAULT_REPO}/pulls/5", {}),
        (f"/repos/{DEFAULT_REPO}/pulls", {"state": "all"}),
        ("/search/issues", {"q": f"repo:{DEFAULT_REPO}"}),
    ],
)
def test_media_types_select_body_fields_on_single_objects_and_lists(
    http, closed_pull, path, params, accept, fields
):
    headers = {"Accept": accept} if accept else {}
    response = http.get(path, params=params, headers=headers)
    assert response.status_code == 200
    payload = response.json()
    objects = payload.get("items", payload) if isinstance(payload, dict) else payload
    objects = objects if isinstance(objects, list) else [objects]
    assert objects
    body_keys = {"body", "body_text", "body_html"}
    assert all(set(obj) & body_keys == fields for obj in objects), objects[0]
    param = accept.split(".")[-1].removesuffix("+json") if accept else ""
    expected = f"github.v3; param={param}; format=json"
    if param in ("", "github", "v3", "raw"):
        expected = "github.v3; format=json"
    assert response.headers["X-GitHub-Media-Type"] == expected


def test_reviews_and_review_comments_follow_the_media_type(http, closed_pull, sandbox):
    review = sandbox.state.add_review(
        DEFAULT_REPO, closed_pull, user="maintainer", state="COMMENTED", body="Too *big*"
    )
    sandbox.state.add_review_comment(
        DEFAULT_REPO,
        closed_pull,
        user="maintainer",
        body="Why `unsafe`?",
        path="src/lib.rs",
        line=1,
        review_id=review["id"],
    )
    html = {"Accept": "application/vnd.github.html+json"}
    [got] = http.get(f"/repos/{DEFAULT_REPO}/pulls/{closed_pull}/reviews", headers=html).json()
    assert got["body_html"] == "<p>Too <em>big</em></p>" and "body" not in got
    [got] = http.get(f"/repos/{DEFAULT_REPO}/pulls/{closed_pull}/comments", headers=html).json()
    assert got["body_html"] == "<p>Why <code>unsafe</code>?</p>" and "body" not in got


def test_conditional_requests_tell_media_types_apart(http):
    path = f"/repos/{DEFAULT_REPO}/issues/1"
    raw = http.get(path)
    full = http.get(path, headers={"Accept": FULL, "If-None-Match": raw.headers["ETag"]})
    assert full.status_code == 200 and "body_html" in full.json()
    again = http.get(path, headers={"Accept": FULL, "If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304


def test_pygithub_also_works_through_the_enterprise_path(sandbox):
    gh = Github(
        base_url=f"{sandbox.base_url}/api/v3",
        auth=Auth.Token("user-token"),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    issue = gh.get_repo(DEFAULT_REPO).get_issue(1)
    issue.edit(state="closed", state_reason="not_planned")
    assert sandbox.state.issue(DEFAULT_REPO, 1)["state_reason"] == "not_planned"
    assert all(path.startswith("/api/v3/") for path in api_paths(sandbox))
