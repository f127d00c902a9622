"""What CPU a benchmark ran on: the int8 latency figures depend on it.

onnxruntime's int8 matrix products are about 1.7x torch's fp32 ones on a CPU with AVX2 alone
and about 2.2-2.4x on one with a VNNI dot-product instruction (measured with
``triage_int8_ceiling.py``), so a latency figure is only comparable with another taken on
the same kind of CPU. Every latency benchmark prints these facts beside its figures.
"""

from __future__ import annotations

from pathlib import Path

# the instruction sets that give int8 a fused multiply-add of four bytes, best first
INT8_DOT_PRODUCT = ("amx_int8", "avx512_vnni", "avx_vnni")


def cpu_facts(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """The CPU's model name, family/model numbers (a virtual machine's name is often just
    the vendor's) and its best int8 dot-product instruction set ("none" without)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return {"cpu": "unknown", "cpu_family_model": "?/?", "int8_dot_product": "unknown"}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    best = next((name for name in INT8_DOT_PRODUCT if name in flags), "none")
    return {
        "cpu": fields.get("model name", "unknown"),
        "cpu_family_model": f"{fields.get('cpu family', '?')}/{fields.get('model', '?')}",
        "int8_dot_product": best,
    }
