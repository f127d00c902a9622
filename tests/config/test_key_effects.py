"""Each configuration key, set to a value other than its default, changes what maintbot does.

One test per key (or per small family of keys read together) for the keys that had no such
test elsewhere; tests/config/test_every_key_is_read.py keeps the ledger of which test shows
each key's effect. Every test runs the code that reads the key (the triage and duplicate
search handlers, the bench and report commands, their decision functions) on a config parsed
from YAML, and compares with what the defaults give: no mocks, no model training (the bench
trains a stand-in model that writes its metrics at once; triage and duplicate search use the
built-in model).
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.bench.compare import Status, Thresholds, compare
from bot.config.loader import parse_config
from bot.config.schema import Config
from bot.errors import FindingError
from bot.events.context import HandlerContext
from bot.events.router import Event, Skipped
from bot.github.client import build_github
from bot.settings import Settings
from tests.bench.builders import HEAD_SHA, git, make_results, make_run, side, write

REPO = "octo/widgets"  # the sandbox fixture's default repository


def config(text: str = "") -> Config:
    return parse_config(textwrap.dedent(text))


def client(sandbox):
    return build_github(token="t", api_url=sandbox.base_url, seconds_between_writes=0)


# ------------------------------------------------------------------------------ labels, triage
# The issues.opened handler, run as the Action runs it (no GitHub: it plans its writes), or
# against the sandbox where a write is what the key changes. The built-in model labels BUG as
# a bug with confidence 0.83 (its bug threshold is 0.69, chosen for precision 0.9).

BUG = {
    "number": 4,
    "title": "Crash with IndexError when calling fit",
    "body": "Traceback (most recent call last):\n  File x\nIndexError: list index out of range\n"
    "It crashes. TensorFlow 2.15",
    "user": {"login": "alice"},
    "labels": [],
}


def opened(issue=None, *, sender="alice"):
    return Event(
        "issues",
        {
            "action": "opened",
            "issue": issue or BUG,
            "repository": {"full_name": REPO},
            "sender": {"login": sender, "type": "User"},
        },
    )


def triage_offline(cfg: Config, issue=None):
    """The handler's result and the label it plans, with no GitHub client."""
    from bot.triage.handlers import label_new_issue

    ctx = HandlerContext(github=None, config=cfg)
    result = label_new_issue(opened(issue), ctx)
    return result, ctx.planned


def planned_labels(planned):
    return [step["labels"] for step in planned if step["action"] == "label"]


def test_labels_types_names_the_label_applied_for_a_type():
    _, default = triage_offline(Config.default())
    _, renamed = triage_offline(config("labels:\n  types:\n    bug: 'type: bug'\n"))
    assert planned_labels(default) == [["bug"]]
    assert planned_labels(renamed) == [["type: bug"]]


def test_labels_already_triaged_keeps_the_bot_off_an_issue_carrying_one():
    on_hold = {**BUG, "labels": [{"name": "on-hold"}]}
    result, planned = triage_offline(Config.default(), on_hold)
    assert result["labels"] == ["bug"] and planned_labels(planned) == [["bug"]]
    result, planned = triage_offline(config("labels:\n  already_triaged: [on-hold]\n"), on_hold)
    assert isinstance(result, Skipped) and result.reason == "already triaged by a person"
    assert planned_labels(planned) == []


def test_triage_model_chooses_the_classifier(tmp_path):
    import shutil

    from bot.triage.model_source import BUILTIN_DIR

    strict = tmp_path / "strict-model"
    shutil.copytree(BUILTIN_DIR, strict)
    manifest_path = strict / "triage-model.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["thresholds"] = dict.fromkeys(manifest["thresholds"], 0.99)  # never sure enough
    manifest_path.write_text(json.dumps(manifest))

    built_in, _ = triage_offline(Config.default())
    other, _ = triage_offline(config(f"triage:\n  model: '{strict}'\n"))
    assert built_in["labels"] == ["bug"]
    assert other["labels"] == ["needs-triage"]
    assert other["prediction"]["probabilities"] == built_in["prediction"]["probabilities"]


