"""PyGithub, pointed at the sandbox, performs every call maintbot makes (real HTTP on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime

import github
import httpx
import jwt
import pytest
from github import Auth, Github, GithubIntegration

ISSUES_ROUTE = "GET /repos/{owner}/{repo}/issues"
REPO = "lab/models"


# PyGithub sleeps 0.25 s between requests and 1 s between writes by default; the sandbox
# needs no such courtesy, and no retries, so every request seen is the test's own.
FAST = {"retry": None, "seconds_between_requests": None, "seconds_between_writes": None}


def client(sb, *, per_page: int = 30, token: str = "user-token") -> Github:
    """A PyGithub client on the sandbox."""
    return Github(base_url=sb.base_url, auth=Auth.Token(token), per_page=per_page, **FAST)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def lab(make_sandbox):
    """lab/models: 7 issues (some labelled, some closed) and 1 pull request, fixed dates."""
    sb = make_sandbox()
    state = sb.state
    state.add_repo(REPO, collaborators=["maint"])
    state.add_label(REPO, "bug", color="d73a4a")
    state.add_label(REPO, "gpu", color="0e8a16")
    specs = [
        # (title, user, labels, state, created, updated)
        ("one", "ana", ["bug"], "open", "2024-01-01T00:00:00Z", "2024-01-10T00:00:00Z"),
        ("two", "ben", ["bug", "gpu"], "open", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"),
        ("three", "ana", [], "closed", "2024-01-03T00:00:00Z", "2024-01-20T00:00:00Z"),
        ("four", "cy", ["gpu"], "open", "2024-01-04T00:00:00Z", "2024-01-05T00:00:00Z"),
        ("five", "ben", ["bug", "gpu"], "closed", "2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z"),
        ("six", "cy", [], "open", "2024-01-06T00:00:00Z", "2024-01-25T00:00:00Z"),
        ("seven", "ana", ["bug"], "open", "2024-01-07T00:00:00Z", "2024-01-08T00:00:00Z"),
    ]
    for title, user, labels, state_, created, updated in specs:
        state.add_issue(
            REPO,
            title=title,
            user=user,
            labels=labels,
            state=state_,
            created_at=created,
            updated_at=updated,
            assignees=["maint"] if title == "four" else [],
        )
    state.add_pull(
        REPO,
        title="eight (a PR)",
        user="ben",
        head="speedup",
        labels=["gpu"],
        created_at="2024-01-08T00:00:00Z",
        updated_at="2024-01-09T00:00:00Z",
        files=[
            {
                "filename": "model.py",
                "status": "modified",
                "additions": 5,
                "deletions": 2,
                "patch": "@@ -1 +1 @@",
            },
            {"filename": "README.md", "status": "modified", "additions": 1, "deletions": 1},
        ],
        commits=[
            {"message": "faster", "date": "2024-01-08T00:00:00Z"},
            {"message": "test", "date": "2024-01-08T01:00:00Z"},
        ],
        requested_reviewers=["maint"],
    )
    return sb


def test_issue_list_pages_through_link_headers_with_per_page(lab):
    repo = client(lab, per_page=3).get_repo(REPO)
    lab.clear_requests()
    titles = [i.title for i in repo.get_issues(state="all")]
    # 8 items (7 issues + the PR, newest first) at 3 per page: 3 list requests.
    assert titles == ["eight (a PR)", "seven", "six", "five", "four", "three", "two", "one"]
    assert lab.request_counts() == {ISSUES_ROUTE: 3}
    assert [r.query.get("page") for r in lab.requests] == [None, "2", "3"]
    assert all(r.query["per_page"] == "3" for r in lab.requests)


def test_issue_list_filters(lab):
    repo = client(lab, per_page=100).get_repo(REPO)
    bug, gpu = repo.get_label("bug"), repo.get_label("gpu")

    def titles(**kwargs):
        return [i.title for i in repo.get_issues(**kwargs)]

    assert titles() == ["eight (a PR)", "seven", "six", "four", "two", "one"]  # open by default
    assert titles(state="closed") == ["five", "three"]
    assert titles(state="all", labels=[bug, gpu]) == ["five", "two"]  # labels AND
    assert titles(state="all", since=at("2024-01-10T00:00:00Z")) == ["six", "three", "one"]
    assert titles(state="all", sort="updated", direction="asc")[:3] == ["two", "four", "five"]
    assert titles(state="all", creator="ana") == ["seven", "three", "one"]
    assert titles(assignee="maint") == ["four"]
    assert titles(assignee="none")[:2] == ["eight (a PR)", "seven"]
    pr_item = next(i for i in repo.get_issues() if i.title == "eight (a PR)")
    assert pr_item.pull_request is not None and pr_item.pull_request.html_url.endswith("/pull/8")
    assert next(i for i in repo.get_issues() if i.title == "one").pull_request is None


def test_create_and_edit_issues(lab):
    repo = client(lab).get_repo(REPO)
    created = repo.create_issue(
        "Crash on GPU", body="Trace...", labels=["gpu", "new-one"], assignees=["maint"]
    )
    assert created.number == 9
    assert [label.name for label in created.labels] == ["gpu", "new-one"]
    assert created.user.login == "octocat" and [a.login for a in created.assignees] == ["maint"]
    assert lab.state.repo(REPO)["labels"]["new-one"]["color"] == "ededed"

    created.edit(title="Crash on GPU (CUDA 12)", body="Full trace", labels=["bug"])
    created.edit(state="closed", state_reason="not_planned")
    fetched = repo.get_issue(9)
    assert (fetched.title, fetched.body, fetched.state) == (
        "Crash on GPU (CUDA 12)",
        "Full trace",
        "closed",
    )
    assert fetched.state_reason == "not_planned"
    assert [label.name for label in fetched.labels] == ["bug"]
    assert fetched.closed_at is not None and fetched.closed_by.login == "octocat"
    fetched.edit(state="open")
    reopened = repo.get_issue(9)
    assert (reopened.state, reopened.closed_at, reopened.state_reason) == ("open", None, "reopened")


def test_comment_crud_and_repository_wide_listing(lab):
    repo = client(lab).get_repo(REPO)
    issue = repo.get_issue(1)
    before = issue.updated_at
    first = issue.create_comment("First!")
    second = issue.create_comment("<!-- maintbot:sticky -->\nreport v1")
    assert [c.body for c in issue.get_comments()] == [
        "First!",
        "<!-- maintbot:sticky -->\nreport v1",
    ]
    assert repo.get_issue(1).updated_at > before  # commenting bumps the issue
    second.edit("<!-- maintbot:sticky -->\nreport v2")
    assert issue.get_comment(second.id).body.endswith("report v2")
    first.delete()
    assert [c.id for c in issue.get_comments()] == [second.id]
    with pytest.raises(github.UnknownObjectException):
        issue.get_comment(first.id)
    repo.get_issue(2).create_comment("on two")
    assert [c.body for c in repo.get_issues_comments()] == [
        "<!-- maintbot:sticky -->\nreport v2",
        "on two",
    ]
    assert [c.body for c in repo.get_issues_comments(sort="created", direction="desc")] == [
        "on two",
        "<!-- maintbot:sticky -->\nreport v2",
    ]
    assert list(repo.get_issues_comments(since=datetime(2100, 1, 1, tzinfo=UTC))) == []


def test_labels_add_set_remove_create_edit(lab):
    repo = client(lab).get_repo(REPO)
    issue = repo.get_issue(6)
    issue.add_to_labels("bug", "needs-triage")
    assert [x.name for x in issue.get_labels()] == ["bug", "needs-triage"]
    issue.set_labels("gpu")
    assert [x.name for x in repo.get_issue(6).labels] == ["gpu"]
    issue.add_to_labels("bug")
    issue.remove_from_labels("gpu")
    assert [x.name for x in issue.get_labels()] == ["bug"]
    issue.delete_labels()
    assert list(issue.get_labels()) == []
    with pytest.raises(github.GithubException) as absent:
        issue.remove_from_labels("bug")
    assert (absent.value.status, absent.value.data["message"]) == (404, "Label does not exist")

    made = repo.create_label("triage: feature", "a2eeef", "A request for something new")
    assert (made.name, made.color, made.description) == (
        "triage: feature",
        "a2eeef",
        "A request for something new",
    )
    with pytest.raises(github.GithubException) as duplicate:
        repo.create_label("TRIAGE: FEATURE", "000000")
    assert duplicate.value.status == 422
    slashed = repo.create_label("area/gpu", "0e8a16")
    assert repo.get_label("area/gpu").url == slashed.url
    issue.add_to_labels("area/gpu")
    issue.remove_from_labels("area/gpu")
    repo.get_label("area/gpu").delete()
    fetched = repo.get_label("triage: feature")
    fetched.edit("triage: enhancement", "bfd4f2", "Renamed")
    assert {x.name: x.color for x in repo.get_labels()} == {
        "bug": "d73a4a",
        "gpu": "0e8a16",
        "needs-triage": "ededed",
        "triage: enhancement": "bfd4f2",
    }


def test_pull_requests_and_their_parts(lab):
    state = lab.state
    head_sha = state.pull(REPO, 8)["pull"]["head_sha"]
    review = state.add_review(
        REPO,
        8,
        user="maint",
        state="CHANGES_REQUESTED",
        body="Add a test",
        submitted_at="2024-01-09T00:00:00Z",
    )
    state.add_review_comment(
        REPO,
        8,
        user="maint",
        body="why?",
        path="model.py",
        line=1,
        review_id=review["id"],
        created_at="2024-01-09T00:00:00Z",
    )
    repo = client(lab).get_repo(REPO)

    assert [p.number for p in repo.get_pulls()] == [8]
    assert [p.number for p in repo.get_pulls(state="closed")] == []
    assert [p.number for p in repo.get_pulls(state="all", base="main", head="lab:speedup")] == [8]
    assert [p.number for p in repo.get_pulls(head="lab:other")] == []
    pull = repo.get_pull(8)
    assert (pull.title, pull.head.ref, pull.head.sha, pull.base.ref) == (
        "eight (a PR)",
        "speedup",
        head_sha,
        "main",
    )
    assert (pull.merged, pull.additions, pull.deletions, pull.changed_files, pull.commits) == (
        False,
        6,
        3,
        2,
        2,
    )
    assert [u.login for u in pull.requested_reviewers] == ["maint"]
    assert [f.filename for f in pull.get_files()] == ["model.py", "README.md"]
    assert [c.commit.message for c in pull.get_commits()] == ["faster", "test"]
    assert [(r.user.login, r.state) for r in pull.get_reviews()] == [("maint", "CHANGES_REQUESTED")]
    assert [c.body for c in pull.get_review_comments()] == ["why?"]
    assert [c.path for c in repo.get_pulls_review_comments(since=at("2024-01-01T00:00:00Z"))] == [
        "model.py"
    ]
    assert repo.get_issue(8).as_pull_request().number == 8
    with pytest.raises(github.UnknownObjectException):
        repo.get_pull(1)  # an issue, not a pull request


def test_merged_pull_request(make_sandbox):
    sb = make_sandbox()
    sb.state.add_repo("o/r")
    sb.state.add_pull(
        "o/r",
        title="merged",
        user="dev",
        merged_at="2024-02-01T00:00:00Z",
        merged_by="boss",
        created_at="2024-01-30T00:00:00Z",
    )
    pull = client(sb).get_repo("o/r").get_pull(1)
    assert (pull.state, pull.merged, pull.merged_by.login) == ("closed", True, "boss")
    assert pull.merged_at == at("2024-02-01T00:00:00Z")


def test_commits_and_contributors(make_sandbox):
    sb = make_sandbox()
    state = sb.state
    state.add_repo("o/r")
    a = state.add_commit("o/r", message="init", author="alice", date="2024-01-01T00:00:00Z")
    state.add_commit("o/r", message="bump", author="dependabot[bot]", date="2024-01-02T00:00:00Z")
    c = state.add_commit(
        "o/r",
        message="fix",
        author="alice",
        date="2024-01-03T00:00:00Z",
        files=[{"filename": "x.py", "additions": 2, "deletions": 1}],
    )
    state.add_commit(
        "o/r",
        message="anon",
        author=None,
        author_name="Someone",
        author_email="someone@example.org",
        date="2024-01-04T00:00:00Z",
    )
    state.add_commit(
        "o/r", message="on a branch", author="bob", date="2024-01-05T00:00:00Z", branch="feature"
    )
    repo = client(sb).get_repo("o/r")
    assert [x.commit.message for x in repo.get_commits()] == ["anon", "fix", "bump", "init"]
    assert [
        x.commit.message
        for x in repo.get_commits(
            since=at("2024-01-02T00:00:00Z"), until=at("2024-01-03T00:00:00Z")
        )
    ] == ["fix", "bump"]
    assert [x.sha for x in repo.get_commits(author="alice")] == [c["sha"], a["sha"]]
    assert [x.commit.message for x in repo.get_commits(sha="feature")] == ["on a branch"]
    assert [x.sha for x in repo.get_commits(sha=c["sha"])][-1] == a["sha"]  # walks parents
    one = repo.get_commit(c["sha"][:10])
    assert (one.sha, one.author.login, one.stats.total) == (c["sha"], "alice", 3)
    assert [f.filename for f in one.files] == ["x.py"]
    anon = repo.get_commit(next(x.sha for x in repo.get_commits() if x.commit.message == "anon"))
    assert anon.raw_data["author"] == {} and anon.commit.author.email == "someone@example.org"
    assert [(u.login, u.contributions) for u in repo.get_contributors()] == [
        ("alice", 2),
        ("dependabot[bot]", 1),
    ]
    assert [u.type for u in repo.get_contributors()] == ["User", "Bot"]


def test_check_runs_create_get_edit_and_list_for_ref(lab):
    repo = client(lab).get_repo(REPO)
    sha = repo.get_pull(8).head.sha
    run = repo.create_check_run(
        "maintbot/benchmark",
        sha,
        status="in_progress",
        output={"title": "Benchmark running", "summary": "Training on base and head"},
    )
    assert (run.status, run.conclusion, run.head_sha) == ("in_progress", None, sha)
    run.edit(
        conclusion="failure", output={"title": "Regression", "summary": "accuracy -1.2 pp (p=0.01)"}
    )
    fetched = repo.get_check_run(run.id)
    assert (fetched.status, fetched.conclusion) == ("completed", "failure")
    assert fetched.output.title == "Regression" and fetched.completed_at is not None
    assert [p.number for p in fetched.pull_requests] == [8]
    assert [r.id for r in repo.get_commit(sha).get_check_runs()] == [run.id]


def test_search_issues_with_qualifiers(lab):
    gh = client(lab, per_page=2)

    def numbers(query, **kwargs):
        return sorted(i.number for i in gh.search_issues(query, **kwargs))

    assert numbers(f"repo:{REPO} is:issue is:open label:bug") == [1, 2, 7]
    assert numbers(f'repo:{REPO} is:issue label:"bug" -label:gpu') == [1, 7]
    assert numbers(f"repo:{REPO} is:pr") == [8]
    assert numbers(f"repo:{REPO} state:closed") == [3, 5]
    assert numbers(f"repo:{REPO} author:ana created:>=2024-01-03") == [3, 7]
    assert numbers(f"repo:{REPO} created:2024-01-02..2024-01-04") == [2, 3, 4]
    assert numbers(f"repo:{REPO} updated:<2024-01-06") == [2, 4]
    assert numbers(f"repo:{REPO} closed:>=2024-01-06") == [3, 5]
    assert numbers(f"repo:{REPO} seven in:title") == [7]
    assert numbers("repo:other/repo is:issue") == []
    result = gh.search_issues(f"repo:{REPO} is:issue", sort="created", order="asc")
    assert result.totalCount == 7
    assert [i.number for i in result] == [1, 2, 3, 4, 5, 6, 7]
    assert lab.request_counts()["GET /search/issues"] >= 4  # 7 results at 2 per page


def test_rate_limit_contents_and_users(lab):
    lab.state.set_content(REPO, ".github/maintbot.yml", "labels:\n  needs_triage: triage\n")
    gh = client(lab)
    rate = gh.get_rate_limit().resources.core
    assert (rate.limit, rate.remaining) == (5000, 5000)
    repo = gh.get_repo(REPO)
    config = repo.get_contents(".github/maintbot.yml")
    assert config.decoded_content == b"labels:\n  needs_triage: triage\n"
    assert [c.path for c in repo.get_contents(".github")] == [".github/maintbot.yml"]
    with pytest.raises(github.UnknownObjectException):
        repo.get_contents("missing.txt")
    assert gh.get_user().login == "octocat"
    assert gh.get_user("ana").login == "ana"
    # 6 requests: repo, 3 contents (one a 404, which counts too), /user, /users/ana;
    # the /rate_limit calls themselves are free.
    assert gh.get_rate_limit().resources.core.remaining == 5000 - 6
    assert gh.rate_limiting == (5000 - 6, 5000)


def test_app_authentication_with_a_real_jwt(make_sandbox, app_keys):
    sb = make_sandbox(
        app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem, seed_default=True
    )
    installation = sb.state.add_installation(account="octo")
    app_auth = Auth.AppAuth(app_keys.app_id, app_keys.private_pem)
    integration = GithubIntegration(base_url=sb.base_url, auth=app_auth, **FAST)
    assert integration.get_app().slug == "maintbot"
    assert integration.get_repo_installation("octo", "widgets").id == installation["id"]
    token = integration.get_access_token(installation["id"])
    assert token.token.startswith("ghs_") and token.expires_at > datetime.now(UTC)

    gh = Github(
        base_url=sb.base_url, auth=app_auth.get_installation_auth(installation["id"]), **FAST
    )
    issue = gh.get_repo("octo/widgets").get_issue(1)
    comment = issue.create_comment("Triaged as bug")
    assert comment.user.login == "maintbot[bot]" and comment.user.type == "Bot"
    assert "installation:maintbot[bot]" in {r.identity for r in sb.requests}

    sb.auth.expire_installation_tokens()
    expired = Github(base_url=sb.base_url, auth=Auth.Token(token.token), **FAST)
    with pytest.raises(github.BadCredentialsException):
        expired.get_repo("octo/widgets")


def test_bad_app_jwts_get_401(make_sandbox, app_keys):
    sb = make_sandbox(
        app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem, seed_default=True
    )
    app_auth = Auth.AppAuth(app_keys.app_id, app_keys.private_pem)
    header, payload, signature = app_auth.create_jwt().split(".")
    flipped = signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]
    forged = f"{header}.{payload}.{flipped}"
    refused = httpx.get(f"{sb.base_url}/app", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401  # the signature does not verify
    assert GithubIntegration(base_url=sb.base_url, auth=app_auth, **FAST).get_app().id == (
        app_keys.app_id
    )

    now = int(datetime.now(UTC).timestamp())
    bad_claims = [
        {"iat": now - 60, "exp": now + 300, "iss": str(app_keys.app_id + 1)},  # another App
        {"iat": now - 60, "exp": now + 900, "iss": str(app_keys.app_id)},  # > 10 min apart
        {"iat": now - 1200, "exp": now - 700, "iss": str(app_keys.app_id)},  # expired
        {"iat": now - 60, "exp": now + 300},  # no issuer
    ]
    with httpx.Client(base_url=sb.base_url, timeout=10) as http:
        for claims in bad_claims:
            token = jwt.encode(claims, app_keys.private_pem, algorithm="RS256")
            refused = http.get("/app", headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 401, claims
            assert refused.json()["message"]
        good = jwt.encode(
            {"iat": now - 60, "exp": now + 500, "iss": str(app_keys.app_id)},
            app_keys.private_pem,
            algorithm="RS256",
        )
        accepted = http.get("/app", headers={"Authorization": f"Bearer {good}"})
        assert accepted.status_code == 200 and accepted.json()["id"] == app_keys.app_id
        user_token = http.get("/app", headers={"Authorization": "token ghp_user"})
        assert user_token.status_code == 401
        jwt_on_repo = http.get("/repos/octo/widgets", headers={"Authorization": f"Bearer {good}"})
        assert jwt_on_repo.status_code == 403


def test_writes_need_a_token_and_configured_tokens_are_enforced(make_sandbox):
    sb = make_sandbox(seed_default=True, tokens={"tok-alice": "alice"})
    anonymous = Github(base_url=sb.base_url, **FAST)
    repo = anonymous.get_repo("octo/widgets")
    with pytest.raises(github.GithubException) as refused:
        repo.get_issue(1).create_comment("hi")
    assert refused.value.status == 401
    assert refused.value.data["message"] == "Requires authentication"
    with pytest.raises(github.BadCredentialsException):
        client(sb, token="tok-mallory").get_repo("octo/widgets")
    alice = client(sb, token="tok-alice")
    assert alice.get_repo("octo/widgets").get_issue(1).create_comment("hi").user.login == "alice"


def test_label_and_state_changes_leave_issue_events(lab):
    repo = client(lab).get_repo(REPO)
    issue = repo.get_issue(6)
    issue.add_to_labels("bug")
    issue.set_labels("gpu")
    issue.edit(state="closed", state_reason="completed")
    events = [
        (e.event, e.actor.login, e.label.name if e.label else None) for e in issue.get_events()
    ]
    assert events == [
        ("labeled", "octocat", "bug"),
        ("unlabeled", "octocat", "bug"),
        ("labeled", "octocat", "gpu"),
        ("closed", "octocat", None),
    ]
    assert [e.issue.number for e in repo.get_issues_events()] == [6, 6, 6, 6]


def test_collaborator_permission(lab):
    repo = client(lab).get_repo(REPO)
    assert repo.get_collaborator_permission("maint") == "write"
    assert repo.get_collaborator_permission("lab") == "admin"
    assert repo.get_collaborator_permission("ana") == "read"
    assert repo.has_in_collaborators("maint") and not repo.has_in_collaborators("ana")


def test_concurrent_clients_see_consistent_state(lab):
    """Eight threads comment at once; the one lock keeps every comment and its count."""
    from concurrent.futures import ThreadPoolExecutor

    def post(n: int) -> int:
        issue = client(lab).get_repo(REPO).get_issue(1)
        return issue.create_comment(f"comment {n}").id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(post, range(16)))
    assert len(set(ids)) == 16
    issue = client(lab, per_page=100).get_repo(REPO).get_issue(1)
    assert issue.comments == 16
    assert sorted(c.body for c in issue.get_comments()) == sorted(f"comment {n}" for n in range(16))
