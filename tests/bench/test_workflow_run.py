"""``workflow_run.completed`` -> the benchmark comment, for the App and the Action alike.

End to end against the sandbox GitHub over real HTTP: the handler lists the finished run's
artifacts, follows the zip's 302 to its blob, extracts it and publishes through the function
``bench comment`` uses. The payload is GitHub's real example (octokit/webhooks), with the run's
name, trigger, head and id edited per scenario; results are JSON built by the builders.
"""

from __future__ import annotations

import io
import json
import stat
import tempfile
import zipfile

import pytest
from github import Auth, Github
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from bot.bench.artifact import ZipEntry, download_zip, find_run_artifact, unsafe_entries
from bot.bench.handlers import router, skip_reason
from bot.config.remote import fetch_repo_config
from bot.errors import UsageError
from bot.events.context import HandlerContext
from bot.events.router import Event, Skipped, dispatch
from tests.bench.builders import HEAD_SHA, side
from tests.bench.test_comment import CHECK, PR_HEAD, REPO_NAME, files, our_checks, our_comments

RUN_ID = 30433642
HANDLER = "bot.bench.handlers.publish_benchmark"


@pytest.fixture
def github(sandbox):
    """PR #5 of a fork at PR_HEAD editing the MLP, as in test_comment."""
    sandbox.state.add_pull(
        REPO_NAME,
        title="Tune the MLP",
        user="forker",
        head="tune",
        head_repo="forker/widgets",
        head_sha=PR_HEAD,
        number=5,
        files=files("reference_models/mnist_mlp.py"),
    )
    return sandbox


def payload(shared_dir, *, name="benchmark", trigger="pull_request", conclusion="failure"):
    """GitHub's example ``workflow_run.completed``, edited to be a run of this repository."""
    path = shared_dir / "github/webhooks/workflow_run/completed.with-pull-requests.json"
    body = json.loads(path.read_text())
    run = body["workflow_run"]
    run.update(
        name=name,
        event=trigger,
        conclusion=conclusion,
        head_sha=PR_HEAD,
        id=RUN_ID,
        path=".github/workflows/benchmark.yml",
    )
    body["repository"].update(full_name=REPO_NAME, name="widgets", default_branch="main")
    return body


def results_files(*, head_accuracies=(0.9660, 0.9642, 0.9655), claim_head=PR_HEAD):
    head = side(list(head_accuracies), label="head", sha=HEAD_SHA)
    head["pull_request"] = {"number": 5, "head_sha": claim_head}
    return {
        "base.json": json.dumps(side([0.9760, 0.9740, 0.9756])),
        "head.json": json.dumps(head),
        "comment.md": "preview, never read back",
    }


def client(sandbox):
    return Github(
        base_url=sandbox.base_url,
        auth=Auth.Token("t"),
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )


def deliver(sandbox, body, *, dry_run=False, github=True):
    """Dispatches the event as every transport does, with the default branch's config."""
    gh = client(sandbox) if github else None
    config = fetch_repo_config(gh.get_repo(REPO_NAME)) if gh else None
    if config is None:
        from bot.config.schema import Config

        config = Config.default()
    ctx = HandlerContext(github=gh, config=config, dry_run=dry_run)
    result = dispatch(router, Event("workflow_run", body, "delivery-1"), ctx)
    [outcome] = result.outcomes
    assert outcome.handler == HANDLER
    return outcome, ctx


def writes(sandbox):
    return [f"{r.method} {r.route}" for r in sandbox.requests if r.method not in ("GET", "HEAD")]


def test_a_completed_benchmark_run_becomes_the_sticky_comment_and_the_check(github, shared_dir):
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", files=results_files())
    outcome, _ = deliver(github, payload(shared_dir))
    assert outcome.kind == "ok", outcome.error
    result = outcome.result
    assert (result["run"], result["workflow"], result["pull_request"]) == (RUN_ID, "benchmark", 5)
    assert result["comment"]["action"] == "created" and result["check"]["action"] == "created"
    assert result["verdict"] == {
        "conclusion": "failure",
        "title": "regression in mnist_mlp (1 model(s) not affected)",
    }
    [body] = our_comments(github, 5)
    assert "### ❌ maintbot benchmark: regression in mnist_mlp" in body
    assert "| test accuracy | 97.52 % ± 0.11 | 96.52 % ± 0.09 | −1.00 pts |" in body
    # the scope comes from GitHub's list of the PR's files, not from the artifact
    assert "- mnist_cnn: skipped, not affected: none of the changed files" in body
    [check] = our_checks(github)
    assert (check["name"], check["conclusion"]) == (CHECK, "failure")
    assert check["output"]["summary"] == body.split("\n", 1)[1]
    routes = [r.route for r in github.requests]
    assert "GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts" in routes
    assert "GET /_blobs/artifacts/{artifact_id}" in routes  # the 302 was followed

    github.clear_requests()
    again, _ = deliver(github, payload(shared_dir))  # GitHub redelivers, or a replay
    assert again.kind == "ok", again.error
    assert again.result["comment"]["action"] == "unchanged"
    assert again.result["check"]["action"] == "unchanged"
    assert writes(github) == []
    assert len(our_comments(github, 5)) == 1 and len(our_checks(github)) == 1


