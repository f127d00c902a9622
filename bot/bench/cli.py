"""``maintbot bench``: run the reference models, compare results, benchmark a pull request.

Progress goes to stderr, reports to stdout. Exit codes: 0 no regression, 1 a regression,
2 bad arguments or input files, 3 git, GitHub or a model runtime failed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from bot.cli_context import CapabilityGroup, pass_settings
from bot.errors import FindingError, MaintbotError, UsageError
from bot.settings import Settings
from reference_models import MODEL_NAMES as MODEL_CHOICES


def _models(value: str | None, default: tuple[str, ...]) -> list[str]:
    """``--models`` (reference names or module paths), else the configuration's list."""
    from bot.bench.models import check_names

    if not value:
        return list(default)
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise UsageError(
            "unknown model(s): (none given)",
            hint=f"choose from: {','.join(MODEL_CHOICES)}, or a module path such as "
            "examples.my_model",
        )
    return check_names(list(dict.fromkeys(names)))


def run_options(command: Any) -> Any:
    """The options every command that trains shares (run, pr)."""
    options = [
        click.option(
            "--models",
            help="Comma-separated reference models or module paths (default: bench.models).",
        ),
        click.option(
            "--seeds",
            type=click.IntRange(1, 100),
            help="Seeds per side, 0..N-1 (default: bench.seeds).",
        ),
        click.option(
            "--epochs", type=click.IntRange(1, 1000), help="Epochs per run (default: bench.epochs)."
        ),
        click.option(
            "--dataset",
            type=click.Choice(["mnist", "fashion_mnist"]),
            default="mnist",
            show_default=True,
        ),
        click.option(
            "--data",
            "data_path",
            type=click.Path(exists=True, resolve_path=True),
            help="A dataset file or folder (else Keras' loader, then the packaged copy).",
        ),
        click.option(
            "--train-limit",
            type=click.IntRange(1),
            envvar="MAINTBOT_BENCH_TRAIN_LIMIT",
            show_envvar=True,
            help="For quick checks only: train on the first N images.",
        ),
        click.option(
            "--test-limit",
            type=click.IntRange(1),
            envvar="MAINTBOT_BENCH_TEST_LIMIT",
            show_envvar=True,
            help="For quick checks only: evaluate on the first N test images.",
        ),
        click.option(
            "--timeout-minutes",
            type=click.IntRange(1, 360),
            help="Per run (default: bench.timeout_minutes).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_settings(settings: Settings, params: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(models, seeds, RunSettings, bench config) from the options, defaults from the config."""
    from bot.bench.runner import RunSettings, seeds_from_count

    bench_config = settings.config().bench
    run_settings = RunSettings(
        epochs=params["epochs"] or bench_config.epochs,
        dataset=params["dataset"],
        train_limit=params["train_limit"],
        test_limit=params["test_limit"],
        data_path=params["data_path"],
        timeout_s=60.0 * (params["timeout_minutes"] or bench_config.timeout_minutes),
    )
    models = _models(params["models"], tuple(bench_config.models))
    seeds = seeds_from_count(params["seeds"] or bench_config.seeds)
    return models, seeds, run_settings, bench_config


@click.group(cls=CapabilityGroup)
def bench() -> None:
    """Train the reference models and tell a PR whether it made them worse."""


@bench.command("run")
@run_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Results JSON file (default: stdout).",
)
@click.option("--label", default="run", show_default=True, help="Name of this side.")
@click.option(
    "--seed-list",
    help="Comma-separated seeds to run instead of 0..N-1 (a matrix shard, e.g. 0,1); "
    "merge the shards with `bench merge`.",
)
@click.option(
    "--tree",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder holding reference_models/ (default: here).",
)
@pass_settings
def run_command(
    settings: Settings,
    out: Path | None,
    label: str,
    seed_list: str | None,
    tree: Path,
    **params: Any,
) -> None:
    """Train the models over the seeds into one results JSON.

    Each run is its own subprocess with a timeout; progress goes to stderr.
    """
    from bot.bench import results
    from bot.bench.models import is_reference
    from bot.bench.pr import bench_tree, model_tree

    models, seeds, run_settings, _ = _run_settings(settings, params)
    if seed_list is not None:
        if params["seeds"]:
            raise UsageError(
                "--seeds and --seed-list both choose the seeds",
                hint="pass one: --seeds N for 0..N-1, --seed-list 0,1 for a shard",
            )
        seeds = parse_seed_list(seed_list)
    doc = bench_tree(
        model_tree(tree, None if all(is_reference(m) for m in models) else models),
        label=label,
        models=models,
        seeds=seeds,
        settings=run_settings,
        progress=sys.stderr,
    )
    if out:
        results.write(doc, out)
        click.echo(
            f"wrote {out}: {len(doc['runs'])} run(s), {len(doc['failures'])} failure(s)", err=True
        )
    else:
        click.echo(results.dumps(doc), nl=False)
    if doc["failures"]:
        first = doc["failures"][0]
        total = len(doc["failures"]) + len(doc["runs"])
        raise MaintbotError(
            f"{len(doc['failures'])} of {total} run(s) failed; first: {first['model']} seed "
            f"{first['seed']}: {first['reason'][-300:]}",
            hint="the results list every failure with its reason; fix the model or the data",
        )


def parse_seed_list(value: str) -> list[int]:
    """``--seed-list 2,0``: the seeds of one shard, sorted; each a seed the schema allows."""
    hint = "pass distinct whole numbers from 0 to 2147483647, e.g. --seed-list 0,1"
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not parts or not all(re.fullmatch(r"[0-9]{1,10}", part) for part in parts):
        raise UsageError(f"--seed-list {value!r} is not a list of seeds", hint=hint)
    seeds = [int(part) for part in parts]
    if len(set(seeds)) != len(seeds) or max(seeds) > 2**31 - 1 or len(seeds) > 100:
        raise UsageError(
            f"--seed-list {value!r} repeats a seed, is too long or too large", hint=hint
        )
    return sorted(seeds)


@bench.command("merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The merged results JSON file.",
)
def merge_command(files: tuple[Path, ...], out: Path) -> None:
    """Merge the results files of one side's shards into one (a matrix's gather job).

    Each file is read as untrusted and validated; files of different sides, commits,
    settings or software, or that hold the same model and seed twice, are refused.
    """
    from bot.bench import results

    docs = [results.load(path) for path in files]
    merged = results.merge(docs, sources=[str(path) for path in files])
    results.write(merged, out)
    click.echo(
        f"wrote {out}: {len(merged['runs'])} run(s), {len(merged['failures'])} failure(s) "
        f"from {len(files)} file(s)",
        err=True,
    )


@bench.command("compare")
@click.argument("base_file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("head_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@pass_settings
def compare_command(settings: Settings, base_file: Path, head_file: Path, fmt: str) -> None:
    """Judge HEAD_FILE against BASE_FILE (exit 1 if worse, unless the configuration's
    bench.fail_on_regression is false).

    A verdict per model and metric, with thresholds from the configuration.
    """
    from bot.bench import render, results
    from bot.bench.compare import Thresholds, compare
    from bot.bench.publish import write_job_summary

    base, head = results.load(base_file), results.load(head_file)
    bench_config = settings.config().bench
    comparison = compare(base, head, Thresholds.from_config(bench_config.thresholds))
    report = render.markdown(comparison, base_runs=base["runs"], head_runs=head["runs"])
    if fmt == "json" or settings.as_json:
        click.echo(render.to_json(comparison), nl=False)
    else:
        click.echo(report, nl=False)
    write_job_summary(report)
    if bench_config.fail_on_regression:
        _fail_on_regression(comparison)


@bench.command("pr")
@click.option("--base", "base_ref", required=True, help="Base branch, tag or sha (e.g. main).")
@click.option("--head", "head_ref", help="Head ref (default: the working tree as it is).")
@run_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".maintbot/bench-pr"),
    show_default=True,
    help="Artifact folder: base.json, head.json, comment.md.",
)
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--post", is_flag=True, help="Upsert the sticky comment on the PR (needs a token).")
@click.option(
    "--pr",
    "pr_number",
    type=click.IntRange(1),
    help="PR to post to (default: from the pull_request event).",
)
@click.option("--repo", envvar="GITHUB_REPOSITORY", show_envvar=True, help="owner/name for --post.")
@click.option(
    "--scope/--no-scope",
    default=True,
    show_default=True,
    help="Train only the models the change affects (bench.paths); --no-scope trains them all.",
)
@click.option(
    "--reuse-base/--no-reuse-base",
    default=None,
    help="Reuse the base's runs recorded on bench.data_branch when they match "
    "(default: bench.reuse_base).",
)
@click.option(
    "--shared-env",
    is_flag=True,
    help="Run both sides in this job's environment even when the change touches dependency "
    "files (by default each side then gets its own, built from its own files).",
)
@pass_settings
def pr_command(
    settings: Settings,
    base_ref: str,
    head_ref: str | None,
    out: Path,
    fmt: str,
    post: bool,
    pr_number: int | None,
    repo: str | None,
    scope: bool,
    reuse_base: bool | None,
    shared_env: bool,
    **params: Any,
) -> None:
    """Benchmark a PR: base and head interleaved (exit 1 if worse).

    Only the models the change can affect are trained (bench.paths); a change that affects
    none exits 0 at once with a "not affected" report. The base is checked out into a
    temporary git worktree; the head is the working tree or --head. Writes the artifact
    folder and the job summary; --post comments and sets the check.
    """
    from bot.bench import render
    from bot.bench.artifact import write_artifact
    from bot.bench.compare import Thresholds
    from bot.bench.pr import bench_pr
    from bot.bench.publish import check_verdict, write_job_summary
    from bot.bench.pull_request import claimed_pull_request
    from bot.bench.sequential import stop_lines

    models, seeds, run_settings, bench_config = _run_settings(settings, params)
    if not bench_config.enabled:
        # the repository switched the benchmark off: say so, train nothing, fail nothing
        click.echo("bench pr: skipped: bench.enabled is false in the configuration", err=True)
        return
    event_name, payload = _event()
    claim = claimed_pull_request(event_name, payload)
    outcome = bench_pr(
        Path("."),
        base_ref=base_ref,
        head_ref=head_ref,
        models=models,
        seeds=seeds,
        settings=run_settings,
        thresholds=Thresholds.from_config(bench_config.thresholds),
        pull_request=claim,
        progress=sys.stderr,
        paths=bench_config.paths if scope else None,
        config_files=_config_files(settings),
        early_stop=bench_config.early_stop,
        base_records=_data_branch(bench_config)
        if (bench_config.reuse_base if reuse_base is None else reuse_base)
        else None,
        isolate_dependencies=not shared_env,
    )
    report = render.markdown(
        outcome.comparison,
        base_runs=outcome.base["runs"],
        head_runs=outcome.head["runs"],
        scope=outcome.scope,
        info=[
            *stop_lines(outcome.base, outcome.head, outcome.comparison.thresholds),
            *([outcome.reuse.line()] if outcome.reuse and outcome.reuse.line() else []),
        ],
        packages=outcome.head.get("packages"),
    )
    write_artifact(out, outcome.base, outcome.head, report)
    click.echo(f"wrote the artifact to {out}/", err=True)
    if fmt == "json" or settings.as_json:
        click.echo(render.to_json(outcome.comparison, scope=outcome.scope), nl=False)
    else:
        click.echo(report, nl=False)
    write_job_summary(report)
    if post:
        number = pr_number or (claim or {}).get("number")
        if not number or not repo:
            raise UsageError(
                "--post needs the PR and the repository",
                hint="pass --pr N --repo owner/name (in Actions they come from the event)",
            )
        github = settings.github()
        assert github is not None
        repository = github.get_repo(repo)
        pull = repository.get_pull(number)
        verdict = check_verdict(
            outcome.comparison,
            report,
            scope=outcome.scope,
            fail_on_regression=bench_config.fail_on_regression,
        )
        head_sha = (claim or {}).get("head_sha") or pull.head.sha
        _publish(settings, repository, pull, head_sha, report, verdict, bench_config)
    if bench_config.fail_on_regression:
        _fail_on_regression(outcome.comparison)


