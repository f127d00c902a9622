"""Every operation in ../shared/github/rest/operations.json, answered by the sandbox, validates
against the response schema GitHub's OpenAPI description gives for it (errors included)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from github import Auth
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from bot.sandbox.server import Sandbox
from tests.fixtures.sandbox import DEFAULT_REPO, seed_widgets

REPO = f"/repos/{DEFAULT_REPO}"
PR = 5  # the pull request build_world adds after the four issues of octo/widgets


@dataclass(frozen=True)
class Case:
    """One request and the status GitHub documents for it."""

    operation_id: str
    method: str
    path: str
    status: int
    body: Any = None
    # "token", "jwt" (the App), "none", "bad" (an unknown ghs_ token), or "completed"
    # (a token, and the answer is checked against the unmodified schema)
    auth: str = "token"
    query: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.operation_id}-{self.status}-{self.auth}"


SUCCESS_CASES = [
    Case("apps/get-authenticated", "GET", "/app", 200, auth="jwt"),
    Case(
        "apps/create-installation-access-token",
        "POST",
        "/app/installations/{installation_id}/access_tokens",
        201,
        body={},
        auth="jwt",
    ),
    Case("apps/get-repo-installation", "GET", f"{REPO}/installation", 200, auth="jwt"),
    Case("rate-limit/get", "GET", "/rate_limit", 200),
    Case(
        "search/issues-and-pull-requests",
        "GET",
        "/search/issues",
        200,
        query={"q": f"repo:{DEFAULT_REPO} is:open created:>=2024-01-01"},
    ),
    Case("repos/get", "GET", REPO, 200),
    Case("issues/list-for-repo", "GET", f"{REPO}/issues", 200, query={"state": "all"}),
    Case("issues/get", "GET", f"{REPO}/issues/1", 200),
    Case("issues/get", "GET", f"{REPO}/issues/{PR}", 200, auth="none"),
    Case(
        "issues/update",
        "PATCH",
        f"{REPO}/issues/1",
        200,
        body={"state": "closed", "state_reason": "not_planned", "labels": ["bug", "wontfix"]},
    ),
    Case("issues/list-labels-on-issue", "GET", f"{REPO}/issues/1/labels", 200),
    Case("issues/add-labels", "POST", f"{REPO}/issues/1/labels", 200, body={"labels": ["new"]}),
    Case("issues/add-labels", "POST", f"{REPO}/issues/2/labels", 200, body=["question"]),
    Case("issues/set-labels", "PUT", f"{REPO}/issues/1/labels", 200, body={"labels": ["docs"]}),
    Case("issues/remove-all-labels", "DELETE", f"{REPO}/issues/1/labels", 204),
    Case("issues/remove-label", "DELETE", f"{REPO}/issues/1/labels/bug", 200),
    Case("issues/list-comments", "GET", f"{REPO}/issues/1/comments", 200),
    Case("issues/create-comment", "POST", f"{REPO}/issues/1/comments", 201, body={"body": "Hi"}),
    Case("issues/get-comment", "GET", f"{REPO}/issues/comments/{{comment_id}}", 200),
    Case(
        "issues/update-comment",
        "PATCH",
        f"{REPO}/issues/comments/{{comment_id}}",
        200,
        body={"body": "edited"},
    ),
    Case("issues/delete-comment", "DELETE", f"{REPO}/issues/comments/{{comment_id}}", 204),
    Case("pulls/list", "GET", f"{REPO}/pulls", 200, query={"state": "all"}),
    Case("pulls/get", "GET", f"{REPO}/pulls/{PR}", 200),
    Case("pulls/list-files", "GET", f"{REPO}/pulls/{PR}/files", 200),
    Case("pulls/list-commits", "GET", f"{REPO}/pulls/{PR}/commits", 200),
    Case("pulls/list-reviews", "GET", f"{REPO}/pulls/{PR}/reviews", 200),
    Case("repos/list-commits", "GET", f"{REPO}/commits", 200),
    Case("repos/list-contributors", "GET", f"{REPO}/contributors", 200),
    Case("issues/list-labels-for-repo", "GET", f"{REPO}/labels", 200),
    Case(
        "issues/create-label",
        "POST",
        f"{REPO}/labels",
        201,
        body={"name": "needs-triage", "color": "fbca04", "description": "Not yet triaged"},
    ),
    Case(
        "checks/create",
        "POST",
        f"{REPO}/check-runs",
        201,
        body={
            "name": "maintbot/benchmark",
            "head_sha": "{head_sha}",
            "status": "in_progress",
            "output": {"title": "Running", "summary": "Training the MNIST MLP on base and head"},
        },
    ),
    Case(
        "checks/create",
        "POST",
        f"{REPO}/check-runs",
        201,
        body={"name": "lint", "head_sha": "{head_sha}", "conclusion": "failure"},
        auth="completed",
    ),
    Case("checks/get", "GET", f"{REPO}/check-runs/{{check_run_id}}", 200),
    Case(
        "checks/update",
        "PATCH",
        f"{REPO}/check-runs/{{check_run_id}}",
        200,
        body={
            "conclusion": "success",
            "output": {"title": "No regression", "summary": "accuracy 97.6% (base 97.5%)"},
        },
    ),
]

ERROR_CASES = [
    Case(
        "apps/create-installation-access-token",
        "POST",
        "/app/installations/1/access_tokens",
        401,
        body={},
        auth="none",
    ),
    Case(
        "apps/create-installation-access-token",
        "POST",
        "/app/installations/999999/access_tokens",
        404,
        body={},
        auth="jwt",
    ),
    Case(
        "apps/get-repo-installation", "GET", "/repos/nobody/nothing/installation", 404, auth="jwt"
    ),
    Case("search/issues-and-pull-requests", "GET", "/search/issues", 422, query={"q": ""}),
    Case(
        "search/issues-and-pull-requests",
        "GET",
        "/search/issues",
        401,
        auth="bad",
        query={"q": "is:issue"},
    ),
    Case("repos/get", "GET", "/repos/nobody/nothing", 404),
    Case("issues/list-for-repo", "GET", "/repos/nobody/nothing/issues", 404),
    Case("issues/list-for-repo", "GET", f"{REPO}/issues", 422, query={"state": "bogus"}),
    Case("issues/get", "GET", f"{REPO}/issues/999", 404),
    Case("issues/update", "PATCH", f"{REPO}/issues/999", 404, body={"title": "x"}),
    Case("issues/update", "PATCH", f"{REPO}/issues/1", 422, body={"state": "bogus"}),
    Case("issues/list-labels-on-issue", "GET", f"{REPO}/issues/999/labels", 404),
    Case("issues/add-labels", "POST", f"{REPO}/issues/999/labels", 404, body={"labels": ["a"]}),
    Case("issues/add-labels", "POST", f"{REPO}/issues/1/labels", 422, body={"labels": 7}),
    Case("issues/set-labels", "PUT", f"{REPO}/issues/999/labels", 404, body={"labels": ["a"]}),
    Case("issues/set-labels", "PUT", f"{REPO}/issues/1/labels", 422, body={"labels": [{}]}),
    Case("issues/remove-all-labels", "DELETE", f"{REPO}/issues/999/labels", 404),
    Case("issues/remove-label", "DELETE", f"{REPO}/issues/1/labels/not-there", 404),
    Case("issues/list-comments", "GET", f"{REPO}/issues/999/comments", 404),
    Case("issues/create-comment", "POST", f"{REPO}/issues/999/comments", 404, body={"body": "x"}),
    Case("issues/create-comment", "POST", f"{REPO}/issues/1/comments", 422, body={"body": ""}),
    Case("issues/get-comment", "GET", f"{REPO}/issues/comments/1", 404),
    Case("issues/update-comment", "PATCH", f"{REPO}/issues/comments/{{comment_id}}", 422, body={}),
    Case("pulls/list", "GET", f"{REPO}/pulls", 422, query={"state": "merged"}),
    Case("pulls/get", "GET", f"{REPO}/pulls/1", 404),
    Case("repos/list-commits", "GET", "/repos/nobody/nothing/commits", 404),
    Case("repos/list-contributors", "GET", "/repos/nobody/nothing/contributors", 404),
    Case("issues/list-labels-for-repo", "GET", "/repos/nobody/nothing/labels", 404),
    Case("issues/create-label", "POST", "/repos/nobody/nothing/labels", 404, body={"name": "x"}),
    Case("issues/create-label", "POST", f"{REPO}/labels", 422, body={"name": "BUG"}),
    # Writes without a token: GitHub's 401 (not listed per operation, still basic-error).
    Case("issues/update", "PATCH", f"{REPO}/issues/1", 401, body={"title": "x"}, auth="none"),
    Case(
        "issues/create-comment",
        "POST",
        f"{REPO}/issues/1/comments",
        401,
        body={"body": "x"},
        auth="none",
    ),
    Case("apps/get-authenticated", "GET", "/app", 401, auth="token"),
]


def build_world(sb: Sandbox) -> dict[str, Any]:
    """octo/widgets plus a pull request with files, commits, reviews, a check run, an install."""
    seed_widgets(sb)
    state = sb.state
    state.add_commit(
        DEFAULT_REPO, message="Initial commit", author="octo-admin", date="2024-01-01T09:00:00Z"
    )
    state.add_commit(
        DEFAULT_REPO,
        message="Bump numpy from 1.26 to 2.0",
        author="dependabot[bot]",
        date="2024-01-05T09:00:00Z",
    )
    state.add_commit(
        DEFAULT_REPO,
        message="Fix typo",
        author=None,
        author_name="Anon",
        author_email="anon@example.org",
        date="2024-01-06T09:00:00Z",
    )
    pull = state.add_pull(
        DEFAULT_REPO,
        title="Handle empty input in widget()",
        body="Fixes #1",
        user="erin",
        head="fix-empty",
        labels=["bug"],
        requested_reviewers=["maintainer"],
        created_at="2024-03-06T10:00:00Z",
        files=[
            {
                "filename": "widgets/core.py",
                "status": "modified",
                "additions": 4,
                "deletions": 1,
                "patch": "@@ -10,3 +10,6 @@ def widget(items):\n+    if not items:",
            },
            {"filename": "tests/test_core.py", "status": "added", "additions": 12, "deletions": 0},
        ],
        commits=[
            {"message": "Handle empty input", "date": "2024-03-06T09:00:00Z"},
            {"message": "Add a test", "date": "2024-03-06T09:30:00Z"},
        ],
    )
    assert pull["number"] == PR
    review = state.add_review(
        DEFAULT_REPO,
        PR,
        user="maintainer",
        state="APPROVED",
        body="Looks good",
        submitted_at="2024-03-07T10:00:00Z",
    )
    state.add_review_comment(
        DEFAULT_REPO,
        PR,
        user="maintainer",
        body="Nice test",
        path="tests/test_core.py",
        line=3,
        review_id=review["id"],
        created_at="2024-03-07T10:00:00Z",
    )
    check = state.add_check_run(
        DEFAULT_REPO, name="ci", head_sha=pull["pull"]["head_sha"], conclusion="success"
    )
    installation = state.add_installation(account="octo")
    comment_id = next(iter(state.repo(DEFAULT_REPO)["comments"]))
    return {
        "installation_id": installation["id"],
        "comment_id": comment_id,
        "check_run_id": check["id"],
        "head_sha": pull["pull"]["head_sha"],
    }


@pytest.fixture(scope="module")
def spec(shared_dir) -> dict[str, Any]:
    """The schema subset, with two upstream misfits allowed for.

    GitHub sends ``"conclusion": null`` for a check run that is not completed (its own
    example for checks/create does), but ``check-run.conclusion``'s enum has no null. And
    ``issue.state_reason`` is ``nullable`` (GitHub sends null for open issues and pull
    requests), but under OpenAPI 3.0.3 an enum without null still refuses null.
    """
    document = json.loads((shared_dir / "github/rest/openapi-subset.json").read_text())
    schemas = document["components"]["schemas"]
    conclusion = schemas["check-run"]["properties"]["conclusion"]
    assert None not in conclusion["enum"], "upstream fixed the quirk: drop this allowance"
    conclusion["enum"].append(None)
    state_reason = schemas["issue"]["properties"]["state_reason"]
    assert state_reason["nullable"], "GitHub no longer documents a null state_reason"
    assert None not in state_reason["enum"], "upstream fixed the quirk: drop this allowance"
    state_reason["enum"].append(None)
    return document


@pytest.fixture(scope="module")
def strict_spec(shared_dir) -> dict[str, Any]:
    return json.loads((shared_dir / "github/rest/openapi-subset.json").read_text())


@pytest.fixture(scope="module")
def operations(shared_dir) -> list[dict[str, Any]]:
    return json.loads((shared_dir / "github/rest/operations.json").read_text())


def response_schema(spec: dict[str, Any], op: dict[str, Any], status: int) -> dict | None:
    """The JSON schema GitHub documents for ``op`` answering ``status`` (None: no body)."""
    response = spec["paths"][op["path"]][op["method"].lower()]["responses"][str(status)]
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        response = spec["components"]["responses"][name]
    content = response.get("content", {}).get("application/json")
    return content["schema"] if content else None


def validate(spec: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """OAS 3.0 validation (``nullable``), with ``#/components/...`` refs resolved in the spec."""
    root = {**schema, "components": spec["components"]}
    validator = OAS30Validator(root, format_checker=oas30_format_checker)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:10]
    )


