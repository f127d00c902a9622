"""The early-stopping rule, with plain values: when do the remaining seeds not matter?"""

from __future__ import annotations

import random

import pytest

from bot.bench.compare import Status, Thresholds, compare
from bot.bench.sequential import decide, stop_lines
from tests.bench.builders import HEAD_SHA, make_results, make_run

THRESHOLDS = Thresholds()


def runs(accuracies, *, losses=None, seconds=None, start=0):
    return [
        make_run(
            seed=start + i,
            accuracy=a,
            loss=0.08 if losses is None else losses[i],
            seconds=30.0 if seconds is None else seconds[i],
        )
        for i, a in enumerate(accuracies)
    ]


def test_a_clear_regression_stops_after_two_seeds():
    decision = decide(runs([0.975, 0.976]), runs([0.90, 0.905]), 1, THRESHOLDS)
    assert decision.stop and decision.status is Status.REGRESSION
    assert "cannot change" in decision.reason


def test_a_clear_pass_stops():
    base = runs([0.9750, 0.9752], losses=[0.080, 0.0801], seconds=[30.0, 30.2])
    head = runs([0.9751, 0.9753], losses=[0.0800, 0.0802], seconds=[30.1, 30.0])
    decision = decide(base, head, 1, THRESHOLDS)
    assert decision.stop and decision.status is Status.PASS


def test_a_close_call_runs_on():
    # 0.5 points worse on average with a spread that leaves the test undecided
    base = runs([0.975, 0.970])
    head = runs([0.968, 0.967])
    decision = decide(base, head, 1, THRESHOLDS)
    assert not decision.stop
    assert "could still be" in decision.reason


def test_never_before_two_seeds_a_side():
    decision = decide(runs([0.975]), runs([0.5]), 2, THRESHOLDS)
    assert not decision.stop


def test_a_head_that_failed_to_train_stops_as_a_regression():
    decision = decide(runs([0.975]), [], 2, THRESHOLDS, head_failed=True)
    assert decision.stop and decision.status is Status.REGRESSION


def test_a_diverged_head_stops_as_a_regression():
    decision = decide(runs([0.975, 0.976]), runs([None, 0.97]), 1, THRESHOLDS)
    assert decision.stop and decision.status is Status.REGRESSION


def test_nothing_remaining_is_a_stop_without_a_claim():
    decision = decide(runs([0.975, 0.976]), runs([0.975, 0.976]), 0, THRESHOLDS)
    assert decision.stop and decision.status is None


def _merged(status):
    return Status.PASS if status is Status.IMPROVED else status


def _envelope(values):
    spread = max(values) - min(values)
    widen = max(spread, 0.001 * abs(sum(values) / len(values)))
    return max(0.0, min(values) - widen), max(values) + widen


@pytest.mark.parametrize("case", range(60))
def test_a_stop_is_never_contradicted_by_a_completion_inside_the_envelope(case):
    """The promise, checked independently: finish the run with random values inside the
    stated envelope (and at its ends) and compare the full run the ordinary way."""
    rng = random.Random(case)
    seeds, ran = rng.choice([(3, 2), (4, 2), (5, 3), (6, 2)])
    base_acc = [rng.gauss(0.975, 0.002) for _ in range(ran)]
    shift = rng.choice([0.0, 0.004, 0.006, 0.02, -0.01])
    head_acc = [rng.gauss(0.975 - shift, 0.002) for _ in range(ran)]
    base_loss = [rng.gauss(0.08, 0.002) for _ in range(ran)]
    head_loss = [rng.gauss(0.08 + shift, 0.002) for _ in range(ran)]
    base_sec = [rng.gauss(30, 0.5) for _ in range(ran)]
    head_sec = [rng.gauss(30, 0.5) for _ in range(ran)]
    base = runs(base_acc, losses=base_loss, seconds=base_sec)
    head = runs(head_acc, losses=head_loss, seconds=head_sec)
    decision = decide(base, head, seeds - ran, THRESHOLDS)
    if not decision.stop:
        return
    for trial in range(20):

        def more(values, pick=trial):
            low, high = _envelope(values)
            if pick == 0:
                return [low] * (seeds - ran)
            if pick == 1:
                return [high] * (seeds - ran)
            return [rng.uniform(low, high) for _ in range(seeds - ran)]

        base_all = base + runs(
            more(base_acc), losses=more(base_loss), seconds=more(base_sec), start=ran
        )
        head_all = head + runs(
            more(head_acc), losses=more(head_loss), seconds=more(head_sec), start=ran
        )
        full = compare(make_results(base_all), make_results(head_all, label="head", sha=HEAD_SHA))
        assert _merged(full.models[0].status) is decision.status, (case, trial)


def test_the_comment_lines_say_how_many_seeds_ran_and_why():
    base = make_results(runs([0.975, 0.976]))
    head = make_results(runs([0.90, 0.905]), label="head", sha=HEAD_SHA)
    for doc in (base, head):
        doc["settings"]["seeds"] = [0, 1, 2]
    (line,) = stop_lines(base, head, THRESHOLDS)
    assert line.startswith("mnist_mlp: stopped after 2 of 3 seeds a side, because 1 more")
    assert "(regression)" in line


def test_a_run_cut_short_without_reason_is_called_so():
    base = make_results(runs([0.975, 0.970]))
    head = make_results(runs([0.968, 0.967]), label="head", sha=HEAD_SHA)
    for doc in (base, head):
        doc["settings"]["seeds"] = [0, 1, 2]
    (line,) = stop_lines(base, head, THRESHOLDS)
    assert "ran only 2 of 3 seeds" in line and "with care" in line


def test_a_full_run_needs_no_line():
    base = make_results(runs([0.975, 0.976]))
    head = make_results(runs([0.90, 0.905]), label="head", sha=HEAD_SHA)
    assert stop_lines(base, head, THRESHOLDS) == []