def test_triage_min_precision_moves_the_confidence_threshold():
    default, _ = triage_offline(Config.default())
    strict, _ = triage_offline(config("triage:\n  min_precision: 0.99\n"))
    assert default["prediction"]["decision"] == "bug" and default["labels"] == ["bug"]
    assert strict["prediction"]["decision"] == "needs-triage"
    assert strict["labels"] == ["needs-triage"]


STYLED = """
labels:
  types:
    bug: kind/bug
  styles:
    bug:
      color: "123456"
      description: Broken in a new way
"""


def triage_on_sandbox(sandbox, cfg: Config):
    """The handler with a GitHub client on issue #4 (unlabelled); the labels it leaves."""
    from bot.triage.handlers import label_new_issue

    ctx = HandlerContext(github=client(sandbox), config=cfg)
    label_new_issue(opened(), ctx)
    with sandbox.state.lock:
        repo = sandbox.state.repo(REPO)
        return list(sandbox.state.issue(REPO, 4)["labels"]), {
            name: dict(label) for name, label in repo["labels"].items()
        }


def test_labels_styles_colour_and_describe_a_label_maintbot_creates(make_sandbox):
    plain = make_sandbox(seed_default=True)
    on_issue, labels = triage_on_sandbox(plain, config("labels:\n  types:\n    bug: kind/bug\n"))
    assert on_issue == ["kind/bug"]
    default_style = Config.default().labels.styles["bug"]
    assert (labels["kind/bug"]["color"], labels["kind/bug"]["description"]) == (
        default_style.color,
        default_style.description,
    )
    styled = make_sandbox(seed_default=True)
    on_issue, labels = triage_on_sandbox(styled, config(STYLED))
    assert on_issue == ["kind/bug"]
    assert (labels["kind/bug"]["color"], labels["kind/bug"]["description"]) == (
        "123456",
        "Broken in a new way",
    )


def test_labels_create_missing_false_leaves_out_a_label_the_repository_lacks(make_sandbox):
    creating = make_sandbox(seed_default=True)
    on_issue, labels = triage_on_sandbox(creating, config("labels:\n  types:\n    bug: kind/bug\n"))
    assert on_issue == ["kind/bug"] and "kind/bug" in labels
    strict = make_sandbox(seed_default=True)
    on_issue, labels = triage_on_sandbox(
        strict, config("labels:\n  create_missing: false\n  types:\n    bug: kind/bug\n")
    )
    assert on_issue == [] and "kind/bug" not in labels


# ---------------------------------------------------------------------------------- thresholds
# compare() with the thresholds the config gives, as bench compare, bench pr and bench comment
# build them (Thresholds.from_config).


def verdicts(cfg: Config, base_runs, head_runs) -> dict[str, Status]:
    comparison = compare(
        make_results(base_runs),
        make_results(head_runs, label="head", sha=HEAD_SHA),
        Thresholds.from_config(cfg.bench.thresholds),
    )
    (model,) = comparison.models
    return {m.spec.threshold: m.status for m in model.metrics}


def runs(**per_seed):
    """One run per seed; each keyword a list of that make_run argument's values."""
    count = len(next(iter(per_seed.values())))
    return [make_run(seed=i, **{k: v[i] for k, v in per_seed.items()}) for i in range(count)]


ACCURATE = runs(accuracy=[0.9760, 0.9740, 0.9756])


def test_accuracy_drop_points_decides_how_big_a_drop_is_a_regression():
    head = runs(accuracy=[0.9660, 0.9642, 0.9655])  # 1 point lower
    assert verdicts(Config.default(), ACCURATE, head)["accuracy_drop_points"] is Status.REGRESSION
    lenient = config("bench:\n  thresholds:\n    accuracy_drop_points: 2\n")
    assert verdicts(lenient, ACCURATE, head)["accuracy_drop_points"] is Status.PASS


def test_loss_increase_pct_decides_how_big_a_loss_rise_is_a_regression():
    base = runs(loss=[0.080, 0.081, 0.079])
    head = runs(loss=[0.090, 0.091, 0.089])  # 12.5 % higher
    assert verdicts(Config.default(), base, head)["loss_increase_pct"] is Status.REGRESSION
    lenient = config("bench:\n  thresholds:\n    loss_increase_pct: 20\n")
    assert verdicts(lenient, base, head)["loss_increase_pct"] is Status.PASS


