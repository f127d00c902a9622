"""Bar check: ``maintbot bench pr --base main`` fails a broken model and passes a docs edit.

Builds a throw-away git repository holding the reference models (branch ``main``), a branch
``broken`` whose MLP no longer scales its inputs, and a branch ``docs`` that only edits the
README; then runs the real command against each, several times, and prints a Markdown table.

    python benchmarks/bench_pr_bar.py --tries 3 --models mnist_mlp --seeds 3 --epochs 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCALING = "x_train, x_test = raw.x_train / 255.0, raw.x_test / 255.0"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout


def make_project(parent: Path) -> Path:
    """main: the models as they are; broken: no input scaling; docs: a README edit."""
    root = parent / "project"
    shutil.copytree(
        REPO / "reference_models",
        root / "reference_models",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (root / "bot").mkdir()
    for name in ("__init__.py", "errors.py"):
        shutil.copy(REPO / "bot" / name, root / "bot" / name)
    (root / "README.md").write_text("# project\n")
    git(parent, "init", "-q", "-b", "main", str(root))
    git(root, "config", "user.email", "bench@example.com")
    git(root, "config", "user.name", "bench")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "reference models")

    git(root, "checkout", "-q", "-b", "broken")
    model = root / "reference_models" / "mnist_mlp.py"
    source = model.read_text()
    if SCALING not in source:
        sys.exit("the broken change (no input scaling) no longer applies to mnist_mlp.py")
    model.write_text(source.replace(SCALING, "x_train, x_test = raw.x_train, raw.x_test"))
    git(root, "commit", "-q", "-am", "drop the input scaling")

    git(root, "checkout", "-q", "-b", "docs", "main")
    (root / "README.md").write_text("# project\n\nMore words, no code.\n")
    git(root, "commit", "-q", "-am", "docs")
    git(root, "checkout", "-q", "main")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=3)
    # the default configuration's models: a change to one trains only that one
    parser.add_argument("--models", default="mnist_mlp,mnist_cnn")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train-limit", type=int, help="quick check of this script only")
    parser.add_argument("--maintbot", default=str(Path(sys.executable).with_name("maintbot")))
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        project = make_project(Path(scratch))
        for attempt in range(1, args.tries + 1):
            for head in ("broken", "docs"):
                out = Path(scratch) / f"{head}-{attempt}"
                command = [
                    args.maintbot,
                    "bench",
                    "pr",
                    "--base",
                    "main",
                    "--head",
                    head,
                    "--models",
                    args.models,
                    "--seeds",
                    str(args.seeds),
                    "--epochs",
                    str(args.epochs),
                    "--out",
                    str(out),
                    "--format",
                    "json",
                ]
                if args.train_limit:
                    command += ["--train-limit", str(args.train_limit)]
                print(f"try {attempt}/{args.tries}: --head {head}", file=sys.stderr)
                started = time.perf_counter()
                done = subprocess.run(command, cwd=project, capture_output=True, text=True)
                minutes = (time.perf_counter() - started) / 60
                if done.returncode not in (0, 1):
                    sys.exit(f"bench pr failed ({done.returncode}):\n{done.stderr[-3000:]}")
                report = json.loads(done.stdout)
                message = next(
                    (line for line in done.stderr.splitlines() if line.startswith("Error:")), ""
                )
                # a change no model depends on trains nothing: no accuracy to report
                accuracy = next(
                    (
                        m
                        for model in report["models"][:1]
                        for m in model["metrics"]
                        if m["metric"] == "test_accuracy"
                    ),
                    None,
                )
                rows.append(
                    {
                        "try": attempt,
                        "head": head,
                        "exit_code": done.returncode,
                        "status": report["status"],
                        "base_accuracy": accuracy["base"]["mean"] if accuracy else None,
                        "head_accuracy": accuracy["head"]["mean"] if accuracy else None,
                        "message": message,
                        "minutes": minutes,
                    }
                )

    lines = [
        f"`maintbot bench pr --base main --head BRANCH --models {args.models} --seeds "
        f"{args.seeds} --epochs {args.epochs}`"
        + (f" `--train-limit {args.train_limit}`" if args.train_limit else "")
        + f", measured {time.strftime('%Y-%m-%d')}.",
        "",
        "| try | head | exit code | verdict | base accuracy | head accuracy | minutes | message |",
        "| ---: | --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        message = row["message"].replace("|", "\\|")[:160]
        lines.append(
            f"| {row['try']} | {row['head']} | {row['exit_code']} | {row['status']} "
            f"| {_accuracy(row['base_accuracy'])} | {_accuracy(row['head_accuracy'])} "
            f"| {row['minutes']:.1f} | {message} |"
        )
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def _accuracy(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


if __name__ == "__main__":
    main()
