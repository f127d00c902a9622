"""Which PR a benchmark belongs to, read from GitHub's real webhook payloads."""

from __future__ import annotations

import json

import pytest

from bot.bench.pull_request import claimed_pull_request, trusted_head_sha


def payload(shared_dir, event, name):
    return json.loads((shared_dir / "github" / "webhooks" / event / name).read_text())


def test_a_pull_request_event_claims_its_number_and_head(shared_dir):
    event = payload(shared_dir, "pull_request", "synchronize.json")
    assert claimed_pull_request("pull_request", event) == {
        "number": 2,
        "head_sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
    }
    assert claimed_pull_request("push", event) is None
    assert claimed_pull_request(None, {}) is None


@pytest.mark.parametrize(
    "number, sha",
    [
        ("2", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"),
        (True, "ec26c3e57ca3a959ca5aad62de7213c562f8c821"),
        (2, "ec26c3e57ca3a959ca5aad62de7213c562f8c82"),
        (2, "not hex " * 5),
    ],
)
def test_a_malformed_claim_is_no_claim(shared_dir, number, sha):
    event = payload(shared_dir, "pull_request", "opened.json")
    event["pull_request"]["number"] = number
    event["pull_request"]["head"]["sha"] = sha
    assert claimed_pull_request("pull_request", event) is None


def test_the_trusted_head_comes_from_the_workflow_run(shared_dir):
    event = payload(shared_dir, "workflow_run", "completed.with-pull-requests.json")
    assert trusted_head_sha("workflow_run", event) == "3484a3fb816e0859fd6e1cea078d76385ff50625"
    assert trusted_head_sha("pull_request", event) is None
    event["workflow_run"]["head_sha"] = "$(curl evil)"
    assert trusted_head_sha("workflow_run", event) is None
