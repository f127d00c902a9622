"""Duration statistics and their display (bot/report/stats.py)."""

from __future__ import annotations

import pytest

from bot.report.stats import humanize_seconds, percentile
from tests.report.scenario import D, H


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([5.0], 90, 5.0),
        ([1.0, 2.0], 50, 1.5),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 90, 4.6),
        ([3.0, 1.0, 2.0], 0, 1.0),
    ],
)
def test_percentile_interpolates_linearly(values, p, expected):
    assert percentile(values, p) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "–"),
        (15, "15s"),
        (42 * 60, "42m"),
        (5 * H + 12 * 60, "5h 12m"),
        (3 * D + 4 * H, "3d 4h"),
        (2 * D, "2d"),
    ],
)
def test_humanize_seconds(seconds, text):
    assert humanize_seconds(seconds) == text
