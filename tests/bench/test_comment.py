"""``bench comment --artifact``: the privileged step, against the sandbox GitHub on loopback.

It must post only for the PR whose head is the trusted head sha, only validated results, and
only inert text; a forged or broken artifact posts nothing.
"""

from __future__ import annotations

import json

import pytest

from tests.bench.builders import HEAD_SHA, maintbot, make_results, make_run, side, write

REPO_NAME = "octo/widgets"
PR_HEAD = "c" * 40
OTHER_HEAD = "d" * 40


def our_comments(sandbox, number):
    return [
        c["body"]
        for c in sandbox.state.repo(REPO_NAME)["comments"].values()
        if c["issue_number"] == number and c["body"].startswith("<!-- maintbot:bench -->")
    ]


@pytest.fixture
def github(sandbox):
    """Two open PRs (a fork's #5 at PR_HEAD, #6 at OTHER_HEAD) in the sandbox."""
    state = sandbox.state
    state.add_pull(
        REPO_NAME,
        title="Tune the MLP",
        user="forker",
        head="tune",
        head_repo="forker/widgets",
        head_sha=PR_HEAD,
        number=5,
    )
    state.add_pull(REPO_NAME, title="Docs", user="bob", head="docs", head_sha=OTHER_HEAD, number=6)
    return sandbox


def artifact(tmp_path, *, head_accuracies=(0.9660, 0.9642, 0.9655), claim=None, **head_kw):
    folder = tmp_path / "artifact"
    folder.mkdir()
    write(folder, "base.json", side([0.9760, 0.9740, 0.9756]))
    head = side(list(head_accuracies), label="head", sha=HEAD_SHA, **head_kw)
    if claim is not None:
        head["pull_request"] = claim
    write(folder, "head.json", head)
    return folder


def comment(sandbox, folder, *extra, head_sha=PR_HEAD):
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
    # Judged against this repository's configuration (defaults: both models, 3 seeds).
    assert "> ⚠️ the head did not run mnist\\_cnn" in body
    assert our_comments(github, 6) == []

    again = comment(github, folder)  # a re-run edits (here: keeps) the one comment
    assert again.returncode == 0 and "unchanged" in again.stderr
    assert len(our_comments(github, 5)) == 1


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
    assert our_comments(github, 5) == []


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
