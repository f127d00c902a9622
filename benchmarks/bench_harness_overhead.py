"""Bar check: what ``maintbot bench run`` adds over running the model module bare.

Alternates, ABBA so that a drift in machine load hits both equally, the bare module run

    python -m reference_models.mnist_mlp --epochs 5 --seed 0 --out FILE

and the harness doing the same single run

    maintbot bench run --models mnist_mlp --seeds 1 --epochs 5 --out FILE

and reports the end-to-end wall time (process start to exit, as a user waits), the training
time each run measured itself (what the benchmark compares), and the harness's own share:
its wall time minus that of the model subprocess it started (CLI start-up, process spawn,
validating and writing the results). On a shared machine the first two carry the machine's
noise (the same command varies by several percent run to run); the third does not.
Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return wall, done.stderr


def bare(model: str, epochs: int, out: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        f"reference_models.{model}",
        "--epochs",
        str(epochs),
        "--seed",
        "0",
        "--out",
        str(out),
    ]
    wall, _ = timed(command)
    metrics = json.loads(out.read_text())
    return {"wall": wall, "train": metrics["train_seconds"], "accuracy": metrics["test_accuracy"]}


def harness(maintbot: str, model: str, epochs: int, out: Path) -> dict:
    command = [
        maintbot,
        "bench",
        "run",
        "--models",
        model,
        "--seeds",
        "1",
        "--epochs",
        str(epochs),
        "--out",
        str(out),
    ]
    wall, _ = timed(command)
    run = json.loads(out.read_text())["runs"][0]
    return {
        "wall": wall,
        "train": run["train_seconds"],
        "accuracy": run["test_accuracy"],
        "model_process": run["wall_seconds"],  # the model subprocess, timed by the harness
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist_mlp")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--maintbot", default=str(Path(sys.executable).with_name("maintbot")))
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()

    figures: dict[str, list[dict]] = {"bare": [], "harness": []}
    with tempfile.TemporaryDirectory() as scratch:
        for pair in range(args.pairs):
            order = ["bare", "harness"] if pair % 2 == 0 else ["harness", "bare"]
            for kind in order:
                out = Path(scratch) / f"{kind}-{pair}.json"
                print(f"pair {pair + 1}/{args.pairs}: {kind}", file=sys.stderr)
                if kind == "bare":
                    figures[kind].append(bare(args.model, args.epochs, out))
                else:
                    figures[kind].append(harness(args.maintbot, args.model, args.epochs, out))

    def median(kind: str, key: str) -> float:
        return statistics.median(run[key] for run in figures[kind])

    lines = [
        f"{args.pairs} pairs (ABBA order), {args.model}, {args.epochs} epochs, seed 0, "
        f"measured {time.strftime('%Y-%m-%d')}.",
        "",
        "| measure | bare module (median) | `bench run` (median) | difference |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key, label in (("wall", "end-to-end wall time (s)"), ("train", "training time (s)")):
        b, h = median("bare", key), median("harness", key)
        lines.append(f"| {label} | {b:.2f} | {h:.2f} | {100 * (h - b) / b:+.1f} % |")
    own = [run["wall"] - run["model_process"] for run in figures["harness"]]
    bare_wall = median("bare", "wall")
    lines.append(
        f"| the harness's own time: `bench run` wall − its model subprocess | — "
        f"| {statistics.median(own):.2f} | {100 * statistics.median(own) / bare_wall:+.1f} % |"
    )
    accuracies = {run["accuracy"] for kind in figures for run in figures[kind]}
    lines += [
        "",
        "Per run (s, wall / train): "
        + "; ".join(
            f"{kind} " + ", ".join(f"{r['wall']:.1f}/{r['train']:.1f}" for r in figures[kind])
            for kind in figures
        )
        + f". Test accuracy identical in all {2 * args.pairs} runs: "
        + ("yes" if len(accuracies) == 1 else f"no ({sorted(accuracies)})")
        + ".",
    ]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
