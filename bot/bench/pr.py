"""``bench run`` and ``bench pr``: run the models on one tree, or on base and head interleaved.

``bench pr`` checks the base out into a temporary git worktree and benchmarks it against the
head (the working tree, or ``--head REF`` in a second worktree) in the same job, A/B/A/B, so
both sides share the machine, its load and its software; then it compares them.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.bench import results, venvs
from bot.bench.affected import CONFIG_FILE, Scope, decide
from bot.bench.baseline import Reuse, environment, fingerprint, model_hash, reusable, tree_entries
from bot.bench.compare import Comparison, Thresholds, compare
from bot.bench.models import find_module, is_reference, module_file
from bot.bench.packages import PackageDiff, dependency_files, diff
from bot.bench.runner import RunSettings, Side, SideResults, StopRule, run_all
from bot.bench.sequential import stop_rule
from bot.bench.worktree import (
    changed_paths,
    has_local_changes,
    head_commit,
    repository_root,
    resolve_commit,
    temporary_worktree,
)
from bot.errors import UsageError


@dataclass(frozen=True)
class PrBenchmark:
    """Both sides' results documents and their comparison.

    ``scope`` says which models the change affects (None: every model ran, unscoped).
    """

    base: dict[str, Any]
    head: dict[str, Any]
    comparison: Comparison
    scope: Scope | None = None
    reuse: Reuse | None = None  # the base runs taken from a record instead of trained
    packages: PackageDiff | None = None  # each side ran in its own environment: what differs


def model_tree(start: Path, models: Sequence[str] | None = None) -> Path:
    """The folder holding the models for ``bench run``: ``start`` or its git root.

    Without ``models`` that is the folder with ``reference_models/``; with them, the folder
    where every model's module is found.
    """
    start = Path(start).resolve()

    def holds(tree: Path) -> bool:
        if models is None:
            return (tree / "reference_models").is_dir()
        return all(find_module(tree, model) is not None for model in models)

    if holds(start):
        return start
    if models is None:
        root = repository_root(start)
        if holds(root):
            return root
        raise UsageError(
            f"no reference_models/ folder in {start} or its repository",
            hint="run maintbot bench from the root of the repository that holds the models",
        )
    try:
        root = repository_root(start)
    except UsageError:  # a tree outside git: only the folder itself can hold the models
        root = start
    if holds(root):
        return root
    missing = [str(module_file(m)) for m in models if find_module(root, m) is None]
    raise UsageError(
        f"{root} has no {', '.join(missing)}",
        hint="run maintbot bench from the root of the repository that holds the models, "
        "or fix the module path in --models / bench.models",
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
    paths: Any = None,
    config_files: Sequence[str] = (CONFIG_FILE,),
    early_stop: bool = False,
    base_records: Any = None,
    isolate_dependencies: bool = False,
) -> PrBenchmark:
    """Base (temporary worktree) against head (working tree or ``head_ref``), interleaved.

    With ``paths`` (``bench.paths``: ``shared`` patterns and per-model ``models``), only the
    models the change affects run (:mod:`bot.bench.affected`); when none is, nothing is
    checked out or trained and both documents have no runs. Without it every model runs.
    With ``early_stop`` a model runs no more seeds once they cannot change its verdict
    (:mod:`bot.bench.sequential`). With ``base_records`` (a store of default-branch records
    such as :class:`bot.bench.databranch.DataBranch`), a model whose base commit was recorded
    in the same environment with the same files reuses those runs (:mod:`bot.bench.baseline`)
    and only its head is trained. With ``isolate_dependencies``, a change to a dependency
    file (:data:`bot.config.schema.DEPENDENCY_FILES`) runs each side with the interpreter of
    its own environment, built from its own files (:mod:`bot.bench.venvs`); the head document
    then names the packages whose versions differ. Base runs are not reused then: they were
    recorded in the job's environment, not the base's own.
    """
    root = repository_root(repo)
    base_sha = resolve_commit(root, base_ref)
    head_sha = resolve_commit(root, head_ref) if head_ref else head_commit(root)
    scope = None
    to_run = list(models)
    changed: list[str] | None = None
    if paths is not None or isolate_dependencies:
        changed = changed_paths(root, base_sha, head_sha if head_ref else None)
    dependency_changes = dependency_files(changed or []) if isolate_dependencies else []
    if paths is not None:
        assert changed is not None
        scope = decide(
            changed, models, shared=paths.shared, extra=paths.models, config_files=config_files
        )
        to_run = scope.affected
        for model in scope.models:
            verb = "runs" if model.affected else "skipped"
            _say(progress, f"[scope] {model.model} {verb}: {model.reason}")
    dirty = False if head_ref else has_local_changes(root)
    if not to_run:
        _say(
            progress, f"[scope] not affected: {len(scope.changed) if scope else 0} changed file(s)"
        )
        collected = {"base": SideResults([], []), "head": SideResults([], [])}
        reuse = None
        package_diff = None
    else:
        stop = stop_rule(thresholds) if early_stop else None
        reuse = None
        if dependency_changes:
            _say(
                progress,
                f"[deps] {', '.join(dependency_changes)} changed: one environment per side",
            )
            if base_records is not None:
                _say(progress, "[reuse] off: the base runs in its own environment")
        elif base_records is not None:
            reuse = _reuse(
                root, base_sha, base_records, to_run, seeds, settings, paths, config_files
            )
            for model, why in reuse.reasons.items():
                _say(progress, f"[reuse] {model}: base trained: {why}")
            if reuse.models:
                names = ", ".join(reuse.models)
                _say(progress, f"[reuse] the base runs of {names} come from the record")
        collected, package_diff = _run_sides(
            root,
            base_ref,
            base_sha,
            head_ref,
            head_sha,
            to_run,
            seeds,
            settings,
            progress,
            stop,
            reused=reuse,
            dependency_changes=dependency_changes,
        )
    base = _document(
        "base",
        {"sha": base_sha, "ref": base_ref, "dirty": False},
        to_run,
        seeds,
        settings,
        collected["base"],
    )
    head = _document(
        "head",
        {"sha": head_sha, "ref": head_ref or "working tree", "dirty": dirty},
        to_run,
        seeds,
        settings,
        collected["head"],
        pull_request=pull_request,
        scope=scope.to_results() if scope else None,
        packages=package_diff.to_results(dependency_changes) if package_diff else None,
    )
    return PrBenchmark(
        base=base,
        head=head,
        comparison=compare(base, head, thresholds),
        scope=scope,
        reuse=reuse if reuse and reuse.models else None,
        packages=package_diff,
    )


def _reuse(
    root: Path,
    base_sha: str,
    base_records: Any,
    models: list[str],
    seeds: list[int],
    settings: RunSettings,
    paths: Any,
    config_files: Sequence[str],
) -> Reuse:
    """Which models' base runs the record of the base commit can stand in for."""
    from bot.config.schema import BenchPaths

    paths = paths if paths is not None else BenchPaths()
    env = environment()
    tree = tree_entries(root, base_sha)
    hashes = {
        m: model_hash(tree, m, shared=paths.shared, extra=paths.models, config_files=config_files)
        for m in models
    }
    return reusable(
        base_records.read(base_sha, fingerprint(env)),
        base_sha=base_sha,
        fingerprint_now=fingerprint(env),
        model_hashes=hashes,
        settings=settings.to_results(models, seeds),
    )


