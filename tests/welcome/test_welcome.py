"""The welcome end to end: real payloads through the router, GitHub's search and contents
asked of the sandbox over HTTP, and what it wrote read back from the sandbox."""

from __future__ import annotations

import dataclasses

import pytest

from bot.config.schema import Config, WelcomeConfig
from bot.events.router import Router, Skipped, dispatch
from bot.github.comments import comment_sections
from bot.triage.comment import ISSUE_COMMENT_KEY
from bot.welcome.handlers import router as welcome_router
from bot.welcome.render import TemplateProblem, builtin_template, render_welcome
from tests.commands.events import (
    comments_with_key,
    context,
    issue_opened_event,
    pull_opened_event,
    writes,
)

REPO = "octo/widgets"  # the sandbox fixture's: issues #1-#4 by alice, bob, carol, dave
ROUTER = Router(welcome_router)


@pytest.fixture
def sb(sandbox):
    sandbox.state.set_content(REPO, "CONTRIBUTING.md", "# How to contribute\n")
    sandbox.state.add_label(REPO, "good first issue", color="7057ff")
    return sandbox


def run(sb, event, ctx=None):
    outcome = dispatch(ROUTER, event, ctx or context(sb))
    assert outcome.ok, outcome.summary()
    (handler,) = outcome.outcomes
    return handler.result


def new_issue(sb, user: str, title: str = "Loss is NaN after epoch 3") -> int:
    return sb.state.add_issue(REPO, title=title, body="It diverges.", user=user)["number"]


def new_pull(sb, user: str) -> int:
    return sb.state.add_pull(REPO, title="Fix NaN", user=user, head=f"{user}-fix", base="main")[
        "number"
    ]


def welcome_of_issue(sb, number: int) -> str | None:
    comments = comments_with_key(sb, REPO, number, ISSUE_COMMENT_KEY)
    if not comments:
        return None
    (comment,) = comments
    return comment_sections(comment["body"]).get("welcome")


def test_a_first_time_issue_author_is_welcomed_once(sb, shared_dir):
    number = new_issue(sb, "newbie")
    event = issue_opened_event(shared_dir, sb, REPO, number, association="NONE")
    result = run(sb, event)
    assert result["comment"] == "created" and result["template"] == "built-in"
    text = welcome_of_issue(sb, number)
    assert "Welcome, @newbie, and thank you for your first issue in octo/widgets" in text
    assert f"({sb.base_url}/octo/widgets/blob/main/CONTRIBUTING.md)" in text
    assert (
        "(https://github.com/octo/widgets/issues?q=is%3Aissue+is%3Aopen+label%3A%22good+first"
        "+issue%22)" in text
    )
    searched = [r.query.get("q") for r in sb.requests if r.route == "GET /search/issues"]
    assert searched == [
        "repo:octo/widgets author:newbie is:issue",
        "repo:octo/widgets author:newbie is:pull-request",
    ]

    sb.clear_requests()  # the same delivery again: the welcome is kept, nothing written
    assert run(sb, event) == Skipped("the bot's comment already welcomes the author")
    assert writes(sb) == []
    assert not any(r.route == "GET /search/issues" for r in sb.requests)
    assert len(comments_with_key(sb, REPO, number, ISSUE_COMMENT_KEY)) == 1

    second = new_issue(sb, "newbie", "Also: accuracy is 10%")
    result = run(sb, issue_opened_event(shared_dir, sb, REPO, second, association="NONE"))
    assert result == Skipped(f"newbie opened #{number} here before")
    assert welcome_of_issue(sb, second) is None


