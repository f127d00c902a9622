"""Which pull request a benchmark belongs to, decided from trusted data only.

The unprivileged ``pull_request`` job records the PR it ran for, but a fork controls that
job, so the privileged ``workflow_run`` step treats the claim as a hint: it takes the head
commit from its own event and accepts only an open PR whose head is exactly that commit.
"""

from __future__ import annotations

import re
from typing import Any

from bot.errors import GitHubError, UsageError

SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
SCAN_LIMIT = 300  # open PRs looked at when no number is claimed (newest updated first)


def claimed_pull_request(event_name: str | None, payload: dict[str, Any]) -> dict[str, Any] | None:
    """``{"number", "head_sha"}`` of a ``pull_request`` event, else None (push, local runs)."""
    if event_name not in ("pull_request", "pull_request_target"):
        return None
    pull = payload.get("pull_request")
    if not isinstance(pull, dict):
        return None
    number = pull.get("number")
    head_sha = (pull.get("head") or {}).get("sha") if isinstance(pull.get("head"), dict) else None
    if not _is_number(number) or not (isinstance(head_sha, str) and SHA.match(head_sha)):
        return None
    return {"number": number, "head_sha": head_sha}


def trusted_head_sha(event_name: str | None, payload: dict[str, Any]) -> str | None:
    """The head commit of the run that produced the artifact (``workflow_run`` events)."""
    if event_name != "workflow_run":
        return None
    run = payload.get("workflow_run")
    sha = run.get("head_sha") if isinstance(run, dict) else None
    return sha if isinstance(sha, str) and SHA.match(sha) else None


def resolve_pull_request(repo: Any, head_sha: str, claimed_number: int | None = None) -> Any:
    """The open PR of ``repo`` whose head is ``head_sha`` (a PyGithub ``PullRequest``).

    A claimed number is checked, not believed: its head must be ``head_sha``. Without a
    claim, open PRs are scanned for that head; none or several is an error (never a guess).
    """
    if not SHA.match(head_sha):
        raise UsageError(
            "the head sha is not a 40-character hex commit id",
            hint="pass --head-sha ${{ github.event.workflow_run.head_sha }}",
        )
    if claimed_number is not None:
        from github import GithubException

        try:
            pull = repo.get_pull(claimed_number)
        except GithubException as exc:
            if exc.status == 404:
                raise UsageError(
                    f"the results name PR #{claimed_number}, which does not exist here",
                    hint="the artifact does not belong to this repository; nothing was posted",
                ) from exc
            raise
        if pull.head.sha != head_sha:
            raise UsageError(
                f"the results name PR #{claimed_number}, but its head is {pull.head.sha[:12]}, "
                f"not {head_sha[:12]} (the commit the benchmark ran on)",
                hint="the PR moved on or the artifact lies; nothing was posted",
            )
        return pull
    matches = []
    for index, pull in enumerate(repo.get_pulls(state="open", sort="updated", direction="desc")):
        if index >= SCAN_LIMIT:
            break
        if pull.head.sha == head_sha:
            matches.append(pull)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise GitHubError(
            f"no open pull request has the head commit {head_sha[:12]}",
            hint="the PR was closed or force-pushed since the benchmark ran; nothing to post",
        )
    raise UsageError(
        f"{len(matches)} open pull requests share the head commit {head_sha[:12]}: "
        + ", ".join(f"#{p.number}" for p in matches),
        hint="nothing was posted; re-run the benchmark from one of them",
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31
