"""``bench comment --artifact``: the privileged step, against the sandbox GitHub on loopback.

It must post only for the PR whose head is the trusted head sha, only validated results, and
only inert text; a forged or broken artifact posts nothing. Beside the comment it sets the
``maintbot/benchmark`` check on that head (a commit status where check runs are refused), and
decides which models the PR affects from the PR's own file list, not from the artifact.
"""

from __future__ import annotations

import json

import pytest

from bot.sandbox.routing import Reply, RouteTable
from tests.bench.builders import HEAD_SHA, maintbot, make_results, make_run, side, write

REPO_NAME = "octo/widgets"
PR_HEAD = "c" * 40
OTHER_HEAD = "d" * 40
CHECK = "maintbot/benchmark"


def our_comments(sandbox, number):
    return [
        c["body"]
        for c in sandbox.state.repo(REPO_NAME)["comments"].values()
        if c["issue_number"] == number and c["body"].startswith("<!-- maintbot:bench -->")
    ]


def our_checks(sandbox, sha=PR_HEAD):
    return [
        run
        for run in sandbox.state.repo(REPO_NAME)["check_runs"].values()
        if run["name"] == CHECK and run["head_sha"] == sha
    ]


def files(*names):
    return [
        {"filename": name, "status": "modified", "additions": 1, "deletions": 1} for name in names
    ]


@pytest.fixture
def github(sandbox):
    """Two open PRs in the sandbox: a fork's #5 at PR_HEAD that edits the MLP, and #6 at
    OTHER_HEAD that edits the README."""
    state = sandbox.state
    state.add_pull(
        REPO_NAME,
        title="Tune the MLP",
        user="forker",
        head="tune",
        head_repo="forker/widgets",
        head_sha=PR_HEAD,
        number=5,
        files=files("reference_models/mnist_mlp.py"),
    )
    state.add_pull(
        REPO_NAME,
        title="Docs",
        user="bob",
        head="docs",
        head_sha=OTHER_HEAD,
        number=6,
        files=files("README.md"),
    )
    return sandbox


def serve_commit_statuses(sandbox):
    """The sandbox serves no commit statuses yet: these two routes answer in GitHub's shape."""
    table = RouteTable()
    statuses = []

    @table.add("POST", "/repos/{owner}/{repo}/statuses/{sha}")
    def create_status(req):
        body = req.body_dict()
        record = {
            "id": len(statuses) + 1,
            "sha": req.params["sha"],
            "state": body["state"],
            "description": body.get("description"),
            "context": body.get("context", "default"),
            "target_url": body.get("target_url"),
            "url": f"{req.base_url}/repos/{req.repo_name()}/statuses/{req.params['sha']}",
            "created_at": "2025-01-02T03:04:05Z",
            "updated_at": "2025-01-02T03:04:05Z",
        }
        statuses.append(record)
        return Reply(201, record)

    @table.add("GET", "/repos/{owner}/{repo}/statuses/{sha}")  # as PyGithub lists them
    def list_statuses(req):
        return Reply(200, [s for s in reversed(statuses) if s["sha"] == req.params["sha"]])

    sandbox.routes.extend(table)
    return statuses


def artifact(tmp_path, *, head_accuracies=(0.9660, 0.9642, 0.9655), claim=None, **head_kw):
    folder = tmp_path / "artifact"
    folder.mkdir(parents=True)
    write(folder, "base.json", side([0.9760, 0.9740, 0.9756]))
    head = side(list(head_accuracies), label="head", sha=HEAD_SHA, **head_kw)
    if claim is not None:
        head["pull_request"] = claim
    write(folder, "head.json", head)
    return folder


def comment(sandbox, folder, *extra, head_sha=PR_HEAD, env=None):
    return maintbot(
        "--api-url",
        sandbox.base_url,
        "--token",
        "t",
        "bench",
        "comment",
        "--artifact",
        str(folder),
        "--repo",
        REPO_NAME,
        "--head-sha",
        head_sha,
        *extra,
        env=env,
    )


