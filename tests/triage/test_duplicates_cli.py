"""``triage duplicates eval`` / ``index``, run under maintbot's own root group class (which turns
a maintbot error into its message and exit code), with the invocation's Settings as object."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import MaintbotGroup
from bot.settings import Settings
from bot.store.database import Store
from bot.triage.duplicates_cli import duplicate_groups, duplicates
from bot.triage.duplicates_index import index_status, load_embedder

ISSUES = [
    {"id": "a1", "title": "Crash when loading a checkpoint", "body": "KeyError: 'model_state'"},
    {"id": "a2", "title": "Loading checkpoint fails", "body": "KeyError: 'model_state'!"},
    {"id": "b1", "title": "Add a dark theme", "body": "The UI is too bright at night."},
    {"id": "b2", "title": "Dark mode please", "body": "A dark theme for the UI would be nice."},
    {"id": "c1", "title": "Docs: typo in README", "body": "'recieve' should be 'receive'."},
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _model_once():
    load_embedder("")


class _Root(MaintbotGroup):
    """The root group with only this group under it (``triage`` will hold it in the product)."""

    def list_commands(self, ctx):
        return ["duplicates"]

    def get_command(self, ctx, cmd_name):
        return duplicates if cmd_name == "duplicates" else None


ROOT = _Root(name="maintbot")


def run(*args: str, settings: Settings | None = None):
    return CliRunner().invoke(ROOT, ["duplicates", *args], obj=settings or Settings())


@pytest.fixture
def files(tmp_path):
    issues = tmp_path / "issues.jsonl"
    issues.write_text("".join(json.dumps(i) + "\n" for i in ISSUES))
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("id,duplicate_of\na2,a1\nb2,b1\n")
    return issues, pairs


@pytest.mark.parametrize("extra", [[], ["--lexical-only"]])
def test_eval_prints_recall_and_json_last(files, extra):
    issues, pairs = files
    result = run("eval", "--issues", str(issues), "--pairs", str(pairs), "--json", *extra)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["pairs"] == 2
    assert {"recall_at_1", "recall_at_5", "recall_at_10"} <= set(data)
    assert data["recall_at_5"] == 1.0  # 4 other issues: the duplicate is always in the first 5
    assert data["method"] == ("lexical" if extra else "combined")
    text = run("eval", "--issues", str(issues), "--pairs", str(pairs), *extra)
    assert "recall@1" in text.output and "2 pairs" in text.output


def test_eval_reads_csv_issues(tmp_path, files):
    _, pairs = files
    issues = tmp_path / "issues.csv"
    issues.write_text(
        "id,title,body\n" + "".join(f'{i["id"]},"{i["title"]}","{i["body"]}"\n' for i in ISSUES)
    )
    result = run("eval", "--issues", str(issues), "--pairs", str(pairs), "--json")
    assert result.exit_code == 0, result.output


def test_eval_errors_name_the_file_and_line(tmp_path, files):
    issues, pairs = files
    missing = run("eval", "--issues", str(tmp_path / "nope.csv"), "--pairs", str(pairs))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad_pairs = tmp_path / "bad.csv"
    bad_pairs.write_text("id,duplicate_of\na2,a1\nzz9,a1\n")
    unknown = run("eval", "--issues", str(issues), "--pairs", str(bad_pairs))
    assert unknown.exit_code == 2
    assert "line 3" in unknown.output and "'zz9' is not in the issues file" in unknown.output
    no_column = tmp_path / "cols.csv"
    no_column.write_text("id,original\na2,a1\n")
    lacking = run("eval", "--issues", str(issues), "--pairs", str(no_column))
    assert lacking.exit_code == 2 and "no column duplicate_of" in lacking.output
    bad_issues = tmp_path / "issues.csv"
    bad_issues.write_text("number,title,body\n1,a,b\n")
    no_id = run("eval", "--issues", str(bad_issues), "--pairs", str(pairs))
    assert no_id.exit_code == 2 and "no column id" in no_id.output


def test_groups_are_transitive():
    groups = duplicate_groups([("a", "b"), ("c", "b"), ("x", "y")])
    assert groups["a"] == {"a", "b", "c"} and groups["y"] == {"x", "y"}


def test_index_harvests_a_repository_into_the_store(sandbox, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'i.sqlite3'}"
    monkeypatch.setenv("MAINTBOT_DATABASE_URL", url)
    settings = Settings(api_url=sandbox.base_url, token="t")
    dry = run("index", "--repo", "octo/widgets", "--dry-run", "--json", settings=settings)
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output.strip().splitlines()[-1])["open"] == 3
    assert all(r.method == "GET" for r in sandbox.requests)
    with Store.open(url) as store:
        assert index_status(store, "octo/widgets") is None
    settings = Settings(api_url=sandbox.base_url, token="t")
    result = run("index", "--repo", "octo/widgets", "--json", settings=settings)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["issues"] == 3 and data["incremental"] is False  # #3 closed over a year ago
    again = run("index", "--repo", "octo/widgets", "--json", settings=settings)
    assert json.loads(again.output.strip().splitlines()[-1])["changed"] == 0
    assert run("index", "--repo", "widgets", settings=settings).exit_code == 2


def test_a_harvest_costs_one_request_per_hundred_issues(sandbox, tmp_path, monkeypatch):
    """Listed issues are read raw: PyGithub would fetch each one again to answer
    ``issue.pull_request`` (a 1,500-issue repository cost 1,515 requests)."""
    for n in range(230):
        sandbox.state.add_issue("octo/widgets", title=f"Issue {n}", body="text", user="dave")
    sandbox.state.add_pull("octo/widgets", title="A pull request", user="dave")
    monkeypatch.setenv("MAINTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'i.sqlite3'}")
    sandbox.clear_requests()
    settings = Settings(api_url=sandbox.base_url, token="t")
    result = run("index", "--repo", "octo/widgets", "--json", settings=settings)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["issues"] == 233
    counts = sandbox.request_counts()
    assert counts.get("GET /repos/{owner}/{repo}/issues/{issue_number}", 0) == 0
    assert counts["GET /repos/{owner}/{repo}/issues"] <= 4  # 3 pages open, 1 closed
