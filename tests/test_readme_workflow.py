"""The README's example workflow, replayed event by event through ``maintbot action``.

The workflow is read from README.md itself, so the triggers tested are the ones a
maintainer copies; each event is one of GitHub's real example payloads pointed at the
sandbox, and what the README's table promises for that trigger is checked in what the
sandbox holds afterwards."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from bot.cli import cli
from tests.fixtures.sandbox import DEFAULT_REPO
from tests.paths import REPO_ROOT

QUESTION = (
    "How do I load a saved checkpoint?",
    "I saved a model with save(). How can I load it back?",
)
FEATURE = (
    "Feature request: support exporting models to ONNX",
    "It would be great to add an option to export trained models to ONNX so we can serve them.",
)


def readme_workflow() -> dict[str, Any]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# \.github/workflows/maintbot\.yml\n.*?)```", text, re.DOTALL)
    assert block, "README.md lost its example workflow"
    return yaml.safe_load(block.group(1))


def triggers(workflow: dict[str, Any]) -> dict[str, list[str] | None]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    return {
        event: (spec or {}).get("types") if isinstance(spec, dict) else None
        for event, spec in on.items()
    }


def test_the_workflow_runs_maintbot_action_on_issue_events_and_the_report_schedule():
    workflow = readme_workflow()
    on = triggers(workflow)
    assert {"opened", "edited"} <= set(on["issues"])
    assert "schedule" in on
    (job,) = workflow["jobs"].values()
    assert job["steps"][-1]["with"]["command"] == "action"
    cron = workflow.get("on", workflow.get(True))["schedule"][0]["cron"]
    from bot.config.schema import ReportConfig

    assert cron == ReportConfig().schedule  # the report fires on the workflow's own cron


def action(monkeypatch, tmp_path: Path, sandbox, event: str, payload: dict[str, Any]):
    path = tmp_path / f"{event}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    monkeypatch.setenv("GITHUB_EVENT_NAME", event)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    monkeypatch.setenv("GITHUB_REPOSITORY", DEFAULT_REPO)
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_API_URL", sandbox.base_url)
    result = CliRunner().invoke(cli, ["action"])
    assert result.exit_code == 0, result.output
    return result.output


def issue_payload(
    shared_dir: Path,
    action_name: str,
    number: int,
    title: str,
    body: str,
    labels: list[str],
    **extra: Any,
) -> dict[str, Any]:
    payload = json.loads((shared_dir / f"github/webhooks/issues/{action_name}.json").read_text())
    payload["issue"].update(
        number=number, title=title, body=body, labels=[{"name": n} for n in labels]
    )
    payload["issue"]["user"]["login"] = "erin"
    payload["repository"]["full_name"] = DEFAULT_REPO
    payload.pop("installation", None)
    payload.update(extra)
    return payload


def bot_comment(sandbox, number: int) -> dict[str, Any]:
    with sandbox.state.lock:
        comments = [
            c
            for c in sandbox.state.repo(DEFAULT_REPO)["comments"].values()
            if c["issue_number"] == number and c["body"].startswith("<!-- maintbot:triage -->")
        ]
    assert len(comments) == 1, comments
    return comments[0]


def labels(sandbox, number: int) -> list[str]:
    with sandbox.state.lock:
        return sorted(sandbox.state.issue(DEFAULT_REPO, number)["labels"])


def test_each_trigger_does_what_the_readme_says(sandbox, shared_dir, tmp_path, monkeypatch):
    number = sandbox.state.add_issue(
        DEFAULT_REPO, title=QUESTION[0], body=QUESTION[1], user="erin"
    )["number"]
    # issues: opened -> the type label, explained in the one comment
    out = action(
        monkeypatch,
        tmp_path,
        sandbox,
        "issues",
        issue_payload(shared_dir, "opened", number, *QUESTION, []),
    )
    assert "label_new_issue: ok" in out
    assert "question" in labels(sandbox, number)
    first = bot_comment(sandbox, number)

    # issues: edited -> predicted again, relabelled while the label is its own, same comment
    with sandbox.state.lock:
        sandbox.state.issue(DEFAULT_REPO, number).update(title=FEATURE[0], body=FEATURE[1])
    edited = issue_payload(
        shared_dir,
        "edited",
        number,
        *FEATURE,
        labels(sandbox, number),
        changes={"title": {"from": QUESTION[0]}},
    )
    out = action(monkeypatch, tmp_path, sandbox, "issues", edited)
    assert "relabel_edited_issue: ok" in out
    assert "enhancement" in labels(sandbox, number) and "question" not in labels(sandbox, number)
    assert bot_comment(sandbox, number)["id"] == first["id"]

    # schedule -> the report issue, for the cron line that is report.schedule only
    out = action(monkeypatch, tmp_path, sandbox, "schedule", {"schedule": "30 5 * * *"})
    assert "skipped: schedule '30 5 * * *' is not report.schedule" in out
    out = action(monkeypatch, tmp_path, sandbox, "schedule", {"schedule": "0 6 1 * *"})
    assert "post_scheduled_report: ok" in out
    with sandbox.state.lock:
        titles = [i["title"] for i in sandbox.state.repo(DEFAULT_REPO)["issues"].values()]
    assert sum(t.startswith("Community health report for octo/widgets") for t in titles) == 1
    # the same schedule again (a rerun): the same issue is edited, none added
    action(monkeypatch, tmp_path, sandbox, "schedule", {"schedule": "0 6 1 * *"})
    with sandbox.state.lock:
        again = [i["title"] for i in sandbox.state.repo(DEFAULT_REPO)["issues"].values()]
    assert len(again) == len(titles)
