"""Tests of the lab's helpers and of the experiment-only encoder steps, with plain values."""
