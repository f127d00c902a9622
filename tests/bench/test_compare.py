"""The verdict: effect size over the threshold AND a significant Welch's t-test, per metric."""

from __future__ import annotations

import math

import pytest
from scipy import stats as scipy_stats

from bot.bench.compare import Status, Thresholds, compare
from bot.bench.stats import welch_p_value
from tests.bench.builders import ENVIRONMENT, HEAD_SHA, make_results, make_run, side


def by_metric(comparison, model="mnist_mlp"):
    verdict = next(m for m in comparison.models if m.model == model)
    return {m.spec.key: m for m in verdict.metrics}


def welch_by_hand(base, head):
    """One-sided p (head lower) from the textbook Welch formulas, for an independent check."""
    n1, n2 = len(base), len(head)
    m1, m2 = sum(base) / n1, sum(head) / n2
    v1 = sum((x - m1) ** 2 for x in base) / (n1 - 1)
    v2 = sum((x - m2) ** 2 for x in head) / (n2 - 1)
    se2 = v1 / n1 + v2 / n2
    t = (m2 - m1) / math.sqrt(se2)
    df = se2**2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    return scipy_stats.t.cdf(t, df)


def test_welch_p_value_matches_the_textbook_formula():
    base, head = [97.6, 97.4, 97.8], [96.5, 96.7, 96.4]
    assert welch_p_value(base, head, "head_lower") == pytest.approx(welch_by_hand(base, head))
    assert welch_p_value(base, head, "head_higher") == pytest.approx(1 - welch_by_hand(base, head))


def test_welch_degenerate_cases():
    assert welch_p_value([1.0], [0.5, 0.4], "head_lower") is None  # one run: no test
    assert welch_p_value([2.0, 2.0], [2.0, 2.0], "head_lower") == 1.0  # identical
    assert welch_p_value([2.0, 2.0], [1.0, 1.0], "head_lower") == 0.0  # certain drop
    assert welch_p_value([2.0, 2.0], [1.0, 1.0], "head_higher") == 1.0


def test_a_one_point_drop_over_seed_noise_is_a_regression():
    base = side([0.9760, 0.9740, 0.9756])
    head = side([0.9660, 0.9642, 0.9655], label="head", sha=HEAD_SHA)
    comparison = compare(base, head)
    accuracy = by_metric(comparison)["test_accuracy"]
    assert accuracy.status is Status.REGRESSION
    assert accuracy.change == pytest.approx((0.96523333 - 0.97520) * 100, abs=1e-4)
    expected_p = welch_by_hand([0.9760, 0.9740, 0.9756], [0.9660, 0.9642, 0.9655])
    assert accuracy.p_value == pytest.approx(expected_p)
    assert comparison.status is Status.REGRESSION
    assert comparison.regressions[0].startswith("mnist_mlp: test accuracy worse by 1.00 points")


def test_noise_of_a_few_tenths_passes():
    base = side([0.9760, 0.9740, 0.9756])
    head = side([0.9742, 0.9761, 0.9735], label="head", sha=HEAD_SHA)
    comparison = compare(base, head)
    assert by_metric(comparison)["test_accuracy"].status is Status.PASS
    assert comparison.status is Status.PASS and comparison.regressions == []


def test_over_the_threshold_but_within_noise_is_inconclusive_not_a_failure():
    base = side([0.9760, 0.9600, 0.9850])  # one wild seed: sd ~1.25 points
    head = side([0.9790, 0.9500, 0.9720], label="head", sha=HEAD_SHA)  # mean 0.67 lower
    accuracy = by_metric(compare(base, head))["test_accuracy"]
    assert accuracy.status is Status.INCONCLUSIVE
    assert accuracy.p_value > 0.05
    assert "within seed noise" in accuracy.reason


def test_one_seed_per_side_cannot_fail_a_pr():
    comparison = compare(side([0.975]), side([0.955], label="head", sha=HEAD_SHA))
    accuracy = by_metric(comparison)["test_accuracy"]
    assert accuracy.status is Status.INCONCLUSIVE and accuracy.p_value is None
    assert "fewer than 2 seeds" in accuracy.reason
    assert comparison.status is not Status.REGRESSION


