"""``bench run`` and ``bench pr``: run the models on one tree, or on base and head interleaved.

``bench pr`` checks the base out into a temporary git worktree and benchmarks it against the
head (the working tree, or ``--head REF`` in a second worktree) in the same job, A/B/A/B, so
both sides share the machine, its load and its software; then it compares them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.bench import results
from bot.bench.compare import Comparison, Thresholds, compare
from bot.bench.runner import RunSettings, Side, SideResults, run_all
from bot.bench.worktree import (
    has_local_changes,
    head_commit,
    repository_root,
    resolve_commit,
    temporary_worktree,
)
from bot.errors import UsageError


@dataclass(frozen=True)
class PrBenchmark:
    """Both sides' results documents and their comparison."""

    base: dict[str, Any]
    head: dict[str, Any]
    comparison: Comparison


def model_tree(start: Path) -> Path:
    """The folder holding ``reference_models/`` for ``bench run``: ``start`` or its git root."""
    start = Path(start).resolve()
    if (start / "reference_models").is_dir():
        return start
    root = repository_root(start)
    if (root / "reference_models").is_dir():
        return root
    raise UsageError(
        f"no reference_models/ folder in {start} or its repository",
        hint="run maintbot bench from the root of the repository that holds the models",
    )


def bench_tree(
    tree: Path,
    *,
    label: str,
    models: list[str],
    seeds: list[int],
    settings: RunSettings,
    progress: TextIO | None = None,
) -> dict[str, Any]:
    """``bench run``: every model and seed on one tree, as one results document."""
    collected = run_all([Side(label, tree)], models, seeds, settings, progress=progress)
    git = _git_info(tree, ref=None)
    return _document(label, git, models, seeds, settings, collected[label])


def bench_pr(
    repo: Path,
    *,
    base_ref: str,
    head_ref: str | None,
    models: list[str],
    seeds: list[int],
    settings: RunSettings,
    thresholds: Thresholds,
    pull_request: dict[str, Any] | None = None,
    progress: TextIO | None = None,
) -> PrBenchmark:
    """Base (temporary worktree) against head (working tree or ``head_ref``), interleaved."""
    root = repository_root(repo)
    base_sha = resolve_commit(root, base_ref)
    head_sha = resolve_commit(root, head_ref) if head_ref else head_commit(root)
    with contextlib.ExitStack() as stack:
        base_tree = stack.enter_context(temporary_worktree(root, base_sha))
        if head_ref:
            assert head_sha is not None
            head_tree, dirty = stack.enter_context(temporary_worktree(root, head_sha)), False
        else:
            head_tree, dirty = root, has_local_changes(root)
        for tree, ref in ((base_tree, base_ref), (head_tree, head_ref or "HEAD")):
            if not (tree / "reference_models").is_dir():
                raise UsageError(
                    f"{ref} has no reference_models/ folder to benchmark",
                    hint="pick a base that already has the reference models",
                )
        collected = run_all(
            [Side("base", base_tree), Side("head", head_tree)],
            models,
            seeds,
            settings,
            progress=progress,
        )
    base = _document(
        "base",
        {"sha": base_sha, "ref": base_ref, "dirty": False},
        models,
        seeds,
        settings,
        collected["base"],
    )
    head = _document(
        "head",
        {"sha": head_sha, "ref": head_ref or "working tree", "dirty": dirty},
        models,
        seeds,
        settings,
        collected["head"],
        pull_request=pull_request,
    )
    return PrBenchmark(base=base, head=head, comparison=compare(base, head, thresholds))


def _document(
    label: str,
    git: dict[str, Any],
    models: list[str],
    seeds: list[int],
    settings: RunSettings,
    side: SideResults,
    pull_request: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc = results.new_results(
        label=label,
        git=git,
        settings=settings.to_results(models, seeds),
        runs=side.runs,
        failures=side.failures,
        pull_request=pull_request,
    )
    results.validate(doc, source=f"the {label} results")
    return doc


def _git_info(tree: Path, ref: str | None) -> dict[str, Any]:
    """The commit of a tree for ``bench run``; a tree outside git is recorded as such."""
    try:
        root = repository_root(tree)
    except UsageError:
        return {"sha": None, "ref": ref, "dirty": None}
    return {"sha": head_commit(root), "ref": ref, "dirty": has_local_changes(root)}
