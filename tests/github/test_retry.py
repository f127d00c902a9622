"""The retry decision with plain values: statuses, headers, a fixed clock and a fixed dice roll."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError, GitHubError, RateLimitError, UsageError
from bot.github.ratelimit import describe_moment, parse_rate_limit, parse_retry_after
from bot.github.retry import Attempt, RetryPolicy, backoff_seconds, decide_retry, needs_message

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
POLICY = RetryPolicy(
    max_attempts=4,
    backoff_initial=1.0,
    backoff_max=10.0,
    jitter=0.5,
    max_retry_after=30.0,
    secondary_wait=5.0,
    max_reset_wait=60.0,
)


def decide(attempt: Attempt, rand: float = 0.0, policy: RetryPolicy = POLICY):
    return decide_retry(policy, attempt, now=NOW, rand=rand)


@pytest.mark.parametrize(
    ("number", "rand", "expected"),
    [
        (1, 0.0, 1.0),  # first retry: the initial backoff
        (2, 0.0, 2.0),
        (3, 0.0, 4.0),
        (5, 0.0, 10.0),  # 16 capped at backoff_max
        (3, 1.0, 2.0),  # full jitter roll takes off half (jitter=0.5)
        (3, 0.5, 3.0),
    ],
)
def test_backoff_is_exponential_capped_and_jittered(number, rand, expected):
    assert backoff_seconds(POLICY, number, rand) == pytest.approx(expected)


def test_502_on_get_is_retried_after_backoff():
    decision = decide(Attempt("GET", 1, status=502), rand=0.0)
    assert (decision.action, decision.wait) == ("retry", 1.0)


def test_server_error_gives_up_after_max_attempts_and_hands_the_response_back():
    decision = decide(Attempt("GET", 4, status=503))
    assert decision.action == "return"
    assert "4 of 4" in decision.reason


def test_post_is_not_repeated_after_a_5xx_or_a_read_timeout():
    assert decide(Attempt("POST", 1, status=502)).action == "return"
    assert decide(Attempt("POST", 1, failure="read")).action == "return"
    unsafe_ok = RetryPolicy(retry_unsafe_methods=True)
    assert decide(Attempt("POST", 1, status=502), policy=unsafe_ok).action == "retry"


def test_connect_failure_is_retried_even_for_post_since_nothing_reached_github():
    decision = decide(Attempt("POST", 2, failure="connect"), rand=0.0)
    assert (decision.action, decision.wait) == ("retry", 2.0)


def test_read_timeout_on_get_is_retried_then_given_up():
    assert decide(Attempt("GET", 1, failure="read")).action == "retry"
    assert decide(Attempt("GET", 4, failure="read")).action == "return"


def test_503_with_retry_after_waits_that_long():
    decision = decide(Attempt("GET", 1, status=503, headers={"Retry-After": "7"}))
    assert (decision.action, decision.wait) == ("retry", 7.0)


def test_secondary_limit_with_retry_after_waits_exactly_that():
    headers = {"retry-after": "3", "x-ratelimit-remaining": "4000"}
    decision = decide(Attempt("POST", 1, status=403, headers=headers))
    assert (decision.action, decision.wait) == ("retry", 3.0)


def test_secondary_limit_asking_too_long_fails_with_the_time():
    decision = decide(Attempt("GET", 1, status=429, headers={"Retry-After": "600"}))
    assert decision.action == "fail"
    assert isinstance(decision.error, RateLimitError)
    # NOW + 600 s = 2023-11-14 22:23:20 UTC, in 10 min
    assert "2023-11-14 22:23:20 UTC (in 10 min)" in decision.error.message


def test_secondary_limit_named_only_in_the_message_waits_and_doubles():
    message = "You have exceeded a secondary rate limit. Please wait a few minutes."
    first = decide(Attempt("GET", 1, status=403, message=message))
    second = decide(Attempt("GET", 2, status=403, message=message))
    assert (first.action, first.wait) == ("retry", 5.0)
    assert (second.action, second.wait) == ("retry", 10.0)
    # 5 * 2**3 = 40 s exceeds max_retry_after (30 s): fail rather than sleep longer
    assert decide(Attempt("GET", 4, status=403, message=message)).action == "fail"


def test_primary_limit_with_a_near_reset_waits_until_the_reset():
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 20)}
    decision = decide(Attempt("GET", 1, status=403, headers=headers))
    assert decision.action == "retry"
    assert decision.wait == pytest.approx(21.0)  # 20 s plus one second of clock slack


def test_primary_limit_with_a_far_reset_fails_at_once_naming_the_reset():
    headers = {
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Reset": str(int(NOW) + 3600),
        "X-RateLimit-Resource": "core",
    }
    decision = decide(Attempt("GET", 1, status=403, headers=headers))
    assert decision.action == "fail"
    error = decision.error
    assert isinstance(error, RateLimitError)
    # NOW + 3600 s = 2023-11-14 23:13:20 UTC
    assert "resets at 2023-11-14 23:13:20 UTC (in 60 min)" in error.message
    assert "5000" in error.message and "core" in error.message
    assert error.hint and "GitHub App" in error.hint


def test_primary_limit_on_429_is_treated_like_403():
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 7200)}
    assert decide(Attempt("GET", 1, status=429, headers=headers)).action == "fail"


def test_retry_after_takes_precedence_over_an_exhausted_quota():
    headers = {
        "retry-after": "2",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW) + 3600),
    }
    decision = decide(Attempt("GET", 1, status=403, headers=headers))
    assert (decision.action, decision.wait) == ("retry", 2.0)


def test_permission_403_and_other_errors_go_back_to_the_caller():
    message = "Resource not accessible by integration"
    assert decide(Attempt("POST", 1, status=403, message=message)).action == "return"
    for status in (400, 401, 404, 410, 422, 501):
        assert decide(Attempt("GET", 1, status=status)).action == "return"


def test_only_headerless_403_and_429_need_their_body_read():
    assert needs_message(403, {"x-ratelimit-remaining": "12"})
    assert needs_message(429, {})
    assert not needs_message(403, {"Retry-After": "1"})
    assert not needs_message(403, {"x-ratelimit-remaining": "0"})
    assert not needs_message(502, {})
    assert not needs_message(404, {})


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("12", NOW) == 12.0
    # NOW is Tue, 14 Nov 2023 22:13:20 GMT; 90 s later:
    assert parse_retry_after("Tue, 14 Nov 2023 22:14:50 GMT", NOW) == pytest.approx(90.0)
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_rate_limit_headers_are_read_case_insensitively():
    state = parse_rate_limit({"X-RateLimit-Remaining": "0", "x-ratelimit-reset": "1700000100"}, NOW)
    assert state.exhausted and state.reset_at == 1_700_000_100.0


def test_describe_moment_counts_minutes_up():
    assert describe_moment(NOW + 61, NOW) == "2023-11-14 22:14:21 UTC (in 2 min)"
    assert describe_moment(NOW + 5, NOW) == "2023-11-14 22:13:25 UTC (in 5 s)"


def test_policy_rejects_nonsense():
    with pytest.raises(UsageError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(UsageError):
        RetryPolicy(jitter=2.0)


# ------------------------------------------------- failure classes for the App's worker (#26)


def _github(status: int, headers: dict[str, str] | None = None, message: str = "x"):
    from github import GithubException

    return GithubException(status, {"message": message}, headers or {})


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda: _github(404), "permanent"),  # a deleted repository
        (lambda: _github(422, message="Validation Failed"), "permanent"),
        (lambda: _github(403, message="Resource not accessible by integration"), "permanent"),
        (lambda: _github(502), "transient"),
        (lambda: _github(401), "transient"),
        (lambda: ConfigError("bad key", source="maintbot.yml"), "permanent"),
        (lambda: KeyError("issue"), "permanent"),  # a payload the handler cannot take
        (lambda: RecursionError("deep"), "permanent"),
        (lambda: GitHubError("GitHub answered 502"), "transient"),
        (lambda: OSError("disk"), "transient"),
    ],
)
def test_failures_are_classed_by_what_another_attempt_can_do(make, kind):
    from bot.github.errors import classify_failure

    assert classify_failure(make(), now=NOW).kind.value == kind


def test_an_explained_error_is_classed_by_the_answer_under_it():
    from bot.github.errors import classify_failure, explain_github_error

    try:
        try:
            raise _github(404)
        except Exception as exc:
            raise explain_github_error(exc, action="read octo/gone") from exc
    except GitHubError as explained:
        assert classify_failure(explained, now=NOW).kind.value == "permanent"


def test_rate_limits_say_when_to_resume():
    from bot.github.errors import classify_failure

    primary = _github(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 900)})
    secondary = _github(429, {"Retry-After": "600"})
    bare = _github(403, message="You have exceeded a secondary rate limit.")
    assert classify_failure(primary, now=NOW).resume_at == NOW + 900
    assert classify_failure(secondary, now=NOW).resume_at == NOW + 600
    assert classify_failure(bare, now=NOW).resume_at == NOW + 60  # GitHub's minimum
    assert {classify_failure(e, now=NOW).kind.value for e in (primary, secondary, bare)} == {
        "rate_limited"
    }


def test_a_write_that_timed_out_has_an_unknown_outcome_and_a_read_does_not():
    import requests

    from bot.github.errors import classify_failure

    def timed_out(method: str, cls: type[Exception] = requests.ReadTimeout) -> Exception:
        return cls("timed out", request=requests.Request(method, "http://x/").prepare())

    assert classify_failure(timed_out("POST"), now=NOW).kind.value == "unknown_outcome"
    assert classify_failure(timed_out("GET"), now=NOW).kind.value == "transient"
    assert classify_failure(timed_out("PUT"), now=NOW).kind.value == "transient"  # idempotent
    never_sent = timed_out("POST", requests.ConnectTimeout)
    assert classify_failure(never_sent, now=NOW).kind.value == "transient"


def test_the_app_policy_never_sleeps_for_a_rate_limit_and_never_repeats_a_timed_out_post():
    from bot.github.retry import APP_WORKER_POLICY

    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}
    limited = decide_retry(
        APP_WORKER_POLICY, Attempt("GET", 1, status=403, headers=reset), now=NOW, rand=0
    )
    assert limited.action == "fail" and limited.error.resume_at == NOW + 30
    stalled = decide_retry(APP_WORKER_POLICY, Attempt("POST", 1, failure="read"), now=NOW, rand=0)
    assert stalled.action == "return"
    refused = decide_retry(
        APP_WORKER_POLICY, Attempt("POST", 1, failure="connect"), now=NOW, rand=0
    )
    assert refused.action == "retry"