def test_posts_one_sticky_comment_to_the_pr_with_that_head(github, tmp_path):
    folder = artifact(tmp_path, claim={"number": 5, "head_sha": PR_HEAD})
    done = comment(github, folder)
    assert done.returncode == 0, done.stderr
    assert "benchmark comment created on #5" in done.stderr
    [body] = our_comments(github, 5)
    assert "### ❌ maintbot benchmark: regression in mnist_mlp" in body
    assert "| test accuracy | 97.52 % ± 0.11 | 96.52 % ± 0.09 | −1.00 pts |" in body
    assert "```mermaid\nxychart-beta" in body
    # Judged against this repository's configuration (defaults: both models, 3 seeds), and
    # the PR's files from GitHub: it edits the MLP only, so not running the CNN is right.
    assert "- mnist_mlp: trained: reference\\_models/mnist\\_mlp.py changed (its own code)" in body
    assert "- mnist_cnn: skipped, not affected: none of the changed files" in body
    assert "did not run mnist" not in body
    assert our_comments(github, 6) == []
    [check] = our_checks(github)
    assert (check["status"], check["conclusion"]) == ("completed", "failure")
    assert check["output"]["title"] == "regression in mnist_mlp (1 model(s) not affected)"
    assert check["output"]["summary"] == body.split("\n", 1)[1]  # the comment, without marker
    assert check["details_url"].endswith(
        "#issuecomment-"
        + str(max(c["id"] for c in github.state.repo(REPO_NAME)["comments"].values()))
    )
    assert "benchmark check run created on cccccccccccc: failure" in done.stderr

    again = comment(github, folder)  # a re-run edits (here: keeps) the comment and the check
    assert again.returncode == 0 and "comment unchanged" in again.stderr
    assert "benchmark check run unchanged on cccccccccccc: failure" in again.stderr
    assert len(our_comments(github, 5)) == 1 and len(our_checks(github)) == 1


def test_a_later_verdict_edits_the_same_check_run(github, tmp_path):
    first = comment(github, artifact(tmp_path / "1"))
    assert first.returncode == 0, first.stderr
    [check] = our_checks(github)
    fixed = artifact(tmp_path / "2", head_accuracies=(0.9760, 0.9740, 0.9756))
    second = comment(github, fixed)
    assert second.returncode == 0, second.stderr
    assert "benchmark check run updated on cccccccccccc: success" in second.stderr
    [edited] = our_checks(github)
    assert edited["id"] == check["id"] and edited["conclusion"] == "success"
    assert edited["output"]["title"] == "no regression (1 model(s) not affected)"


def test_a_pr_that_affects_no_model_gets_not_affected_and_a_green_check(github, tmp_path):
    folder = tmp_path / "artifact"
    folder.mkdir()
    for name, label, sha in (("base.json", "base", "a" * 40), ("head.json", "head", HEAD_SHA)):
        doc = make_results([], label=label, sha=sha)
        doc["settings"]["seeds"] = [0, 1, 2]
        write(folder, name, doc)
    done = comment(github, folder, head_sha=OTHER_HEAD)  # #6 edits the README only
    assert done.returncode == 0, done.stderr
    [body] = our_comments(github, 6)
    assert "### ✅ maintbot benchmark: not affected" in body
    assert "This change touches 1 file, and none of them is a dependency" in body
    assert "- README.md" in body and "did not run" not in body
    [check] = our_checks(github, OTHER_HEAD)
    assert check["conclusion"] == "success"
    assert check["output"]["title"] == "not affected: no model was trained"


def test_a_run_that_skipped_a_model_the_pr_affects_fails_the_check(github, tmp_path):
    github.state.add_pull(
        REPO_NAME,
        title="Faster loop",
        head="loop",
        head_sha="f" * 40,
        number=8,
        files=files("reference_models/training.py"),  # shared: both models are affected
    )
    folder = artifact(tmp_path, head_accuracies=(0.9760, 0.9740, 0.9756))  # the MLP only
    done = comment(github, folder, head_sha="f" * 40)
    assert done.returncode == 0, done.stderr
    [body] = our_comments(github, 8)
    assert body.split("\n")[1] == "### ❌ maintbot benchmark: incomplete: mnist_cnn not trained"
    assert (
        "the benchmark did not train mnist\\_cnn, which this change affects: "
        "reference\\_models/training.py changed (shared by every model: bench.paths.shared)"
    ) in body
    [check] = our_checks(github, "f" * 40)
    assert check["conclusion"] == "failure"
    assert check["output"]["title"] == "incomplete: mnist_cnn not trained"


