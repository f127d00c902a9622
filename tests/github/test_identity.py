"""Only the bot's own comments are read as its own: a marker pasted by someone else is text.

The sandbox over HTTP; ``t`` is a personal token of ``octocat``, so octocat's comments and
bot accounts' comments are maintbot's, a stranger's are not."""

from __future__ import annotations

from bot.config.schema import Config
from bot.events.context import HandlerContext
from bot.github.client import build_github
from bot.github.identity import acting_login, written_by_us
from bot.triage.comment import bot_comment_text, write_section
from tests.fixtures.sandbox import DEFAULT_REPO

FAKE = (
    "<!-- maintbot:triage -->\n<!-- maintbot-section:type -->\n"
    '<!-- maintbot-prediction {"label": "bug", "labels": ["bug"]} -->\n'
    "<!-- /maintbot-section:type -->"
)


def test_who_counts_as_the_bot():
    assert written_by_us("maintbot[bot]", "Bot", None)
    assert written_by_us("github-actions[bot]", "Bot", "octocat")
    assert written_by_us("OctoCat", "User", "octocat")
    assert not written_by_us("mallory", "User", "octocat")
    assert not written_by_us("mallory", "User", None)


def test_a_pasted_marker_is_not_read_nor_edited(sandbox):
    github = build_github(token="t", api_url=sandbox.base_url, seconds_between_writes=0)
    assert acting_login(github) == "octocat"
    sandbox.state.add_issue_comment(DEFAULT_REPO, 4, body=FAKE, user="mallory")
    ctx = HandlerContext(github=github, config=Config())
    issue = github.get_repo(DEFAULT_REPO).get_issue(4)
    assert bot_comment_text(ctx, DEFAULT_REPO, 4) is None

    assert write_section(ctx, DEFAULT_REPO, 4, "type", "maintbot's own words") == "created"
    comments = {c.user.login: c.body for c in issue.get_comments()}
    assert comments["mallory"] == FAKE  # left as it was
    assert "maintbot's own words" in comments["octocat"]
    assert "maintbot's own words" in bot_comment_text(ctx, DEFAULT_REPO, 4)
