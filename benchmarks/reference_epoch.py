"""Seconds per epoch of each reference model, before/after the fast fit, against the CPU's bound.

"Before" is ``--no-fast`` (Keras' one training step per call, the old setting), "after" is
``--fast`` (``training.STEPS_PER_EXECUTION`` steps per call: same batches, same order, same
maths). Each round trains every model once each way with the same seed, interleaved
(A, B, A, B), as a user would run it (``python -m reference_models.<model>``), so a drift in
machine load hits both sides. The same seed must give the same test accuracy both ways.

The compute-bound estimate is the training FLOPs of one epoch (forward + backward, counted
from the architecture) divided by the float32 matmul rate this CPU reaches, measured here
with NumPy on large square matrices and on each model's largest product of a step (a batch
of 32 through its biggest Dense layer), and the best rate is taken as what the CPU can do.

    MAINTBOT_DATA_OFFLINE=1 python benchmarks/reference_epoch.py --models mnist_mlp \\
        --epochs 5 --seeds 0 1 2 --json mlp.json
    python benchmarks/reference_epoch.py --train-limit 5000 --epochs 2   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.machine import cpu_facts  # noqa: E402

# (m, k, n) of the float32 matmuls timed: a large square one, and the largest product of a
# training step of each model (a batch of 32 through its biggest Dense layer). The bound
# uses the best rate of them (on a loaded machine, any one of them can be unlucky).
MATMUL_SHAPES = {
    "1024³": (1024, 1024, 1024),
    "32×784×128": (32, 784, 128),
    "32×5408×128": (32, 5408, 128),
}

MODES = ("before", "after")  # --no-fast, --fast
FLAG = {"before": "--no-fast", "after": "--fast"}
TRAIN_IMAGES = 60_000


def training_flops_per_image(model: str) -> float:
    """Multiply-adds of one forward pass × 2 FLOPs × 3 (forward, input and weight gradients).

    An upper estimate: the first layer needs no input gradient. MLP: 784·128 + 128·10 MACs
    (≈ 0.61 MFLOP); CNN: 26·26·32·9 (conv) + 5408·128 + 128·10 MACs (≈ 5.3 MFLOP).
    """
    macs = {
        "mnist_mlp": 784 * 128 + 128 * 10,
        "mnist_cnn": 26 * 26 * 32 * 3 * 3 + 13 * 13 * 32 * 128 + 128 * 10,
    }[model]
    return 2.0 * 3.0 * macs


def matmul_flops_per_second(m: int, k: int, n: int, seconds: float = 1.0) -> float:
    """The best float32 rate of ``(m×k) @ (k×n)`` in NumPy over about ``seconds``."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    a @ b  # warm-up
    best = float("inf")
    repeats = 1
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = min(best, (time.perf_counter() - started) / repeats)
        repeats = min(repeats * 2, 1024)
    return 2.0 * m * k * n / best