def test_time_increase_pct_decides_how_much_slower_is_a_warning():
    base = runs(seconds=[30.0, 30.5, 29.5])
    head = runs(seconds=[40.0, 40.5, 39.5])  # a third slower
    assert verdicts(Config.default(), base, head)["time_increase_pct"] is Status.WARNING
    lenient = config("bench:\n  thresholds:\n    time_increase_pct: 50\n")
    assert verdicts(lenient, base, head)["time_increase_pct"] is Status.PASS


def test_size_increase_pct_decides_how_much_bigger_is_a_warning():
    base = runs(parameters=[101770, 101770, 101770])
    head = runs(parameters=[118000, 118000, 118000])  # 16 % more parameters
    default = verdicts(Config.default(), base, head)["size_increase_pct"]
    assert default is Status.WARNING
    lenient = config("bench:\n  thresholds:\n    size_increase_pct: 20\n")
    assert verdicts(lenient, base, head)["size_increase_pct"] is Status.PASS


def test_alpha_decides_how_sure_a_regression_must_be():
    base = runs(accuracy=[0.9760, 0.9700, 0.9740])
    head = runs(accuracy=[0.9700, 0.9620, 0.9680])  # 0.67 points lower, p about 0.03
    assert verdicts(Config.default(), base, head)["accuracy_drop_points"] is Status.REGRESSION
    strict = config("bench:\n  thresholds:\n    alpha: 0.01\n")
    assert verdicts(strict, base, head)["accuracy_drop_points"] is Status.INCONCLUSIVE


# ----------------------------------------------------------------- bench comment on the sandbox
# comment_from_artifact: what bench comment, maintbot action and the App's workflow_run handler
# publish, with the PR's own file list deciding the scope (bench.models, bench.paths).

PR_HEAD = "c" * 40


def bench_sandbox(make_sandbox, *changed):
    sb = make_sandbox(seed_default=True)
    sb.state.add_pull(
        REPO,
        title="Change",
        user="forker",
        head="change",
        head_sha=PR_HEAD,
        number=5,
        files=[
            {"filename": name, "status": "modified", "additions": 1, "deletions": 1}
            for name in changed
        ],
    )
    return sb


def regression_artifact(tmp_path: Path) -> Path:
    folder = tmp_path / "artifact"
    folder.mkdir(parents=True)
    write(folder, "base.json", side([0.9760, 0.9740, 0.9756]))
    write(folder, "head.json", side([0.9660, 0.9642, 0.9655], label="head", sha=HEAD_SHA))
    return folder


def publish(sandbox, folder: Path, cfg: Config, dry_run: bool = False):
    from bot.bench.comment import comment_from_artifact

    return comment_from_artifact(client(sandbox), REPO, folder, PR_HEAD, cfg.bench, dry_run=dry_run)


def check_conclusions(sandbox):
    with sandbox.state.lock:
        return [
            run["conclusion"]
            for run in sandbox.state.repo(REPO)["check_runs"].values()
            if run["head_sha"] == PR_HEAD
        ]


def test_fail_on_regression_false_makes_a_regression_neutral(make_sandbox, tmp_path):
    failing = bench_sandbox(make_sandbox, "reference_models/mnist_mlp.py")
    publish(failing, regression_artifact(tmp_path / "a"), Config.default())
    assert check_conclusions(failing) == ["failure"]
    lenient = bench_sandbox(make_sandbox, "reference_models/mnist_mlp.py")
    cfg = config("bench:\n  fail_on_regression: false\n")
    publish(lenient, regression_artifact(tmp_path / "b"), cfg)
    assert check_conclusions(lenient) == ["neutral"]


def scope_of(make_sandbox, cfg: Config, *changed):
    """The models the PR of ``changed`` files affects, decided from the PR's file list as
    bench comment decides it (pull_scope reads bench.models and bench.paths)."""
    from bot.bench.affected import CONFIG_FILE
    from bot.bench.comment import pull_scope

    pull = client(bench_sandbox(make_sandbox, *changed)).get_repo(REPO).get_pull(5)
    return pull_scope(pull, cfg.bench, (CONFIG_FILE,)).affected


