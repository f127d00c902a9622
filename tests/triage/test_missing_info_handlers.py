"""Asking for missing information end to end: GitHub's real webhook payloads (title, body and
number edited for the scenario), the sandbox GitHub on loopback over real HTTP, PyGithub, and
the type-label handler before ours, as bot/handlers.py composes them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bot.config.loader import parse_config
from bot.config.schema import Config
from bot.events.context import HandlerContext
from bot.events.router import Event, Router, dispatch
from bot.github.client import build_github
from bot.triage.handlers import router as types_router
from bot.triage.issue_templates import clear_template_cache
from bot.triage.missing_info import parse_asked
from bot.triage.missing_info_handlers import router as missing_info_router
from tests.triage.test_issue_templates import TF_FORM
from tests.triage.test_missing_info import TF_CODE, TF_NO_VERSIONS, TF_TRACEBACK, tf_form_body

REPO = "octo/widgets"
WRITES = ("POST", "PATCH", "PUT", "DELETE")
TITLE = "model.fit crashes with a ValueError on a ragged tensor"
VERSIONS = "\n\nTensorFlow 2.15.0, Python 3.11.6, CUDA 12.2, on Ubuntu 22.04.\n"
BOTH = Router(types_router, missing_info_router)


@pytest.fixture(autouse=True)
def _fresh_templates():
    clear_template_cache()
    yield
    clear_template_cache()


@pytest.fixture
def gh(sandbox):
    return build_github(token="t", api_url=sandbox.base_url, seconds_between_writes=0)


def new_issue(sandbox, body: Any, *, title: str = TITLE, labels=(), user: str = "ana") -> int:
    issue = sandbox.state.add_issue(REPO, title=title, body=body, user=user, labels=list(labels))
    return int(issue["number"])


def event(shared_dir, sandbox, number: int, action: str = "opened", **issue_fields) -> Event:
    """GitHub's real ``issues.<action>`` payload, its issue made the sandbox's current one."""
    name = "edited" if action == "edited" else "opened"
    payload = copy.deepcopy(
        json.loads((shared_dir / f"github/webhooks/issues/{name}.json").read_text())
    )
    with sandbox.state.lock:
        issue = sandbox.state.issue(REPO, number)
        fields = {k: copy.deepcopy(issue.get(k)) for k in ("title", "body", "state")}
        labels = [{"name": name} for name in issue["labels"]]
        login = issue["user"]
    payload["action"] = action
    payload["issue"].update(number=number, labels=labels, **fields)
    payload["issue"]["user"] = {"login": login, "type": "User"}
    payload["issue"].update(issue_fields)
    payload["repository"]["full_name"] = REPO
    payload["repository"]["name"] = "widgets"
    payload["sender"] = {"login": login, "type": "User"}
    if action == "edited":
        payload["changes"] = {"body": {"from": "(the earlier text)"}}
    return Event("issues", payload, delivery_id=f"{action}-{number}")


def ctx_for(gh, config: Config | None = None, **kwargs) -> HandlerContext:
    return HandlerContext(github=gh, config=config or Config.default(), **kwargs)


def run(router, ev: Event, ctx: HandlerContext, *, decided: str | None = None):
    if decided is not None:
        ctx.decisions["type"] = decided
    result = dispatch(router, ev, ctx)
    assert result.ok, result.summary()
    return result.outcomes[-1]


def writes(sandbox) -> list[tuple[str, str]]:
    return [(r.method, r.route) for r in sandbox.requests if r.method in WRITES]


def labels_of(gh, number: int) -> list[str]:
    return sorted(label.name for label in gh.get_repo(REPO).get_issue(number).labels)


def bot_comments(gh, number: int) -> list[Any]:
    issue = gh.get_repo(REPO).get_issue(number)
    return [c for c in issue.get_comments() if c.body.startswith("<!-- maintbot:triage -->")]


def edit_body(gh, number: int, body: str) -> None:
    """The author edits the description, through the API like the web page does."""
    gh.get_repo(REPO).get_issue(number).edit(body=body)


# ------------------------------------------------------------------------------ the bar


def test_bug_without_versions_is_asked_then_an_edit_supplies_them(shared_dir, sandbox, gh):
    number = new_issue(sandbox, TF_NO_VERSIONS)
    sandbox.clear_requests()

    outcome = run(BOTH, event(shared_dir, sandbox, number), ctx_for(gh))
    assert outcome.kind == "ok", outcome.status
    assert outcome.result["missing"] == ["versions", "os"]
    assert outcome.result["labels_added"] == ["needs-info"]
    assert labels_of(gh, number) == ["bug", "needs-info"]
    (comment,) = bot_comments(gh, number)
    assert "- **Versions**" in comment.body and "- **Operating system**" in comment.body
    assert "A minimal reproduction" not in comment.body  # it has one
    assert "<!-- maintbot-section:type -->" in comment.body  # one comment, two sections
    assert '<!-- maintbot-asked ["versions", "os"] label="needs-info" -->' in comment.body
    created = sandbox.state.repo(REPO)["labels"]
    assert any(lbl["name"] == "needs-info" and lbl["color"] == "e4e669" for lbl in created.values())

    # a second delivery of the same event writes nothing
    sandbox.clear_requests()
    again = run(BOTH, event(shared_dir, sandbox, number), ctx_for(gh))
    assert again.result["comment"] == "unchanged"
    assert writes(sandbox) == []

    # the author adds the versions: needs-info goes, the same comment says thanks
    edit_body(gh, number, TF_NO_VERSIONS + VERSIONS)
    sandbox.clear_requests()
    edited = run(BOTH, event(shared_dir, sandbox, number, "edited"), ctx_for(gh))
    assert edited.result["missing"] == []
    assert edited.result["labels_removed"] == ["needs-info"]
    assert labels_of(gh, number) == ["bug"]
    (after,) = bot_comments(gh, number)
    assert after.id == comment.id
    assert "Thanks for adding the details" in after.body
    assert "- **Versions**" not in after.body
    assert "<!-- maintbot-section:type -->" in after.body  # the type section is kept
    assert ("DELETE", "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}") in (
        writes(sandbox)
    )

    # replaying the edit (twice) and the original delivery writes nothing more
    for ev in (event(shared_dir, sandbox, number, "edited"),) * 2 + (
        event(shared_dir, sandbox, number),
    ):
        sandbox.clear_requests()
        run(BOTH, ev, ctx_for(gh))
        assert writes(sandbox) == [], ev.action
    assert len(bot_comments(gh, number)) == 1
    assert labels_of(gh, number) == ["bug"]


def test_dry_run_sends_only_gets_and_plans_the_exact_writes(shared_dir, sandbox, gh):
    number = new_issue(sandbox, TF_NO_VERSIONS)
    sandbox.clear_requests()
    ctx = ctx_for(gh, dry_run=True)
    outcome = run(missing_info_router, event(shared_dir, sandbox, number), ctx, decided="bug")
    assert {r.method for r in sandbox.requests} == {"GET"}
    assert outcome.result["labels_added"] == ["needs-info"]
    planned = {p["action"]: p for p in ctx.planned}
    assert planned["label"] == {
        "action": "label",
        "repo": REPO,
        "issue": number,
        "labels": ["needs-info"],
    }
    assert planned["comment"]["section"] == "missing_info"
    assert parse_asked(planned["comment"]["body"]).items == ("versions", "os")
    assert labels_of(gh, number) == [] and bot_comments(gh, number) == []


def test_dry_run_of_a_completing_edit_plans_the_label_removal(shared_dir, sandbox, gh):
    number = new_issue(sandbox, TF_NO_VERSIONS)
    run(missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="bug")
    edit_body(gh, number, TF_NO_VERSIONS + VERSIONS)
    sandbox.clear_requests()
    ctx = ctx_for(gh, dry_run=True)
    run(missing_info_router, event(shared_dir, sandbox, number, "edited"), ctx, decided="bug")
    assert {r.method for r in sandbox.requests} == {"GET"}
    assert [p["action"] for p in ctx.planned] == ["unlabel", "comment"]
    assert ctx.planned[0]["labels"] == ["needs-info"]
    assert labels_of(gh, number) == ["needs-info"]  # nothing was written


# ------------------------------------------------------------------------------ edits


def test_a_partial_edit_updates_the_list_and_keeps_the_label(shared_dir, sandbox, gh):
    body = "Training crashes and I do not know why. Please help!"
    number = new_issue(sandbox, body)
    first = run(missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="bug")
    assert first.result["missing"] == ["versions", "os", "reproduction", "error", "expected"]
    (comment,) = bot_comments(gh, number)

    edit_body(gh, number, body + f"\n\n{TF_CODE}\n\n{TF_TRACEBACK}\n")
    sandbox.clear_requests()
    second = run(
        missing_info_router,
        event(shared_dir, sandbox, number, "edited"),
        ctx_for(gh),
        decided="bug",
    )
    assert second.result["missing"] == ["versions", "os"]
    assert second.result["labels_added"] == [] and second.result["labels_removed"] == []
    assert writes(sandbox) == [
        ("PATCH", "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}")
    ]
    (after,) = bot_comments(gh, number)
    assert after.id == comment.id
    assert "A minimal reproduction" not in after.body and "- **Versions**" in after.body
    assert labels_of(gh, number) == ["needs-info"]


def test_a_label_a_person_set_is_never_removed(shared_dir, sandbox, gh):
    number = new_issue(sandbox, TF_NO_VERSIONS, labels=["needs-info"])
    first = run(missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="bug")
    assert first.result["labels_added"] == []
    edit_body(gh, number, TF_NO_VERSIONS + VERSIONS)
    done = run(
        missing_info_router,
        event(shared_dir, sandbox, number, "edited"),
        ctx_for(gh),
        decided="bug",
    )
    assert done.result["labels_removed"] == []
    assert labels_of(gh, number) == ["needs-info"]
    assert "Thanks for adding the details" in bot_comments(gh, number)[0].body


def test_a_label_a_person_took_off_is_not_added_again(shared_dir, sandbox, gh):
    number = new_issue(sandbox, "It crashes.")
    run(missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="bug")
    gh.get_repo(REPO).get_issue(number).remove_from_labels("needs-info")  # a maintainer
    edit_body(gh, number, f"It crashes.\n\n{TF_TRACEBACK}\n")
    sandbox.clear_requests()
    outcome = run(
        missing_info_router,
        event(shared_dir, sandbox, number, "edited"),
        ctx_for(gh),
        decided="bug",
    )
    assert "taken off by a person" in outcome.result["reason"]
    assert labels_of(gh, number) == []
    assert all("labels" not in route for _, route in writes(sandbox))


def test_a_complete_report_gets_no_comment_and_no_label(shared_dir, sandbox, gh):
    number = new_issue(sandbox, TF_NO_VERSIONS + VERSIONS)
    sandbox.clear_requests()
    outcome = run(
        missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="bug"
    )
    assert outcome.kind == "ok" and outcome.result["reason"] == "nothing is missing"
    assert writes(sandbox) == []


# ------------------------------------------------------------------------------ templates


def test_issue_form_answers_count_and_no_response_does_not(shared_dir, sandbox, gh):
    sandbox.state.set_content(REPO, ".github/ISSUE_TEMPLATE/00-bug-issue.yml", TF_FORM)
    number = new_issue(sandbox, tf_form_body())
    outcome = run(
        missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="bug"
    )
    assert outcome.result["template"] == ".github/ISSUE_TEMPLATE/00-bug-issue.yml"
    assert outcome.result["missing"] == ["versions", "os"]
    body = bot_comments(gh, number)[0].body
    assert "(section “TensorFlow version”)" in body

    filled = tf_form_body(
        **{"TensorFlow version": "2.15.0", "OS platform and distribution": "Windows 11"}
    )
    edit_body(gh, number, filled)
    sandbox.clear_requests()
    done = run(
        missing_info_router,
        event(shared_dir, sandbox, number, "edited"),
        ctx_for(gh),
        decided="bug",
    )
    assert done.result["missing"] == [] and done.result["labels_removed"] == ["needs-info"]
    # the templates were read once for both events (cached), never written
    contents = [r for r in sandbox.requests if "contents" in r.route]
    assert contents == []


# ------------------------------------------------------------------------------ who is asked


def test_only_the_configured_types(shared_dir, sandbox, gh):
    number = new_issue(sandbox, "It crashes.", labels=["question"])
    sandbox.clear_requests()
    feature = run(
        missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="feature"
    )
    assert feature.status == "skipped: type feature is not in triage.missing_info.types"
    unsure = run(
        missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="needs-triage"
    )
    assert unsure.kind == "skipped"
    person = run(missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh))
    assert person.status == "skipped: type question is not in triage.missing_info.types"
    assert writes(sandbox) == []

    config = parse_config("triage:\n  missing_info:\n    types: [bug, question]\n")
    asked = run(missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh, config))
    assert asked.kind == "ok" and "needs-info" in labels_of(gh, number)


def test_a_label_set_after_the_payload_was_sent_counts(shared_dir, sandbox, gh):
    number = new_issue(sandbox, "It crashes.")
    ev = event(shared_dir, sandbox, number)  # no labels in the payload
    gh.get_repo(REPO).get_issue(number).add_to_labels("bug")  # a maintainer, a moment later
    outcome = run(missing_info_router, ev, ctx_for(gh))
    assert outcome.kind == "ok" and labels_of(gh, number) == ["bug", "needs-info"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"pull_request": {"url": "x"}}, "a pull request"),
        ({"state": "closed"}, "the issue is closed"),
        (
            {"user": {"login": "dependabot[bot]", "type": "Bot"}},
            "author dependabot[bot] is ignored",
        ),
    ],
)
def test_pull_requests_closed_issues_and_bots_are_skipped(shared_dir, sandbox, gh, change, reason):
    number = new_issue(sandbox, "It crashes.")
    sandbox.clear_requests()
    outcome = run(
        missing_info_router,
        event(shared_dir, sandbox, number, **change),
        ctx_for(gh),
        decided="bug",
    )
    assert outcome.status == f"skipped: {reason}"
    assert sandbox.requests == []


@pytest.mark.parametrize(
    ("yaml", "reason"),
    [
        ("triage:\n  missing_info:\n    enabled: false\n", "triage.missing_info.enabled is false"),
        ("triage:\n  missing_info:\n    ask_for: []\n", "triage.missing_info.ask_for is empty"),
        ("triage:\n  enabled: false\n", "triage.enabled is false"),
        ("triage:\n  ignore_authors: [ana]\n", "author ana is ignored"),
    ],
)
def test_configuration_turns_it_off(shared_dir, sandbox, gh, yaml, reason):
    number = new_issue(sandbox, "It crashes.")
    sandbox.clear_requests()
    ctx = ctx_for(gh, parse_config(yaml))
    outcome = run(missing_info_router, event(shared_dir, sandbox, number), ctx, decided="bug")
    assert outcome.status == f"skipped: {reason}"
    assert sandbox.requests == []


def test_ask_for_and_needs_info_null_change_what_is_written(shared_dir, sandbox, gh):
    config = parse_config(
        "labels:\n  needs_info: null\ntriage:\n  missing_info:\n    ask_for: [versions]\n"
    )
    number = new_issue(sandbox, "It crashes on Ubuntu.")
    outcome = run(
        missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh, config), decided="bug"
    )
    assert outcome.result["missing"] == ["versions"]
    assert labels_of(gh, number) == []  # comment only
    body = bot_comments(gh, number)[0].body
    assert "- **Versions**" in body and "Operating system" not in body
    assert "label" not in body.split("maintbot-asked", 1)[1].split("-->", 1)[0]


def test_needs_info_label_name_from_config(shared_dir, sandbox, gh):
    config = parse_config("labels:\n  needs_info: 'status: waiting for author'\n")
    number = new_issue(sandbox, "It crashes.")
    run(missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh, config), decided="bug")
    assert labels_of(gh, number) == ["status: waiting for author"]


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "opened"},
        {"action": "opened", "issue": "nope", "repository": {"full_name": REPO}},
        {"action": "opened", "issue": {"number": "7"}, "repository": {"full_name": REPO}},
        {"action": "opened", "issue": {"number": 7}},
    ],
)
def test_payloads_missing_keys_are_skipped_with_a_reason(sandbox, gh, payload):
    outcome = run(missing_info_router, Event("issues", payload), ctx_for(gh), decided="bug")
    assert outcome.kind == "skipped"
    assert sandbox.requests == []


def test_a_huge_junk_body_gets_one_ask(shared_dir, sandbox, gh):
    junk = "\x00\x01 binary \ufffd\x7f" * 40_000 + "``` <!-- #" * 1000
    number = new_issue(sandbox, junk[:65_536])
    outcome = run(
        missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="bug"
    )
    assert outcome.result["missing"] == ["versions", "os", "reproduction", "error", "expected"]
    assert len(bot_comments(gh, number)) == 1


def test_a_null_body_is_asked_for_everything(shared_dir, sandbox, gh):
    number = new_issue(sandbox, None)
    outcome = run(
        missing_info_router, event(shared_dir, sandbox, number), ctx_for(gh), decided="bug"
    )
    assert len(outcome.result["missing"]) == 5


def test_without_a_github_client_it_plans_from_the_payload(shared_dir, sandbox):
    number = new_issue(sandbox, TF_NO_VERSIONS)
    ctx = HandlerContext(github=None, config=Config.default())
    outcome = run(missing_info_router, event(shared_dir, sandbox, number), ctx, decided="bug")
    assert outcome.result["comment"] == "planned"
    assert [p["action"] for p in ctx.planned] == ["label", "comment"]
    assert sandbox.requests == []


def test_a_bug_relabelled_as_a_question_gets_its_ask_taken_back(shared_dir, sandbox, gh):
    number = new_issue(sandbox, TF_NO_VERSIONS)
    run(Router(missing_info_router), event(shared_dir, sandbox, number), ctx_for(gh), decided="bug")
    assert "needs-info" in labels_of(gh, number)
    (comment,) = bot_comments(gh, number)
    assert "maintbot-asked" in comment.body

    # the type is now a question (the bot re-triaged the edit, or a person relabelled it)
    outcome = run(
        Router(missing_info_router),
        event(shared_dir, sandbox, number, "edited"),
        ctx_for(gh),
        decided="question",
    )
    assert outcome.kind == "ok" and "taken back" in outcome.result["reason"]
    assert "needs-info" not in labels_of(gh, number)
    (comment,) = bot_comments(gh, number)
    assert "maintbot-asked" not in comment.body

    # again: nothing left to take back, nothing written
    sandbox.clear_requests()
    outcome = run(
        Router(missing_info_router),
        event(shared_dir, sandbox, number, "edited"),
        ctx_for(gh),
        decided="question",
    )
    assert outcome.kind == "skipped" and writes(sandbox) == []


def test_a_needs_info_label_a_person_set_stays_when_the_type_changes(shared_dir, sandbox, gh):
    number = new_issue(sandbox, TF_NO_VERSIONS, labels=["needs-info"])
    outcome = run(
        Router(missing_info_router),
        event(shared_dir, sandbox, number, "edited"),
        ctx_for(gh),
        decided="question",
    )
    assert outcome.kind == "skipped"
    assert "needs-info" in labels_of(gh, number)
