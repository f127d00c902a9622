"""fetch_repo_config reads .github/maintbot.yml through PyGithub from the sandbox GitHub."""

from __future__ import annotations

import pytest
from github import Auth, Github

from bot.config.remote import fetch_repo_config
from bot.config.schema import Config
from bot.errors import ConfigError, GitHubError, RateLimitError

CONTENTS_ROUTE = "GET /repos/{owner}/{repo}/contents/{path}"
REPO = "octo-lab/widgets"


def repository(sandbox, contents: dict[str, str] | None = None):
    sandbox.state.add_repo(REPO, contents=contents or {})
    client = Github(base_url=sandbox.base_url, auth=Auth.Token("test-token"), retry=None)
    repo = client.get_repo(REPO)
    sandbox.clear_requests()
    return repo


def test_file_in_the_repository_is_parsed(sandbox):
    repo = repository(
        sandbox,
        {
            ".github/maintbot.yml": "bench:\n  seeds: 5\nlabels:\n  types:\n    bug: 'type: bug'\n",
            "README.md": "# widgets\n",
        },
    )
    config = fetch_repo_config(repo)
    assert config.bench.seeds == 5
    assert config.labels.label_for("bug") == "type: bug"
    assert config.report == Config.default().report
    assert sandbox.request_counts() == {CONTENTS_ROUTE: 1}


def test_ref_is_sent_to_github(sandbox):
    repo = repository(sandbox, {".github/maintbot.yml": "bench:\n  epochs: 2\n"})
    assert fetch_repo_config(repo, ref="main").bench.epochs == 2
    (request,) = sandbox.requests
    assert request.path.endswith("/contents/.github/maintbot.yml")
    assert request.query.get("ref") == "main"


def test_no_ref_means_no_ref_parameter(sandbox):
    repo = repository(sandbox, {".github/maintbot.yml": "bench:\n  epochs: 2\n"})
    fetch_repo_config(repo)
    (request,) = sandbox.requests
    assert "ref" not in request.query


def test_repository_without_the_file_gets_the_defaults(sandbox):
    repo = repository(sandbox, {"README.md": "# widgets\n"})
    assert fetch_repo_config(repo) == Config.default()
    assert sandbox.request_counts() == {CONTENTS_ROUTE: 1}
    assert sandbox.requests[0].status == 404


def test_invalid_file_names_the_repository_the_key_and_the_line(sandbox):
    repo = repository(
        sandbox, {".github/maintbot.yml": "version: 1\ntriage:\n  min_precision: 2\n"}
    )
    with pytest.raises(ConfigError) as caught:
        fetch_repo_config(repo)
    assert str(caught.value).startswith(f"{REPO}:.github/maintbot.yml:3: triage.min_precision: ")


def test_a_directory_where_the_file_should_be(sandbox):
    repo = repository(sandbox, {".github/maintbot.yml/settings.yml": "bench: {}\n"})
    with pytest.raises(ConfigError) as caught:
        fetch_repo_config(repo)
    assert "not a file" in caught.value.message


def test_github_refusing_is_a_github_error_not_the_defaults(sandbox):
    repo = repository(sandbox, {".github/maintbot.yml": "bench:\n  epochs: 2\n"})
    sandbox.inject_fault(route=CONTENTS_ROUTE, kind="status", status=403)
    with pytest.raises(GitHubError) as caught:
        fetch_repo_config(repo)
    assert "403" in caught.value.message
    assert f"read {REPO}:.github/maintbot.yml" in caught.value.message
    assert caught.value.hint


def test_exhausted_rate_limit_is_a_rate_limit_error(sandbox):
    repo = repository(sandbox, {".github/maintbot.yml": "bench:\n  epochs: 2\n"})
    sandbox.inject_fault(route=CONTENTS_ROUTE, kind="primary_rate_limit", reset_in=600)
    with pytest.raises(RateLimitError) as caught:
        fetch_repo_config(repo)
    assert ".github/maintbot.yml" in caught.value.message
