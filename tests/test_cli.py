"""The ``maintbot`` command as a user runs it: a real subprocess, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot

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


def test_replay_without_token_runs_in_dry_run(shared_dir):
    payload = shared_dir / "github/webhooks/ping/event.json"
    out = run("--json", "replay", "--event", "ping", "--payload", str(payload))
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


def test_action_writes_the_job_summary(shared_dir, tmp_path):
    summary = tmp_path / "summary.md"
    env = {
        "GITHUB_EVENT_NAME": "ping",
        "GITHUB_EVENT_PATH": str(shared_dir / "github/webhooks/ping/event.json"),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    out = run("--dry-run", "action", env=env)
    assert out.returncode == 0, out.stderr
    text = summary.read_text()
    assert "maintbot: `ping`" in text and "| `acknowledge_ping` | ok |" in text


@pytest.mark.parametrize("args", [["--token", "t", "--api-url", "http://127.0.0.1:9"]])
def test_unreachable_github_is_a_clear_failure(shared_dir, args, tmp_path):
    payload = shared_dir / "github/webhooks/issues/opened.json"
    out = run(*args, "replay", "--event", "issues", "--payload", str(payload))
    assert out.returncode == 3, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
