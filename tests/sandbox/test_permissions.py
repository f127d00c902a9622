"""Collaborator roles in the sandbox answer as GitHub does: ``permission`` in the four old
levels, ``role_name`` with triage and maintain (what slash commands read)."""

from __future__ import annotations

import httpx
import pytest
from github import Auth, Github

from bot.sandbox.state import SandboxStateError

REPO = "lab/roles"
FAST = {"retry": None, "seconds_between_requests": None, "seconds_between_writes": None}
ROLES = {"rita": "read", "tom": "triage", "wendy": "write", "max": "maintain", "ada": "admin"}


@pytest.fixture
def sb(make_sandbox):
    sb = make_sandbox()
    sb.state.add_repo(REPO, collaborators=ROLES)
    sb.state.add_user("stranger")
    return sb


def answer(sb, login: str) -> httpx.Response:
    with httpx.Client(base_url=sb.base_url, timeout=10) as http:
        return http.get(
            f"/repos/{REPO}/collaborators/{login}/permission",
            headers={"Authorization": "token t"},
        )


@pytest.mark.parametrize(
    ("login", "permission", "role_name"),
    [
        ("lab", "admin", "admin"),  # the owner
        ("ada", "admin", "admin"),
        ("max", "write", "maintain"),
        ("wendy", "write", "write"),
        ("tom", "read", "triage"),
        ("rita", "read", "read"),
        ("stranger", "read", "read"),  # anyone, on a public repository
    ],
)
def test_permission_and_role_name(sb, login, permission, role_name):
    reply = answer(sb, login)
    assert reply.status_code == 200
    body = reply.json()
    assert (body["permission"], body["role_name"]) == (permission, role_name)
    assert body["user"]["login"] == login
    assert body["user"]["role_name"] == role_name
    flags = body["user"]["permissions"]
    assert set(flags) == {"pull", "triage", "push", "maintain", "admin"}
    assert flags["triage"] is (role_name in ("triage", "write", "maintain", "admin"))
    assert flags["push"] is (permission in ("write", "admin"))


def test_pygithub_reads_both_fields(sb):
    repo = Github(base_url=sb.base_url, auth=Auth.Token("t"), **FAST).get_repo(REPO)
    assert repo.get_collaborator_permission("tom") == "read"
    assert repo.get_collaborator_role_name("tom") == "triage"
    assert repo.get_collaborator_role_name("max") == "maintain"
    assert repo.has_in_collaborators("rita")  # a read-role collaborator is still one
    assert not repo.has_in_collaborators("stranger")


def test_private_repository_and_unknown_user(make_sandbox):
    sb = make_sandbox()
    sb.state.add_repo(REPO, private=True, collaborators={"tom": "triage"})
    sb.state.add_user("stranger")
    assert answer(sb, "stranger").json()["role_name"] == "none"
    assert answer(sb, "stranger").json()["permission"] == "none"
    assert answer(sb, "nobody-at-all").status_code == 404


def test_a_plain_list_of_collaborators_still_means_write(make_sandbox):
    sb = make_sandbox()
    sb.state.add_repo(REPO, collaborators=["Maint"])
    body = answer(sb, "maint").json()
    assert (body["permission"], body["role_name"]) == ("write", "write")


def test_roles_change_and_bad_roles_are_refused(sb):
    sb.state.set_collaborator(REPO, "tom", "maintain")
    assert answer(sb, "tom").json()["role_name"] == "maintain"
    sb.state.set_collaborator(REPO, "tom", None)
    assert answer(sb, "tom").json()["role_name"] == "read"
    with pytest.raises(SandboxStateError, match="roles: read, triage"):
        sb.state.set_collaborator(REPO, "tom", "owner")
    with pytest.raises(SandboxStateError):
        sb.state.add_repo("lab/other", collaborators={"x": "superuser"})
