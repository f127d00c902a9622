"""Runs reference models, each in its own subprocess with a timeout, and collects results.

A subprocess per run keeps runs independent (fresh TensorFlow state, its own peak memory),
lets a hung or crashing model be stopped without taking the harness down, and runs exactly
the code of the tree it is given: the model module (``reference_models.<name>``, or a
repository's own module, see :mod:`bot.bench.models`) is imported from the tree and the
runner checks that it was.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.bench import results
from bot.bench.models import code_folder, find_module, module_file, module_of
from bot.errors import UsageError

METRICS_FORMAT = 1  # the per-run metrics format of reference_models.training this reads
TAIL_LINES = 15  # of a failed run's output, kept as its reason


@dataclass(frozen=True)
class RunSettings:
    """What every run of a benchmark shares. The limits are for quick checks only."""

    epochs: int
    dataset: str = "mnist"
    train_limit: int | None = None
    test_limit: int | None = None
    data_path: str | None = None
    timeout_s: float = 30 * 60

    def to_results(self, models: Sequence[str], seeds: Sequence[int]) -> dict[str, Any]:
        """The ``settings`` object of a results document."""
        return {
            "models": list(models),
            "seeds": list(seeds),
            "epochs": self.epochs,
            "dataset": self.dataset,
            "train_limit": self.train_limit,
            "test_limit": self.test_limit,
        }


@dataclass(frozen=True)
class Side:
    """One tree of model code being benchmarked, with the name shown in progress lines."""

    label: str
    root: Path
    python: str | None = None  # the interpreter of its runs; None: the one running maintbot


class RunFailed(Exception):
    """A model run that did not produce metrics; ``reason`` says why (shown in the report)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SideResults:
    """The runs and failures collected for one side."""

    runs: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    stopped: dict[str, str] = field(default_factory=dict)  # model -> why its seeds stopped early


StopRule = Callable[[str, dict[str, "SideResults"], int], str | None]
"""(model, what every side collected so far, seeds still to run) -> why to stop, or None."""


def schedule(
    sides: Sequence[Side], models: Sequence[str], seeds: Sequence[int]
) -> Iterator[tuple[Side, str, int]]:
    """Seed by seed, model by model, the sides alternate (A/B/A/B).

    Interleaving spreads slow phases of a shared machine (another job, thermal throttling)
    over both sides instead of letting them land on one.
    """
    for seed in seeds:
        for model in models:
            for side in sides:
                yield side, model, seed


def run_all(
    sides: Sequence[Side],
    models: Sequence[str],
    seeds: Sequence[int],
    settings: RunSettings,
    *,
    progress: TextIO | None = None,
    stop: StopRule | None = None,
) -> dict[str, SideResults]:
    """Every (side, model, seed) in :func:`schedule` order; failures are kept, not raised.

    With ``stop``, after each seed every model still running is asked whether its remaining
    seeds can change anything (:mod:`bot.bench.sequential`); a model it stops runs no more
    seeds, and why is kept in each side's ``stopped``.
    """
    collected = {side.label: SideResults(runs=[], failures=[]) for side in sides}
    total = len(sides) * len(models) * len(seeds)
    index = 0
    active = list(models)
    for position, seed in enumerate(seeds):
        for side, model, _ in schedule(sides, active, [seed]):
            index += 1
            _run_one(
                side, model, seed, settings, f"[{index}/{total} {side.label}]", collected, progress
            )
        remaining = len(seeds) - position - 1
        if stop is None or not remaining:
            continue
        for model in list(active):
            reason = stop(model, collected, remaining)
            if reason is None:
                continue
            active.remove(model)
            total -= len(sides) * remaining
            for side in sides:
                collected[side.label].stopped[model] = reason
            _say(progress, f"[stop] {model} after {position + 1} of {len(seeds)} seeds: {reason}")
    return collected


def _run_one(
    side: Side,
    model: str,
    seed: int,
    settings: RunSettings,
    prefix: str,
    collected: dict[str, SideResults],
    progress: TextIO | None,
) -> None:
    """One run into ``collected``: its metrics, or its failure with the reason."""
    _say(progress, f"{prefix} {model} seed {seed}: training {settings.epochs} epoch(s)")
    try:
        run = run_model(
            side.root, model, seed, settings, echo=_echo(progress, prefix), python=side.python
        )
    except RunFailed as failure:
        _say(progress, f"{prefix} {model} seed {seed}: FAILED: {failure.reason[:300]}")
        collected[side.label].failures.append(
            {"model": model, "seed": seed, "reason": failure.reason[-2000:]}
        )
        return
    collected[side.label].runs.append(run)
    accuracy = run["test_accuracy"]
    shown = "diverged" if accuracy is None else f"{accuracy:.4f}"
    _say(
        progress,
        f"{prefix} {model} seed {seed}: test accuracy {shown} in {run['wall_seconds']:.1f} s",
    )


