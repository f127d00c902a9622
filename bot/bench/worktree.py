"""Git access for benchmarks: the commit of a tree, and a throw-away worktree of another ref."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bot.errors import MaintbotError, UsageError

GIT_TIMEOUT_S = 120


def git(root: Path, *args: str, check: bool = True) -> str:
    """Runs ``git -C root ARGS``; a failure is an error that shows git's own message."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise MaintbotError(
            "git is not installed", hint="install git: bench pr checks out the base with it"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise MaintbotError(f"git {' '.join(args)} took over {GIT_TIMEOUT_S} s") from exc
    if check and done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
        raise MaintbotError(f"git {' '.join(args[:2])} failed in {root}: {message}")
    return done.stdout


def repository_root(start: Path) -> Path:
    """The top of the git checkout containing ``start``."""
    try:
        return Path(git(start, "rev-parse", "--show-toplevel").strip())
    except MaintbotError as exc:
        raise UsageError(
            f"{start} is not inside a git repository",
            hint="run bench pr from a clone of the repository whose models it benchmarks",
        ) from exc


def resolve_commit(root: Path, ref: str) -> str:
    """The full sha ``ref`` names; a clear error when the clone does not have it."""
    out = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip()
    if not out:
        raise UsageError(
            f"the ref {ref!r} is not in this clone",
            hint="fetch it first (in Actions: actions/checkout with fetch-depth: 0), "
            "or pass a branch, tag or sha that exists here",
        )
    return out


def head_commit(root: Path) -> str | None:
    """The commit checked out in ``root`` (None in a repository with no commits)."""
    out = git(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip()
    return out or None


def has_local_changes(root: Path, path: str = "reference_models") -> bool:
    """Whether ``path`` differs from HEAD in the working tree (staged, unstaged or new files)."""
    return bool(git(root, "status", "--porcelain", "--", path, check=False).strip())


@contextlib.contextmanager
def temporary_worktree(root: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` in a temporary folder, removed afterwards.

    A worktree shares the object store, so checking out the base costs a few files, not a
    clone; it is removed (and pruned) even when the benchmark fails or is interrupted.
    """
    parent = Path(tempfile.mkdtemp(prefix="maintbot-bench-"))
    tree = parent / "tree"
    try:
        git(root, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        git(root, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(parent, ignore_errors=True)
        git(root, "worktree", "prune", check=False)


def changed_paths(root: Path, base: str, head: str | None = None) -> list[str]:
    """The files a change touches, as ``git diff --name-only base...head`` lists them.

    Compared from the merge base, as GitHub lists a pull request's files, so what the base
    branch did since is not counted. Without ``head`` the change is the working tree (staged,
    unstaged and untracked files). Renames count as a deletion and an addition, so a model
    moved away from its path is affected too.
    """
    target = head or "HEAD"
    start = git(root, "merge-base", base, target, check=False).strip() or base
    if head:
        listed = git(root, "diff", "--name-only", "--no-renames", "-z", start, head)
        untracked = ""
    else:
        listed = git(root, "diff", "--name-only", "--no-renames", "-z", start)
        untracked = git(root, "ls-files", "--others", "--exclude-standard", "-z")
    return sorted({p for p in (listed + untracked).split("\0") if p})
