"""The benchmark history on a git data branch: one JSON record per commit and environment.

As github-action-benchmark does, the history lives in the repository itself, on a branch
of its own (``maintbot-bench-data``), where GitHub never evicts it (``actions/cache`` does).
Records are ``records/<sha>/<fingerprint>.json``; writing commits one file on top of the
branch without touching the working tree (a private index, ``git commit-tree``), then pushes
when a remote is named. The sandbox serves no contents-API writes, so the git variant is the
one implemented and tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.bench.baseline import check_record
from bot.bench.pull_request import SHA
from bot.errors import MaintbotError, UsageError

DEFAULT_BRANCH = "maintbot-bench-data"
FOLDER = "records"
IDENTITY = {
    "GIT_AUTHOR_NAME": "maintbot",
    "GIT_AUTHOR_EMAIL": "maintbot@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "maintbot",
    "GIT_COMMITTER_EMAIL": "maintbot@users.noreply.github.com",
}


class DataBranch:
    """Records on ``branch`` of the clone at ``root`` (fetched from, pushed to ``remote``)."""

    def __init__(self, root: Path, branch: str = DEFAULT_BRANCH, remote: str | None = None):
        self.root = Path(root)
        self.branch = branch
        self.remote = remote
        self._fetched = False

    @staticmethod
    def path(sha: str, fingerprint: str) -> str:
        if not SHA.match(sha) or not fingerprint.isalnum():
            raise UsageError(
                "a record needs a commit sha and an environment fingerprint",
                hint="record results written by `maintbot bench run` inside a git checkout",
            )
        return f"{FOLDER}/{sha}/{fingerprint}.json"

    def read(self, sha: str, fingerprint: str) -> dict[str, Any] | None:
        """The record of ``sha`` in this environment, or None."""
        ref = self._ref()
        if ref is None:
            return None
        path = self.path(sha, fingerprint)
        shown = self._git("show", f"{ref}:{path}", check=False)
        if shown is None:
            return None
        return self._parse(shown, path)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record on the branch (for ``bench history``), in no particular order."""
        ref = self._ref()
        if ref is None:
            return
        listed = self._git("ls-tree", "-r", "-z", "--name-only", ref, f"{FOLDER}/") or ""
        for path in filter(None, listed.split("\0")):
            shown = self._git("show", f"{ref}:{path}")
            yield self._parse(shown or "", path)

    def write(self, record: dict[str, Any]) -> str:
        """Commits ``record`` to the branch (and pushes it); returns the path written."""
        check_record(record, source="the record")
        path = self.path(record["results"]["git"]["sha"], record["fingerprint"])
        parent = self._ref()
        text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
        with tempfile.TemporaryDirectory(prefix="maintbot-data-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            if parent:
                self._git("read-tree", parent, env=env)
            blob = (self._git("hash-object", "-w", "--stdin", stdin=text) or "").strip()
            self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = (self._git("write-tree", env=env) or "").strip()
        message = f"maintbot bench record {path}"
        args = ["commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
        commit = (self._git(*args) or "").strip()
        self._git("update-ref", f"refs/heads/{self.branch}", commit)
        if self.remote:
            self._git("push", "--quiet", self.remote, f"refs/heads/{self.branch}")
        return path

    def _ref(self) -> str | None:
        """The branch's tip: the remote's after one fetch, else the local branch; None if none."""
        if self.remote and not self._fetched:
            self._fetched = True
            self._git(
                "fetch",
                "--quiet",
                self.remote,
                f"+refs/heads/{self.branch}:refs/heads/{self.branch}",
                check=False,
            )
        ref = f"refs/heads/{self.branch}"
        found = self._git("rev-parse", "--verify", "--quiet", ref, check=False)
        return found.strip() if found else None

    def _parse(self, text: str, path: str) -> dict[str, Any]:
        source = f"{self.branch}:{path}"
        try:
            record = json.loads(text)
        except ValueError as exc:
            raise UsageError(
                f"{source} is not valid JSON", hint="delete the broken record from the branch"
            ) from exc
        return check_record(record, source=source)

    def _git(
        self,
        *args: str,
        check: bool = True,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> str | None:
        """git in the clone; None for a failed command when ``check`` is False."""
        try:
            done = subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True,
                text=True,
                input=stdin,
                env={**os.environ, **IDENTITY, **(env or {})},
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MaintbotError(
                f"git {args[0]} failed: {exc}", hint="is git installed and the clone readable?"
            ) from exc
        if done.returncode != 0:
            if not check:
                return None
            message = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
            raise MaintbotError(
                f"git {args[0]} on the data branch {self.branch} failed: {message}",
                hint="the job needs contents: write to push the data branch (see "
                "docs/benchmark.md)",
            )
        return done.stdout
