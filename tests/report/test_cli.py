"""`maintbot report` end to end: the sandbox GitHub, PyGithub, a SQLite store, the files."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.errors import UsageError
from bot.report.cli import ProgressBar, report
from bot.settings import Settings
from tests.report.scenario import REPO, scenario, seed_sandbox

MARCH = ["--since", "2024-03-01", "--until", "2024-03-31"]
CONFIG = "version: 1\nreport:\n  ignore_users: [spammer]\n"
ISSUE_CREATE = "POST /repos/{owner}/{repo}/issues"
ISSUE_EDIT = "PATCH /repos/{owner}/{repo}/issues/{issue_number}"


@pytest.fixture
def seeded(make_sandbox, monkeypatch, tmp_path):
    monkeypatch.setenv("MAINTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'store.sqlite3'}")
    sb = make_sandbox()
    seed_sandbox(sb.state, scenario())
    sb.state.set_content(REPO, ".github/maintbot.yml", CONFIG)
    return sb


def run(sb, *args, config=None):
    settings = Settings(api_url=sb.base_url, token="test-token", config_path=config)
    return CliRunner().invoke(report, list(args), obj=settings, catch_exceptions=True)


def test_json_report_to_a_file(seeded, tmp_path):
    out = tmp_path / "report.json"
    result = run(seeded, "--repo", REPO, *MARCH, "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    # The repository's own .github/maintbot.yml ignores spammer: the hand-computed values hold.
    assert data["first_response"]["overall"]["count"] == 6
    assert data["first_response"]["overall"]["median"] == 7.5 * 3600
    assert (data["contributors"]["active"], data["contributors"]["new"]) == (6, 2)
    assert data["window"] == {"start": "2024-03-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"}


def test_local_config_wins_over_the_repository_one(seeded, tmp_path):
    config = tmp_path / "maintbot.yml"
    config.write_text("version: 1\n")  # spammer not ignored: #2 is answered by spammer at 01:00
    result = run(seeded, "--repo", REPO, *MARCH, "--format", "json", config=config)
    assert result.exit_code == 0, result.output
    issues = json.loads(result.output)["first_response"]["issues"]
    assert (issues["count"], issues["mean"]) == (2, (3 + 1) / 2 * 3600)


def test_markdown_and_html_reports(seeded, tmp_path):
    md = run(seeded, "--repo", REPO, *MARCH, "--format", "md")
    assert md.exit_code == 0, md.output
    assert md.output.startswith("# Community health report: octo/lab")
    assert "```mermaid" in md.output
    html_file = tmp_path / "report.html"
    html = run(seeded, "--repo", REPO, *MARCH, "--format", "html", "--out", str(html_file))
    assert html.exit_code == 0, html.output
    assert html_file.read_text().count("<svg ") == 3


def test_post_issue_creates_once_then_updates_in_place(seeded):
    first = run(seeded, "--repo", REPO, *MARCH, "--post-issue")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Created ")
    seeded.clear_requests()
    second = run(seeded, "--repo", REPO, *MARCH, "--post-issue")
    assert second.exit_code == 0, second.output
    assert ISSUE_CREATE not in seeded.request_counts()
    reports = [
        i
        for i in seeded.state.repo(REPO)["issues"].values()
        if (i["body"] or "").startswith("<!-- maintbot:report:2024-03-01..2024-03-31 -->")
    ]
    assert len(reports) == 1
    assert reports[0]["title"] == "Community health report for octo/lab: 2024-03-01 to 2024-03-31"
    assert "## Time to first response" in reports[0]["body"]
    # The report issue itself is not counted by the next report.
    data = json.loads(run(seeded, "--repo", REPO, *MARCH, "--format", "json").output)
    assert data["backlog"]["open_issues"] == 4


def run_maintbot(sb, *args):
    """``maintbot ARGS`` in process, through the root group and its global options."""
    root = ["--api-url", sb.base_url, "--token", "test-token"]
    return CliRunner(env={"MAINTBOT_DRY_RUN": None}).invoke(cli, [*root, *args])


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--repo", REPO, *MARCH, "--post-issue", "--dry-run"],
        ["--dry-run", "report", "--repo", REPO, *MARCH, "--post-issue"],
    ],
    ids=["after the command", "before it"],
)
def test_dry_run_prints_the_issue_and_writes_nothing(seeded, args):
    result = run_maintbot(seeded, *args)
    assert result.exit_code == 0, result.output
    assert "Dry run: would create the issue" in result.output
    assert "## Summary" in result.output
    writes = [r for r in seeded.requests if r.method != "GET"]
    assert writes == []


@pytest.mark.parametrize(
    "args",
    [["report", "--repo", REPO, *MARCH, "--json"], ["--json", "report", "--repo", REPO, *MARCH]],
    ids=["after the command", "before it"],
)
def test_json_flag_is_the_json_format(seeded, args):
    result = run_maintbot(seeded, *args)
    assert result.exit_code == 0, result.output
    expected = json.loads(run(seeded, "--repo", REPO, *MARCH, "--format", "json").stdout)
    shown = json.loads(result.stdout)
    assert shown.pop("generated_at") and expected.pop("generated_at")  # the time of each run
    assert shown == expected


def test_json_flag_and_another_format_is_a_usage_error(seeded):
    result = run_maintbot(seeded, "report", "--repo", REPO, *MARCH, "--format", "html", "--json")
    assert result.exit_code == 2
    assert "--json and --format html ask for two different formats" in result.output


def test_long_report_goes_on_in_comments(seeded, tmp_path):
    template = tmp_path / "long.md.j2"
    template.write_text(
        "{% for i in range(1500) %}## Part {{ i }}\n" + "z" * 100 + "\n{% endfor %}"
    )  # about 160,000 characters: three parts
    result = run(seeded, "--repo", REPO, *MARCH, "--post-issue", "--template", str(template))
    assert result.exit_code == 0, result.output
    issue = next(
        i
        for i in seeded.state.repo(REPO)["issues"].values()
        if (i["body"] or "").startswith("<!-- maintbot:report")
    )
    parts = [
        c
        for c in seeded.state.repo(REPO)["comments"].values()
        if c["issue_number"] == issue["number"]
    ]
    assert len(parts) == 2
    assert all(len(c["body"]) <= 65_536 for c in parts) and len(issue["body"]) <= 65_536
    assert "*Part 3 of 3.*" in max(parts, key=lambda c: c["id"])["body"]


def test_several_repositories_make_one_report(seeded):
    other = "octo/second"
    seeded.state.add_repo(other)
    seeded.state.add_issue(other, title="Hello", user="newcomer", created_at="2024-03-05T00:00:00Z")
    result = run(seeded, "--repo", REPO, "--repo", other, *MARCH, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["repos"] == [REPO, other]
    # newcomer is a 7th active and 3rd new contributor; #1 of the second repository is a
    # 4th issue opened in March with no answer.
    assert (data["contributors"]["active"], data["contributors"]["new"]) == (7, 3)
    assert data["first_response"]["without_response"] == 3


def test_empty_window_renders(seeded):
    result = run(
        seeded, "--repo", REPO, "--since", "2030-01-01", "--until", "2030-01-31", "--format", "md"
    )
    assert result.exit_code == 0, result.output
    assert "Nobody contributed in this window." in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no repository"),
        (["--repo", "not-a-repo"], "not a repository name"),
        (["--repo", REPO, "--since", "March"], "not a date"),
        (["--repo", REPO, "--since", "2024-03-31", "--until", "2024-03-01"], "window is empty"),
    ],
)
def test_usage_errors(seeded, args, message, monkeypatch):
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    result = run(seeded, *args)
    assert isinstance(result.exception, UsageError)
    assert message in str(result.exception)


def test_org_reports_on_its_active_repositories(seeded, monkeypatch):
    state = seeded.state
    state.add_user("octo", type="Organization")
    for name, kind in (("octo/old", {"archived": True}), ("octo/copy", {"fork": True})):
        state.add_repo(name, **kind)
        state.add_issue(name, title="Left out", user="someone", created_at="2024-03-05T00:00:00Z")
    state.add_repo("octo/zoo")
    state.add_issue("octo/zoo", title="Hello", user="newcomer", created_at="2024-03-05T00:00Z")
    # In a workflow GITHUB_REPOSITORY names the workflow's own repository: --org leaves it out.
    monkeypatch.setenv("GITHUB_REPOSITORY", "someone/workflows")

    result = run(seeded, "--org", "octo", *MARCH, "--format", "json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # By name (octo/lab first, so its .github/maintbot.yml applies); octo/old is archived and
    # octo/copy a fork, so someone's issues there do not count.
    assert data["repos"] == [REPO, "octo/zoo"]
    # newcomer, of octo/zoo, is the only author from outside octo/lab: 7 active, not 6 or 8.
    assert data["contributors"]["active"] == 7


def test_org_and_repo_name_one_repository_once(seeded):
    seeded.state.add_user("octo", type="Organization")
    result = run(seeded, "--org", "octo", "--repo", "Octo/Lab", *MARCH, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["repos"] == ["Octo/Lab"]
    assert data["first_response"]["overall"]["count"] == 6  # as for octo/lab alone


@pytest.mark.parametrize("login", ["alice", "nobody"])  # a user, and no account at all
def test_org_must_be_an_organization(seeded, login):
    result = run(seeded, "--org", login, *MARCH)
    assert isinstance(result.exception, UsageError)
    assert f"no organization '{login}'" in str(result.exception)


def test_progress_bar_draws_pages_of_the_announced_total():
    stream = io.StringIO()
    bar = ProgressBar(stream, interactive=True)
    bar.repo = "octo/lab"
    bar("issues", 1, 4)
    bar("issues", 4, 4)
    lines = stream.getvalue().split("\r")
    assert (
        lines[1].rstrip() == "octo/lab issues           [#######.......................] 1/4 pages"
    )
    assert lines[2].endswith("[##############################] 4/4 pages\n")
    quiet = io.StringIO()
    ProgressBar(quiet, interactive=False)("issues", 4, 4)
    assert quiet.getvalue() == ""  # not a terminal: a log line instead


def test_through_the_maintbot_command(seeded):
    from bot.cli import cli

    base = ["--api-url", seeded.base_url, "--token", "test-token", "report"]
    ok = CliRunner().invoke(cli, [*base, "--repo", REPO, *MARCH, "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["contributors"]["active"] == 6
    bad = CliRunner().invoke(cli, [*base, "--repo", REPO, "--since", "yesterday"])
    assert bad.exit_code == 2
    assert "'yesterday' is not a date" in bad.output and "Hint:" in bad.output
