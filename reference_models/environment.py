"""Describes the machine and software a run used, so a comparison can tell when they differ."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def describe(code_dir: Path) -> dict[str, Any]:
    """Versions, CPU, thread settings and the git commit of the code in ``code_dir``."""
    import numpy as np
    import tensorflow as tf

    threading = tf.config.threading
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": _keras_version(),
        "numpy": np.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
        "threads": {
            "intra_op": threading.get_intra_op_parallelism_threads(),
            "inter_op": threading.get_inter_op_parallelism_threads(),
            **{name: os.environ.get(name, "") for name in THREAD_ENV_VARS},
        },
        "git_sha": git_sha(code_dir),
        "git_dirty": git_dirty(code_dir),
    }


def cpu_model() -> str:
    """The CPU's marketing name (Linux ``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def git_sha(code_dir: Path) -> str | None:
    """The commit checked out where the model code lives; None outside a git checkout."""
    out = _git(code_dir, "rev-parse", "HEAD")
    return out.strip() if out else None


def git_dirty(code_dir: Path) -> bool | None:
    """Whether the model code differs from that commit (a local edit being benchmarked)."""
    out = _git(code_dir, "status", "--porcelain", "--", ".")
    return None if out is None else bool(out.strip())


def _git(code_dir: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(code_dir), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _keras_version() -> str:
    try:
        import keras

        return str(keras.__version__)
    except ImportError:
        return ""