@pytest.fixture(scope="module")
def http() -> httpx.Client:
    with httpx.Client(timeout=10) as client:
        yield client


def perform(
    case: Case, app_keys, http: httpx.Client, accept: str = "application/vnd.github+json"
) -> tuple[httpx.Response, Sandbox]:
    sb = Sandbox(app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem)
    ids = build_world(sb)
    sb.start()
    headers = {"Accept": accept}
    if case.auth in ("token", "completed"):
        headers["Authorization"] = "token user-token"
    elif case.auth == "bad":
        headers["Authorization"] = "token ghs_not_issued_by_the_sandbox"
    elif case.auth == "jwt":
        jwt_token = Auth.AppAuth(app_keys.app_id, app_keys.private_pem).create_jwt()
        headers["Authorization"] = f"Bearer {jwt_token}"
    path = case.path.format(**ids)
    body = json.loads(json.dumps(case.body).replace("{head_sha}", ids["head_sha"]))
    try:
        response = http.request(
            case.method,
            sb.base_url + path,
            params=case.query,
            headers=headers,
            content=None if case.body is None else json.dumps(body),
        )
    finally:
        sb.stop()
    return response, sb


def operation(operations: list[dict[str, Any]], operation_id: str) -> dict[str, Any]:
    return next(op for op in operations if op["operationId"] == operation_id)