def test_a_token_that_may_not_create_check_runs_sets_a_commit_status(github, tmp_path):
    statuses = serve_commit_statuses(github)
    # GitHub answers 403 to a check run from a token that is not a GitHub App's.
    github.inject_fault(route="POST /repos/{owner}/{repo}/check-runs", status=403, times=2)
    folder = artifact(tmp_path)
    done = comment(github, folder)
    assert done.returncode == 0, done.stderr
    assert "benchmark commit status created on cccccccccccc: failure (no check run:" in done.stderr
    assert our_checks(github) == []
    [status] = statuses
    assert (status["sha"], status["context"], status["state"]) == (PR_HEAD, CHECK, "failure")
    assert status["description"] == "regression in mnist_mlp (1 model(s) not affected)"
    assert "#issuecomment-" in status["target_url"]

    again = comment(github, folder)  # the same verdict adds no second status
    assert again.returncode == 0, again.stderr
    assert "benchmark commit status unchanged" in again.stderr and len(statuses) == 1


def test_the_configuration_can_turn_the_comment_or_the_check_off(github, tmp_path):
    config = write(tmp_path, "maintbot.yml", "bench:\n  check: false\n")
    done = comment(github, artifact(tmp_path / "a"), env={"MAINTBOT_CONFIG": str(config)})
    assert done.returncode == 0, done.stderr
    assert len(our_comments(github, 5)) == 1 and our_checks(github) == []

    config.write_text("bench:\n  comment: false\n")
    done = comment(
        github, artifact(tmp_path / "b"), head_sha=OTHER_HEAD, env={"MAINTBOT_CONFIG": str(config)}
    )
    assert done.returncode == 0, done.stderr
    assert our_comments(github, 6) == [] and len(our_checks(github, OTHER_HEAD)) == 1


def test_a_weaker_run_than_configured_is_flagged(github, tmp_path):
    folder = artifact(tmp_path, head_accuracies=(0.975, 0.976))
    head = json.loads((folder / "head.json").read_text())
    head["settings"]["train_limit"] = 3000
    (folder / "head.json").write_text(json.dumps(head))
    done = comment(github, folder)
    assert done.returncode == 0, done.stderr
    [body] = our_comments(github, 5)
    assert "the head ran on a data slice (train 3000, test all images)" in body
    assert "the head ran 2 seed(s); this repository's configuration asks for 3" in body


def test_without_a_claim_the_pr_is_found_by_its_head(github, tmp_path):
    done = comment(github, artifact(tmp_path), head_sha=OTHER_HEAD)
    assert done.returncode == 0, done.stderr
    assert len(our_comments(github, 6)) == 1 and our_comments(github, 5) == []


def test_a_claimed_pr_with_another_head_gets_nothing(github, tmp_path):
    folder = artifact(tmp_path, claim={"number": 6, "head_sha": PR_HEAD})
    done = comment(github, folder)  # #6's head is OTHER_HEAD, not the run's PR_HEAD
    assert done.returncode == 2
    assert "the results name PR #6, but its head is dddddddddddd" in done.stderr
    assert our_comments(github, 6) == [] and our_comments(github, 5) == []


def test_a_claim_for_another_commit_than_the_run_gets_nothing(github, tmp_path):
    folder = artifact(tmp_path, claim={"number": 5, "head_sha": OTHER_HEAD})
    done = comment(github, folder)
    assert done.returncode == 2 and "made for another commit" in done.stderr
    assert our_comments(github, 5) == []


def test_no_open_pr_with_that_head_is_an_error_not_a_guess(github, tmp_path):
    done = comment(github, artifact(tmp_path), head_sha="e" * 40)
    assert done.returncode == 3
    assert "no open pull request has the head commit eeeeeeeeeeee" in done.stderr


