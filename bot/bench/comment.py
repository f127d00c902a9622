"""The privileged step of the fork-safe benchmark: a validated artifact becomes the PR's verdict.

One function, :func:`comment_from_artifact`, for every surface that publishes it: the
``bench comment`` command of ``benchmark-comment.yml`` and the ``workflow_run`` handler of the
App and the Action (:mod:`bot.bench.handlers`). It takes plain inputs (a client, the artifact
folder, the trusted head commit, the default branch's ``bench`` configuration) and returns what
it did, so each surface only says it in its own way. The artifact is untrusted: it is
validated, must have been made for the trusted head, and which models the change affects is
decided again from GitHub's list of the PR's files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.bench.affected import CONFIG_FILE
from bot.errors import UsageError

if TYPE_CHECKING:
    from github import Github

    from bot.bench.publish import CheckResult, CheckVerdict
    from bot.config.schema import BenchConfig
    from bot.github.comments import StickyResult
    from bot.store.database import Store


@dataclass(frozen=True)
class CommentOutcome:
    """What :func:`comment_from_artifact` did (under dry-run: would do).

    ``pull_number`` None means no PR was resolved (no client): the report was only rendered.
    ``comment`` / ``check`` are None when the configuration turned that part off, with the
    reason in ``skipped``.
    """

    report: str
    head_sha: str
    pull_number: int | None = None
    verdict: CheckVerdict | None = None
    comment: StickyResult | None = None
    check: CheckResult | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A handler's result: plain data a person and a machine can read."""
        out: dict[str, Any] = {"head_sha": self.head_sha, "pull_request": self.pull_number}
        if self.verdict is not None:
            out["verdict"] = {"conclusion": self.verdict.conclusion, "title": self.verdict.title}
        if self.comment is not None:
            out["comment"] = {
                "action": self.comment.action,
                "url": self.comment.url,
                "dry_run": self.comment.dry_run,
            }
        if self.check is not None:
            out["check"] = {
                "kind": self.check.kind,
                "action": self.check.action,
                "conclusion": self.check.conclusion,
                "dry_run": self.check.dry_run,
                "fallback_reason": self.check.fallback_reason,
            }
        for part, reason in self.skipped.items():
            out[part] = {"skipped": reason}
        return out


def check_claim(head: dict[str, Any], head_sha: str) -> dict[str, Any]:
    """The PR the results claim (a hint), refused when made for another commit than the run's."""
    claim = head.get("pull_request") or {}
    if claim and claim["head_sha"] != head_sha:
        raise UsageError(
            "the artifact was made for another commit than the workflow run's head",
            hint="nothing was posted; the artifact may be stale or forged",
        )
    return claim


def comment_from_artifact(
    github: Github | None,
    repo_name: str,
    artifact_dir: Path,
    head_sha: str,
    bench_config: BenchConfig,
    *,
    store: Store | None = None,
    dry_run: bool = False,
    history_branch: str | None = None,
    config_files: Sequence[str] = (CONFIG_FILE,),
) -> CommentOutcome:
    """Validates the artifact in ``artifact_dir`` against ``head_sha``, then upserts the sticky
    comment (``bench.comment``) and the check (``bench.check``) on the PR whose head it is.

    ``github`` None renders the report only (dry-run without a token). ``store`` with
    ``history_branch`` charts that branch's accuracy history. Errors (a forged or broken
    artifact, no PR with that head) raise before anything is written.
    """
    from bot.bench import render
    from bot.bench.affected import reconcile
    from bot.bench.artifact import policy_notes, read_artifact
    from bot.bench.compare import Thresholds, compare
    from bot.bench.publish import check_verdict, incomplete_verdict
    from bot.bench.pull_request import resolve_pull_request
    from bot.bench.sequential import stop_lines

    base, head = read_artifact(artifact_dir)
    claim = check_claim(head, head_sha)
    comparison = compare(base, head, Thresholds.from_config(bench_config.thresholds))
    repository = pull = scope = None
    missing: list[str] = []
    if github is not None:
        repository = github.get_repo(repo_name)
        pull = resolve_pull_request(repository, head_sha, claim.get("number"))
        ran = [m for m in head["settings"]["models"] if m in base["settings"]["models"]]
        scope, missing = reconcile(pull_scope(pull, bench_config, config_files), ran)
    notes = policy_notes(
        base, head, bench_config, skipped=[*(scope.skipped if scope else ()), *missing]
    )
    notes += [missing_note(scope, model) for model in missing]
    history = _history(store, repo_name, history_branch, [m.model for m in comparison.models])
    report = render.markdown(
        comparison,
        base_runs=base["runs"],
        head_runs=head["runs"],
        history=history,
        notes=notes,
        scope=scope,
        incomplete=missing,
        info=stop_lines(base, head, comparison.thresholds),
        packages=head.get("packages"),
    )
    if repository is None or pull is None:
        return CommentOutcome(report, head_sha)
    verdict = check_verdict(
        comparison, report, scope=scope, fail_on_regression=bench_config.fail_on_regression
    )
    if missing:
        verdict = incomplete_verdict(verdict, missing)
    return publish_verdict(repository, pull, head_sha, report, verdict, bench_config, dry_run)


def publish_verdict(
    repository: Any,
    pull: Any,
    head_sha: str,
    report: str,
    verdict: CheckVerdict,
    bench_config: BenchConfig,
    dry_run: bool,
) -> CommentOutcome:
    """The sticky comment (``bench.comment``), then the check (``bench.check``) linking to it.

    Both are upserts: a second run with the same verdict writes nothing, so a replayed
    delivery adds no comment and no second check run.
    """
    from bot.bench.publish import post_check, post_comment

    skipped: dict[str, str] = {}
    comment = check = None
    if bench_config.comment:
        comment = post_comment(pull, report, dry_run=dry_run)
    else:
        skipped["comment"] = "bench.comment is false"
    if bench_config.check:
        url = comment.url if comment is not None else None
        check = post_check(repository, head_sha, verdict, dry_run=dry_run, details_url=url)
    else:
        skipped["check"] = "bench.check is false"
    return CommentOutcome(report, head_sha, pull.number, verdict, comment, check, skipped)


def pull_scope(pull: Any, bench_config: BenchConfig, config_files: Sequence[str]) -> Any:
    """Which models the PR affects, decided from GitHub's list of its files (trusted)."""
    from bot.bench.affected import decide

    listed: list[str] = []
    entries = 0
    for entry in pull.get_files():  # GitHub lists at most 3000 files
        entries += 1
        listed.append(entry.filename)
        previous = getattr(entry, "previous_filename", None)
        if previous:
            listed.append(previous)  # a model moved away from its path is affected too
    return decide(
        listed,
        list(bench_config.models),
        shared=bench_config.paths.shared,
        extra=bench_config.paths.models,
        config_files=tuple(config_files),
        complete=pull.changed_files <= entries,
    )


def missing_note(scope: Any, model: str) -> str:
    found = scope.of(model) if scope is not None else None
    reason = f": {found.reason}" if found is not None else ""
    return f"the benchmark did not train {model}, which this change affects{reason}"


def _history(
    store: Store | None, repo: str, branch: str | None, models: list[str]
) -> dict[str, list[tuple[str, float]]] | None:
    """The default branch's accuracy per model, for the trend chart (None: no chart)."""
    if not branch or store is None:
        return None
    from bot.bench import history

    with store.session() as session:
        return {
            model: history.chart_points(
                history.export(session, repo=repo, model=model, branch=branch, limit=20)
            )
            for model in models
        }
