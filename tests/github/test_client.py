"""Credentials from flags and environment, the client factory, and the installation-token cache."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.errors import UsageError
from bot.github.app_auth import InstallationTokenCache, LoadedKeys, MintedToken, loaded_keys
from bot.github.client import build_github, credentials_from_env
from bot.github.http_retry import PolicyRetry
from bot.github.retry import RetryPolicy


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_token_from_github_token_then_gh_token():
    assert credentials_from_env({"GITHUB_TOKEN": "t1", "GH_TOKEN": "t2"}).token == "t1"
    assert credentials_from_env({"GH_TOKEN": " t2 "}).token == "t2"
    assert credentials_from_env({}).usable is False


def test_explicit_flags_win_over_the_environment():
    env = {"GITHUB_TOKEN": "env", "GITHUB_API_URL": "https://ghe.example/api/v3/"}
    creds = credentials_from_env(env, token="flag", api_url="http://127.0.0.1:8080/")
    assert (creds.token, creds.api_url) == ("flag", "http://127.0.0.1:8080")
    assert credentials_from_env(env).api_url == "https://ghe.example/api/v3"


def test_token_never_appears_in_a_repr():
    creds = credentials_from_env({"GITHUB_TOKEN": "ghp_secret123"})
    assert "ghp_secret123" not in repr(creds)


def test_a_bad_api_url_is_a_usage_error():
    with pytest.raises(UsageError, match="not an http"):
        credentials_from_env({"GITHUB_API_URL": "api.github.com"})


def test_app_credentials_from_a_key_file(tmp_path, private_key_pem):
    key_file = tmp_path / "app.pem"
    key_file.write_text(private_key_pem)
    env = {
        "GITHUB_TOKEN": "ignored-when-an-app-is-configured",
        "MAINTBOT_APP_ID": "1234",
        "MAINTBOT_APP_PRIVATE_KEY_FILE": str(key_file),
        "MAINTBOT_APP_INSTALLATION_ID": "42",
    }
    creds = credentials_from_env(env)
    assert (creds.app_id, creds.installation_id, creds.token) == ("1234", 42, None)
    assert creds.is_app and creds.usable
    assert "PRIVATE KEY" not in repr(creds)


def test_app_key_with_escaped_newlines_in_the_variable(private_key_pem):
    escaped = private_key_pem.replace("\n", "\\n")
    creds = credentials_from_env({"MAINTBOT_APP_ID": "1", "MAINTBOT_APP_PRIVATE_KEY": escaped})
    assert creds.private_key is not None and creds.private_key.strip() == private_key_pem.strip()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAINTBOT_APP_ID": "1"}, "no private key"),
        ({"MAINTBOT_APP_PRIVATE_KEY": "x"}, "MAINTBOT_APP_ID is not"),
        ({"MAINTBOT_APP_ID": "1", "MAINTBOT_APP_PRIVATE_KEY": "not a key"}, "not a PEM"),
        (
            {"MAINTBOT_APP_ID": "1", "MAINTBOT_APP_PRIVATE_KEY_FILE": "/nonexistent.pem"},
            "cannot read",
        ),
    ],
)
def test_incomplete_app_credentials_say_what_is_missing(env, message):
    with pytest.raises(UsageError, match=message):
        credentials_from_env(env)


def test_bad_installation_id(private_key_pem):
    env = {
        "MAINTBOT_APP_ID": "1",
        "MAINTBOT_APP_PRIVATE_KEY": private_key_pem,
        "MAINTBOT_APP_INSTALLATION_ID": "forty-two",
    }
    with pytest.raises(UsageError, match="must be a number"):
        credentials_from_env(env)


def test_no_credentials_names_the_flag_and_the_variable():
    with pytest.raises(UsageError) as caught:
        build_github(api_url="http://127.0.0.1:9")
    assert caught.value.hint and "--token" in caught.value.hint
    assert "GITHUB_TOKEN" in caught.value.hint


def test_app_without_installation_is_a_usage_error(private_key_pem):
    with pytest.raises(UsageError, match="installation id"):
        build_github(app_id=1, private_key=private_key_pem, api_url="http://127.0.0.1:9")


def test_two_app_clients_check_the_private_key_once(private_key_pem):
    """The App builds a client per webhook delivery; the key's RSA check runs only for the first."""
    loaded_keys.clear()
    checks = loaded_keys.checks
    app = {"app_id": 1, "private_key": private_key_pem, "api_url": "http://127.0.0.1:9"}
    first = build_github(**app, installation_id=2)
    second = build_github(**app, installation_id=3)
    env = {"MAINTBOT_APP_ID": "1", "MAINTBOT_APP_PRIVATE_KEY": private_key_pem}
    assert credentials_from_env(env).private_key == private_key_pem.strip() + "\n"
    assert loaded_keys.checks - checks == 1
    assert first is not second