def test_every_listed_operation_has_a_success_case(operations):
    assert {c.operation_id for c in SUCCESS_CASES} == {op["operationId"] for op in operations}


def test_cases_use_the_documented_method_and_path(operations):
    """Each case really requests its operation's route (not some other route's)."""
    import re

    for case in SUCCESS_CASES + ERROR_CASES:
        op = operation(operations, case.operation_id)
        assert case.method == op["method"], case.id
        pattern = "^" + re.sub(r"\{\w+\}", "[^/]+", op["path"]) + "$"
        concrete = case.path.replace("{", "").replace("}", "")
        assert re.match(pattern, concrete), (case.id, case.path, op["path"])


@pytest.mark.parametrize("case", SUCCESS_CASES, ids=lambda c: c.id)
def test_success_response_matches_schema(case, spec, strict_spec, operations, app_keys, http):
    response, sb = perform(case, app_keys, http)
    assert response.status_code == case.status, response.text
    op = operation(operations, case.operation_id)
    schema = response_schema(spec, op, case.status)
    if schema is None:
        assert response.content == b""
    else:
        validate(strict_spec if case.auth == "completed" else spec, schema, response.json())
    assert [r.route for r in sb.requests] == [f"{op['method']} {op['path']}"]


# Reads whose answers carry Markdown bodies (GitHub's "full" media type adds body_text/_html).
BODY_READS = {
    "issues/get",
    "issues/list-for-repo",
    "issues/list-comments",
    "issues/get-comment",
    "pulls/get",
    "pulls/list",
    "pulls/list-reviews",
    "search/issues-and-pull-requests",
}
FULL_MEDIA_CASES = [c for c in SUCCESS_CASES if c.operation_id in BODY_READS and c.auth == "token"]


