"""GitHub's real example webhook bodies in ../shared/github/webhooks, as (event, action, path)."""

from __future__ import annotations

import csv
from pathlib import Path


def example_payloads(shared: Path) -> list[tuple[str, str | None, Path]]:
    """Every payload listed in MANIFEST.tsv; ``action`` is None for events without one (push)."""
    root = shared / "github" / "webhooks"
    rows = []
    with open(root / "MANIFEST.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            path = shared / "github" / row["local_path"]
            event = path.parent.name
            action = path.name.split(".")[0]
            rows.append((event, None if action == "event" else action, path))
    return rows