def run_model(
    root: Path,
    model: str,
    seed: int,
    settings: RunSettings,
    *,
    echo: Callable[[str], None] | None = None,
    python: str | None = None,
) -> dict[str, Any]:
    """Trains ``model`` from the tree ``root`` once; returns its results ``run``.

    ``python`` is the interpreter to run it with (a side's own environment, when a change
    touches the dependency files); the run records which one it was.
    """
    root = Path(root).resolve()
    if find_module(root, model) is None:
        raise RunFailed(f"{root.name} has no {module_file(model)}")
    with tempfile.TemporaryDirectory(prefix="maintbot-run-") as scratch:
        out = Path(scratch) / "metrics.json"
        interpreter = python or sys.executable
        command = [interpreter, "-m", module_of(model), *_arguments(seed, settings)]
        command += ["--out", str(out)]
        started = time.perf_counter()
        returncode, tail = _run_subprocess(command, root, settings.timeout_s, echo)
        wall_seconds = time.perf_counter() - started
        if returncode is None:
            raise RunFailed(
                f"{model} seed {seed} did not finish within {settings.timeout_s / 60:g} minutes "
                "(bench.timeout_minutes) and was stopped"
            )
        if returncode != 0:
            last = tail[-1] if tail else "no output"  # usually the exception
            raise RunFailed(
                f"{model} seed {seed} exited with code {returncode}: {last}\n" + "\n".join(tail)
            )
        try:
            metrics = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunFailed(f"{model} seed {seed} wrote no readable metrics ({exc})") from exc
    _check_metrics(metrics, root, model, seed)
    run = results.run_record(metrics, wall_seconds=wall_seconds)
    run["interpreter"] = interpreter[-400:]
    return run


def child_environment(root: Path) -> dict[str, str]:
    """The child imports the tree's own model code (and ``bot``), not an installed copy."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH", "")])])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not progress
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _arguments(seed: int, settings: RunSettings) -> list[str]:
    args = ["--seed", str(seed), "--epochs", str(settings.epochs), "--dataset", settings.dataset]
    if settings.train_limit:
        args += ["--train-limit", str(settings.train_limit)]
    if settings.test_limit:
        args += ["--test-limit", str(settings.test_limit)]
    if settings.data_path:
        args += ["--data", settings.data_path]
    return args


def _run_subprocess(
    command: list[str], root: Path, timeout_s: float, echo: Callable[[str], None] | None
) -> tuple[int | None, list[str]]:
    """(exit code or None on timeout, last lines of output); progress lines are echoed live."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    process = subprocess.Popen(
        command,
        cwd=root,
        env=child_environment(root),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # so a timeout stops the whole process group
    )

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            if not line:
                continue
            tail.append(line[:500])
            if echo and line.startswith("[") and "epoch" in line:
                echo(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        reader.join(timeout=10)
        return None, list(tail)
    except BaseException:
        _kill_group(process)
        raise
    reader.join(timeout=10)
    return process.returncode, list(tail)


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait(timeout=30)


def _check_metrics(metrics: object, root: Path, model: str, seed: int) -> None:
    """The run measured what was asked, with the code of this tree, in a format we read."""
    if not isinstance(metrics, dict) or metrics.get("metrics_format") != METRICS_FORMAT:
        raise RunFailed(
            f"{model} seed {seed} wrote metrics in a format this maintbot does not read "
            f"(metrics_format {metrics.get('metrics_format') if isinstance(metrics, dict) else '?'}"
            f", expected {METRICS_FORMAT})"
        )
    if metrics.get("model") != model or metrics.get("seed") != seed:
        reported = f"model {str(metrics.get('model'))[:100]!r} seed {metrics.get('seed')!r}"
        raise RunFailed(
            f"{model} seed {seed} reported {reported}; a model reports the name it is listed "
            "under in bench.models and the seed it was given"
        )
    code_path = Path(str(metrics.get("code_path", "")))
    expected = (root / code_folder(model)).resolve()
    if expected not in code_path.resolve().parents:
        raise RunFailed(
            f"{model} was imported from {code_path}, not from the tree under test ({expected}); "
            "an installed copy shadows it"
        )


def _echo(progress: TextIO | None, prefix: str) -> Callable[[str], None] | None:
    if progress is None:
        return None
    return lambda line: _say(progress, f"{prefix} {line}")


def _say(progress: TextIO | None, line: str) -> None:
    if progress is not None:
        print(line, file=progress, flush=True)


def seeds_from_count(count: int) -> list[int]:
    """``--seeds N`` means seeds 0..N-1, so both sides of a comparison use the same seeds."""
    if count < 1:
        raise UsageError(f"--seeds must be at least 1, got {count}", hint="use --seeds 3")
    return list(range(count))
