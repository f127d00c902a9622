"""The commenter's role: read from GitHub's answer, ranked, and cached for a while."""

from __future__ import annotations

import pytest

from bot.commands import permissions
from bot.commands.permissions import CACHE_SECONDS, allowed, repository_role, role_from_answer
from tests.commands.events import client


@pytest.mark.parametrize(
    ("answer", "role"),
    [
        ({"permission": "read", "role_name": "triage"}, "triage"),
        ({"permission": "write", "role_name": "maintain"}, "maintain"),
        ({"permission": "write", "role_name": "security-reviewer"}, "write"),  # a custom role
        ({"permission": "admin"}, "admin"),
        ({}, "none"),
        ({"permission": "weird", "role_name": None}, "none"),
    ],
)
def test_role_from_answer(answer, role):
    assert role_from_answer(answer) == role


def test_roles_are_ordered_weakest_first():
    assert allowed("triage", "triage") and allowed("admin", "triage")
    assert not allowed("read", "triage") and not allowed("write", "maintain")
    assert not allowed("banana", "triage")


def test_cached_until_the_time_is_up_and_unknown_users_are_none(sandbox):
    permissions.clear_cache()
    sandbox.state.set_collaborator("octo/widgets", "tria", "triage")
    repo = client(sandbox).get_repo("octo/widgets")
    asked = lambda: sum(r.route.endswith("/permission") for r in sandbox.requests)  # noqa: E731
    assert repository_role(repo, "tria", now=0.0) == "triage"
    assert repository_role(repo, "TRIA", now=CACHE_SECONDS - 1) == "triage"
    assert asked() == 1
    sandbox.state.set_collaborator("octo/widgets", "tria", "maintain")
    assert repository_role(repo, "tria", now=CACHE_SECONDS + 1) == "maintain"
    assert asked() == 2
    assert repository_role(repo, "no-such-user", now=0.0) == "none"  # GitHub's 404
    permissions.clear_cache()
