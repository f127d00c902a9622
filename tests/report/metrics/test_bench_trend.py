"""Benchmark trend on the default branch (bot/report/metrics/bench_trend.py) in March."""

from __future__ import annotations

import pytest

from bot.report.metrics.bench_trend import bench_trend
from tests.report.scenario import MARCH, scenario


def test_bench_trend():
    trends = {t.model: t for t in bench_trend(scenario(), MARCH)}
    # mnist_mlp in March: 97.56 % then 97.12 %: −0.44 points. The February point is outside.
    assert [p[2] for p in trends["mnist_mlp"].points] == [0.9756, 0.9712]
    assert trends["mnist_mlp"].change_points == pytest.approx(-0.44)
    assert trends["mnist_cnn"].change_points is None
