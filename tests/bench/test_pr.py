"""``maintbot bench pr`` on a throw-away git repository: a broken model fails, a docs edit is
"not affected" at once, and a change to one model trains only that model.

The real command runs (the installed console script), with the real models on a small data
slice for one epoch ("for quick checks" options); base and head are real git commits, the base
checked out by the command into a temporary worktree.
"""

from __future__ import annotations

import json

import pytest

from bot.bench import results
from tests.bench.builders import git, reference_project
from tests.bench.builders import maintbot as run_maintbot
from tests.paths import REPO_ROOT

REPO = REPO_ROOT
QUICK = ["--models", "mnist_mlp", "--epochs", "1", "--train-limit", "3000", "--test-limit", "1000"]
SCALING = "x_train, x_test = raw.x_train / 255.0, raw.x_test / 255.0"

pytestmark = pytest.mark.slow


def maintbot(root, *args, env=None, timeout=600):
    """The console script run in ``root`` (the copy), importing the installed maintbot."""
    return run_maintbot(*args, cwd=root, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A git repository holding the reference models: ``main``, plus a ``broken`` branch."""
    root = tmp_path_factory.mktemp("bench-pr") / "project"
    reference_project(root, {"README.md": "# project\n"})

    git(root, "checkout", "-q", "-b", "broken")
    model = root / "reference_models" / "mnist_mlp.py"
    source = model.read_text()
    assert SCALING in source, "the test's broken change no longer applies"
    model.write_text(source.replace(SCALING, "x_train, x_test = raw.x_train, raw.x_test"))
    git(root, "commit", "-q", "-am", "drop the input scaling")

    git(root, "checkout", "-q", "-b", "cnn", "main")
    cnn = root / "reference_models" / "mnist_cnn.py"
    cnn.write_text(cnn.read_text() + "\n# a change to the CNN module only\n")
    git(root, "commit", "-q", "-am", "touch the CNN")
    git(root, "checkout", "-q", "main")
    return root


def trained(stderr):
    """The runs the command started, from its progress lines: [(side, model), ...]."""
    found = []
    for line in stderr.splitlines():
        if line.endswith("epoch(s)") and ": training" in line:
            side = line.split("]")[0].split()[-1]
            found.append((side, line.split("] ", 1)[1].split(" seed")[0]))
    return found


def test_a_readme_only_change_is_not_affected_trains_nothing_and_posts_so(
    project, tmp_path, sandbox
):
    (project / "README.md").write_text("# project\n\nNow with more words.\n")  # uncommitted
    sandbox.state.add_pull("octo/widgets", title="Docs", head="docs", number=7)
    out = tmp_path / "artifact"
    done = maintbot(
        project,
        *("--api-url", sandbox.base_url, "--token", "t"),
        *("bench", "pr", "--base", "main", "--models", "mnist_mlp,mnist_cnn"),
        *("--out", str(out), "--post", "--pr", "7", "--repo", "octo/widgets"),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert trained(done.stderr) == [] and "epoch" not in done.stderr
    assert done.stdout.startswith("### ✅ maintbot benchmark: not affected\n")
    assert "This change touches 1 file, and none of them is a dependency" in done.stdout
    assert "(mnist_mlp, mnist_cnn):\n\n- README.md\n" in done.stdout
    assert "[scope] mnist_cnn skipped: none of the changed files" in done.stderr
    base, head = results.load(out / "base.json"), results.load(out / "head.json")
    assert base["runs"] == head["runs"] == [] and head["settings"]["models"] == []
    assert head["scope"] == {
        "changed_count": 1,
        "changed": ["README.md"],
        "models": [
            {"model": "mnist_mlp", "affected": False, "because": []},
            {"model": "mnist_cnn", "affected": False, "because": []},
        ],
    }
    assert (out / "comment.md").read_text() == done.stdout
    assert git(project, "worktree", "list").count("\n") == 1  # nothing was checked out
    # Posted like any verdict: the sticky comment and a green check on the PR's head.
    assert "benchmark comment created on #7" in done.stderr
    [body] = [
        c["body"]
        for c in sandbox.state.repo("octo/widgets")["comments"].values()
        if c["issue_number"] == 7
    ]
    assert body == "<!-- maintbot:bench -->\n" + done.stdout
    [check] = sandbox.state.repo("octo/widgets")["check_runs"].values()
    assert (check["name"], check["conclusion"]) == ("maintbot/benchmark", "success")
    assert check["output"]["title"] == "not affected: no model was trained"


def test_a_change_to_the_cnn_module_trains_only_the_cnn(project, tmp_path):
    out = tmp_path / "artifact"
    tiny = ["--epochs", "1", "--seeds", "1", "--train-limit", "256", "--test-limit", "256"]
    done = maintbot(
        project,
        *("bench", "pr", "--base", "main", "--head", "cnn", "--models", "mnist_mlp,mnist_cnn"),
        *(*tiny, "--out", str(out)),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert trained(done.stderr) == [("base", "mnist_cnn"), ("head", "mnist_cnn")]
    assert "[scope] mnist_mlp skipped: none of the changed files" in done.stderr
    assert "[scope] mnist_cnn runs: reference_models/mnist_cnn.py changed (its own code)" in (
        done.stderr
    )
    head = results.load(out / "head.json")
    assert [r["model"] for r in head["runs"]] == ["mnist_cnn"]
    assert head["settings"]["models"] == ["mnist_cnn"]
    assert "- mnist_mlp: skipped, not affected: none of the changed files" in done.stdout
    assert "#### mnist_cnn: " in done.stdout and "#### mnist_mlp" not in done.stdout


def test_a_change_that_does_not_alter_the_model_passes_and_both_sides_agree_exactly(
    project, tmp_path
):
    model = project / "reference_models" / "mnist_mlp.py"
    original = model.read_text()
    model.write_text(original + "\n# a comment: the MLP is affected, its numbers are not\n")
    out = tmp_path / "artifact"
    # The training time moves with whatever else the machine runs (a 21 % "slowdown" of the
    # same code was seen beside another job): this test is about the runs' metrics, so the
    # time threshold is set out of reach and no timing can decide it.
    config = tmp_path / "maintbot.yml"
    config.write_text("bench:\n  thresholds:\n    time_increase_pct: 1000\n")
    try:
        done = maintbot(
            project,
            "bench",
            "pr",
            "--base",
            "main",
            "--seeds",
            "2",
            *QUICK,
            "--out",
            str(out),
            env={"MAINTBOT_CONFIG": str(config)},
        )
    finally:
        model.write_text(original)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "maintbot benchmark: no regression" in done.stdout
    base, head = results.load(out / "base.json"), results.load(out / "head.json")
    assert base["git"]["sha"] == git(project, "rev-parse", "main").strip()
    assert head["git"] == {"sha": base["git"]["sha"], "ref": "working tree", "dirty": True}
    # Same code, same seeds, same machine: the runs are identical, seed by seed.
    assert [r["test_accuracy"] for r in base["runs"]] == [r["test_accuracy"] for r in head["runs"]]
    assert [r["seed"] for r in head["runs"]] == [0, 1]
    # Interleaved A/B/A/B, with progress on stderr.
    order = [line.split("]")[0] for line in done.stderr.splitlines() if ": training" in line]
    assert order == ["[1/4 base", "[2/4 head", "[3/4 base", "[4/4 head"]
    assert "epoch 1/1" in done.stderr
    assert (out / "comment.md").read_text() == done.stdout
    assert git(project, "worktree", "list").count("\n") == 1  # the base worktree is gone


def test_a_broken_model_fails_and_names_the_regression(project, tmp_path):
    out = tmp_path / "artifact"
    summary = tmp_path / "summary.md"
    args = ["--base", "main", "--head", "broken", "--seeds", "2", *QUICK, "--out", str(out)]
    done = maintbot(project, "bench", "pr", *args, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 1, done.stderr[-3000:]
    assert "the head is worse than the base: mnist_mlp: test " in done.stderr
    assert "### ❌ maintbot benchmark: regression in mnist_mlp" in done.stdout
    assert summary.read_text() == done.stdout
    head = results.load(out / "head.json")
    assert head["git"]["sha"] == git(project, "rev-parse", "broken").strip()
    assert git(project, "worktree", "list").count("\n") == 1


def test_a_head_that_cannot_run_is_a_regression_and_post_comments_on_the_pr(
    project, tmp_path, sandbox
):
    sandbox.state.add_pull("octo/widgets", title="Break the MLP", head="oops", number=5)
    model = project / "reference_models" / "mnist_mlp.py"
    original = model.read_text()
    model.write_text(original + "\ndef broken(:\n")
    post = ["--post", "--pr", "5", "--repo", "octo/widgets", "--format", "json"]
    try:
        done = maintbot(
            project,
            *("--api-url", sandbox.base_url, "--token", "t"),
            *("bench", "pr", "--base", "main", "--seeds", "1", *QUICK, *post),
            *("--out", str(tmp_path / "artifact")),
        )
    finally:
        model.write_text(original)
    assert done.returncode == 1, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["status"] == "regression" and report["models"][0]["head_failed"] is True
    assert "SyntaxError" in report["models"][0]["notes"][0]
    assert "benchmark comment created on #5" in done.stderr
    [body] = [
        c["body"]
        for c in sandbox.state.repo("octo/widgets")["comments"].values()
        if c["issue_number"] == 5
    ]
    assert body.startswith("<!-- maintbot:bench -->\n### ❌ maintbot benchmark: regression")
    assert "the head failed to train it (seed 0)" in body
    [check] = [
        run
        for run in sandbox.state.repo("octo/widgets")["check_runs"].values()
        if run["head_sha"] == sandbox.state.repo("octo/widgets")["issues"][5]["pull"]["head_sha"]
    ]
    assert (check["name"], check["conclusion"]) == ("maintbot/benchmark", "failure")
    assert "benchmark check run created on" in done.stderr


def test_an_unknown_base_is_a_clear_usage_error(project):
    done = maintbot(project, "bench", "pr", "--base", "no-such-branch", *QUICK)
    assert done.returncode == 2
    assert "the ref 'no-such-branch' is not in this clone" in done.stderr
    assert "fetch-depth: 0" in done.stderr
