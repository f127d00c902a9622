"""The event router, dispatched with GitHub's real example payloads."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.errors import ExitCode, FindingError
from bot.events.context import HandlerContext
from bot.events.local import exit_code_for
from bot.events.router import Event, Router, dispatch
from tests.webhook_payloads import example_payloads


@pytest.fixture(scope="module")
def payloads(shared_dir):
    rows = example_payloads(shared_dir)
    assert len(rows) >= 60, "the shared folder should hold GitHub's 69 example payloads"
    return rows


def _ctx() -> HandlerContext:
    from bot.config.schema import Config

    return HandlerContext(github=None, config=Config.default(), dry_run=True)


def test_each_real_payload_reaches_exactly_its_own_handler(payloads):
    router = Router()
    calls: Counter[tuple[str, str | None]] = Counter()

    def recorder(key):
        def handler(event, ctx):
            calls[key] += 1
            return key

        return handler

    keys = {(event, action) for event, action, _ in payloads}
    for event, action in keys:
        if action:
            router.on(event, action)(recorder((event, action)))
        else:
            router.on(event)(recorder((event, None)))

    for event_name, action, path in payloads:
        calls.clear()
        event = Event(name=event_name, payload=json.loads(path.read_text()))
        assert event.action == action, path
        result = dispatch(router, event, _ctx())
        assert result.ok
        assert dict(calls) == {(event_name, action): 1}, path


def test_event_accessors_read_real_payloads(payloads):
    seen_installation = seen_bot = 0
    for event_name, _, path in payloads:
        payload = json.loads(path.read_text())
        event = Event(name=event_name, payload=payload)
        repo = payload.get("repository")
        if repo:
            owner, name = event.repo_full_name.split("/")
            assert owner == repo["owner"]["login"] and name == repo["name"]
        else:
            assert event.repo_full_name is None
        if "installation" in payload:
            assert isinstance(event.installation_id, int)
            seen_installation += 1
        seen_bot += event.sender_is_bot
    assert seen_installation > 0


def test_handler_for_every_action_also_runs():
    router = Router()
    seen = []
    router.on("issues", "opened")(lambda e, c: seen.append("opened"))
    router.on("issues")(lambda e, c: seen.append("any"))
    dispatch(router, Event("issues", {"action": "opened"}), _ctx())
    dispatch(router, Event("issues", {"action": "closed"}), _ctx())
    assert seen == ["opened", "any", "any"]


def test_a_failing_handler_does_not_stop_the_others():
    router = Router()
    seen = []

    @router.on("issues", "opened")
    def broken(event, ctx):
        raise RuntimeError("boom")

    @router.on("issues", "opened")
    def works(event, ctx):
        seen.append(event.key)

    result = dispatch(router, Event("issues", {"action": "opened"}), _ctx())
    assert seen == ["issues.opened"]
    assert not result.ok
    assert [o.ok for o in result.outcomes] == [False, True]
    assert "RuntimeError: boom" in result.outcomes[0].error
    assert exit_code_for(result) == ExitCode.EXTERNAL


def test_a_finding_maps_to_exit_code_one():
    router = Router()
    router.on("pull_request")(lambda e, c: (_ for _ in ()).throw(FindingError("regressed")))
    result = dispatch(router, Event("pull_request", {"action": "opened"}), _ctx())
    assert exit_code_for(result) == ExitCode.FINDING


def test_routers_compose():
    a, b = Router(), Router()
    a.on("ping")(lambda e, c: "a")
    b.on("ping")(lambda e, c: "b")
    result = dispatch(Router(a, b), Event("ping", {}), _ctx())
    assert [o.result for o in result.outcomes] == ["a", "b"]


def test_a_handler_that_did_nothing_is_reported_skipped_never_ok():
    from bot.config.schema import Config
    from bot.events.local import print_result
    from bot.events.router import Skipped
    from bot.settings import Settings

    router = Router()

    @router.on("issues", "opened")
    def keeps_off(event, ctx):
        return Skipped("a pull request", {"number": 3})

    @router.on("issues", "opened")
    def acts(event, ctx):
        return {"labelled": True}

    result = dispatch(
        router, Event("issues", {"action": "opened"}), HandlerContext(github=None, config=Config())
    )
    assert [o.status for o in result.outcomes] == ["skipped: a pull request", "ok"]
    assert result.ok  # skipping is not a failure
    rows = result.summary()["handlers"]
    assert [(r["status"], r["reason"], r["result"]) for r in rows] == [
        ("skipped", "a pull request", {"number": 3}),
        ("ok", None, {"labelled": True}),
    ]
    import click
    import click.testing

    runner = click.testing.CliRunner()

    @click.command()
    def show():
        print_result(Settings(), result)

    out = runner.invoke(show).output
    assert "keeps_off: skipped: a pull request" in out and "acts: ok" in out
