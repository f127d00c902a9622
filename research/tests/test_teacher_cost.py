"""Stage 21b's timed training step (research/triage/teacher_cost.py) on a tiny network."""

from __future__ import annotations

import pytest

from research.triage.teacher_cost import step_seconds

transformers = pytest.importorskip("transformers", reason="the cost is of a torch training step")


def test_step_seconds_trains_and_times_each_step():
    import torch

    config = transformers.MPNetConfig(
        vocab_size=2000,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    model = transformers.MPNetModel(config)
    before = [p.detach().clone() for p in model.parameters()]
    times = step_seconds(model, steps=2, batch=2, tokens=8)
    assert len(times) == 2 and all(t > 0 for t in times)  # the warm-up step is not counted
    moved = [not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)]
    assert any(moved)