def run_once(
    model: str, mode: str, seed: int, epochs: int, limits: list[str], scratch: Path
) -> dict[str, Any]:
    """One bare module run; its metrics (per-epoch seconds, test accuracy)."""
    out = scratch / f"{model}-{mode}-{seed}-{time.monotonic_ns()}.json"
    command = [
        sys.executable,
        "-m",
        f"reference_models.{model}",
        FLAG[mode],
        "--epochs",
        str(epochs),
        "--seed",
        str(seed),
        "--out",
        str(out),
        *limits,
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    metrics = json.loads(out.read_text())
    print(
        f"  {model} {mode:6} seed {seed}: epochs "
        + ", ".join(f"{e['seconds']:.2f}" for e in metrics["history"])
        + f" s; test accuracy {metrics['test_accuracy']:.4f}",
        file=sys.stderr,
        flush=True,
    )
    return metrics


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median first epoch (it includes tracing) and median later epoch (the steady state)."""
    first = [r["history"][0]["seconds"] for r in runs]
    later = [e["seconds"] for r in runs for e in r["history"][1:]]
    return {
        "first_epoch_seconds": statistics.median(first),
        "epoch_seconds": statistics.median(later) if later else statistics.median(first),
        "epoch_seconds_all": [[e["seconds"] for e in r["history"]] for r in runs],
        "test_accuracy": {str(r["seed"]): r["test_accuracy"] for r in runs},
        "train_examples": runs[0]["train_examples"],
        "steps_per_execution": runs[0].get("steps_per_execution"),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The interleaved runs, the matmul rates and the machine's facts and load."""
    limits = []
    if args.train_limit:
        limits += ["--train-limit", str(args.train_limit)]
    if args.test_limit:
        limits += ["--test-limit", str(args.test_limit)]
    load_before = os.getloadavg()
    rates = {name: matmul_flops_per_second(*shape) for name, shape in MATMUL_SHAPES.items()}
    peak = max(rates.values())
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        m: {mode: [] for mode in MODES} for m in args.models
    }
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:  # one round per seed: A, B for every model
            for model in args.models:
                for mode in MODES:
                    runs[model][mode].append(
                        run_once(model, mode, seed, args.epochs, limits, Path(scratch))
                    )
    images = args.train_limit or TRAIN_IMAGES
    models = {}
    for model in args.models:
        flops = training_flops_per_image(model) * images
        before, after = (summarise(runs[model][mode]) for mode in MODES)
        models[model] = {
            "before": before,
            "after": after,
            "speedup": before["epoch_seconds"] / after["epoch_seconds"],
            "same_accuracy": before["test_accuracy"] == after["test_accuracy"],
            "training_gflop_per_epoch": flops / 1e9,
            "bound_seconds": flops / peak,
        }
    return {
        "epochs": args.epochs,
        "seeds": args.seeds,
        "train_images": images,
        "matmul_gflops": {name: rate / 1e9 for name, rate in rates.items()},
        "machine": {
            **cpu_facts(),
            "cpu_count": os.cpu_count() or 0,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "models": models,
    }


def table(report: dict[str, Any]) -> str:
    """The Markdown table for docs/benchmark.md."""
    lines = [
        "| model | s/epoch before | s/epoch after | speed-up | first epoch before → after | "
        "GFLOP/epoch | compute bound, s/epoch | after ÷ bound | same accuracy |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for model, m in report["models"].items():
        lines.append(
            f"| `{model}` | {m['before']['epoch_seconds']:.2f} | {m['after']['epoch_seconds']:.2f}"
            f" | {m['speedup']:.1f}× | {m['before']['first_epoch_seconds']:.2f} → "
            f"{m['after']['first_epoch_seconds']:.2f} | {m['training_gflop_per_epoch']:.1f} | "
            f"{m['bound_seconds']:.2f} | {m['after']['epoch_seconds'] / m['bound_seconds']:.0f}× | "
            f"{'yes, every seed' if m['same_accuracy'] else 'NO'} |"
        )
    machine = report["machine"]
    lines += [
        "",
        f"{report['train_images']} training images, {report['epochs']} epochs, seeds "
        f"{report['seeds']}; s/epoch is the median of epochs 2+ (epoch 1 includes tracing).",
        "Matmul float32 (NumPy), GFLOP/s: "
        + ", ".join(f"{rate:.0f} at {name}" for name, rate in report["matmul_gflops"].items())
        + "; the bound uses the best.",
        f"Machine: {machine['cpu']} (family/model {machine['cpu_family_model']}), "
        f"{machine['cpu_count']} CPUs; load average before {machine['load_average_before']}, "
        f"after {machine['load_average_after']}.",
    ]
    for model, m in report["models"].items():
        before, after = m["before"]["test_accuracy"], m["after"]["test_accuracy"]
        accuracies = ", ".join(f"seed {s}: {before[s]:.4f} / {after[s]:.4f}" for s in before)
        lines.append(f"`{model}` test accuracy before / after: {accuracies}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, optionally write the raw figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mnist_mlp", "mnist_cnn"])
    parser.add_argument("--epochs", type=int, default=2, help="2+: epoch 1 includes tracing")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1], help="one round each")
    parser.add_argument("--train-limit", type=int, help="quick look: the first N images")
    parser.add_argument("--test-limit", type=int)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    report = measure(args)
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
