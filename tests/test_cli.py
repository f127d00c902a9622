"""The ``maintbot`` command as a user runs it: a real subprocess, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import bot
from bot.cli import cli
from bot.cli_context import GLOBAL_FLAGS, pass_settings
from bot.settings import Settings
from reference_models import MODEL_NAMES

GROUPS = ["triage", "bench", "report", "serve", "action", "replay", "sandbox", "demo", "config"]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


def test_help_lists_every_group_and_the_exit_codes():
    out = run("--help")
    assert out.returncode == 0, out.stderr
    for group in GROUPS:
        assert f"\n  {group} " in out.stdout, group
    assert "Exit codes" in out.stdout


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_loads_and_has_help(group):
    out = run(group, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Usage: maintbot {group}")


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"maintbot, version {bot.__version__}"


@pytest.mark.parametrize("where", ["before the command", "after it"])
def test_replay_without_token_runs_in_dry_run(shared_dir, where):
    payload = shared_dir / "github/webhooks/ping/event.json"
    command = ["replay", "--event", "ping", "--payload", str(payload)]
    out = run(*(["--json", *command] if where == "before the command" else [*command, "--json"]))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["handlers"][0]["handler"].endswith("acknowledge_ping")


def test_replay_of_an_event_nobody_handles(shared_dir):
    payload = shared_dir / "github/webhooks/release/published.json"
    out = run("replay", "--event", "release", "--payload", str(payload))
    assert out.returncode == 0, out.stderr
    assert "no handler registered" in out.stdout


def test_bad_payload_names_the_file_and_line(tmp_path):
    bad = tmp_path / "event.json"
    bad.write_text('{\n  "action": "opened",\n  "issue": {\n}\n')
    out = run("replay", "--event", "issues", "--payload", str(bad))
    assert out.returncode == 2
    assert f"{bad}:5" in out.stderr


@pytest.mark.parametrize("args", [["--dry-run", "action"], ["action", "--dry-run"]])
def test_action_writes_the_job_summary(shared_dir, tmp_path, args):
    summary = tmp_path / "summary.md"
    env = {
        "GITHUB_EVENT_NAME": "ping",
        "GITHUB_EVENT_PATH": str(shared_dir / "github/webhooks/ping/event.json"),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    out = run(*args, env=env)
    assert out.returncode == 0, out.stderr
    text = summary.read_text()
    assert "maintbot: `ping`" in text and "| `acknowledge_ping` | ok |" in text


@pytest.mark.parametrize("args", [["--token", "t", "--api-url", "http://127.0.0.1:9"]])
def test_unreachable_github_is_a_clear_failure(shared_dir, args, tmp_path):
    payload = shared_dir / "github/webhooks/issues/opened.json"
    out = run(*args, "replay", "--event", "issues", "--payload", str(payload))
    assert out.returncode == 3, out.stdout + out.stderr
    assert "Traceback" not in out.stderr


# One CLI context: every command gets the one Settings, and --json / --dry-run are defined
# once (bot/cli_context.py) yet accepted before the command and after its name alike.

FLAGS = {"--json": "as_json", "--dry-run": "dry_run"}
WITHOUT_SETTINGS = {("sandbox",)}  # the fake GitHub: it neither writes to GitHub nor prints JSON

# Each command that takes Settings, with arguments enough to parse (the command never runs).
LEAVES = {
    ("triage", "train"): ["--data", "issues.csv", "--out", "model"],
    ("triage", "distil"): ["--data", "issues.csv", "--out", "student"],
    ("triage", "eval"): ["--model", "model", "--data", "issues.csv"],
    ("triage", "predict"): ["--model", "model", "--title", "Crash"],
    ("triage", "protocol"): ["--train", "train.csv", "--test", "test.csv"],
    ("triage", "run"): ["--repo", "o/r", "--issue", "1"],
    ("triage", "backfill"): ["--repo", "o/r"],
    ("triage", "stats"): ["--repo", "o/r"],
    ("triage", "adapt"): ["--data", "issues.csv", "--out", "adapted"],
    ("triage", "duplicates", "eval"): ["--issues", "i.csv", "--pairs", "p.csv"],
    ("triage", "duplicates", "index"): ["--repo", "o/r"],
    ("bench", "run"): [],
    ("bench", "compare"): ["base.json", "head.json"],
    ("bench", "pr"): ["--base", "main"],
    ("bench", "comment"): ["--artifact", "artifact", "--repo", "o/r"],
    ("bench", "record"): ["results.json", "--repo", "o/r", "--branch", "main"],
    ("bench", "history"): ["--repo", "o/r", "--model", MODEL_NAMES[0]],
    ("bench", "merge"): ["a.json", "b.json", "--out", "merged.json"],
    ("report",): ["--repo", "o/r"],
    ("serve",): [],
    ("action",): ["--event-name", "ping", "--event-path", "event.json"],
    ("replay",): ["--event", "ping", "--payload", "event.json"],
    ("demo",): [],
    ("config", "check"): [],
    ("config", "show"): [],
}


def walk(command: click.Command, path: tuple[str, ...] = ()):
    """Every command under ``command`` (itself included) with its path of names."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from walk(command.get_command(ctx, name), (*path, name))


