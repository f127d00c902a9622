"""The artifact between the two PR workflows: exactly two results files and a preview.

The unprivileged job writes it; the privileged job reads only ``base.json`` and ``head.json``
from it, as plain files (no links), through the size-capped validating reader.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from bot.bench import results
from bot.errors import UsageError

BASE_FILE = "base.json"
HEAD_FILE = "head.json"
PREVIEW_FILE = "comment.md"  # for people browsing the artifact; never read back


def write_artifact(
    folder: Path, base: dict[str, Any], head: dict[str, Any], preview: str
) -> list[Path]:
    """Writes the two results files and the Markdown preview; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    results.write(base, folder / BASE_FILE)
    results.write(head, folder / HEAD_FILE)
    (folder / PREVIEW_FILE).write_text(preview, encoding="utf-8")
    return [folder / BASE_FILE, folder / HEAD_FILE, folder / PREVIEW_FILE]


def read_artifact(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(base, head) results from an artifact folder, each validated against the schema."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        raise UsageError(
            f"{folder} is not a folder",
            hint="pass the folder the benchmark artifact was downloaded into",
        )
    docs = []
    for name in (BASE_FILE, HEAD_FILE):
        path = folder / name
        if path.is_symlink() or not path.is_file():
            raise UsageError(
                f"the artifact in {folder} has no plain file {name}",
                hint="the benchmark job failed before writing results; see its log",
            )
        docs.append(results.load(path))
    base, head = docs
    return base, head


def policy_notes(
    base: dict[str, Any],
    head: dict[str, Any],
    bench_config: Any,
    skipped: Collection[str] = (),
) -> list[str]:
    """What in the artifact differs from the default branch's ``bench`` configuration.

    The PR's own workflow and config decided how it was benchmarked, so the privileged step
    says when that was weaker than the project asks (fewer seeds, fewer epochs, a slice).
    Models in ``skipped`` are not mentioned as missing: the change does not affect them.
    """
    notes = []
    for label, doc in (("base", base), ("head", head)):
        settings = doc["settings"]
        if settings["train_limit"] or settings["test_limit"]:
            notes.append(
                f"the {label} ran on a data slice (train {settings['train_limit'] or 'all'}, "
                f"test {settings['test_limit'] or 'all'} images): quick-check figures"
            )
        if len(settings["seeds"]) < bench_config.seeds:
            notes.append(
                f"the {label} ran {len(settings['seeds'])} seed(s); this repository's "
                f"configuration asks for {bench_config.seeds}"
            )
        if settings["epochs"] != bench_config.epochs:
            notes.append(
                f"the {label} ran {settings['epochs']} epoch(s); this repository's "
                f"configuration asks for {bench_config.epochs}"
            )
        missing = [
            m for m in bench_config.models if m not in settings["models"] and m not in skipped
        ]
        if missing:
            notes.append(f"the {label} did not run {', '.join(missing)}")
    return notes