def test_a_broken_artifact_posts_nothing(github, tmp_path):
    folder = artifact(tmp_path)
    (folder / "head.json").write_text((folder / "head.json").read_text()[:500])
    done = comment(github, folder)
    assert done.returncode == 2 and "head.json is not valid JSON" in done.stderr
    (folder / "head.json").unlink()
    (folder / "head.json").symlink_to(folder / "base.json")
    done = comment(github, folder)
    assert done.returncode == 2 and "no plain file head.json" in done.stderr
    assert our_comments(github, 5) == []


def test_hostile_text_in_the_artifact_is_posted_inert(github, tmp_path):
    hostile = "@everyone <img src=x onerror=alert(1)> closes #6 https://evil.example"
    folder = artifact(tmp_path)
    head = make_results(
        [make_run(seed=0), make_run(seed=1)],
        label=hostile,
        sha=HEAD_SHA,
        failures=[{"model": "mnist_mlp", "seed": 2, "reason": hostile}],
    )
    head["git"]["ref"] = hostile
    (folder / "head.json").write_text(json.dumps(head))
    done = comment(github, folder)
    assert done.returncode == 0, done.stderr
    [body] = our_comments(github, 5)
    assert "failed to train" in body
    for raw in ("@everyone", "<img", "#6", "https://evil"):
        assert raw not in body


@pytest.mark.parametrize("where", ["before the command", "after it"])
def test_dry_run_posts_nothing(github, tmp_path, where):
    command = ["bench", "comment", "--artifact", str(artifact(tmp_path)), "--repo", REPO_NAME]
    command += ["--head-sha", PR_HEAD]
    flagged = ["--dry-run", *command] if where == "before the command" else [*command, "--dry-run"]
    done = maintbot("--api-url", github.base_url, "--token", "t", *flagged)
    assert done.returncode == 0, done.stderr
    assert "dry-run: the benchmark comment would be created on #5" in done.stderr
    assert "dry-run: the benchmark check run would be created on cccccccccccc" in done.stderr
    assert our_comments(github, 5) == [] and our_checks(github) == []
    writes = [r for r in github.requests if r.method not in ("GET", "HEAD")]
    assert writes == []


def test_the_trusted_head_comes_from_the_workflow_run_event(github, tmp_path, shared_dir):
    event = json.loads((shared_dir / "github/webhooks/workflow_run/completed.json").read_text())
    run_head = event["workflow_run"]["head_sha"]
    github.state.add_pull(REPO_NAME, title="Faster MLP", head="fast", head_sha=run_head, number=7)
    event_file = write(tmp_path, "event.json", event)
    done = maintbot(
        "--api-url",
        github.base_url,
        "--token",
        "t",
        "bench",
        "comment",
        "--artifact",
        str(artifact(tmp_path)),
        "--repo",
        REPO_NAME,
        env={"GITHUB_EVENT_NAME": "workflow_run", "GITHUB_EVENT_PATH": str(event_file)},
    )
    assert done.returncode == 0, done.stderr
    assert len(our_comments(github, 7)) == 1 and our_comments(github, 5) == []


def test_the_comment_charts_the_default_branch_history(github, tmp_path):
    from bot.bench import history
    from bot.store.database import Store
    from tests.bench.builders import default_branch_results

    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = Store.open(url)
    with store.session() as session:
        for sha, accuracy in (("1" * 40, 0.974), ("2" * 40, 0.977)):
            doc = default_branch_results(sha, [accuracy, accuracy])
            history.record(session, doc, repo=REPO_NAME, branch="main")
    done = maintbot(
        *("--api-url", github.base_url, "--token", "t", "bench", "comment"),
        *("--artifact", str(artifact(tmp_path)), "--repo", REPO_NAME, "--head-sha", PR_HEAD),
        *("--history-branch", "main"),
        env={"MAINTBOT_DATABASE_URL": url},
    )
    assert done.returncode == 0, done.stderr
    [body] = our_comments(github, 5)
    assert 'title "mnist_mlp: test accuracy on the default branch"' in body
    assert 'x-axis ["1111111", "2222222"]' in body and "line [97.40, 97.70]" in body