@bench.command("comment")
@click.option(
    "--artifact",
    "artifact_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder holding the downloaded base.json and head.json.",
)
@click.option(
    "--head-sha",
    envvar="MAINTBOT_HEAD_SHA",
    show_envvar=True,
    help="Trusted head commit (default: the workflow_run event's head_sha).",
)
@click.option(
    "--repo",
    envvar="GITHUB_REPOSITORY",
    show_envvar=True,
    required=True,
    help="owner/name of the repository to comment on.",
)
@click.option("--history-branch", help="Also chart this branch's accuracy history (the store).")
@pass_settings
def comment_command(
    settings: Settings,
    artifact_dir: Path,
    head_sha: str | None,
    repo: str,
    history_branch: str | None,
) -> None:
    """Post the PR comment and the check from a validated artifact.

    The privileged step of the fork-safe workflow: the artifact is untrusted, so which models
    the change affects is decided again from the PR's files with this configuration. The App
    and ``maintbot action`` publish through the same function (bot/bench/comment.py).
    """
    from bot.bench.comment import comment_from_artifact
    from bot.bench.publish import write_job_summary
    from bot.bench.pull_request import trusted_head_sha

    event_name, payload = _event()
    head_sha = head_sha or trusted_head_sha(event_name, payload)
    if not head_sha:
        raise UsageError(
            "no trusted head commit to match the artifact against",
            hint="run it from a workflow_run event or pass --head-sha",
        )
    github = settings.github(required=not settings.dry_run)
    outcome = comment_from_artifact(
        github,
        repo,
        artifact_dir,
        head_sha,
        settings.config().bench,
        store=settings.store() if history_branch else None,
        dry_run=settings.dry_run,
        history_branch=history_branch,
        config_files=_config_files(settings),
    )
    write_job_summary(outcome.report)
    if outcome.pull_number is None:
        click.echo(outcome.report, nl=False)
        click.echo("dry-run without a token: the comment above was not posted", err=True)
        return
    _say_published(outcome)