def test_loss_up_is_a_regression_and_time_up_only_a_warning():
    base = make_results(
        [make_run(seed=s, loss=0.080 + s * 0.001, seconds=30 + s) for s in range(3)]
    )
    head = make_results(
        [make_run(seed=s, loss=0.090 + s * 0.001, seconds=45 + s) for s in range(3)],
        label="head",
        sha=HEAD_SHA,
    )
    metrics = by_metric(compare(base, head))
    assert metrics["test_loss"].status is Status.REGRESSION
    assert metrics["test_loss"].change == pytest.approx((0.091 - 0.081) / 0.081 * 100)
    assert metrics["train_seconds"].status is Status.WARNING
    assert metrics["train_seconds"].change == pytest.approx(15 / 31 * 100)

    slower_only = make_results(
        [make_run(seed=s, seconds=45 + s) for s in range(3)], label="head", sha=HEAD_SHA
    )
    base_same_loss = make_results([make_run(seed=s, seconds=30 + s) for s in range(3)])
    comparison = compare(base_same_loss, slower_only)
    assert comparison.status is Status.WARNING and comparison.regressions == []


def test_bigger_model_is_a_size_warning():
    base = make_results([make_run(seed=s) for s in range(2)])
    head = make_results(
        [make_run(seed=s, parameters=203540) for s in range(2)], label="head", sha=HEAD_SHA
    )
    size = by_metric(compare(base, head))["parameters"]
    assert size.status is Status.WARNING and size.change == pytest.approx(100.0)
    assert size.p_value == 0.0  # every seed agrees exactly


def test_configured_thresholds_decide():
    base = side([0.9760, 0.9740, 0.9756])
    head = side([0.9660, 0.9642, 0.9655], label="head", sha=HEAD_SHA)
    lenient = Thresholds(accuracy_drop_points=2.0, loss_increase_pct=100.0)
    assert by_metric(compare(base, head, lenient))["test_accuracy"].status is Status.PASS


def test_a_clear_improvement_is_reported_as_such():
    base = side([0.9660, 0.9642, 0.9655])
    head = side([0.9760, 0.9740, 0.9756], label="head", sha=HEAD_SHA)
    assert by_metric(compare(base, head))["test_accuracy"].status is Status.IMPROVED


def test_identical_deterministic_sides_pass():
    base = side([0.9751, 0.9762, 0.9744])
    head = side([0.9751, 0.9762, 0.9744], label="head", sha=HEAD_SHA)
    comparison = compare(base, head)
    assert comparison.status is Status.PASS
    assert by_metric(comparison)["test_accuracy"].change == 0


def test_a_head_that_diverges_or_crashes_is_a_regression():
    base = side([0.975, 0.976])
    diverged = make_results(
        [make_run(seed=0, loss=None, accuracy=0.098), make_run(seed=1, loss=None, accuracy=0.1)],
        label="head",
        sha=HEAD_SHA,
    )
    loss = by_metric(compare(base, diverged))["test_loss"]
    assert loss.status is Status.REGRESSION and "diverged" in loss.reason

    crashed = make_results(
        [make_run(seed=0)],
        label="head",
        sha=HEAD_SHA,
        failures=[{"model": "mnist_mlp", "seed": 1, "reason": "Traceback: SyntaxError"}],
    )
    comparison = compare(base, crashed)
    assert comparison.status is Status.REGRESSION
    assert any("failed to train" in line for line in comparison.regressions)


def test_environment_and_setting_changes_are_called_out():
    base = side([0.975, 0.976])
    other_cpu = dict(ENVIRONMENT, cpu_model="Intel Xeon", tensorflow="2.20.0")
    head = make_results(
        [make_run(seed=s, environment=other_cpu) for s in range(2)],
        label="head",
        sha=HEAD_SHA,
        epochs=1,
    )
    comparison = compare(base, head)
    changed = {d.field: (d.base, d.head) for d in comparison.environment_changes}
    assert changed == {"TensorFlow": ("2.21.0", "2.20.0"), "CPU": ("AMD EPYC", "Intel Xeon")}
    assert {d.field for d in comparison.setting_changes} == {"epochs"}


def test_models_on_one_side_only_are_listed_not_compared():
    base = make_results([make_run(seed=0), make_run("mnist_cnn", 0, parameters=693962)])
    head = make_results([make_run(seed=0)], label="head", sha=HEAD_SHA)
    comparison = compare(base, head)
    assert [m.model for m in comparison.models] == ["mnist_mlp"]
    assert comparison.only_on_one_side == ("mnist_cnn (base only)",)