def test_the_global_flags_are_defined_once_and_every_command_takes_them():
    commands = dict(walk(cli))
    leaves = {p for p, c in commands.items() if not isinstance(c, click.Group)}
    assert leaves - {p for p in leaves if p[:1] in {w[:1] for w in WITHOUT_SETTINGS}} == set(LEAVES)
    for path, command in commands.items():
        own = {name for p in command.params for name in (*p.opts, p.name)}
        assert not own & {*FLAGS, *FLAGS.values()}, f"{path} defines its own --json/--dry-run"
        if path[:1] in {w[:1] for w in WITHOUT_SETTINGS}:
            continue
        taken = [p for p in command.get_params(click.Context(command)) if set(p.opts) & set(FLAGS)]
        assert taken == list(GLOBAL_FLAGS), path
        shown = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200)
        assert shown.exit_code == 0, shown.output
        assert "--json" in shown.stdout and "--dry-run" in shown.stdout, path
        assert "MAINTBOT_DRY_RUN" in shown.stdout, path


@pytest.mark.parametrize("path", list(LEAVES), ids=" ".join)
def test_both_flags_work_before_the_command_and_after_it(monkeypatch, path):
    """The flags, in either place or in none, reach the one Settings the command gets."""
    command = dict(walk(cli))[path]
    got: list[Settings] = []
    monkeypatch.setattr(
        command, "callback", pass_settings(lambda settings, **_: got.append(settings))
    )
    runner = CliRunner(env={"MAINTBOT_DRY_RUN": None})
    args = [*path, *LEAVES[path]]
    for flag in FLAGS:
        for invocation in ([flag, *args], [*args, flag]):
            got.clear()
            result = runner.invoke(cli, invocation)
            assert result.exit_code == 0, (invocation, result.output)
            (settings,) = got
            assert {f: getattr(settings, field) for f, field in FLAGS.items()} == {
                f: f == flag for f in FLAGS
            }, invocation
    got.clear()
    assert runner.invoke(cli, args).exit_code == 0
    assert (got[0].as_json, got[0].dry_run) == (False, False)
    got.clear()
    assert CliRunner(env={"MAINTBOT_DRY_RUN": "1"}).invoke(cli, args).exit_code == 0
    assert got[0].dry_run is True


@pytest.mark.parametrize("where", ["before the command", "after it", "nowhere"])
def test_triage_predict_prints_json_with_the_flag_in_either_place(where):
    """With no --model, the built-in model answers (the real one, shipped in the package)."""
    command = ["triage", "predict", "--title", "Crash: segfault on import after upgrading"]
    args = {"before the command": ["--json", *command], "after it": [*command, "--json"]}
    result = CliRunner().invoke(cli, args.get(where, command))
    assert result.exit_code == 0, result.output
    if where == "nowhere":
        assert result.stdout.startswith("decision: ")
        assert "label: " in result.stdout
    else:
        prediction = json.loads(result.stdout)
        assert prediction["decision"] in ("bug", "feature", "question", "needs-triage")
        assert set(prediction["probabilities"]) == {"bug", "feature", "question"}
