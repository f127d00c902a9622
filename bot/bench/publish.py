"""Where and when a benchmark report goes: the sticky PR comment, the check, the job summary.

The comment policy: one comment per PR (key ``bench``), created by the first run that posts
(``bench pr --post``, or the privileged ``bench comment`` of the fork-safe workflow) and edited
in place by every later one; a report that did not change writes nothing, and stray copies are
deleted. That decision is :func:`bot.github.comments.plan_sticky` (pure; tested with plain
values in tests/github/test_comments_plan.py); what counts as a regression is
:mod:`bot.bench.compare`, and what the comment says, :mod:`bot.bench.render`.

The check policy: beside the comment, one check run named ``maintbot/benchmark`` on the head
commit carries the verdict, so a repository can require it before merging: success (no
regression, or not affected), failure (a regression, when ``bench.fail_on_regression``),
neutral (warnings, inconclusive). A re-run finds the check by name and commit and edits it
(or leaves it, when nothing changed). Only a GitHub App may create check runs (an Actions
``GITHUB_TOKEN`` is one; a personal token is not), so a 403 falls back to a commit status with
the same context, where neutral reads as success. The decisions (:func:`check_verdict`,
:func:`plan_check`, :func:`plan_status`) are pure; :func:`post_check` performs them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.bench.affected import Scope
from bot.bench.compare import Comparison, Status

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
STICKY_KEY = "bench"  # one sticky comment per PR, edited on every push
CHECK_NAME = "maintbot/benchmark"  # the check run's name and the commit status's context
CHECK_SUMMARY_MAX = 65_535  # GitHub refuses a longer check run summary
CHECK_TITLE_MAX = 120
STATUS_DESCRIPTION_MAX = 140  # GitHub refuses a longer commit status description

Conclusion = Literal["success", "failure", "neutral"]
CheckAction = Literal["created", "updated", "unchanged"]
TITLES = {
    Status.REGRESSION: "regression",
    Status.WARNING: "warning",
    Status.INCONCLUSIVE: "inconclusive",
    Status.IMPROVED: "improved",
    Status.PASS: "no regression",
}


@dataclass(frozen=True)
class CheckVerdict:
    """What the check says: its conclusion, a one-line title and the report as summary."""

    conclusion: Conclusion
    title: str
    summary: str

    @property
    def status_state(self) -> str:
        """The commit status for this conclusion: statuses have no neutral, and a warning
        must not block a merge."""
        return "failure" if self.conclusion == "failure" else "success"

    @property
    def status_description(self) -> str:
        prefix = "warning: " if self.conclusion == "neutral" and "warning" not in self.title else ""
        return _cut(prefix + self.title, STATUS_DESCRIPTION_MAX)


@dataclass(frozen=True)
class ExistingCheck:
    """A check run already on the commit, as the planner needs it."""

    id: int
    status: str
    conclusion: str | None
    title: str | None
    summary: str | None


@dataclass(frozen=True)
class ExistingStatus:
    """A commit status already on the commit (any context), newest first as GitHub lists."""

    context: str
    state: str
    description: str | None


@dataclass(frozen=True)
class CheckResult:
    """What was done (or, under dry-run, would be): a check run or the status fallback."""

    kind: Literal["check run", "commit status"]
    action: CheckAction
    conclusion: Conclusion
    url: str | None = None
    dry_run: bool = False
    fallback_reason: str | None = None  # why a commit status instead of a check run


def check_verdict(
    comparison: Comparison,
    report: str,
    *,
    scope: Scope | None = None,
    fail_on_regression: bool = True,
) -> CheckVerdict:
    """The check for a verdict: a regression fails it only when the configuration says so."""
    if scope is not None and scope.nothing_affected:
        return CheckVerdict("success", "not affected: no model was trained", _summary(report))
    status = comparison.status
    conclusion: Conclusion
    if status is Status.REGRESSION:
        conclusion = "failure" if fail_on_regression else "neutral"
    elif status in (Status.WARNING, Status.INCONCLUSIVE):
        conclusion = "neutral"
    else:
        conclusion = "success"
    where = [m.model for m in comparison.models if m.status is status]
    title = TITLES[status]
    if where and status is not Status.PASS:
        title += f" in {', '.join(where)}"
    if scope is not None and scope.skipped:
        title += f" ({len(scope.skipped)} model(s) not affected)"
    return CheckVerdict(conclusion, _cut(title, CHECK_TITLE_MAX), _summary(report))


def incomplete_verdict(verdict: CheckVerdict, missing: Sequence[str]) -> CheckVerdict:
    """A run that skipped a model the change affects has no verdict about it: a failure."""
    title = _cut(f"incomplete: {', '.join(missing)} not trained", CHECK_TITLE_MAX)
    return CheckVerdict("failure", title, verdict.summary)


def plan_check(
    existing: Sequence[ExistingCheck], wanted: CheckVerdict
) -> tuple[CheckAction, int | None]:
    """Edit the newest check run of ours on the commit; create one only when there is none."""
    if not existing:
        return "created", None
    newest = max(existing, key=lambda c: c.id)
    same = (
        newest.status == "completed"
        and newest.conclusion == wanted.conclusion
        and (newest.title or "") == wanted.title
        and (newest.summary or "").strip() == wanted.summary.strip()
    )
    return ("unchanged" if same else "updated"), newest.id


def plan_status(existing: Sequence[ExistingStatus], wanted: CheckVerdict) -> CheckAction:
    """A status is a log, not a record: add one unless our newest already says the same."""
    ours = [s for s in existing if s.context == CHECK_NAME]
    if (
        ours
        and ours[0].state == wanted.status_state
        and (ours[0].description or "") == wanted.status_description
    ):
        return "unchanged"
    return "updated" if ours else "created"


def post_check(
    repo: Any,
    head_sha: str,
    verdict: CheckVerdict,
    *,
    dry_run: bool,
    details_url: str | None = None,
) -> CheckResult:
    """Creates or edits the ``maintbot/benchmark`` check on ``head_sha`` (a commit status
    when the token may not manage check runs). ``repo`` is a PyGithub ``Repository``."""
    from github import GithubException

    try:
        return _upsert_check_run(repo, head_sha, verdict, dry_run, details_url)
    except GithubException as exc:
        if not _forbidden(exc):
            raise
        reason = _message(exc) or "403 Forbidden"
    return _upsert_status(repo, head_sha, verdict, dry_run, details_url, reason)


def _upsert_check_run(
    repo: Any, head_sha: str, verdict: CheckVerdict, dry_run: bool, details_url: str | None
) -> CheckResult:
    commit = _commit(repo, head_sha)
    runs = {run.id: run for run in commit.get_check_runs(check_name=CHECK_NAME)}
    existing = [
        ExistingCheck(
            run.id,
            run.status,
            run.conclusion,
            getattr(run.output, "title", None),
            getattr(run.output, "summary", None),
        )
        for run in runs.values()
    ]
    action, keep = plan_check(existing, verdict)
    if dry_run or action == "unchanged":
        url = runs[keep].html_url if keep is not None else None
        return CheckResult("check run", action, verdict.conclusion, url, dry_run)
    output = {"title": verdict.title, "summary": verdict.summary}
    extra = {"details_url": details_url} if details_url else {}
    if action == "created":
        run = repo.create_check_run(
            CHECK_NAME,
            head_sha,
            status="completed",
            conclusion=verdict.conclusion,
            output=output,
            **extra,
        )
    else:
        assert keep is not None
        run = runs[keep]
        run.edit(status="completed", conclusion=verdict.conclusion, output=output, **extra)
    return CheckResult("check run", action, verdict.conclusion, run.html_url)


def _upsert_status(
    repo: Any,
    head_sha: str,
    verdict: CheckVerdict,
    dry_run: bool,
    details_url: str | None,
    reason: str,
) -> CheckResult:
    commit = _commit(repo, head_sha)
    existing = [
        ExistingStatus(s.context, s.state, s.description)
        for _, s in zip(range(100), commit.get_statuses(), strict=False)
    ]
    action = plan_status(existing, verdict)
    if not dry_run and action != "unchanged":
        extra = {"target_url": details_url} if details_url else {}
        commit.create_status(
            verdict.status_state,
            description=verdict.status_description,
            context=CHECK_NAME,
            **extra,
        )
    return CheckResult(
        "commit status", action, verdict.conclusion, details_url, dry_run, fallback_reason=reason
    )


def _commit(repo: Any, sha: str) -> Any:
    """The commit as a lazy object: listing its checks or adding a status needs no GET of it."""
    from github.Commit import Commit

    requester = repo.requester.withLazy(True)
    return Commit(requester, url=f"{repo.url}/commits/{sha}")


def _forbidden(exc: Any) -> bool:
    """A 403 that is about permission (a rate limit is retried elsewhere, not worked around)."""
    from bot.github.ratelimit import (
        is_primary_rate_limit_message,
        is_secondary_rate_limit_message,
    )

    message = _message(exc)
    return exc.status == 403 and not (
        is_primary_rate_limit_message(message) or is_secondary_rate_limit_message(message)
    )


def _message(exc: Any) -> str | None:
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])[:200]
    return None


def _summary(report: str) -> str:
    return _cut(report, CHECK_SUMMARY_MAX)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_job_summary(markdown: str, environ: dict[str, str] | None = None) -> Path | None:
    """Appends the report to the job summary when running in GitHub Actions."""
    target = (environ if environ is not None else os.environ).get(SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as f:
        f.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path


def post_comment(pull: Any, markdown: str, *, dry_run: bool) -> Any:
    """Creates or edits the one benchmark comment on ``pull`` (a PyGithub PR or issue)."""
    from bot.github.comments import upsert_sticky_comment

    return upsert_sticky_comment(pull, STICKY_KEY, markdown, dry_run=dry_run)