def test_someone_with_earlier_issues_is_not_welcomed_whatever_the_association(sb, shared_dir):
    """``NONE`` and ``FIRST_TIME_CONTRIBUTOR`` speak of commits: alice opened #1 already."""
    number = new_issue(sb, "alice")
    for association in ("NONE", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER"):
        event = issue_opened_event(shared_dir, sb, REPO, number, association=association)
        assert run(sb, event) == Skipped("alice opened #1 here before")
    assert welcome_of_issue(sb, number) is None


@pytest.mark.parametrize("association", ["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR"])
def test_people_of_the_project_are_known_without_a_search(sb, shared_dir, association):
    number = new_issue(sb, "insider")
    sb.clear_requests()
    result = run(sb, issue_opened_event(shared_dir, sb, REPO, number, association=association))
    assert isinstance(result, Skipped) and association in result.reason
    assert sb.requests == []


def test_a_first_pull_request_is_welcomed_once_and_an_issue_author_s_is_not(sb, shared_dir):
    number = new_pull(sb, "first-pr")
    event = pull_opened_event(shared_dir, sb, REPO, number, association="FIRST_TIME_CONTRIBUTOR")
    result = run(sb, event)
    assert result["kind"] == "pull request" and result["comment"] == "created"
    (comment,) = comments_with_key(sb, REPO, number, "welcome")
    assert "thank you for your first pull request" in comment["body"]
    sb.clear_requests()
    run(sb, event)  # redelivered
    assert writes(sb) == []
    assert len(comments_with_key(sb, REPO, number, "welcome")) == 1

    by_bob = new_pull(sb, "bob")  # bob opened issue #2
    event = pull_opened_event(shared_dir, sb, REPO, by_bob, association="FIRST_TIME_CONTRIBUTOR")
    assert run(sb, event) == Skipped("bob opened #2 here before")
    assert comments_with_key(sb, REPO, by_bob, "welcome") == []


def test_a_pull_request_first_then_an_issue_is_one_welcome(sb, shared_dir):
    pull = new_pull(sb, "newcomer")
    run(sb, pull_opened_event(shared_dir, sb, REPO, pull))
    issue = new_issue(sb, "newcomer")
    assert run(sb, issue_opened_event(shared_dir, sb, REPO, issue)) == Skipped(
        f"newcomer opened #{pull} here before"
    )


def test_the_repository_template_replaces_the_built_in_one(sb, shared_dir):
    sb.state.set_content(
        REPO,
        ".github/maintbot/welcome.md.j2",
        "Hi {{ author }}! Your {{ kind }} in {{ repo }} is welcome. "
        "Guide: {{ contributing_url or 'none' }}.",
    )
    number = new_issue(sb, "newbie")
    result = run(sb, issue_opened_event(shared_dir, sb, REPO, number))
    assert result["template"] == ".github/maintbot/welcome.md.j2"
    assert welcome_of_issue(sb, number) == (
        f"Hi newbie! Your issue in octo/widgets is welcome. "
        f"Guide: {sb.base_url}/octo/widgets/blob/main/CONTRIBUTING.md."
    )


def test_the_template_path_comes_from_the_config(sb, shared_dir):
    sb.state.set_content(REPO, "docs/hello.j2", "Hello {{ author }}.")
    config = dataclasses.replace(Config.default(), welcome=WelcomeConfig(template="docs/hello.j2"))
    number = new_issue(sb, "newbie")
    run(sb, issue_opened_event(shared_dir, sb, REPO, number), context(sb, config))
    assert welcome_of_issue(sb, number) == "Hello newbie."


def test_a_hostile_template_falls_back_to_the_built_in_one(sb, shared_dir):
    sb.state.set_content(
        REPO, ".github/maintbot/welcome.md.j2", "{{ ().__class__.__base__.__subclasses__() }}"
    )
    number = new_issue(sb, "newbie")
    result = run(sb, issue_opened_event(shared_dir, sb, REPO, number))
    assert result["template"].startswith("built-in (.github/maintbot/welcome.md.j2: SecurityError")
    assert "Welcome, @newbie" in welcome_of_issue(sb, number)


@pytest.mark.parametrize(
    "source",
    [
        '{{ "x" * 10**9 }}',
        "{{ 10 ** 100000 }}",
        "{% for i in range(100000) %}{{ i }}{% endfor %}",
        "x" * 30_000,
        "{% if %}",
        "{{ '' }}",
    ],
)
def test_templates_are_bounded(source):
    with pytest.raises(TemplateProblem):
        render_welcome(source, {})


def test_the_built_in_template_without_links():
    text = render_welcome(
        builtin_template(),
        {
            "author": "ana",
            "repo": "o/r",
            "kind": "pull request",
            "contributing_url": None,
            "good_first_issues_url": None,
        },
    )
    assert text.startswith("👋 Welcome, @ana, and thank you for your first pull request in o/r!")
    assert "contributing guide" not in text and "good first issues" not in text


def test_no_contributing_guide_and_no_label_means_no_links(sandbox, shared_dir):
    number = new_issue(sandbox, "newbie")
    run(sandbox, issue_opened_event(shared_dir, sandbox, REPO, number))
    text = welcome_of_issue(sandbox, number)
    assert "contributing guide" not in text and "good first issues" not in text


def test_dry_run_sends_only_get_requests(sb, shared_dir):
    issue = new_issue(sb, "newbie")
    pull = new_pull(sb, "other-newbie")
    sb.clear_requests()
    ctx = context(sb, dry_run=True)
    assert run(sb, issue_opened_event(shared_dir, sb, REPO, issue), ctx)["comment"] == "planned"
    assert run(sb, pull_opened_event(shared_dir, sb, REPO, pull), ctx)["comment"] == "planned"
    assert {r.method for r in sb.requests} == {"GET"}
    assert [(p["action"], p["issue"]) for p in ctx.planned] == [
        ("comment", issue),
        ("comment", pull),
    ]
    assert "Welcome, @newbie" in ctx.planned[0]["body"]
    assert comments_with_key(sb, REPO, issue, ISSUE_COMMENT_KEY) == []


def test_bots_disabled_and_broken_payloads_are_skipped(sb, shared_dir):
    number = new_issue(sb, "dependabot[bot]")
    event = issue_opened_event(shared_dir, sb, REPO, number)
    assert run(sb, event) == Skipped("author dependabot[bot] is a bot")
    config = dataclasses.replace(Config.default(), welcome=WelcomeConfig(enabled=False))
    newbie = issue_opened_event(shared_dir, sb, REPO, new_issue(sb, "newbie"))
    assert run(sb, newbie, context(sb, config)) == Skipped("welcome.enabled is false")
    for broken in (
        {k: v for k, v in newbie.payload.items() if k != "issue"},
        {**newbie.payload, "issue": {"number": "7"}},
        {**newbie.payload, "repository": "octo/widgets"},
    ):
        result = run(sb, type(newbie)("issues", {**broken, "action": "opened"}))
        assert isinstance(result, Skipped) and "payload lacks" in result.reason
    assert run(None, newbie, context(None)) == Skipped(
        "no GitHub client: earlier issues and pull requests cannot be searched"
    )
    assert writes(sb) == []