@bench.command("record")
@click.argument("results_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--repo", envvar="GITHUB_REPOSITORY", show_envvar=True, required=True)
@click.option("--branch", required=True, help="The branch the results were run on (e.g. main).")
@click.option(
    "--data-branch",
    "to_data_branch",
    is_flag=True,
    help="Commit a record to bench.data_branch (pushed to origin when the clone has one) "
    "instead of the store; run it in the job that ran the models (the environment is hashed).",
)
@pass_settings
def record_command(
    settings: Settings, results_file: Path, repo: str, branch: str, to_data_branch: bool
) -> None:
    """Append results to the benchmark history (store, or the data branch)."""
    from bot.bench import history, results

    doc = results.load(results_file)
    if to_data_branch:
        path = _record_to_branch(settings, doc, branch)
        click.echo(f"recorded {path} on {settings.config().bench.data_branch}", err=True)
        return
    store = settings.store()
    with store.session() as session:
        added = history.record(session, doc, repo=repo, branch=branch)
    click.echo(f"recorded {added} model(s) of {doc['git']['sha'][:12]} on {branch}", err=True)


@bench.command("history")
@click.option("--repo", envvar="GITHUB_REPOSITORY", show_envvar=True, required=True)
@click.option(
    "--model", required=True, help="A reference model (mnist_mlp) or a model's module path."
)
@click.option("--branch", help="Only this branch (default: every branch).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option(
    "--data-branch",
    "from_data_branch",
    is_flag=True,
    help="Read the records on bench.data_branch (fetched from origin) instead of the store.",
)
@pass_settings
def history_command(
    settings: Settings,
    repo: str,
    model: str,
    branch: str | None,
    limit: int,
    from_data_branch: bool,
) -> None:
    """Export a model's benchmark history as JSON."""
    from bot.bench import history
    from bot.bench.models import check_names

    check_names([model])
    if from_data_branch:
        records = _data_branch(settings.config().bench).records()
        rows = history.export_records(records, repo=repo, model=model, branch=branch, limit=limit)
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    store = settings.store()
    with store.session() as session:
        rows = history.export(session, repo=repo, model=model, branch=branch, limit=limit)
    click.echo(json.dumps(rows, indent=2, sort_keys=True))


