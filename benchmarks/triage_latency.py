"""Inference benchmark of a triage model: torch fp32 vs ONNX fp32 vs ONNX int8, side by side.

For one model directory, measures on this machine, in one run:

- the decision for a single issue of about 200 tokens (p50 / p95 over repeated calls,
  after warm-up): tokenise, clean, embed the views, lexical features, head, thresholds;
  and, beside it, the encoder alone on that issue's (title + body) tokens;
- throughput for a batch of issues (issues per second);
- the cold start of `maintbot triage predict` in a fresh process (imports + load + one issue);
- the size on disk of each encoder file.

The torch path is the same pipeline with the encoder run by transformers + torch (the base
model's weights; latency does not depend on their values). Prints JSON lines and a Markdown
table for docs/triage.md. The machine's load average is printed too: on a shared machine
the figures move with it.

Usage:
    .venv/bin/python -m benchmarks.triage_latency --model DIR \
        --data ../shared/data/issues/nlbse24/issues_train.csv
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import cpu_facts
from bot.triage.data import LabelledIssue, read_labelled
from bot.triage.runtime import Predictor
from bot.triage.tokens import issue_ids


class TorchPredictor(Predictor):
    """The ONNX predictor with its encoder replaced by the transformers + torch one."""

    def __init__(self, directory: Path, base_model: str) -> None:
        super().__init__(directory, runtime="fp32")
        from bot.triage.encoder import load_encoder

        self.encoder = load_encoder(base_model)

    def embed(self, sequences: list[list[int]], batch_size: int = 16) -> np.ndarray:
        from bot.triage.encoder import embed

        return embed(self.encoder, sequences, batch_size=batch_size)


def issue_view_tokens(predictor: Predictor) -> int:
    """The token budget of the model's (title + body) view."""
    return next(f.size for f in predictor.manifest.features if f.view == "issue")


def pick_issue(
    issues: list[LabelledIssue], tokenizer: object, target: int = 200
) -> tuple[LabelledIssue, int]:
    """The first issue whose title + cleaned body comes to about ``target`` tokens."""
    for issue in issues:
        n = len(issue_ids(tokenizer, issue.title, issue.body, 10_000))
        if abs(n - target) <= 10:
            return issue, n
    raise SystemExit(f"no issue of about {target} tokens")


def time_side_by_side(
    predictors: dict[str, Predictor],
    issue: LabelledIssue,
    batch: list[LabelledIssue],
    repeats: int,
    batch_rounds: int = 3,
) -> dict[str, dict[str, float]]:
    """Single-issue latencies and batch throughput of every path, measured round-robin so
    that a burst of load on this shared machine hits all of them alike."""
    single: dict[str, list[float]] = {name: [] for name in predictors}
    encoder_only: dict[str, list[float]] = {name: [] for name in predictors}
    rates: dict[str, list[float]] = {name: [] for name in predictors}
    one = [(issue.title, issue.body)]
    many = [(i.title, i.body) for i in batch]
    for predictor in predictors.values():
        for _ in range(3):
            predictor.predict(one)
    # the encoder's share: the (title + body) view alone, what the issue's own figures time,
    # at the token budget the model's issue view reads
    first = next(iter(predictors.values()))
    sequence = issue_ids(first.tokenizer, issue.title, issue.body, issue_view_tokens(first))
    for _ in range(repeats):
        for name, predictor in predictors.items():
            start = time.perf_counter()
            predictor.predict(one)
            single[name].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            predictor.embed([sequence])
            encoder_only[name].append((time.perf_counter() - start) * 1000)
    for _ in range(batch_rounds):
        for name, predictor in predictors.items():
            start = time.perf_counter()
            predictor.predict(many)
            rates[name].append(len(many) / (time.perf_counter() - start))
    return {
        name: {
            "p50_ms": float(np.percentile(single[name], 50)),
            "p95_ms": float(np.percentile(single[name], 95)),
            "encoder_p50_ms": float(np.percentile(encoder_only[name], 50)),
            "batch_issues_per_s": float(np.median(rates[name])),
        }
        for name in predictors
    }


def cold_start(model: Path, runtime: str, title: str, body: str) -> float:
    code = (
        "import sys; from bot.triage.runtime import Predictor; "
        f"Predictor(sys.argv[1], runtime={runtime!r}).predict([(sys.argv[2], sys.argv[3])])"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(model), title, body], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--base-model", default=None)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()

    from bot.triage.encoder import default_base_model, torch_threads

    issues = read_labelled(args.data)
    fp32 = Predictor(args.model, runtime="fp32")
    issue, n_tokens = pick_issue(issues, fp32.tokenizer)
    base_model = args.base_model or default_base_model()
    predictors = {
        "torch fp32": TorchPredictor(args.model, base_model),
        "ONNX fp32": fp32,
        "ONNX int8": Predictor(args.model, runtime="int8"),
        "ONNX int8, 1 thread": Predictor(args.model, runtime="int8", threads=1),
    }
    weights = sorted(Path(base_model).glob("*.safetensors"))  # the torch path's encoder
    files = {
        "torch fp32": weights[0] if len(weights) == 1 else None,
        "ONNX fp32": args.model / fp32.manifest.files["fp32"],
        "ONNX int8": args.model / fp32.manifest.files["int8"],
        "ONNX int8, 1 thread": args.model / fp32.manifest.files["int8"],
    }
    batch = issues[: args.batch]
    machine = cpu_facts()
    load_before = os.getloadavg()[0]
    timings = time_side_by_side(predictors, issue, batch, args.repeats)
    rows = []
    for name in predictors:
        row = {
            "path": name,
            "issue_tokens": n_tokens,
            "issue_view_tokens": issue_view_tokens(fp32),
            "views": [f.view for f in fp32.manifest.features],
            **{k: round(v, 1) for k, v in timings[name].items()},
            "encoder_mb": round(files[name].stat().st_size / 1e6, 1) if files[name] else None,
            "cold_start_s": (
                round(
                    cold_start(args.model, name.split()[1].rstrip(","), issue.title, issue.body), 2
                )
                if files[name] and name.startswith("ONNX") and "thread" not in name
                else None
            ),
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "cores": os.cpu_count(),
            "torch_threads": torch_threads(),
            **machine,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print(
        f"| path | single issue p50 | p95 | encoder alone p50 | batch of {len(batch)} "
        "| encoder on disk | cold start |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        size = f"{r['encoder_mb']} MB" if r["encoder_mb"] else "n/a"
        if r["path"] == "torch fp32" and r["encoder_mb"]:
            size += " (safetensors)"
        cold = f"{r['cold_start_s']} s" if r["cold_start_s"] else "n/a"
        print(
            f"| {r['path']} | {r['p50_ms']} ms | {r['p95_ms']} ms | {r['encoder_p50_ms']} ms | "
            f"{r['batch_issues_per_s']} issues/s | {size} | {cold} |"
        )


if __name__ == "__main__":
    main()