def test_a_later_run_with_another_verdict_edits_the_same_comment_and_check(github, shared_dir):
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", files=results_files())
    first, _ = deliver(github, payload(shared_dir))
    assert first.kind == "ok", first.error
    [check] = our_checks(github)
    fixed = results_files(head_accuracies=(0.9760, 0.9740, 0.9756))
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID + 1, name="bench-results", files=fixed)
    body = payload(shared_dir, conclusion="success")
    body["workflow_run"]["id"] = RUN_ID + 1  # a re-run of the benchmark on the same head
    second, _ = deliver(github, body)
    assert second.kind == "ok", second.error
    assert second.result["comment"]["action"] == "updated"
    assert second.result["check"]["action"] == "updated"
    [edited] = our_checks(github)
    assert edited["id"] == check["id"] and edited["conclusion"] == "success"
    [comment] = our_comments(github, 5)
    assert "### ✅ maintbot benchmark: no regression" in comment


def test_dry_run_sends_only_get_requests_and_plans_the_writes(github, shared_dir):
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", files=results_files())
    outcome, ctx = deliver(github, payload(shared_dir), dry_run=True)
    assert outcome.kind == "ok", outcome.error
    assert outcome.result["comment"] == {"action": "created", "url": None, "dry_run": True}
    assert writes(github) == []
    assert {r.method for r in github.requests} == {"GET"}
    assert our_comments(github, 5) == [] and our_checks(github) == []
    comment, check = ctx.planned
    assert (comment["action"], comment["pull_request"], comment["change"]) == (
        "benchmark comment",
        5,
        "created",
    )
    assert "regression in mnist_mlp" in comment["body"]
    assert (check["action"], check["head_sha"], check["conclusion"]) == (
        "benchmark check",
        PR_HEAD,
        "failure",
    )


def test_a_forged_artifact_posts_nothing_and_fails_clearly(github, shared_dir):
    forged = results_files(claim_head="d" * 40)  # results made for another commit
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", files=forged)
    outcome, _ = deliver(github, payload(shared_dir))
    assert outcome.kind == "failed"
    assert "made for another commit than the workflow run's head" in outcome.error
    assert int(outcome.exit_code) == 2
    assert writes(github) == []
    assert our_comments(github, 5) == [] and our_checks(github) == []


def test_an_artifact_that_is_not_results_posts_nothing(github, shared_dir):
    broken = {**results_files(), "head.json": '{"schema": "maintbot-bench-results"'}
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", files=broken)
    outcome, _ = deliver(github, payload(shared_dir))
    assert outcome.kind == "failed" and "head.json is not valid JSON" in outcome.error
    assert writes(github) == []


def hostile_zip(names):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in results_files().items():
            archive.writestr(name, content)
        for name in names:
            archive.writestr(name, "{}")
    return buffer.getvalue()


def test_a_zip_that_climbs_out_of_its_folder_is_refused(github, shared_dir, tmp_path, monkeypatch):
    scratch = tmp_path / "a" / "b"  # where the handler's temporary folder is made
    scratch.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    zipped = hostile_zip(["../../evil.json", "../../../outside/evil.json"])
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", zip_bytes=zipped)
    outcome, _ = deliver(github, payload(shared_dir))
    assert outcome.kind == "failed"
    assert "the bench-results artifact was refused: '../../evil.json': climbs out" in outcome.error
    assert writes(github) == [] and our_comments(github, 5) == []
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b"]  # nothing written, anywhere