def _data_branch(bench_config: Any) -> Any:
    """The data branch of the clone here, fetched from and pushed to origin when it has one."""
    from bot.bench.databranch import DataBranch
    from bot.bench.worktree import git, repository_root

    root = repository_root(Path("."))
    remotes = git(root, "remote", check=False).split()
    return DataBranch(
        root, bench_config.data_branch, remote="origin" if "origin" in remotes else None
    )


def _record_to_branch(settings: Settings, doc: dict[str, Any], branch: str) -> str:
    """Commits a record of ``doc`` (this job's environment, the model hashes at its commit)."""
    from bot.bench.baseline import environment, model_hash, new_record, tree_entries
    from bot.bench.pull_request import SHA

    sha = doc["git"].get("sha")
    if not (isinstance(sha, str) and SHA.match(sha)):
        raise UsageError(
            "these results carry no commit sha, so they cannot join the history",
            hint="record results written by `maintbot bench run` inside a git checkout",
        )
    bench_config = settings.config().bench
    data = _data_branch(bench_config)
    tree = tree_entries(data.root, sha)
    hashes = {
        model: model_hash(
            tree,
            model,
            shared=bench_config.paths.shared,
            extra=bench_config.paths.models,
            config_files=_config_files(settings),
        )
        for model in doc["settings"]["models"]
    }
    return data.write(new_record(doc, branch=branch, env=environment(), model_hashes=hashes))


