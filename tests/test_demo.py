"""``maintbot demo``, the README's first command, runs end to end offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys


def test_demo_runs_every_step_and_writes_the_report(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    first, second = (int(n) for n in re.findall(r"collection: (\d+) API requests", out.stdout))
    assert second < first, "the second collection must be served from the cache"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report  # the JSON report of the demo repository
    html = (tmp_path / "report.html").read_text()
    assert "<script" not in html.lower()
    assert "octo-lab/mnist-playground" in (tmp_path / "report.md").read_text()
