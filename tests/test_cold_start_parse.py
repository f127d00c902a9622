"""The pure parts of benchmarks/cold_start.py: the event and seed it builds, how it reads pip's
log, and the table. The timings themselves are measured, never asserted."""

from __future__ import annotations

import json
import urllib.request

import pytest

from benchmarks.cold_start import (
    PAYLOAD,
    issue_labels,
    pip_phases,
    pip_sources,
    ratio,
    render_table,
    sandbox_seed,
    unlabelled_payload,
)

# a `pip install --log` of a source tree, cut down; the seconds between the marker lines are
# the expected phases: 3.0 (build backend), 8.0 (resolve and fetch), 0.5 (wheel), 10.25
CORE_LOG = """\
2026-12-06T04:31:57,000 Using pip 23.2.1 from /tmp/v/lib/python3.11/site-packages/pip
2026-12-06T04:31:57,100   Installing build dependencies: started
2026-12-06T04:31:57,200   Collecting setuptools>=69
2026-12-06T04:31:57,300     Downloading setuptools-84.2.1-py3-none-any.whl (876 kB)
2026-12-06T04:31:58,700   Installing collected packages: setuptools, wheel
2026-12-06T04:32:00,000   Preparing metadata (pyproject.toml): finished with status 'done'
continuation line without a timestamp
2026-12-06T04:32:00,100 Processing /opt/pypi/files/pygithub-2.10.0-py3-none-any.whl (from x)
2026-12-06T04:32:00,200 Collecting click<9,>=8.1 (from maintbot==0.1.0)
2026-12-06T04:32:00,300   Downloading click-8.5.1-py3-none-any.whl (126 kB)
2026-12-06T04:32:00,400 Collecting numpy>=1.26 (from maintbot==0.1.0)
2026-12-06T04:32:00,500   Using cached numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl (16 MB)
2026-12-06T04:32:08,000 Building wheels for collected packages: maintbot
2026-12-06T04:32:08,300 Successfully built maintbot
2026-12-06T04:32:08,500 Installing collected packages: click, numpy, PyGithub, maintbot
2026-12-06T04:32:18,750 Successfully installed PyGithub-2.10.0 click-8.5.1 maintbot-0.1.0
2026-12-06T04:32:18,800 Removed build tracker: '/tmp/pip-build-tracker-x'
"""

# wheels only (the torch leg): nothing is built
WHEELS_LOG = """\
2026-12-06T05:00:00,000 Using pip 23.2.1
2026-12-06T05:00:01,000 Processing /opt/wheels/torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl
2026-12-06T05:00:30,000 Installing collected packages: torch
2026-12-06T05:01:40,000 Successfully installed torch-2.13.0+cpu
"""


def test_pip_phases_of_a_source_install():
    assert pip_phases(CORE_LOG) == pytest.approx(
        {
            "build_backend_and_metadata_s": 3.0,
            "resolve_and_fetch_s": 8.0,
            "build_wheel_s": 0.5,
            "install_s": 10.25,
        },
        abs=0.006,
    )


def test_pip_phases_of_a_wheel_install_have_no_build():
    assert pip_phases(WHEELS_LOG) == pytest.approx(
        {
            "build_backend_and_metadata_s": 0.0,
            "resolve_and_fetch_s": 30.0,
            "build_wheel_s": 0.0,
            "install_s": 70.0,
        }
    )
    assert pip_phases("no timestamps here\n") == {}


def test_pip_sources_count_cache_downloads_and_local_wheels():
    assert pip_sources(CORE_LOG) == {"from_pip_cache": 1, "downloaded": 2, "local_wheel_files": 1}
    assert pip_sources(WHEELS_LOG) == {
        "from_pip_cache": 0,
        "downloaded": 0,
        "local_wheel_files": 1,
    }


def test_unlabelled_payload_drops_only_the_labels():
    payload = json.loads(PAYLOAD.read_text())
    assert [label["name"] for label in payload["issue"]["labels"]] == ["bug"]
    event = unlabelled_payload(payload)
    assert event["issue"]["labels"] == []
    assert payload["issue"]["labels"], "the original is left as it was"
    event["issue"]["labels"] = payload["issue"]["labels"]
    assert event == payload


def test_the_seed_serves_the_payloads_issue_unlabelled(make_sandbox):
    event = unlabelled_payload(json.loads(PAYLOAD.read_text()))
    sb = make_sandbox(data=sandbox_seed(event))
    full_name, number = event["repository"]["full_name"], event["issue"]["number"]
    request = urllib.request.Request(
        f"{sb.base_url}/repos/{full_name}/issues/{number}",
        headers={"Authorization": "token t"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        issue = json.loads(response.read())
    assert issue["title"] == event["issue"]["title"]
    assert issue["body"] == event["issue"]["body"]
    assert issue["user"]["login"] == event["issue"]["user"]["login"]
    assert issue_labels(issue) == []


def test_ratio_and_table():
    assert ratio(50.0, 10.0) == 5.0
    assert ratio(None, 10.0) is None
    assert ratio(5.0, 0.0) is None
    table = render_table(
        {
            "core": {"venv_s": 4.0, "install_s": 20.0, "action_s": 6.0, "total_s": 30.0},
            "torch": {"venv_s": 4.0, "install_s": 140.0, "decision_s": 16.0, "total_s": 160.0},
        }
    )
    lines = table.splitlines()
    assert lines[0].startswith("| phase | core")
    assert "| **total** | 30.0 s | 160.0 s | 5.33x |" in lines
    assert "| venv (`python -m venv`) | 4.00 s | 4.00 s | 1.00x |" in lines
    assert "| probe: model load | n/a | n/a | n/a |" in lines
