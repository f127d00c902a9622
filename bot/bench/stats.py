"""The few statistics a benchmark verdict needs: summaries and a one-sided Welch's t-test.

Welch's test does not assume both sides have the same spread (a change can make training
noisier), and with 3 seeds a side it still has the power to see a 1-point accuracy drop
against seed noise of ±0.2 points; a rank test cannot (its smallest p with 3+3 is 0.05).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.errors import MaintbotError

Alternative = Literal["head_lower", "head_higher"]


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation of one metric over a side's seeds."""

    n: int
    mean: float | None
    sd: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"n": self.n, "mean": self.mean, "sd": self.sd}


def summarize(values: Sequence[float]) -> Summary:
    """``sd`` is None below two values: one run says nothing about noise."""
    if not values:
        return Summary(n=0, mean=None, sd=None)
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) >= 2 else None
    return Summary(n=len(values), mean=mean, sd=sd)


def welch_p_value(
    base: Sequence[float], head: Sequence[float], alternative: Alternative
) -> float | None:
    """One-sided p-value that the head's mean is lower (or higher) than the base's.

    None when a side has fewer than two values: no test, so no verdict can rest on it. When
    both sides have zero spread (deterministic runs), the means either agree (p = 1) or
    differ with certainty in one direction (p = 0 or 1).
    """
    if len(base) < 2 or len(head) < 2:
        return None
    base_mean, head_mean = statistics.fmean(base), statistics.fmean(head)
    base_var, head_var = statistics.variance(base), statistics.variance(head)
    if base_var == 0 and head_var == 0:
        if head_mean == base_mean:
            return 1.0
        head_is_lower = head_mean < base_mean
        return 0.0 if head_is_lower == (alternative == "head_lower") else 1.0
    try:
        from scipy import stats
    except ImportError as exc:
        raise MaintbotError(
            "comparing benchmark results needs SciPy, which is not installed",
            hint='pip install "maintbot[bench-report]" (or the full "maintbot[bench]")',
        ) from exc
    result = stats.ttest_ind(
        list(head),
        list(base),
        equal_var=False,
        alternative="less" if alternative == "head_lower" else "greater",
    )
    p_value = float(result.pvalue)
    return p_value if math.isfinite(p_value) else None