def test_concurrent_first_loads_check_a_key_once(private_key_pem):
    keys = LoadedKeys()
    start = threading.Barrier(8)
    results: list[str] = []

    def load() -> None:
        start.wait(timeout=10)
        results.append(keys.load(private_key_pem))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 8 and len(set(results)) == 1
    assert keys.checks == 1


def test_loaded_keys_forget_the_least_recently_used_beyond_their_bound(private_key_pem):
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    keys = LoadedKeys(max_keys=1)
    for pem in (private_key_pem, other, private_key_pem):
        keys.load(pem)
    assert keys.checks == 3  # the second key pushed the first out
    roomy = LoadedKeys(max_keys=2)
    for pem in (private_key_pem, other, private_key_pem, other):
        roomy.load(pem)
    assert roomy.checks == 2


def test_a_bad_key_is_refused_every_time():
    keys = LoadedKeys()
    for _ in range(2):
        with pytest.raises(UsageError, match="not a PEM private key"):
            keys.load("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----")
    assert keys.checks == 2


def test_token_and_app_together_are_ambiguous(private_key_pem):
    with pytest.raises(UsageError, match="both"):
        build_github(token="t", app_id=1, private_key=private_key_pem, installation_id=2)


def test_client_carries_url_policy_page_size_and_user_agent():
    policy = RetryPolicy(max_attempts=2)
    gh = build_github(token="t", api_url="http://127.0.0.1:9/", retry=policy)
    settings = gh.requester.kwargs
    assert gh.requester.base_url == "http://127.0.0.1:9"
    assert isinstance(settings["retry"], PolicyRetry) and settings["retry"].policy is policy
    assert settings["per_page"] == 100
    assert settings["user_agent"].startswith("maintbot/")
    assert build_github(token="t", retry=None).requester.kwargs["retry"] is None


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_cache_reuses_a_token_until_shortly_before_it_expires():
    clock = FakeClock()
    minted: list[int] = []

    def mint(installation_id: int) -> MintedToken:
        minted.append(installation_id)
        return MintedToken(f"tok-{installation_id}-{len(minted)}", clock.now + timedelta(hours=1))

    cache = InstallationTokenCache(mint, refresh_margin=timedelta(minutes=5), clock=clock)
    assert cache.token(7) == "tok-7-1"
    clock.now += timedelta(minutes=54)  # 6 min left: still fresh
    assert cache.token(7) == "tok-7-1"
    clock.now += timedelta(minutes=2)  # 4 min left: inside the margin
    assert cache.token(7) == "tok-7-2"
    assert cache.token(8) == "tok-8-3"  # another installation has its own token
    cache.invalidate(7)
    assert cache.token(7) == "tok-7-4"
    assert minted == [7, 7, 8, 7] and cache.mint_count == 4


def test_concurrent_first_requests_mint_one_token():
    calls: list[int] = []
    lock = threading.Lock()

    def slow_mint(installation_id: int) -> MintedToken:
        with lock:
            calls.append(installation_id)
        time.sleep(0.05)  # widen the window in which a second mint would start
        return MintedToken("tok", datetime.now(UTC) + timedelta(hours=1))

    cache = InstallationTokenCache(slow_mint)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(cache.token(1))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert tokens == ["tok"] * 8
    assert calls == [1]


def test_minted_token_repr_hides_the_token():
    token = MintedToken("ghs_secret", datetime(2024, 1, 1, tzinfo=UTC))
    assert "ghs_secret" not in repr(token)


def test_observe_responses_sees_every_response_and_its_quota(sandbox):
    from github import UnknownObjectException

    from bot.github.client import build_github, observe_responses

    seen: list[tuple[int, str | None]] = []
    github = observe_responses(
        build_github(token="t", api_url=sandbox.base_url, retry=None),
        lambda status, headers: seen.append((status, headers.get("x-ratelimit-remaining"))),
    )
    repo = github.get_repo("octo/widgets")
    list(repo.get_issues(state="all"))
    with pytest.raises(UnknownObjectException):
        github.get_repo("octo/no-such-repo")
    assert [status for status, _ in seen] == [200, 200, 404]
    assert all(remaining is not None for _, remaining in seen)