def test_bench_models_are_the_models_a_pr_is_judged_on(make_sandbox):
    changed = "reference_models/training.py"  # shared by every reference model
    assert scope_of(make_sandbox, Config.default(), changed) == ["mnist_mlp", "mnist_cnn"]
    only_mlp = config("bench:\n  models: [mnist_mlp]\n")
    assert scope_of(make_sandbox, only_mlp, changed) == ["mnist_mlp"]


def test_bench_paths_shared_lists_the_files_every_model_depends_on(make_sandbox):
    changed = "common/augment.py"
    assert scope_of(make_sandbox, Config.default(), changed) == []
    cfg = config("bench:\n  paths:\n    shared: ['common/**']\n")
    assert scope_of(make_sandbox, cfg, changed) == ["mnist_mlp", "mnist_cnn"]
    # writing the key replaces the default list: the shared training loop no longer counts
    assert scope_of(make_sandbox, cfg, "reference_models/training.py") == []


def test_bench_paths_models_adds_files_one_model_depends_on(make_sandbox):
    changed = "data/mlp/extra.csv"
    assert scope_of(make_sandbox, Config.default(), changed) == []
    cfg = config("bench:\n  paths:\n    models:\n      mnist_mlp: ['data/mlp/**']\n")
    assert scope_of(make_sandbox, cfg, changed) == ["mnist_mlp"]


# -------------------------------------------------------------------- bench commands, tiny model
# The bench commands in process, in a git repository holding a stand-in model that writes its
# metrics at once (no TensorFlow): seeds, epochs, early stopping and the data branch as the
# commands read them from the configuration.

TINY = """
import argparse, json
from pathlib import Path
parser = argparse.ArgumentParser()
for name in ("--seed", "--epochs", "--dataset", "--out", "--train-limit", "--test-limit"):
    parser.add_argument(name)
args = parser.parse_args()
ACCURACY = 0.9
seed, epochs = int(args.seed), int(args.epochs)
metrics = {
    "metrics_format": 1, "model": "lab.tiny", "dataset": "mnist", "seed": seed,
    "epochs": epochs, "batch_size": 32, "train_examples": 10, "test_examples": 10,
    "data_source": "fake", "test_accuracy": ACCURACY + seed / 1000,
    "test_loss": 0.1 + seed / 1000,
    "history": [{"epoch": e + 1, "loss": 0.1, "accuracy": 0.9, "seconds": 0.01}
                for e in range(epochs)],
    "train_seconds": 1.0, "total_seconds": 1.0, "parameters": 10, "peak_rss_bytes": 1000,
    "environment": {"python": "3", "tensorflow": "none", "cpu_model": "x", "cpu_count": 1,
                    "threads": {}},
    "code_path": str(Path(__file__).resolve()),
}
Path(args.out).write_text(json.dumps(metrics))
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A git repository with the stand-in model ``lab.tiny`` on ``main``; the current dir."""
    root = tmp_path / "project"
    (root / "lab").mkdir(parents=True)
    (root / "lab" / "__init__.py").write_text("")
    (root / "lab" / "tiny.py").write_text(textwrap.dedent(TINY))
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "test")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tiny model")
    monkeypatch.chdir(root)
    return root


def bench(tmp_path: Path, yaml_text: str, *args: str):
    """``maintbot --config FILE bench ARGS`` in process, the config outside the repository."""
    from bot.bench.cli import bench as bench_group

    path = tmp_path / f"maintbot-{abs(hash(yaml_text))}.yml"
    path.write_text(textwrap.dedent(yaml_text))
    settings = Settings(config_path=path)
    return CliRunner().invoke(bench_group, list(args), obj=settings)


TINY_ONLY = "bench:\n  models: [lab.tiny]\n"


def test_bench_seeds_and_epochs_are_how_long_bench_run_trains(project, tmp_path):
    out = tmp_path / "default.json"
    done = bench(tmp_path, TINY_ONLY, "run", "--out", str(out))
    assert done.exit_code == 0, done.output
    default = json.loads(out.read_text())
    assert default["settings"]["models"] == ["lab.tiny"]
    assert [r["seed"] for r in default["runs"]] == [0, 1, 2]  # bench.seeds: 3
    assert {r["epochs"] for r in default["runs"]} == {5}  # bench.epochs: 5
    out = tmp_path / "short.json"
    done = bench(tmp_path, TINY_ONLY + "  seeds: 2\n  epochs: 1\n", "run", "--out", str(out))
    assert done.exit_code == 0, done.output
    short = json.loads(out.read_text())
    assert [r["seed"] for r in short["runs"]] == [0, 1]
    assert {r["epochs"] for r in short["runs"]} == {1} and short["settings"]["epochs"] == 1


