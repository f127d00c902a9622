"""Injected faults, the real per-token quota, conditional requests and the introspection API."""

from __future__ import annotations

import time

import github
import httpx
import pytest
from github import Auth, Github

from bot.errors import UsageError
from bot.sandbox.server import Sandbox

ISSUES = "GET /repos/{owner}/{repo}/issues"
REPO_ROUTE = "GET /repos/{owner}/{repo}"
TOKEN = {"Authorization": "token user-token"}


@pytest.fixture
def http(sandbox):
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as client:
        yield client


def wait_for_records(sb: Sandbox, count: int) -> list:
    """The request log once it holds ``count`` records (a timed-out request logs late)."""
    for _ in range(200):
        if len(sb.requests) >= count:
            break
        time.sleep(0.025)
    return sb.requests


def test_status_fault_answers_502_for_the_given_number_of_requests(sandbox, http):
    sandbox.inject_fault(ISSUES, kind="status", status=502, times=2)
    statuses = [http.get("/repos/octo/widgets/issues", headers=TOKEN).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert http.get("/repos/octo/widgets", headers=TOKEN).status_code == 200  # other routes fine
    assert [(r.route, r.status, r.fault) for r in sandbox.requests] == [
        (ISSUES, 502, "status"),
        (ISSUES, 502, "status"),
        (ISSUES, 200, None),
        (REPO_ROUTE, 200, None),
    ]
    assert sandbox.request_counts() == {ISSUES: 3, REPO_ROUTE: 1}


def test_status_fault_reaches_pygithub_as_a_github_exception(sandbox):
    sandbox.inject_fault("*", kind="status", status=503)
    gh = Github(
        base_url=sandbox.base_url, auth=Auth.Token("t"), retry=None, seconds_between_requests=None
    )
    with pytest.raises(github.GithubException) as failed:
        gh.get_repo("octo/widgets")
    assert failed.value.status == 503
    assert gh.get_repo("octo/widgets").name == "widgets"


def test_secondary_rate_limit_fault_has_retry_after(sandbox, http):
    sandbox.inject_fault(ISSUES, kind="secondary_rate_limit", retry_after=7)
    limited = http.get("/repos/octo/widgets/issues", headers=TOKEN)
    assert limited.status_code == 403
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert int(limited.headers["x-ratelimit-remaining"]) > 0  # not the primary limit
    assert http.get("/repos/octo/widgets/issues", headers=TOKEN).status_code == 200
    assert [r.fault for r in sandbox.requests] == ["secondary_rate_limit", None]


def test_primary_rate_limit_fault_says_when_the_quota_resets(sandbox, http):
    sandbox.inject_fault("*", kind="primary_rate_limit", reset_in=120, times=1)
    before = int(time.time())
    limited = http.get("/repos/octo/widgets", headers=TOKEN)
    after = int(time.time())
    assert limited.status_code == 403
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert before + 120 <= int(limited.headers["x-ratelimit-reset"]) <= after + 120
    assert limited.json()["message"].startswith("API rate limit exceeded for")
    gh = Github(
        base_url=sandbox.base_url, auth=Auth.Token("t"), retry=None, seconds_between_requests=None
    )
    sandbox.inject_fault(REPO_ROUTE, kind="primary_rate_limit")
    with pytest.raises(github.RateLimitExceededException):
        gh.get_repo("octo/widgets")
    assert sandbox.request_counts() == {REPO_ROUTE: 2}


def test_timeout_fault_delays_past_the_client_timeout_and_is_recorded(sandbox):
    sandbox.inject_fault(ISSUES, kind="timeout", delay=0.6)
    # Only the read timeout is short: the fault delays the answer, not the connection.
    with httpx.Client(base_url=sandbox.base_url, timeout=httpx.Timeout(10, read=0.2)) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            impatient.get("/repos/octo/widgets/issues", headers=TOKEN)
        records = wait_for_records(sandbox, 1)
        assert [(r.route, r.fault) for r in records] == [(ISSUES, "timeout")]
        assert impatient.get("/repos/octo/widgets/issues", headers=TOKEN).status_code == 200


def test_the_real_quota_runs_out_per_token(make_sandbox):
    sb = make_sandbox(seed_default=True, rate_limit=3)
    with httpx.Client(base_url=sb.base_url, timeout=10) as http:
        answers = [http.get("/repos/octo/widgets", headers=TOKEN) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 403]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert [a.headers["x-ratelimit-used"] for a in answers[:3]] == ["1", "2", "3"]
        assert {a.headers["x-ratelimit-limit"] for a in answers} == {"3"}
        assert answers[3].json()["message"] == "API rate limit exceeded for octocat."
        comments_before = len(sb.state.repo("octo/widgets")["comments"])
        write = http.post(
            "/repos/octo/widgets/issues/1/comments", json={"body": "x"}, headers=TOKEN
        )
        assert write.status_code == 403  # refused before anything is written
        assert len(sb.state.repo("octo/widgets")["comments"]) == comments_before
        quota = http.get("/rate_limit", headers=TOKEN)
        assert quota.status_code == 200  # asking costs nothing, even when spent
        assert quota.json()["resources"]["core"] == {
            "limit": 3,
            "used": 3,
            "remaining": 0,
            "reset": int(answers[0].headers["x-ratelimit-reset"]),
        }
        other = http.get("/repos/octo/widgets", headers={"Authorization": "token another"})
        assert other.headers["x-ratelimit-remaining"] == "2"  # counted per token
        anonymous = http.get("/repos/octo/widgets")
        assert anonymous.headers["x-ratelimit-limit"] == "3"  # min(60, configured)


def test_anonymous_quota_is_60_and_search_has_its_own(sandbox, http):
    anonymous = http.get("/repos/octo/widgets")
    assert (anonymous.headers["x-ratelimit-limit"], anonymous.headers["x-ratelimit-resource"]) == (
        "60",
        "core",
    )
    found = http.get("/search/issues", params={"q": "repo:octo/widgets is:issue"}, headers=TOKEN)
    assert found.headers["x-ratelimit-resource"] == "search"
    assert found.headers["x-ratelimit-limit"] == "30"
    assert found.json()["total_count"] == 4


def test_conditional_request_gets_304_without_spending_quota(sandbox, http):
    first = http.get("/repos/octo/widgets/issues/1", headers=TOKEN)
    etag = first.headers["ETag"]
    again = http.get("/repos/octo/widgets/issues/1", headers={**TOKEN, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    weak = http.get("/repos/octo/widgets/issues/1", headers={**TOKEN, "If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    sandbox.state.issue("octo/widgets", 1)["title"] = "Changed"
    changed = http.get("/repos/octo/widgets/issues/1", headers={**TOKEN, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert (
        int(changed.headers["x-ratelimit-remaining"])
        == int(first.headers["x-ratelimit-remaining"]) - 1
    )
    assert [r.not_modified for r in sandbox.requests] == [False, True, True, False]


def test_pygithub_conditional_update_uses_the_etag(sandbox):
    gh = Github(
        base_url=sandbox.base_url, auth=Auth.Token("t"), retry=None, seconds_between_requests=None
    )
    repo = gh.get_repo("octo/widgets")
    assert repo.update() is False  # unchanged: 304
    assert [r.status for r in sandbox.requests] == [200, 304]


def test_inject_fault_rejects_unknown_routes_and_kinds(sandbox):
    with pytest.raises(UsageError, match="no sandbox route"):
        sandbox.inject_fault("GET /nowhere")
    with pytest.raises(UsageError, match="fault kind"):
        sandbox.inject_fault("*", kind="meltdown")
    with pytest.raises(UsageError, match="delay"):
        sandbox.inject_fault("*", kind="timeout", delay=3600)


def test_introspection_endpoints_are_not_recorded_nor_rate_limited(sandbox, http):
    http.get("/repos/octo/widgets", headers=TOKEN)
    http.get("/no/such/route", headers=TOKEN)
    log = http.get("/_sandbox/requests").json()
    assert log["counts"] == {REPO_ROUTE: 1, "(unmatched)": 1}
    assert [r["status"] for r in log["requests"]] == [200, 404]
    made = http.post("/_sandbox/faults", json={"route": ISSUES, "kind": "status", "status": 500})
    assert made.status_code == 201 and made.json()["status"] == 500
    assert http.get("/repos/octo/widgets/issues", headers=TOKEN).status_code == 500
    bad = http.post("/_sandbox/faults", json={"kind": "nope"})
    assert bad.status_code == 422
    seeded = http.post(
        "/_sandbox/seed",
        json={"repos": [{"full_name": "new/repo", "issues": [{"title": "hello"}]}]},
    )
    assert seeded.status_code == 201 and seeded.json() == {"loaded": 2}
    assert http.get("/repos/new/repo/issues/1", headers=TOKEN).json()["title"] == "hello"
    assert http.delete("/_sandbox/requests").status_code == 204
    assert http.get("/_sandbox/requests").json() == {"requests": [], "counts": {}}
    assert sandbox.requests == []


def test_avatars_are_served_locally(sandbox, http):
    issue = http.get("/repos/octo/widgets/issues/1", headers=TOKEN).json()
    avatar = http.get(issue["user"]["avatar_url"])
    assert avatar.status_code == 200 and avatar.headers["Content-Type"] == "image/svg+xml"
    assert b">A</text>" in avatar.content  # alice
    assert sandbox.request_counts() == {"GET /repos/{owner}/{repo}/issues/{issue_number}": 1}