@pytest.mark.parametrize("case", FULL_MEDIA_CASES, ids=lambda c: c.id)
def test_full_media_type_answers_match_schema(case, spec, operations, app_keys, http):
    response, _ = perform(case, app_keys, http, accept="application/vnd.github.v3.full+json")
    assert response.status_code == case.status, response.text
    payload = response.json()
    validate(spec, response_schema(spec, operation(operations, case.operation_id), 200), payload)
    objects = payload.get("items", payload) if isinstance(payload, dict) else payload
    objects = objects if isinstance(objects, list) else [objects]
    assert objects and all({"body", "body_text", "body_html"} <= set(o) for o in objects)


def test_full_media_cases_cover_every_body_read():
    assert {c.operation_id for c in FULL_MEDIA_CASES} == BODY_READS


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.id)
def test_error_response_matches_schema(case, spec, operations, app_keys, http):
    response, _ = perform(case, app_keys, http)
    assert response.status_code == case.status, response.text
    op = operation(operations, case.operation_id)
    if str(case.status) in op["responses"]:
        schema = response_schema(spec, op, case.status)
    else:
        name = "validation-error" if case.status == 422 else "basic-error"
        schema = {"$ref": f"#/components/schemas/{name}"}
    assert schema is not None
    validate(spec, schema, response.json())
    if case.status == 422:
        assert response.json()["errors"], "a 422 names what was invalid"


def test_error_cases_cover_404_422_and_401():
    assert {c.status for c in ERROR_CASES} >= {401, 404, 422}
