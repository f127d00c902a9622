"""`maintbot report`: the community-health report of one or several repositories."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click
from click.core import ParameterSource

from bot.cli_context import MaintbotCommand, pass_settings
from bot.errors import UsageError
from bot.report.business_hours import BusinessHours
from bot.report.collect import CollectSummary, collect_repository
from bot.report.compose import ReportOptions, compose_report
from bot.report.people import PeoplePolicy
from bot.report.records import BenchPoint, Dataset
from bot.report.render import Format, render
from bot.report.storage import RecordStore, bench_points, triage_predictions
from bot.report.window import Window, resolve_window

if TYPE_CHECKING:
    from github import Github

    from bot.config.schema import Config
    from bot.settings import Settings
    from bot.store.database import Store

log = logging.getLogger(__name__)


class ProgressBar:
    """An honest progress bar on stderr: pages done of the pages GitHub says there are.

    Drawn only on a terminal; elsewhere (CI logs) each finished listing is one log line.
    """

    def __init__(self, stream: TextIO, *, interactive: bool) -> None:
        self.stream = stream
        self.interactive = interactive
        self.repo = ""

    def __call__(self, listing: str, done: int, total: int | None) -> None:
        unit = "pull requests" if listing == "reviews" else "pages"
        finished = total is not None and done >= total
        if self.interactive:
            width = 30
            filled = width * done // total if total else 0
            bar = "#" * filled + "." * (width - filled)
            line = f"\r{self.repo} {listing:<16} [{bar}] {done}/{total or '?'} {unit}"
            self.stream.write(line + ("\n" if finished else ""))
            self.stream.flush()
        elif finished:
            log.info("%s: %s: %d %s", self.repo, listing, done, unit)


def report_options(config: Config) -> ReportOptions:
    """The counting rules from ``report.*`` and the type labels from ``labels.types``."""
    section = config.report
    hours = section.business_hours
    business = (
        BusinessHours.build(hours.timezone, hours.working_days, hours.start, hours.end)
        if hours.enabled
        else None
    )
    return ReportOptions(
        policy=PeoplePolicy.build(section.ignore_users, bots_excluded=section.bots_excluded),
        business_hours=business,
        type_labels=dict(config.labels.types),
    )


def organization_repos(github: Github, org: str) -> list[str]:
    """The organization's repositories that are neither archived nor forks, by name.

    One listing (a request per 100 repositories): ``archived`` and ``fork`` come with it.
    """
    from github import UnknownObjectException

    try:
        listed = github.get_organization(org).get_repos(type="all", sort="full_name")
        return [repo.full_name for repo in listed if not repo.archived and not repo.fork]
    except UnknownObjectException as exc:
        raise UsageError(
            f"there is no organization {org!r} on GitHub, or the token cannot see it",
            hint="--org takes an organization's login; for a user's repositories pass "
            "--repo OWNER/NAME for each",
        ) from exc


def unique_repos(*groups: Iterable[str]) -> list[str]:
    """The names in order, each once: GitHub's names ignore case, the first spelling wins."""
    seen: dict[str, str] = {}
    for group in groups:
        for name in group:
            seen.setdefault(name.lower(), name)
    return list(seen.values())


def _load_config(settings: Settings, github: Github, repo: str) -> Config:
    """``--config`` when given, else the repository's own ``.github/maintbot.yml``."""
    if settings.config_path is not None:
        return settings.config()
    from bot.config.remote import fetch_repo_config

    return fetch_repo_config(github.get_repo(repo))


def gather(
    github: Github,
    store: Store,
    repos: list[str],
    window: Window,
    *,
    full_history: bool,
    progress: ProgressBar,
    config: Config | None = None,
) -> tuple[Dataset, list[CollectSummary]]:
    """Collects every repository and reads back one combined dataset.

    ``config`` names the repository's labels, so the bot's type labels and corrections are
    read under the names the repository uses (the defaults when None)."""
    labels = config.labels if config is not None else None
    dataset = Dataset()
    summaries = []
    horizon = None if full_history else window.previous().start
    for repo in repos:
        progress.repo = repo
        collected, summary = collect_repository(
            github, RecordStore(store, repo), reviews_horizon=horizon, progress=progress
        )
        collected.predictions = triage_predictions(
            store,
            repo,
            dict(labels.types) if labels else None,
            labels.needs_triage if labels else None,
        )
        collected.bench = _default_branch_bench(github, store, repo)
        dataset = dataset.merged_with(collected)
        summaries.append(summary)
    return dataset, summaries


def _default_branch_bench(github: Github, store: Store, repo: str) -> list[BenchPoint]:
    """Benchmark results of the default branch; GitHub is asked its name only if any exist."""
    if not bench_points(store, repo, None):
        return []
    return bench_points(store, repo, github.get_repo(repo).default_branch)


