"""Measures the report's API use and time on a sandbox repository of 10,000 issues and PRs.

Seeds the same repository as tests/report/test_frugality.py, collects it three times (first
run, a second right after, a third with nothing new) and prints the requests per route,
how many were answered 304, and the seconds each run took.

    PYTHONPATH=. .venv/bin/python benchmarks/report_frugality.py
"""

from __future__ import annotations

import tempfile
import time

from bot.github.client import build_github
from bot.report.collect import collect_repository
from bot.report.storage import RecordStore
from bot.sandbox.server import Sandbox
from bot.store.database import Store
from tests.report.test_frugality import HORIZON, ITEMS, REPO, seed_big_repository


def main() -> None:
    sandbox = Sandbox()
    started = time.perf_counter()
    expected = seed_big_repository(sandbox.state)
    print(f"seeded {ITEMS} items, {expected} in {time.perf_counter() - started:.1f} s")
    with sandbox, tempfile.TemporaryDirectory() as scratch:
        github = build_github(token="bench-token", api_url=sandbox.base_url)
        records = RecordStore(Store.open(f"sqlite:///{scratch}/bench.sqlite3"), REPO)
        first_total = None
        for run in ("first", "second", "third"):
            sandbox.clear_requests()
            started = time.perf_counter()
            _, summary = collect_repository(github, records, reviews_horizon=HORIZON)
            seconds = time.perf_counter() - started
            counts = sandbox.request_counts()
            total = sum(counts.values())
            first_total = first_total or total
            print(f"\n{run} run: {total} requests ({total / first_total:.1%} of the first), "
                  f"{summary.not_modified} answered 304, {seconds:.1f} s")  # fmt: skip
            for route, count in sorted(counts.items()):
                print(f"  {count:5d}  {route}")


if __name__ == "__main__":
    main()
