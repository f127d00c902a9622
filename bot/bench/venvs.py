"""One virtual environment per side, built from that side's dependency files.

Each environment is ``python -m venv`` plus a ``.pth`` file that appends the current
environment's site-packages *after* its own: what the side's files pin is installed into the
new environment and wins on ``sys.path``; everything else (TensorFlow, NumPy, ...) is shared,
so a dependency bump costs the changed packages, not a gigabyte of reinstalling. It tests
the packages the pull request changes, with the rest as the job installed them. pip runs with
this process's configuration and environment (its index, mirror, constraints) and never
uninstalls from the shared site-packages (pip leaves packages outside the target
environment alone).
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from bot.bench.affected import matches
from bot.errors import MaintbotError

PIP_TIMEOUT_S = 30 * 60
_LIST_SCRIPT = (
    "import importlib.metadata as m, json\n"
    "seen = {}\n"
    "for d in m.distributions():\n"
    "    name = d.metadata['Name']\n"
    "    if name and name not in seen: seen[name] = d.version\n"
    "print(json.dumps(seen))\n"
)
_INSTALL_WHOLE = ("pyproject.toml", "setup.py", "setup.cfg")


def install_arguments(tree: Path, files: Sequence[str]) -> list[str]:
    """``pip install`` arguments for the dependency files a change touches, as in ``tree``.

    Requirements files are installed with ``-r``, constraints with ``-c``; a changed
    ``pyproject.toml`` / ``setup.py`` / ``setup.cfg`` installs the tree itself (its declared
    dependencies). Files absent on this side, lock files and the like are not installable
    here and are left out.
    """
    requirements: list[str] = []
    constraints: list[str] = []
    whole = False
    for name in files:
        path = tree / name
        if not path.is_file():
            continue
        if name in _INSTALL_WHOLE:
            whole = True
        elif matches("constraints*.txt", name):
            constraints += ["-c", str(path)]
        elif name.endswith(".txt") and (
            matches("requirements*.txt", name) or matches("requirements/**", name)
        ):
            requirements += ["-r", str(path)]
    if not requirements and not whole:
        return []  # constraints alone install nothing
    return [*requirements, *constraints, *([str(tree)] if whole else [])]


def build(tree: Path, dest: Path, files: Sequence[str], *, label: str) -> Path:
    """Creates the environment of one side at ``dest``; returns its interpreter."""
    _call([sys.executable, "-m", "venv", "--without-pip", str(dest)], f"create the {label} venv")
    python = dest / "bin" / "python"
    if not python.exists():  # Windows layout
        python = dest / "Scripts" / "python.exe"
    own = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
    )
    shared = sysconfig.get_paths()["purelib"]
    # "zz" sorts last; addsitedir appends, so the side's own packages stay first on sys.path.
    (own / "zz_maintbot_shared.pth").write_text(
        f"import site; site.addsitedir({shared!r})\n", encoding="utf-8"
    )
    args = install_arguments(tree, files)
    if args:
        _call(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *args],
            f"install the {label}'s dependencies ({', '.join(files)})",
        )
    return python


def installed(python: Path) -> dict[str, str]:
    """``name -> version`` as ``python`` resolves them (first on ``sys.path`` wins)."""
    done = subprocess.run(
        [str(python), "-c", _LIST_SCRIPT], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise MaintbotError(
            f"could not list the packages of {python}: {done.stderr.strip()[-300:]}"
        )
    listing = json.loads(done.stdout)
    return {str(k): str(v) for k, v in listing.items()}


def _call(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise MaintbotError(
            f"could not {what}: it took over {PIP_TIMEOUT_S // 60} minutes",
            hint="check the package index is reachable from this job",
        ) from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise MaintbotError(
            f"could not {what}:\n{tail}",
            hint="the pull request's dependency files must install with pip in this job; "
            "fix them, or run with --shared-env to benchmark in the job's environment",
        )
