"""Bar check: the reference models' accuracy over seeds, and run-to-run determinism.

Runs ``python -m reference_models.<model> --epochs E --seed S --out FILE`` for every seed,
each seed several times, exactly as a user would, and prints a Markdown table (for
docs/benchmark.md) plus, with ``--json``, the raw figures.

    python benchmarks/bench_reference_models.py --models mnist_mlp --seeds 0 1 2 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_once(model: str, seed: int, epochs: int, scratch: Path) -> dict:
    """One bare module run; returns its metrics plus the wall time seen from outside."""
    out = scratch / f"{model}-{seed}-{time.monotonic_ns()}.json"
    command = [
        sys.executable,
        "-m",
        f"reference_models.{model}",
        "--epochs",
        str(epochs),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    metrics = json.loads(out.read_text())
    metrics["outside_wall_seconds"] = wall
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mnist_mlp"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()

    figures: dict = {"epochs": args.epochs, "models": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for model in args.models:
            per_seed = {}
            for seed in args.seeds:
                runs = []
                for repeat in range(args.repeats):
                    print(f"{model} seed {seed} run {repeat + 1}/{args.repeats}", file=sys.stderr)
                    runs.append(run_once(model, seed, args.epochs, Path(scratch)))
                per_seed[seed] = runs
            figures["models"][model] = per_seed

    first = next(iter(next(iter(figures["models"].values())).values()))[0]
    env = first["environment"]
    offline = os.environ.get("MAINTBOT_DATA_OFFLINE", "")
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {env['cpu_model']} ({env['usable_cpus']} "
        f"usable CPUs, shared with other work), Python {env['python']}, TensorFlow "
        f"{env['tensorflow']}, {platform.system()}; data: {first['data_source']}; "
        f"{args.epochs} epochs, batch 32, `MAINTBOT_DATA_OFFLINE={offline}`.",
        "",
        "| model | seed | test accuracy (run 1) | repeats identical? | test loss | "
        "train time (s) | total (s) |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for model, per_seed in figures["models"].items():
        for seed, runs in per_seed.items():
            accuracies = {repr(r["test_accuracy"]) for r in runs}
            losses = {repr(r["test_loss"]) for r in runs}
            identical = "yes" if len(accuracies) == 1 and len(losses) == 1 else "NO"
            identical = f"{identical} ({len(runs)} runs)" if len(runs) > 1 else "—"
            lines.append(
                f"| {model} | {seed} | {runs[0]['test_accuracy']:.4f} "
                f"(`{runs[0]['test_accuracy']!r}`) | {identical} "
                f"| {runs[0]['test_loss']:.4f} "
                f"| {statistics.fmean(r['train_seconds'] for r in runs):.1f} "
                f"| {statistics.fmean(r['total_seconds'] for r in runs):.1f} |"
            )
        mean = statistics.fmean(runs[0]["test_accuracy"] for runs in per_seed.values())
        lines.append(f"| **{model}** | mean | **{mean:.4f}** | | | | |")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
