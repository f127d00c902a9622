"""End to end: PyGithub over real HTTP against the sandbox, with faults injected.

Each test counts the requests the sandbox saw, so "retried", "waited" and "failed at once"
are facts about the wire, not about our own bookkeeping.
"""

from __future__ import annotations

import logging
import re
import time

import pytest
from github import GithubException

from bot.errors import RateLimitError
from bot.github.client import build_github
from bot.github.errors import explain_github_error
from bot.github.retry import RetryPolicy

REPO = "octo/widgets"
ISSUE_ROUTE = "GET /repos/{owner}/{repo}/issues/{issue_number}"
# Short waits so every test stays within a couple of seconds.
FAST = RetryPolicy(
    max_attempts=3,
    backoff_initial=0.05,
    backoff_max=0.2,
    max_retry_after=2.0,
    secondary_wait=0.5,
    max_reset_wait=2.0,
)


def client(sandbox, policy: RetryPolicy | None = FAST, timeout: int = 5):
    return build_github(
        token="test-token",
        api_url=sandbox.base_url,
        retry=policy,
        timeout=timeout,
        seconds_between_writes=0,
    )


def route_requests(sandbox, route: str) -> list:
    return [r for r in sandbox.requests if r.route == route]


def test_a_502_once_is_retried_and_succeeds(sandbox):
    repo = client(sandbox).get_repo(REPO)
    sandbox.clear_requests()
    sandbox.inject_fault(route=ISSUE_ROUTE, kind="status", status=502, times=1)

    issue = repo.get_issue(1)

    assert issue.title == "Widget crashes on empty input"
    assert [r.status for r in route_requests(sandbox, ISSUE_ROUTE)] == [502, 200]


def test_502_every_time_gives_up_after_max_attempts_with_a_clear_error(sandbox):
    repo = client(sandbox).get_repo(REPO)
    sandbox.clear_requests()
    sandbox.inject_fault(route=ISSUE_ROUTE, kind="status", status=502, times=10)

    with pytest.raises(GithubException) as caught:
        repo.get_issue(1)

    assert caught.value.status == 502
    assert len(route_requests(sandbox, ISSUE_ROUTE)) == FAST.max_attempts
    assert "502" in explain_github_error(caught.value).message


def test_a_post_is_not_repeated_after_a_502(sandbox):
    issue = client(sandbox).get_repo(REPO).get_issue(4)
    route = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
    sandbox.clear_requests()
    sandbox.inject_fault(route=route, kind="status", status=502, times=1)

    with pytest.raises(GithubException):
        issue.create_comment("may or may not have been posted")

    assert len(route_requests(sandbox, route)) == 1


def test_secondary_rate_limit_waits_retry_after_and_succeeds(sandbox, caplog):
    repo = client(sandbox).get_repo(REPO)
    sandbox.clear_requests()
    sandbox.inject_fault(route=ISSUE_ROUTE, kind="secondary_rate_limit", retry_after=1)

    with caplog.at_level(logging.WARNING, logger="bot.github.http_retry"):
        issue = repo.get_issue(2)

    assert issue.number == 2
    seen = route_requests(sandbox, ISSUE_ROUTE)
    assert [(r.status, r.fault) for r in seen] == [(403, "secondary_rate_limit"), (200, None)]
    # The pause chosen was GitHub's Retry-After (1 s), not the policy's backoff (0.05 s).
    assert any("retrying in 1.0 s" in r.getMessage() for r in caplog.records)


def test_secondary_rate_limit_asking_too_long_fails_with_the_time(sandbox):
    repo = client(sandbox).get_repo(REPO)
    sandbox.clear_requests()
    sandbox.inject_fault(route=ISSUE_ROUTE, kind="secondary_rate_limit", retry_after=600)

    with pytest.raises(RateLimitError, match="secondary rate limit.*in 10 min"):
        repo.get_issue(2)

    assert len(route_requests(sandbox, ISSUE_ROUTE)) == 1


def test_exhausted_primary_rate_limit_with_a_far_reset_fails_at_once(sandbox):
    repo = client(sandbox).get_repo(REPO)
    sandbox.clear_requests()
    sandbox.inject_fault(route=ISSUE_ROUTE, kind="primary_rate_limit", reset_in=3600)

    with pytest.raises(RateLimitError) as caught:
        repo.get_issue(1)

    assert len(sandbox.requests) == 1
    error = caught.value
    assert re.search(
        r"resets at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in (59|60) min\)", error.message
    )
    assert error.hint and "GitHub App" in error.hint


def test_exhausted_primary_rate_limit_with_a_near_reset_waits_then_succeeds(sandbox):
    repo = client(sandbox).get_repo(REPO)
    sandbox.clear_requests()
    # Resets in 0 s; the client waits for the reset plus a second of clock slack.
    sandbox.inject_fault(route=ISSUE_ROUTE, kind="primary_rate_limit", reset_in=0)

    issue = repo.get_issue(1)

    assert issue.number == 1
    assert [r.status for r in route_requests(sandbox, ISSUE_ROUTE)] == [403, 200]


def test_a_timeout_is_retried(sandbox):
    repo = client(sandbox, timeout=1).get_repo(REPO)
    sandbox.clear_requests()
    sandbox.inject_fault(route=ISSUE_ROUTE, kind="timeout", delay=1.5)

    issue = repo.get_issue(3)

    assert issue.state == "closed"
    # The timed-out request is logged when the sandbox finishes sleeping; wait for it (<= 2 s).
    deadline = time.monotonic() + 2.0
    while len(route_requests(sandbox, ISSUE_ROUTE)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    faults = sorted(str(r.fault) for r in route_requests(sandbox, ISSUE_ROUTE))
    assert faults == ["None", "timeout"]


def test_a_permission_403_reaches_the_caller_with_githubs_message(sandbox):
    repo = client(sandbox).get_repo(REPO)
    sandbox.clear_requests()
    sandbox.inject_fault(route=ISSUE_ROUTE, kind="status", status=403)

    with pytest.raises(GithubException) as caught:
        repo.get_issue(1)

    assert caught.value.status == 403
    assert caught.value.data["message"] == "Injected fault"  # the sandbox's body, intact
    assert len(route_requests(sandbox, ISSUE_ROUTE)) == 1


def test_a_404_is_not_retried(sandbox):
    gh = client(sandbox)
    sandbox.clear_requests()
    with pytest.raises(GithubException) as caught:
        gh.get_repo("octo/no-such-repo")
    assert caught.value.status == 404
    assert len(sandbox.requests) == 1


def test_without_retries_a_502_fails_on_the_first_request(sandbox):
    repo = client(sandbox, policy=None).get_repo(REPO)
    sandbox.clear_requests()
    sandbox.inject_fault(route=ISSUE_ROUTE, kind="status", status=502)
    with pytest.raises(GithubException):
        repo.get_issue(1)
    assert len(route_requests(sandbox, ISSUE_ROUTE)) == 1