def _fail_on_regression(comparison: Any) -> None:
    from bot.bench.compare import Status

    if comparison.status is Status.REGRESSION:
        found = comparison.regressions
        raise FindingError(
            "the head is worse than the base: " + "; ".join(found),
            hint="see the report above; if the change is intended, say so in the PR",
        )


def _event() -> tuple[str | None, dict[str, Any]]:
    """The Actions event (name, payload), or (None, {}) outside Actions."""
    name = os.environ.get("GITHUB_EVENT_NAME")
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not name or not path:
        return None, {}
    from bot.events.local import read_payload

    return name, read_payload(Path(path))


def _publish(
    settings: Settings,
    repository: Any,
    pull: Any,
    head_sha: str,
    report: str,
    verdict: Any,
    bench_config: Any,
) -> None:
    """The sticky comment (``bench.comment``), then the check (``bench.check``) linking to it."""
    from bot.bench.comment import publish_verdict

    _say_published(
        publish_verdict(repository, pull, head_sha, report, verdict, bench_config, settings.dry_run)
    )


def _say_published(outcome: Any) -> None:
    """One stderr line for the comment and one for the check, as they were (or would be) set."""
    if outcome.comment is not None:
        _say_posted(outcome.comment, outcome.pull_number)
    check = outcome.check
    if check is not None:
        sha = outcome.head_sha
        would = "dry-run: the benchmark " if check.dry_run else "benchmark "
        verb = f"would be {check.action}" if check.dry_run else check.action
        click.echo(
            f"{would}{check.kind} {verb} on {sha[:12]}: {check.conclusion}"
            + (f" (no check run: {check.fallback_reason})" if check.fallback_reason else ""),
            err=True,
        )


def _config_files(settings: Settings) -> tuple[str, ...]:
    """The configuration files a change to which affects every model (paths from the root)."""
    from bot.bench.affected import CONFIG_FILE
    from bot.bench.worktree import repository_root

    files = [CONFIG_FILE]
    if settings.config_path:
        try:
            root = repository_root(Path("."))
            relative = Path(settings.config_path).resolve().relative_to(root.resolve())
        except (UsageError, ValueError):
            pass  # a configuration outside the repository cannot change with a PR
        else:
            files.append(relative.as_posix())
    return tuple(dict.fromkeys(files))


def _say_posted(result: Any, number: int) -> None:
    if result.dry_run:
        click.echo(
            f"dry-run: the benchmark comment would be {result.action} on #{number}", err=True
        )
    else:
        click.echo(f"benchmark comment {result.action} on #{number}", err=True)
