"""This repository's own triage and report workflows: the events the handlers use, least
privilege per job, and never the code of a pull request."""

from __future__ import annotations

import yaml

from bot.handlers import build_router
from tests.paths import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return {("on" if key is True else key): value for key, value in data.items()}


def action_step(job: dict) -> dict:
    (step,) = [s for s in job["steps"] if s.get("uses") == "./"]
    return step


def test_triage_workflow_runs_the_issue_handlers_with_least_privilege():
    workflow = load("triage.yml")
    handled = {(event, action) for event, action, _ in build_router().routes()}
    for event, spec in workflow["on"].items():
        routed = "pull_request" if event == "pull_request_target" else event
        for action in spec["types"]:
            assert (routed, action) in handled, f"{event}.{action} has no handler"
    assert set(workflow["on"]["issues"]["types"]) >= {"opened", "edited", "labeled", "unlabeled"}
    assert workflow["on"]["issue_comment"] == {"types": ["created"]}  # an edit runs nothing
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write", "pull-requests": "write"}
    assert action_step(job)["with"]["command"] == "action"
    (checkout,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout")]
    # pull_request_target: the default branch's code only, no credentials left on disk
    assert checkout["with"] == {"persist-credentials": False}


def test_report_workflow_posts_on_the_report_schedule_only():
    from bot.config.schema import ReportConfig

    workflow = load("report.yml")
    assert workflow["on"] == {"schedule": [{"cron": ReportConfig().schedule}]}
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write", "pull-requests": "read"}
    assert action_step(job)["with"]["command"] == "action"