def test_bench_timeout_minutes_is_each_runs_time_limit(tmp_path):
    """The limit every run gets (the runner stops a run past it: tests/bench/test_runner.py);
    a minute is the least a config can ask for, too long to wait for here."""
    from bot.bench.cli import _run_settings

    params = {
        name: None
        for name in ("models", "seeds", "epochs", "data_path", "train_limit", "test_limit")
    }
    params |= {"dataset": "mnist", "timeout_minutes": None}
    default_path, short_path = tmp_path / "default.yml", tmp_path / "short.yml"
    default_path.write_text("version: 1\n")
    short_path.write_text("bench:\n  timeout_minutes: 2\n")
    _, _, default, _ = _run_settings(Settings(config_path=default_path), params)
    _, _, short, _ = _run_settings(Settings(config_path=short_path), params)
    assert (default.timeout_s, short.timeout_s) == (30 * 60, 2 * 60)


def worse_head(project: Path) -> None:
    """The working tree's model is clearly worse than main's."""
    tiny = project / "lab" / "tiny.py"
    tiny.write_text(tiny.read_text().replace("ACCURACY = 0.9", "ACCURACY = 0.5"))


def pr_runs(tmp_path: Path, yaml_text: str, name: str, *extra: str):
    out = tmp_path / name
    done = bench(tmp_path, yaml_text, "pr", "--base", "main", "--out", str(out), *extra)
    # the head is worse: a regression fails the command (exit 1 through the root group)
    assert isinstance(done.exception, FindingError), done.output
    base, head = (json.loads((out / f"{s}.json").read_text()) for s in ("base", "head"))
    return len(base["runs"]), len(head["runs"]), done.output


def test_bench_early_stop_ends_a_clear_verdict_early(project, tmp_path):
    worse_head(project)
    every = TINY_ONLY + "  seeds: 5\n  reuse_base: false\n  early_stop: false\n"
    assert pr_runs(tmp_path, every, "all")[:2] == (5, 5)
    stopping = TINY_ONLY + "  seeds: 5\n  reuse_base: false\n"  # early_stop: true, the default
    base_runs, head_runs, _ = pr_runs(tmp_path, stopping, "early")
    assert base_runs == head_runs == 2


RECORDS = "bench-records"


def record_main(project: Path, tmp_path: Path, yaml_text: str) -> None:
    """What the default branch's job does: bench run, then bench record --data-branch."""
    results = tmp_path / "main.json"
    done = bench(tmp_path, yaml_text, "run", "--out", str(results))
    assert done.exit_code == 0, done.output
    done = bench(
        tmp_path, yaml_text, "record", str(results), "--repo", REPO, "--branch", "main",
        "--data-branch",
    )  # fmt: skip
    assert done.exit_code == 0, done.output


def test_bench_data_branch_is_where_records_are_written_and_read(project, tmp_path):
    named = TINY_ONLY + f"  seeds: 2\n  early_stop: false\n  data_branch: {RECORDS}\n"
    record_main(project, tmp_path, named)
    branches = git(project, "branch", "--list", "--format=%(refname:short)").split()
    assert RECORDS in branches and "maintbot-bench-data" not in branches
    worse_head(project)
    base_runs, head_runs, _ = pr_runs(tmp_path, named, "reused")
    default_branch = TINY_ONLY + "  seeds: 2\n  early_stop: false\n"
    _, _, output = pr_runs(tmp_path, default_branch, "trained")
    assert "base trained: no record of the base commit" in output
    assert (base_runs, head_runs) == (2, 2)