def test_a_symbolic_link_in_the_zip_is_refused(github, shared_dir):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("base.json", results_files()["base.json"])
        link = zipfile.ZipInfo("head.json")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    github.state.add_artifact(
        REPO_NAME, run_id=RUN_ID, name="bench-results", zip_bytes=buffer.getvalue()
    )
    outcome, _ = deliver(github, payload(shared_dir))
    assert outcome.kind == "failed" and "'head.json': a symbolic link" in outcome.error
    assert our_comments(github, 5) == []


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (ZipEntry("../x.json", 2), "climbs out of the folder"),
        (ZipEntry("a/../../x.json", 2), "climbs out of the folder"),
        (ZipEntry("..\\x.json", 2), "climbs out of the folder"),
        (ZipEntry("/etc/x.json", 2), "an absolute path"),
        (ZipEntry("C:/x.json", 2), "an absolute path"),
        (ZipEntry("head.json", 2, stat.S_IFLNK | 0o777), "a symbolic link"),
        (ZipEntry("fifo", 0, stat.S_IFIFO | 0o644), "not a plain file or folder"),
        (ZipEntry("big.json", 100 * 1024 * 1024), "bytes uncompressed"),
    ],
)
def test_unsafe_members_are_named(entry, why):
    [problem] = unsafe_entries([ZipEntry("base.json", 10), entry])
    assert why in problem


def test_plain_members_are_safe():
    assert (
        unsafe_entries([ZipEntry("base.json", 10, stat.S_IFREG | 0o644), ZipEntry("d/", 0)]) == []
    )
    assert unsafe_entries([ZipEntry("a.json", 1), ZipEntry("a.json", 1)]) == [
        "'a.json': twice in the zip"
    ]


def test_an_artifact_over_the_size_cap_is_refused_before_download(github, tmp_path):
    record = github.state.add_artifact(
        REPO_NAME, run_id=RUN_ID, name="bench-results", files={"base.json": "x" * 5000}
    )
    repo = client(github).get_repo(REPO_NAME)
    artifact = find_run_artifact(repo, RUN_ID)
    assert artifact.id == record["id"] and artifact.size_in_bytes > 100
    github.clear_requests()
    with pytest.raises(UsageError, match="artifact is over 0 MB; refused"):
        download_zip(repo, artifact, tmp_path / "a.zip", max_bytes=100)
    assert github.requests == []  # not even the redirect was asked for
    assert not (tmp_path / "a.zip").exists()


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        ({"trigger": "push"}, "was started by 'push', not by a pull request"),
        ({"conclusion": "cancelled"}, "was cancelled: it has no results"),
        ({"conclusion": "skipped"}, "was skipped: it has no results"),
    ],
)
def test_runs_with_nothing_to_publish_are_skipped_without_a_request(
    github, shared_dir, edit, reason
):
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", files=results_files())
    github.clear_requests()
    outcome, _ = deliver(github, payload(shared_dir, **edit))
    assert outcome.kind == "skipped" and isinstance(outcome.result, Skipped)
    assert reason in outcome.result.reason
    routes = [r.route for r in github.requests]
    assert not [r for r in routes if "/actions/" in r]  # decided from the payload alone
    assert our_comments(github, 5) == []


def test_a_run_of_another_workflow_is_skipped_with_its_reason(github, shared_dir):
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="coverage", files={"c.xml": "<x/>"})
    outcome, _ = deliver(github, payload(shared_dir, name="CI"))
    assert outcome.kind == "skipped"
    assert outcome.result.reason == "the run of 'CI' uploaded no bench-results artifact"
    assert writes(github) == [] and our_comments(github, 5) == []


def test_the_default_branch_configuration_decides(github, shared_dir):
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", files=results_files())
    github.state.set_content(REPO_NAME, ".github/maintbot.yml", "bench:\n  comment: false\n")
    outcome, _ = deliver(github, payload(shared_dir))
    assert outcome.kind == "ok", outcome.error
    assert outcome.result["comment"] == {"skipped": "bench.comment is false"}
    assert outcome.result["check"]["action"] == "created"
    assert our_comments(github, 5) == [] and len(our_checks(github)) == 1

    github.state.set_content(REPO_NAME, ".github/maintbot.yml", "bench:\n  enabled: false\n")
    off, _ = deliver(github, payload(shared_dir))
    assert off.kind == "skipped"
    assert off.result.reason == "bench.enabled is false in the default branch's configuration"


def test_without_a_client_nothing_is_downloaded(github, shared_dir):
    outcome, _ = deliver(github, payload(shared_dir), github=False)
    assert outcome.kind == "skipped"
    assert outcome.result.reason == "no GitHub access to download the run's artifact"


def test_skip_reason_reads_plain_payloads():
    run = {"name": "benchmark", "status": "completed", "event": "pull_request", "id": 1}
    assert skip_reason({}) == "the event carries no workflow_run"
    assert skip_reason({"workflow_run": {**run, "head_sha": "c" * 40}}) is None
    assert skip_reason({"workflow_run": {**run, "head_sha": "HEAD"}}) == (
        "the workflow_run has no head commit"
    )
    assert skip_reason({"workflow_run": {**run, "id": "1", "head_sha": "c" * 40}}) == (
        "the workflow_run has no id"
    )
    failed = {**run, "conclusion": "failure", "head_sha": "c" * 40}
    assert skip_reason({"workflow_run": failed}) is None  # bench pr exits 1 on a regression


