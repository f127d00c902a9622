"""Regenerates docs/report-example.{md,html,png}: the report of the sandbox's demo repository.

Runs ``maintbot report`` against the demo sandbox (octo-lab/mnist-playground) for the first
half of 2024, in Markdown and HTML, then has headless Chromium take the screenshot that
docs/metrics.md shows. Needs Chromium on PATH (``apt-get install -y chromium``).

    .venv/bin/python benchmarks/report_example.py [--height 3800]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from bot.report.cli import report
from bot.sandbox.server import Sandbox
from bot.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
WINDOW = ["--since", "2024-01-01", "--until", "2024-06-30"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=3800, help="screenshot height in pixels")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("google-chrome")
    if chromium is None:
        print("Chromium is not on PATH: apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch, Sandbox.demo() as sb:
        repo = next(iter(sb.state.repos.values()))["full_name"]
        env = {"MAINTBOT_DATABASE_URL": f"sqlite:///{scratch}/store.sqlite3"}
        settings = Settings(api_url=sb.base_url, token="demo-token")
        for fmt in ("md", "html"):
            out = DOCS / f"report-example.{fmt}"
            result = CliRunner(env=env).invoke(
                report, ["--repo", repo, *WINDOW, "--format", fmt, "--out", str(out)], obj=settings
            )
            if result.exit_code != 0:
                print(result.output, result.exception, file=sys.stderr)
                return 1
            # The sandbox's URLs would point at a port that is gone; show GitHub's instead.
            out.write_text(out.read_text().replace(sb.base_url, "https://github.com"))
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={scratch}/profile",
                f"--window-size=1000,{args.height}",
                f"--screenshot={DOCS / 'report-example.png'}",
                (DOCS / "report-example.html").as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {DOCS}/report-example.md, .html and .png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
