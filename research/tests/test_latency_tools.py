"""The latency lab's tools: the int8 ceiling's products (research/triage/int8_ceiling.py) and
the CPU facts every latency figure is printed with (benchmarks/machine.py, which the lab's
latency scripts share with benchmarks/triage_latency.py)."""

from __future__ import annotations

import numpy as np
import pytest


def test_int8_ceiling_benchmark_times_a_really_quantised_product(tmp_path):
    """The ceiling benchmark's three paths compute the same product, and its int8 graph is
    integer arithmetic (quantised as training quantises), not an fp32 product renamed."""
    pytest.importorskip("torch", reason="the torch path needs the [train] extra")
    onnx = pytest.importorskip("onnx", reason="quantising needs the [train] extra")

    from research.triage.int8_ceiling import callables

    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((384, 64)) * 0.05).astype(np.float32)
    x = rng.standard_normal((16, 384)).astype(np.float32)
    calls = callables(weight, x, tmp_path)
    assert set(calls) == {"torch fp32", "onnxruntime fp32", "onnxruntime int8"}
    reference = x @ weight
    for name, call in calls.items():
        out = call()
        assert out.shape == reference.shape
        tolerance = 0.05 if "int8" in name else 1e-4
        assert np.abs(out - reference).max() < tolerance * np.abs(reference).max(), name
    ops = {node.op_type for node in onnx.load(str(tmp_path / "int8.onnx")).graph.node}
    assert "MatMulInteger" in ops and "MatMul" not in ops


def test_cpu_facts_name_the_best_int8_dot_product_instructions(tmp_path):
    from benchmarks.machine import cpu_facts

    info = tmp_path / "cpuinfo"
    first = "processor\t: 0\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n"
    info.write_text(first + "flags\t\t: fpu avx2 avx512f avx512_vnni\n\nprocessor\t: 1\n")
    assert cpu_facts(info) == {
        "cpu": "AMD EPYC",
        "cpu_family_model": "25/17",
        "int8_dot_product": "avx512_vnni",
    }
    info.write_text(first + "flags\t\t: fpu avx avx2 fma\n")
    assert cpu_facts(info)["int8_dot_product"] == "none"
    assert cpu_facts(tmp_path / "absent")["int8_dot_product"] == "unknown"