def test_bench_reuse_base_false_trains_the_base_despite_a_record(project, tmp_path):
    reusing = TINY_ONLY + f"  seeds: 2\n  early_stop: false\n  data_branch: {RECORDS}\n"
    record_main(project, tmp_path, reusing)
    worse_head(project)
    _, _, output = pr_runs(tmp_path, reusing, "reused")
    assert "[reuse] the base runs of lab.tiny come from the record" in output
    _, _, output = pr_runs(tmp_path, reusing + "  reuse_base: false\n", "trained")
    assert "[reuse]" not in output and "base]" in output


# -------------------------------------------------------------------------------------- report
# The schedule handler and the report command against the sandbox, and the options the command
# builds from report.* (report_options) for the pure metrics.

SCHEDULE = "30 5 * * 2"


def scheduled(sandbox, cfg: Config, cron: str = SCHEDULE):
    from bot.report.handlers import post_scheduled_report

    event = Event("schedule", {"schedule": cron, "repository": {"full_name": REPO}})
    return post_scheduled_report(event, HandlerContext(github=client(sandbox), config=cfg))


def report_issues(sandbox):
    with sandbox.state.lock:
        return [
            issue["title"]
            for issue in sandbox.state.repo(REPO)["issues"].values()
            if issue["title"].startswith("Community health report")
        ]


def test_report_schedule_is_the_cron_line_that_posts_the_report(sandbox):
    skipped = scheduled(sandbox, Config.default())
    assert isinstance(skipped, Skipped) and "is not report.schedule" in skipped.reason
    assert report_issues(sandbox) == []
    posted = scheduled(sandbox, config(f'report:\n  schedule: "{SCHEDULE}"\n'))
    assert not isinstance(posted, Skipped) and posted["action"] == "created"
    assert report_issues(sandbox) == [posted["title"]]


def test_report_window_days_is_the_scheduled_reports_span(sandbox):
    wide = scheduled(sandbox, config(f'report:\n  schedule: "{SCHEDULE}"\n'))
    narrow = scheduled(sandbox, config(f'report:\n  schedule: "{SCHEDULE}"\n  window_days: 7\n'))
    assert days(wide["window"]) == 30 and days(narrow["window"]) == 7


def days(label: str) -> int:
    """The days a window label such as ``2026-11-06 – 2026-12-05`` covers."""
    start, end = (date.fromisoformat(part) for part in label.split(" – "))
    return (end - start).days + 1


@pytest.fixture
def seeded(make_sandbox, monkeypatch, tmp_path):
    from tests.report.scenario import REPO as LAB
    from tests.report.scenario import scenario, seed_sandbox

    monkeypatch.setenv("MAINTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'store.sqlite3'}")
    sb = make_sandbox(seed_default=True)
    seed_sandbox(sb.state, scenario())
    sb.lab = LAB
    return sb


MARCH = ["--since", "2024-03-01", "--until", "2024-03-31"]


def report(sb, tmp_path: Path, yaml_text: str, *args: str):
    from bot.report.cli import report as report_command

    path = tmp_path / f"maintbot-{abs(hash(yaml_text))}.yml"
    path.write_text(textwrap.dedent(yaml_text) or "version: 1\n")
    settings = Settings(api_url=sb.base_url, token="test-token", config_path=path)
    result = CliRunner().invoke(
        report_command, ["--repo", sb.lab, *args], obj=settings, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def report_json(sb, tmp_path, yaml_text: str):
    return json.loads(report(sb, tmp_path, yaml_text, *MARCH, "--format", "json"))


def test_report_format_is_the_output_without_a_format_option(seeded, tmp_path):
    assert report(seeded, tmp_path, "", *MARCH).startswith("# Community health report")
    as_json = report(seeded, tmp_path, "report:\n  format: json\n", *MARCH)
    assert json.loads(as_json)["window"]["start"] == "2024-03-01T00:00:00Z"


def test_report_ignore_users_leaves_an_account_out(seeded, tmp_path):
    # spammer answers issue #2 an hour after it opened; ignored, the maintainer's reply counts
    counted = report_json(seeded, tmp_path, "")["first_response"]["issues"]
    ignored = report_json(seeded, tmp_path, "report:\n  ignore_users: [spammer]\n")
    assert (counted["count"], counted["mean"]) == (2, (3 + 1) / 2 * 3600)
    assert ignored["first_response"]["issues"] != counted


def test_report_bots_excluded_false_counts_bot_accounts(seeded, tmp_path):
    default = report_json(seeded, tmp_path, "")
    with_bots = report_json(seeded, tmp_path, "report:\n  bots_excluded: false\n")
    assert with_bots["contributors"]["active"] > default["contributors"]["active"]


def test_report_post_issue_and_issue_title_open_the_report_issue(seeded, tmp_path):
    def titles():
        with seeded.state.lock:
            return [
                i["title"]
                for i in seeded.state.repo(seeded.lab)["issues"].values()
                if (i["body"] or "").startswith("<!-- maintbot:report:")
            ]

    report(seeded, tmp_path, "", *MARCH)
    assert titles() == []
    report(seeded, tmp_path, "report:\n  post_issue: true\n", *MARCH)
    assert titles() == [f"Community health report for {seeded.lab}: 2024-03-01 to 2024-03-31"]
    custom = (
        "report:\n  post_issue: true\n  issue_title: 'Health {start}..{end} ({window_days} d)'\n"
    )
    report(seeded, tmp_path, custom, "--since", "2024-02-01", "--until", "2024-02-29")
    assert "Health 2024-02-01..2024-02-29 (30 d)" in titles()


# Business hours: the first-response wait the report computes, through the options that
# report_options builds from report.business_hours (the command and the handler call it).
# Opened Friday 2024-03-01 16:00 UTC, answered Monday 2024-03-04 10:00 UTC.
OPENED = datetime(2024, 3, 1, 16, 0, tzinfo=UTC)
ANSWERED = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)


