"""PyGithub's exceptions, built as PyGithub builds them from GitHub's answers, explained."""

from __future__ import annotations

import requests
from github import BadCredentialsException, GithubException, UnknownObjectException
from github.Requester import Requester

from bot.errors import ExitCode, GitHubError, RateLimitError, UsageError
from bot.github.errors import explain_github_error

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def github_exception(status: int, body: dict, headers: dict | None = None) -> GithubException:
    """What PyGithub raises for this answer (its own factory, not a hand-made guess)."""
    return Requester.createException(status, headers or {}, body)


def test_bad_credentials():
    exc = github_exception(401, {"message": "Bad credentials"})
    assert isinstance(exc, BadCredentialsException)
    error = explain_github_error(exc, now=NOW)
    assert isinstance(error, GitHubError) and error.exit_code == ExitCode.EXTERNAL
    assert "401 Bad credentials" in error.message
    assert error.hint and "GITHUB_TOKEN" in error.hint


def test_missing_permission_names_what_github_accepts():
    exc = github_exception(
        403,
        {"message": "Resource not accessible by integration"},
        {"x-accepted-github-permissions": "issues=write; pull_requests=write"},
    )
    error = explain_github_error(exc, action="add labels to octo/repo#3", now=NOW)
    assert error.message.startswith("cannot add labels to octo/repo#3: ")
    assert "Resource not accessible by integration" in error.message
    assert error.hint and "issues=write; pull_requests=write" in error.hint
    assert "permissions:" in error.hint


def test_not_found_says_repository_may_be_private_or_misspelled():
    exc = github_exception(404, {"message": "Not Found"})
    assert isinstance(exc, UnknownObjectException)
    error = explain_github_error(exc, now=NOW)
    assert "404" in error.message and "cannot see it" in error.message
    assert error.hint and "owner/name" in error.hint


def test_validation_error_lists_githubs_errors():
    exc = github_exception(
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
            "documentation_url": "https://docs.github.com/rest/issues/labels#create-a-label",
        },
    )
    error = explain_github_error(exc, now=NOW)
    assert "422 Validation Failed" in error.message
    assert "Label.name already_exists" in error.message
    assert error.hint and "docs.github.com/rest/issues/labels" in error.hint


def test_spent_primary_quota_says_when_it_resets():
    exc = github_exception(
        403,
        {"message": "API rate limit exceeded for installation ID 1."},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 1800)},
    )
    error = explain_github_error(exc, now=NOW)
    assert isinstance(error, RateLimitError)
    # NOW + 1800 s = 22:43:20 UTC
    assert "2023-11-14 22:43:20 UTC (in 30 min)" in error.message


def test_secondary_limit_with_retry_after_says_how_long():
    exc = github_exception(
        403, {"message": "You have exceeded a secondary rate limit."}, {"retry-after": "120"}
    )
    error = explain_github_error(exc, now=NOW)
    assert isinstance(error, RateLimitError)
    assert "secondary rate limit" in error.message and "(in 2 min)" in error.message


def test_server_error_after_retries():
    error = explain_github_error(GithubException(502, {"message": "Bad Gateway"}, {}), now=NOW)
    assert "502" in error.message and error.hint and "githubstatus" in error.hint


def test_network_errors_and_our_own_errors():
    refused = requests.ConnectionError("refused")
    assert "cannot reach" in explain_github_error(refused).message
    mine = UsageError("x", hint="y")
    assert explain_github_error(mine) is mine