def _run_sides(
    root: Path,
    base_ref: str,
    base_sha: str,
    head_ref: str | None,
    head_sha: str | None,
    models: list[str],
    seeds: list[int],
    settings: RunSettings,
    progress: TextIO | None,
    stop: StopRule | None = None,
    reused: Reuse | None = None,
    dependency_changes: Sequence[str] = (),
) -> tuple[dict[str, SideResults], PackageDiff | None]:
    """Checks out what is needed and runs both sides interleaved (the head alone for models
    whose base runs are ``reused``), each in its own environment when ``dependency_changes``
    (then also: the packages that differ between them)."""
    head_only = [m for m in models if reused and m in reused.models]
    both = [m for m in models if m not in head_only]
    with contextlib.ExitStack() as stack:
        base_tree = stack.enter_context(temporary_worktree(root, base_sha)) if both else None
        if head_ref:
            assert head_sha is not None
            head_tree = stack.enter_context(temporary_worktree(root, head_sha))
        else:
            head_tree = root
        if any(is_reference(m) for m in models):
            for tree, ref in ((base_tree, base_ref), (head_tree, head_ref or "HEAD")):
                if tree is not None and not (tree / "reference_models").is_dir():
                    raise UsageError(
                        f"{ref} has no reference_models/ folder to benchmark",
                        hint="pick a base that already has the reference models",
                    )
        package_diff = None
        pythons: dict[str, str | None] = {"base": None, "head": None}
        if dependency_changes and base_tree is not None:
            envs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="maintbot-env-")))
            listings = {}
            for label, tree in (("base", base_tree), ("head", head_tree)):
                _say(progress, f"[deps] building the {label}'s environment from its own files")
                python = venvs.build(tree, envs / label, dependency_changes, label=label)
                pythons[label] = str(python)
                listings[label] = venvs.installed(python)
            package_diff = diff(listings["base"], listings["head"])
            for change in package_diff.changes:
                _say(
                    progress,
                    f"[deps] {change.name}: {change.base or 'absent'} -> {change.head or 'absent'}",
                )
        collected = {"base": SideResults([], []), "head": SideResults([], [])}
        if both:
            assert base_tree is not None
            collected = run_all(
                [
                    Side("base", base_tree, pythons["base"]),
                    Side("head", head_tree, pythons["head"]),
                ],
                both,
                seeds,
                settings,
                progress=progress,
                stop=stop,
            )
        if head_only:
            assert reused is not None
            fixed = SideResults(
                [r for r in reused.runs() if r["seed"] in seeds],
                [f for f in reused.failures() if f["seed"] in seeds],
            )
            rule = _with_base(stop, fixed)
            alone = run_all(
                [Side("head", head_tree)], head_only, seeds, settings, progress=progress, stop=rule
            )
            collected["base"].runs += fixed.runs
            collected["base"].failures += fixed.failures
            collected["head"].runs += alone["head"].runs
            collected["head"].failures += alone["head"].failures
            collected["head"].stopped.update(alone["head"].stopped)
        return collected, package_diff


def _with_base(stop: StopRule | None, base: SideResults) -> StopRule | None:
    """A head-only run's stop rule: the base is the reused runs, complete from the start."""
    if stop is None:
        return None
    return lambda model, collected, remaining: stop(
        model, {"base": base, "head": collected["head"]}, remaining
    )


def _document(
    label: str,
    git: dict[str, Any],
    models: list[str],
    seeds: list[int],
    settings: RunSettings,
    side: SideResults,
    pull_request: dict[str, Any] | None = None,
    scope: dict[str, Any] | None = None,
    packages: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc = results.new_results(
        label=label,
        git=git,
        settings=settings.to_results(models, seeds),
        runs=side.runs,
        failures=side.failures,
        pull_request=pull_request,
        scope=scope,
        packages=packages,
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


def _say(progress: TextIO | None, line: str) -> None:
    if progress is not None:
        print(line, file=progress, flush=True)
