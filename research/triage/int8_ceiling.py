"""How much faster int8 can be than fp32 on this CPU: the encoder's matrix products alone.

The latency bar asks the int8 decision to take half the time of the torch fp32 one. Both
paths spend most of it in the encoder's matrix products, so their ratio is bounded by how
much faster this CPU multiplies int8 than fp32. This measures that bound on the shapes of
one MiniLM layer for an issue of ``--tokens`` tokens (the fused Q/K/V projection 384 -> 1152,
the attention output 384 -> 384, the feed-forward 384 -> 1536 and 1536 -> 384):

- torch fp32: ``torch.nn.functional.linear`` (what ``nn.Linear`` runs), torch's threads;
- onnxruntime fp32: a one-``MatMul`` graph;
- onnxruntime int8: the same graph quantised by ``quantize_int8``, exactly as training
  quantises the encoder (dynamic u8 activations x s8 per-channel weights);

each opened with ``onnx_session`` as prediction opens its model, timed round-robin so a load
burst on a shared machine hits all three alike. Prints JSON lines (p50 per product, GMAC/s)
and a Markdown table for the lab notebook (README.md).

Usage:
    .venv/bin/python -m research.triage.int8_ceiling --tokens 208 --repeats 300
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

# (name, inputs, outputs): one MiniLM layer's matrix products, fused as the export fuses them
SHAPES = (
    ("Q/K/V projection", 384, 1152),
    ("attention output", 384, 384),
    ("feed-forward up", 384, 1536),
    ("feed-forward down", 1536, 384),
)
PATHS = ("torch fp32", "onnxruntime fp32", "onnxruntime int8")


def matmul_onnx(weight: np.ndarray, path: Path) -> None:
    """A graph of one MatMul by ``weight`` (an initializer, as in the exported encoder)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inputs, outputs = weight.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["tokens", outputs])],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def callables(weight: np.ndarray, x: np.ndarray, folder: Path) -> dict[str, object]:
    """One zero-argument call per path, each returning ``x @ weight`` as an array."""
    import torch

    from bot.triage.encoder import quantize_int8
    from bot.triage.runtime import onnx_session

    fp32, int8 = folder / "fp32.onnx", folder / "int8.onnx"
    matmul_onnx(weight, fp32)
    quantize_int8(fp32, int8)
    sessions = {"onnxruntime fp32": onnx_session(fp32), "onnxruntime int8": onnx_session(int8)}
    tx, tw = torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(weight.T))

    def run_torch() -> np.ndarray:
        with torch.inference_mode():
            return torch.nn.functional.linear(tx, tw).numpy()  # a view, no copy

    calls: dict[str, object] = {"torch fp32": run_torch}
    for name, session in sessions.items():
        calls[name] = lambda session=session: session.run(None, {"x": x})[0]
    # the products agree (int8 within its rounding), so every path computes the same thing
    reference = x @ weight
    for name, call in calls.items():
        out = call()
        error = np.abs(out - reference).max() / np.abs(reference).max()
        assert error < (0.05 if "int8" in name else 1e-4), (name, error)
    return calls


def time_round_robin(calls: dict[str, object], repeats: int) -> dict[str, float]:
    """p50 seconds of each call, interleaved, after a warm-up."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(5):
        for call in calls.values():
            call()
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=208)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    import torch

    rng = np.random.default_rng(0)
    totals = dict.fromkeys(PATHS, 0.0)
    macs_total = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, inputs, outputs in SHAPES:
            folder = Path(tmp) / name.replace("/", "").replace(" ", "-")
            folder.mkdir()
            weight = (rng.standard_normal((inputs, outputs)) * 0.05).astype(np.float32)
            x = rng.standard_normal((args.tokens, inputs)).astype(np.float32)
            p50 = time_round_robin(callables(weight, x, folder), args.repeats)
            macs = args.tokens * inputs * outputs
            macs_total += macs
            row = {
                "product": name,
                "shape": f"{args.tokens}x{inputs} . {inputs}x{outputs}",
                **{f"{path} ms": round(p50[path] * 1e3, 3) for path in PATHS},
                **{f"{path} GMAC/s": round(macs / p50[path] / 1e9, 1) for path in PATHS},
                "int8 vs torch": round(p50["torch fp32"] / p50["onnxruntime int8"], 2),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            for path in PATHS:
                totals[path] += p50[path]
    summary = {
        "tokens": args.tokens,
        "torch_threads": torch.get_num_threads(),
        "load_average": round(os.getloadavg()[0], 2),
        **cpu_facts(),
        "layer_ms": {path: round(t * 1e3, 2) for path, t in totals.items()},
        "six_layers_ms": {path: round(6 * t * 1e3, 1) for path, t in totals.items()},
        "int8_vs_torch": round(totals["torch fp32"] / totals["onnxruntime int8"], 2),
        "int8_vs_onnx_fp32": round(totals["onnxruntime fp32"] / totals["onnxruntime int8"], 2),
    }
    print(json.dumps(summary), flush=True)
    print("\n| product | " + " | ".join(f"{p} p50 (GMAC/s)" for p in PATHS) + " | int8 vs torch |")
    print("| --- " * (len(PATHS) + 2) + "|")
    for row in rows:
        cells = [f"{row[f'{p} ms']} ms ({row[f'{p} GMAC/s']})" for p in PATHS]
        print(f"| {row['product']} | " + " | ".join(cells) + f" | {row['int8 vs torch']}× |")
    cells = [f"{totals[p] * 1e3:.2f} ms ({macs_total / totals[p] / 1e9:.1f})" for p in PATHS]
    print("| one layer | " + " | ".join(cells) + f" | {summary['int8_vs_torch']}× |")


if __name__ == "__main__":
    main()