@click.command("report", cls=MaintbotCommand)
@click.option(
    "--repo",
    "repos",
    multiple=True,
    metavar="OWNER/NAME",
    envvar="GITHUB_REPOSITORY",
    help="Repository to report on; repeat it for one combined report. "
    "Default: $GITHUB_REPOSITORY, unless --org is given.",
)
@click.option(
    "--org", metavar="ORG", help="Every repository of an organization (not archived, not forks)."
)
@click.option("--since", metavar="DATE", help="Window start (YYYY-MM-DD or ISO 8601, UTC).")
@click.option(
    "--until",
    metavar="DATE",
    help="Window end; a plain date includes that whole day. Default: today 00:00 UTC.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in Format]),
    default=None,
    help="md (GitHub Markdown with Mermaid charts), html (one self-contained page) or json "
    "(as --json). Default: report.format of the configuration (md).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--template",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your own jinja2 template for md or html (it may extend the built-in one).",
)
@click.option(
    "--post-issue",
    is_flag=True,
    help="Create or update the window's report issue in the (first) repository (with "
    "--dry-run: print the issue instead).",
)
@click.option(
    "--full-history",
    is_flag=True,
    help="Fetch the reviews of every pull request ever (one request each), not only of those "
    "updated since the previous window began.",
)
@pass_settings
def report(
    settings: Settings,
    repos: tuple[str, ...],
    org: str | None,
    since: str | None,
    until: str | None,
    fmt: str | None,
    out: Path | None,
    template: Path | None,
    post_issue: bool,
    full_history: bool,
) -> None:
    """Write the community-health report: response times, backlog, contributors and more.

    Collection is incremental: issues, pull requests, comments, reviews and commits are kept
    in the store (MAINTBOT_DATABASE_URL, default a local SQLite file), and each run fetches
    only what changed since the last. Every number is defined in docs/metrics.md.
    """
    github: Github = settings.github()  # type: ignore[assignment]  # required: never None
    source = click.get_current_context().get_parameter_source("repos")
    if org and source is ParameterSource.ENVIRONMENT:
        repos = ()  # $GITHUB_REPOSITORY is the workflow's own repository, not one asked for
    names = unique_repos(repos, organization_repos(github, org) if org else [])
    if not names:
        raise UsageError(
            f"organization {org!r} has no repository that is neither archived nor a fork"
            if org
            else "no repository to report on",
            hint="pass --repo OWNER/NAME (several times for a combined report) or --org ORG",
        )
    for name in names:
        if name.count("/") != 1 or not all(name.split("/")):
            raise UsageError(f"{name!r} is not a repository name", hint="write it as OWNER/NAME")
    config = _load_config(settings, github, names[0])
    now = datetime.now(UTC)
    window = resolve_window(since, until, window_days=config.report.window_days, now=now)
    chosen = report_format(fmt, settings.as_json, config.report.format)

    progress = ProgressBar(sys.stderr, interactive=sys.stderr.isatty())
    dataset, summaries = gather(
        github,
        settings.store(),
        names,
        window,
        full_history=full_history,
        progress=progress,
        config=config,
    )
    result = compose_report(dataset, window, report_options(config), generated_at=now)
    for summary in summaries:
        log.info(
            "%s: %d API requests (%d unchanged, answered 304)",
            summary.repo,
            summary.total_requests,
            summary.not_modified,
        )

    if post_issue or config.report.post_issue:
        _post(settings, github, names, window, config, result, template=template)
        return
    text = render(result, chosen, template=template)
    _write(text, out)


def report_format(given: str | None, as_json: bool, configured: str) -> Format:
    """JSON with ``--json`` (a different ``--format`` is a mistake), else ``--format``, else the
    configuration's ``report.format``."""
    if as_json and given not in (None, Format.JSON.value):
        raise UsageError(
            f"--json and --format {given} ask for two different formats",
            hint="give one of them",
        )
    return Format.JSON if as_json else Format(given or configured)


def publish_report_issue(
    github: Github,
    names: list[str],
    window: Window,
    config: Config,
    result: Any,
    *,
    dry_run: bool,
    template: Path | None = None,
) -> tuple[str, str, Any]:
    """Posts the report as the window's issue in the first repository (edited in place when
    it exists); returns the title, the Markdown and what was done. Shared by ``report
    --post-issue`` and the ``schedule`` handler."""
    from bot.report.publish import post_report_issue

    start, last = window.label.split(" – ")
    title = config.report.render_issue_title(repo=", ".join(names), start=start, end=last)
    markdown = render(result, Format.MD, template=template)
    posted = post_report_issue(github, names[0], title, window, markdown, dry_run=dry_run)
    return title, markdown, posted


def _post(
    settings: Settings,
    github: Github,
    names: list[str],
    window: Window,
    config: Config,
    result: Any,
    *,
    template: Path | None,
) -> None:
    title, markdown, posted = publish_report_issue(
        github, names, window, config, result, dry_run=settings.dry_run, template=template
    )
    if settings.dry_run:
        verb = {"created": "create", "updated": "update"}.get(posted.action, "leave unchanged")
        click.echo(f"Dry run: would {verb} the issue {title!r} in {names[0]}:\n")
        click.echo(markdown)
        return
    click.echo(f"{posted.action.capitalize()} {posted.url}")


def _write(text: str, out: Path | None) -> None:
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write the report to {out}: {exc.strerror or exc}",
            hint="choose a writable path for --out",
        ) from exc
    click.echo(f"Wrote {out}", err=True)