# GitHub's OpenAPI ``artifact`` schema (components/schemas/artifact of
# github/rest-api-description), transcribed: the shared subset holds no Actions operation.
ARTIFACT_SCHEMA = {
    "type": "object",
    "required": [
        "id",
        "node_id",
        "name",
        "size_in_bytes",
        "url",
        "archive_download_url",
        "expired",
        "created_at",
        "expires_at",
        "updated_at",
    ],
    "properties": {
        "id": {"type": "integer"},
        "node_id": {"type": "string"},
        "name": {"type": "string"},
        "size_in_bytes": {"type": "integer"},
        "url": {"type": "string"},
        "archive_download_url": {"type": "string"},
        "expired": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time", "nullable": True},
        "expires_at": {"type": "string", "format": "date-time", "nullable": True},
        "updated_at": {"type": "string", "format": "date-time", "nullable": True},
        "digest": {"type": "string", "nullable": True},
        "workflow_run": {
            "type": "object",
            "nullable": True,
            "properties": {
                "id": {"type": "integer"},
                "repository_id": {"type": "integer"},
                "head_repository_id": {"type": "integer"},
                "head_branch": {"type": "string"},
                "head_sha": {"type": "string"},
            },
        },
    },
}
LIST_SCHEMA = {
    "type": "object",
    "required": ["total_count", "artifacts"],
    "properties": {
        "total_count": {"type": "integer"},
        "artifacts": {"type": "array", "items": ARTIFACT_SCHEMA},
    },
}


def test_the_artifact_routes_answer_in_githubs_shapes(github):
    import httpx

    record = github.state.add_artifact(
        REPO_NAME, run_id=RUN_ID, name="bench-results", files=results_files()
    )
    expired = github.state.add_artifact(
        REPO_NAME, run_id=RUN_ID, name="old", files={"a": "b"}, expired=True
    )
    api = f"{github.base_url}/repos/{REPO_NAME}/actions"
    headers = {"Authorization": "token t"}
    with httpx.Client(timeout=10, headers=headers) as http:
        listed = http.get(f"{api}/runs/{RUN_ID}/artifacts", params={"name": "bench-results"})
        one = http.get(f"{api}/artifacts/{record['id']}")
        moved = http.get(f"{api}/artifacts/{record['id']}/zip")
        gone = http.get(f"{api}/artifacts/{expired['id']}/zip")
        blob = http.get(moved.headers["Location"], headers={"Authorization": ""})
        forged = http.get(moved.headers["Location"].replace("sig=", "sig=0"))
        missing = http.get(f"{api}/artifacts/999999")
    for schema, answer in ((LIST_SCHEMA, listed.json()), (ARTIFACT_SCHEMA, one.json())):
        validator = OAS30Validator(schema, format_checker=oas30_format_checker)
        assert not list(validator.iter_errors(answer))
    assert listed.json()["total_count"] == 1
    assert one.json()["size_in_bytes"] == len(blob.content)
    assert moved.status_code == 302 and gone.status_code == 410 and missing.status_code == 404
    assert blob.status_code == 200 and blob.headers["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(blob.content)).namelist() == list(results_files())
    assert forged.status_code == 403


def test_the_store_charts_the_default_branch_history(github, shared_dir, tmp_path):
    from bot.bench import history
    from bot.store.database import Store
    from tests.bench.builders import default_branch_results

    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    with store.session() as session:
        for sha, accuracy in (("1" * 40, 0.974), ("2" * 40, 0.977)):
            doc = default_branch_results(sha, [accuracy, accuracy])
            history.record(session, doc, repo=REPO_NAME, branch="main")
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", files=results_files())
    gh = client(github)
    ctx = HandlerContext(github=gh, config=fetch_repo_config(gh.get_repo(REPO_NAME)), store=store)
    result = dispatch(router, Event("workflow_run", payload(shared_dir)), ctx)
    assert result.ok, result.summary()
    [body] = our_comments(github, 5)
    assert 'title "mnist_mlp: test accuracy on the default branch"' in body
    assert 'x-axis ["1111111", "2222222"]' in body and "line [97.40, 97.70]" in body


def test_a_token_without_actions_read_fails_clearly(github, shared_dir):
    github.state.add_artifact(REPO_NAME, run_id=RUN_ID, name="bench-results", files=results_files())
    github.inject_fault(
        route="GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", status=403
    )
    outcome, _ = deliver(github, payload(shared_dir))
    assert outcome.kind == "failed"
    assert f"list the artifacts of run {RUN_ID}" in outcome.error, outcome.error
    assert writes(github) == [] and our_comments(github, 5) == []