def business_wait(yaml_text: str) -> float | None:
    from bot.report.business_hours import business_seconds
    from bot.report.cli import report_options

    hours = report_options(config(yaml_text)).business_hours
    return None if hours is None else business_seconds(OPENED, ANSWERED, hours) / 3600


ON = "report:\n  business_hours:\n    enabled: true\n"


def test_business_hours_enabled_counts_working_hours_only():
    assert business_wait("") is None  # off: wall-clock time, 66 hours
    assert business_wait(ON) == 1 + 1  # Friday 16-17, Monday 9-10


def test_business_hours_timezone_shifts_the_working_day():
    # 16:00 UTC is 17:00 in Paris (after hours); 10:00 UTC is 11:00 (two hours in)
    assert business_wait(ON + "    timezone: Europe/Paris\n") == 0 + 2


def test_business_hours_working_days_choose_the_days_that_count():
    assert business_wait(ON + "    working_days: [mon, tue, wed, thu, fri, sat]\n") == 1 + 8 + 1


def test_business_hours_start_and_end_bound_the_working_day():
    assert business_wait(ON + '    start: "08:00"\n') == 1 + 2
    assert business_wait(ON + '    end: "18:00"\n') == 2 + 1


# ------------------------------------------------------------------------------- duplicates
# The duplicate search handler on GitHub's real issues.opened payload (tests/commands/events.py
# aims it at a sandbox issue), with no store: the index is read from the sandbox for the event.
# Three earlier reports of one crash (#5, #6 open; #7 closed 100 days ago) and a new one (#8).
# The embeddings come from the built-in model the type-label tests above load (one copy per
# process: runtime.loaded_predictor). With the defaults, #8 lists #6 (score 0.82), #7 (0.79)
# and #5 (0.74); the next best, #1, scores 0.07.

SHAPES = """Traceback (most recent call last):
  File "/home/me/widgets/train.py", line 88, in fit
    logits = model(batch)
  File "/usr/lib/python3.11/site-packages/torch/nn/functional.py", line 114, in linear
    return F.linear(input, self.weight, self.bias)
RuntimeError: mat1 and mat2 shapes cannot be multiplied (32x512 and 256x10)
"""


