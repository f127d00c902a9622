"""Seeds (directory, JSON, JSONL; nested or flat), the embedded demo, and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest
from github import Auth, Github

from bot.errors import UsageError
from bot.sandbox.seeds import DEMO_SEED
from bot.sandbox.server import Sandbox
from tests.paths import REPO_ROOT

REPO_ROOT = REPO_ROOT
DEMO_REPO = "octo-lab/mnist-playground"


def test_flat_jsonl_seed(tmp_path):
    lines = [
        {"kind": "user", "login": "dependabot[bot]"},
        {"kind": "repo", "full_name": "a/b", "description": "demo"},
        {"kind": "label", "repo": "a/b", "name": "bug", "color": "d73a4a"},
        {
            "kind": "issue",
            "repo": "a/b",
            "title": "t1",
            "labels": ["bug"],
            "user": "x",
            "created_at": "2024-01-01T00:00:00Z",
        },
        {"kind": "issue_comment", "repo": "a/b", "issue_number": 1, "body": "c", "user": "y"},
        {"kind": "content", "repo": "a/b", "path": "README.md", "text": "hi"},
    ]
    seed = tmp_path / "seed.jsonl"
    seed.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    sb = Sandbox(data=seed)
    repo = sb.state.repo("a/b")
    assert [i["title"] for i in repo["issues"].values()] == ["t1"]
    assert [c["body"] for c in repo["comments"].values()] == ["c"]
    assert repo["contents"] == {"README.md": "hi"}
    assert sb.state.user("dependabot[bot]")["type"] == "Bot"


def test_directory_seed_loads_in_dependency_order(tmp_path):
    (tmp_path / "issues.jsonl").write_text(
        json.dumps({"repo": "a/b", "title": "first", "comments": [{"body": "nested"}]}) + "\n"
    )
    (tmp_path / "repos.json").write_text(json.dumps([{"full_name": "a/b"}]))
    (tmp_path / "issue_comments.jsonl").write_text(
        json.dumps({"repo": "a/b", "issue_number": 1, "body": "flat"}) + "\n"
    )
    sb = Sandbox(data=tmp_path)
    assert [c["body"] for c in sb.state.repo("a/b")["comments"].values()] == ["nested", "flat"]


def test_nested_json_document_with_pull_parts():
    doc = {
        "repos": [
            {
                "full_name": "a/b",
                "pulls": [
                    {
                        "title": "p",
                        "user": "dev",
                        "commits": [{"message": "m"}],
                        "files": [{"filename": "f.py", "additions": 1}],
                        "reviews": [{"user": "rev", "state": "APPROVED"}],
                        "review_comments": [{"user": "rev", "body": "nit", "path": "f.py"}],
                        "comments": [{"body": "hello"}],
                    }
                ],
            }
        ]
    }
    sb = Sandbox(data=doc)
    pull = sb.state.pull("a/b", 1)
    assert [r["state"] for r in pull["pull"]["reviews"]] == ["APPROVED"]
    assert [c["body"] for c in sb.state.repo("a/b")["review_comments"].values()] == ["nit"]
    assert [c["issue_number"] for c in sb.state.repo("a/b")["comments"].values()] == [1]
    assert pull["pull"]["head_sha"] == pull["pull"]["commits"][-1]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "bad.jsonl",
            '{"kind": "repo", "full_name": "a/b"}\n{oops\n',
            "bad.jsonl:2: not valid JSON",
        ),
        ("kind.jsonl", '{"kind": "spaceship"}\n', "kind.jsonl:1: cannot load spaceship record"),
        ("orphan.jsonl", '{"kind": "issue", "repo": "x/y", "title": "t"}\n', "no repository"),
        ("section.json", '{"repositories": []}', "unknown seed section(s) repositories"),
    ],
)
def test_seed_errors_name_the_file_and_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UsageError) as failed:
        Sandbox(data=path)
    assert message in failed.value.message
    assert failed.value.hint


def test_missing_seed_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        Sandbox(data=tmp_path / "nope.json")


def test_demo_seed_is_a_small_realistic_repository():
    sb = Sandbox.demo()
    repo = sb.state.repo(DEMO_REPO)
    items = list(repo["issues"].values())
    issues = [i for i in items if i["pull"] is None]
    pulls = [i for i in items if i["pull"] is not None]
    assert 20 <= len(issues) <= 30 and 5 <= len(pulls) <= 8
    assert {"bug", "enhancement", "question", "documentation"} <= {
        name for i in issues for name in i["labels"]
    }
    assert any(not i["labels"] for i in issues) and any(i["state"] == "closed" for i in issues)
    assert any(p["pull"]["merged_at"] for p in pulls) and any(p["state"] == "open" for p in pulls)
    assert all(p["pull"]["files"] and p["pull"]["commits"] for p in pulls)
    assert any(p["pull"]["reviews"] for p in pulls) and repo["review_comments"] and repo["comments"]
    assert sb.state.user("dependabot[bot]")["type"] == "Bot"
    assert "ghost" in {i["user"] for i in items}
    assert len({i["user"] for i in items}) >= 6
    assert ".github/maintbot.yml" in repo["contents"]
    assert DEMO_SEED.is_file()


def test_demo_config_file_is_valid_maintbot_configuration():
    config_module = pytest.importorskip("bot.config.loader")
    text = Sandbox.demo().state.repo(DEMO_REPO)["contents"][".github/maintbot.yml"]
    config = config_module.parse_config(text, source=".github/maintbot.yml")
    assert config.labels.needs_triage == "needs-triage"


def test_demo_serves_through_pygithub(make_sandbox):
    sb = make_sandbox(data="demo")
    gh = Github(
        base_url=sb.base_url,
        auth=Auth.Token("t"),
        per_page=100,
        retry=None,
        seconds_between_requests=None,
    )
    repo = gh.get_repo(DEMO_REPO)
    assert repo.organization.login == "octo-lab"
    everything = list(repo.get_issues(state="all"))
    assert len(everything) == len(sb.state.repo(DEMO_REPO)["issues"])
    assert len(list(repo.get_pulls(state="all"))) == sum(1 for i in everything if i.pull_request)
    assert "dependabot[bot]" in {c.login for c in repo.get_contributors()}


def test_cli_serve_prints_the_base_url_and_stops_on_ctrl_c(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"repos": [{"full_name": "cli/repo", "issues": [{"title": "x"}]}]}))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-c",
        "from bot.sandbox.cli import sandbox; sandbox()",
        "serve",
        "--port",
        "0",
        "--data",
        str(seed),
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # a suite started in the background (nohup, `cmd &`) passes SIGINT down ignored, and
        # Python then keeps it ignored: Ctrl-C must reach the server as it does in a terminal
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        issue = httpx.get(f"{base_url}/repos/cli/repo/issues/1", timeout=10)
        assert issue.json()["title"] == "x"
        assert issue.json()["url"] == f"{base_url}/repos/cli/repo/issues/1"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
            process.stdout.close()
            process.stderr.close()
    assert process.returncode == 0


def test_cli_rejects_app_id_without_key():
    from click.testing import CliRunner

    from bot.sandbox.cli import sandbox

    result = CliRunner().invoke(sandbox, ["serve", "--app-id", "1"])
    assert result.exit_code != 0
    assert isinstance(result.exception, UsageError)
    assert "--app-key-pem" in result.exception.message


def test_cli_reads_either_half_of_the_app_key(tmp_path, app_keys):
    from bot.sandbox.cli import public_key_pem

    private, public = tmp_path / "app.pem", tmp_path / "app.pub.pem"
    private.write_text(app_keys.private_pem)
    public.write_text(app_keys.public_pem)
    assert public_key_pem(private) == app_keys.public_pem
    assert public_key_pem(public) == app_keys.public_pem
    garbage = tmp_path / "bad.pem"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    with pytest.raises(UsageError, match="not a PEM key"):
        public_key_pem(garbage)


def test_the_readme_seed_example_loads():
    readme = (REPO_ROOT / "bot/sandbox/README.md").read_text()
    example = readme.split("```json\n", 1)[1].split("```", 1)[0]
    sb = Sandbox(data=json.loads(example))
    pull = sb.state.pull("octo/widgets", 2)
    assert pull["pull"]["merged_at"] is not None and pull["pull"]["reviews"]
    assert [c["body"] for c in sb.state.repo("octo/widgets")["comments"].values()] == ["Reproduced"]
