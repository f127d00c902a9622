"""End to end: GitHub App credentials -> real JWT -> installation token, against the sandbox.

The sandbox verifies the JWT's RS256 signature with the App's public key and counts every
token it mints, so "minted once and reused" is read off the wire.
"""

from __future__ import annotations

import logging
import re
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import GithubException

from bot.errors import GitHubError
from bot.github.client import build_github, credentials_from_env
from bot.github.errors import explain_github_error
from bot.github.retry import RetryPolicy

REPO = "octo/widgets"
MINT_ROUTE = "POST /app/installations/{installation_id}/access_tokens"


@pytest.fixture
def app_sandbox(make_sandbox, app_keys):
    sb = make_sandbox(
        seed_default=True, app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem
    )
    installation = sb.state.add_installation(account="octo")
    return sb, installation["id"]


def app_client(sb, app_keys, installation_id, **overrides):
    settings = {
        "app_id": app_keys.app_id,
        "private_key": app_keys.private_pem,
        "installation_id": installation_id,
        "api_url": sb.base_url,
        "seconds_between_writes": 0,
        **overrides,
    }
    return build_github(**settings)


def mints(sb) -> int:
    return sb.request_counts().get(MINT_ROUTE, 0)


def test_installation_token_is_minted_once_and_reused_across_clients(app_sandbox, app_keys):
    sb, installation_id = app_sandbox

    first = app_client(sb, app_keys, installation_id)
    assert first.get_repo(REPO).get_issue(1).number == 1
    second = app_client(sb, app_keys, installation_id)  # e.g. the next webhook delivery
    second.get_repo(REPO).get_issue(2).create_comment("hello from the App")

    assert mints(sb) == 1
    api_calls = [r for r in sb.requests if r.route != MINT_ROUTE]
    assert len(api_calls) >= 4
    assert all(r.identity.startswith("installation") for r in api_calls)
    with sb.state.lock:
        comments = [c for c in sb.state.repo(REPO)["comments"].values() if c["issue_number"] == 2]
    assert [c["user"] for c in comments] == ["maintbot[bot]"]


def test_concurrent_clients_for_one_installation_mint_one_token(app_sandbox, app_keys):
    sb, installation_id = app_sandbox
    numbers: list[int] = []

    def work(number: int) -> None:
        numbers.append(
            app_client(sb, app_keys, installation_id).get_repo(REPO).get_issue(number).number
        )

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(numbers) == [1, 2, 3, 4]
    assert mints(sb) == 1


def test_each_installation_gets_its_own_token(app_sandbox, app_keys):
    sb, installation_id = app_sandbox
    sb.state.add_user("other-org", type="Organization")
    sb.state.add_repo("other-org/tools")
    other = sb.state.add_installation(account="other-org")["id"]

    app_client(sb, app_keys, installation_id).get_repo(REPO)
    app_client(sb, app_keys, other).get_repo("other-org/tools")

    assert mints(sb) == 2


def test_a_key_the_app_does_not_have_is_rejected_with_a_clear_error(app_sandbox, app_keys):
    sb, installation_id = app_sandbox
    wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong_pem = wrong.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()

    with pytest.raises(GithubException) as caught:
        app_client(sb, app_keys, installation_id, private_key=wrong_pem).get_repo(REPO)

    assert caught.value.status == 401
    error = explain_github_error(caught.value)
    assert isinstance(error, GitHubError) and "401" in error.message
    assert error.hint and "MAINTBOT_APP_ID" in error.hint


def test_app_credentials_from_the_environment(app_sandbox, app_keys, tmp_path):
    sb, installation_id = app_sandbox
    key_file = tmp_path / "maintbot.pem"
    key_file.write_text(app_keys.private_pem)
    env = {
        "GITHUB_API_URL": sb.base_url,
        "MAINTBOT_APP_ID": str(app_keys.app_id),
        "MAINTBOT_APP_PRIVATE_KEY_FILE": str(key_file),
        "MAINTBOT_APP_INSTALLATION_ID": str(installation_id),
    }

    gh = build_github(credentials=credentials_from_env(env), seconds_between_writes=0)

    assert gh.get_repo(REPO).full_name == REPO
    assert mints(sb) == 1


def test_a_502_while_minting_is_retried(app_sandbox, app_keys):
    sb, installation_id = app_sandbox
    sb.inject_fault(route=MINT_ROUTE, kind="status", status=502)
    policy = RetryPolicy(backoff_initial=0.05, backoff_max=0.1)

    gh = app_client(sb, app_keys, installation_id, retry=policy)

    assert gh.get_repo(REPO).full_name == REPO
    assert [r.status for r in sb.requests if r.route == MINT_ROUTE] == [502, 201]


def test_debug_logs_never_show_the_installation_token_or_the_jwt(app_sandbox, app_keys, caplog):
    sb, installation_id = app_sandbox
    # PyGithub keeps its "github" logger at INFO; -vv users may lower it to DEBUG.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="github"):
        app_client(sb, app_keys, installation_id).get_repo(REPO)

    assert any("access_tokens" in r.getMessage() for r in caplog.records)  # it was logged
    assert not re.search(r"ghs_[A-Za-z0-9]{8}", caplog.text)
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.", caplog.text)