@pytest.fixture
def crashes(sandbox):
    """The sandbox with #5-#7, three reports of one crash, and #8, a new report of it."""
    state = sandbox.state
    state.add_issue(
        REPO,
        title="Training the widget model crashes with a shape error",
        body=f"Running `python train.py` on the sample data stops at once:\n\n```\n{SHAPES}```",
        user="erin",
    )
    state.add_issue(
        REPO,
        title="Shape mismatch when fitting a widget model",
        body=f"fit() on my own data fails:\n\n```\n{SHAPES.replace('32x512', '16x512')}```",
        user="frank",
    )
    closed = datetime.now(UTC) - timedelta(days=100)
    state.add_issue(
        REPO,
        title="RuntimeError: mat1 and mat2 shapes cannot be multiplied in fit",
        body=f"```\n{SHAPES.replace('32x512', '8x512')}```\nSame script as the docs.",
        user="hana",
        state="closed",
        created_at=closed - timedelta(days=3),
        closed_at=closed,
    )
    state.add_issue(
        REPO,
        title="fit() fails right away",
        body=f"Got this when I started fitting:\n\n```\n{SHAPES.replace('32x512', '64x512')}```",
        user="gina",
    )
    return sandbox


def find_duplicates_of(sandbox, shared_dir, cfg: Config, number: int = 8):
    """The duplicate handler's result for issues.opened of ``number``, and its labels after."""
    from bot.triage.duplicate_handlers import find_duplicates
    from tests.commands.events import issue_opened_event

    event = issue_opened_event(shared_dir, sandbox, REPO, number)
    result = find_duplicates(event, HandlerContext(github=client(sandbox), config=cfg))
    with sandbox.state.lock:
        labels = list(sandbox.state.issue(REPO, number)["labels"])
    return result, labels


def listed(result) -> list[int]:
    matches = result.details["matches"] if isinstance(result, Skipped) else result["matches"]
    return [match["number"] for match in matches]


def duplicate_config(yaml_text: str) -> Config:
    return config("triage:\n  duplicates:\n" + textwrap.indent(textwrap.dedent(yaml_text), "    "))


def test_duplicates_similarity_threshold_is_the_score_a_listed_issue_needs(crashes, shared_dir):
    found, _ = find_duplicates_of(crashes, shared_dir, Config.default())
    assert listed(found) == [6, 7, 5] and found["threshold"] == 0.6
    strict, _ = find_duplicates_of(
        crashes, shared_dir, duplicate_config("similarity_threshold: 0.9")
    )
    assert isinstance(strict, Skipped) and listed(strict) == []
    assert strict.reason == "no issue scores 0.90 or more (best: #6 at 0.82)"


def test_duplicates_max_candidates_is_how_many_issues_are_listed(crashes, shared_dir):
    found, _ = find_duplicates_of(crashes, shared_dir, Config.default())
    assert listed(found) == [6, 7, 5]
    one, _ = find_duplicates_of(crashes, shared_dir, duplicate_config("max_candidates: 1\n"))
    assert listed(one) == [6]


def test_duplicates_closed_within_days_leaves_out_issues_closed_before(crashes, shared_dir):
    found, _ = find_duplicates_of(crashes, shared_dir, Config.default())
    assert 7 in listed(found)  # closed 100 days ago, within the default 365
    recent, _ = find_duplicates_of(crashes, shared_dir, duplicate_config("closed_within_days: 30"))
    assert listed(recent) == [6, 5]


ADD_LABEL = "triage:\n  duplicates:\n    add_label: true\n"


def test_duplicates_add_label_labels_an_issue_with_duplicates(crashes, shared_dir):
    found, labels = find_duplicates_of(crashes, shared_dir, Config.default())
    assert listed(found) == [6, 7, 5] and found["labels"] == [] and labels == []
    labelled, labels = find_duplicates_of(crashes, shared_dir, config(ADD_LABEL))
    assert listed(labelled) == [6, 7, 5]
    assert labelled["labels"] == ["possible-duplicate"] and labels == ["possible-duplicate"]


def test_labels_possible_duplicate_is_the_label_add_label_puts_on(crashes, shared_dir):
    _, labels = find_duplicates_of(crashes, shared_dir, config(ADD_LABEL), number=8)
    assert labels == ["possible-duplicate"]
    renamed = config("labels:\n  possible_duplicate: 'status: duplicate?'\n" + ADD_LABEL)
    found, labels = find_duplicates_of(crashes, shared_dir, renamed, number=6)
    assert 8 in listed(found) and labels == ["status: duplicate?"]
    unset = config("labels:\n  possible_duplicate: null\n" + ADD_LABEL)
    found, labels = find_duplicates_of(crashes, shared_dir, unset, number=5)
    assert 8 in listed(found) and found["labels"] == [] and labels == []
