"""Merging one side's shards (a matrix's gather job): one document, or a clear refusal."""

from __future__ import annotations

import pytest

from bot.bench import results
from bot.errors import UsageError
from tests.bench.builders import ENVIRONMENT, HEAD_SHA, make_results, make_run


def shard(model, seeds, *, label="head", sha=HEAD_SHA, environment=None, failures=()):
    runs = [make_run(model, s, 0.97 + s / 1000, environment=environment) for s in seeds]
    return make_results(runs, label=label, sha=sha, failures=failures)


def test_shards_of_one_side_merge_into_the_document_one_job_would_write():
    merged = results.merge(
        [
            shard("mnist_cnn", [2]),
            shard("mnist_mlp", [1, 0]),
            shard("mnist_cnn", [0, 1]),
            shard("mnist_mlp", [2]),
        ]
    )
    assert merged["settings"]["models"] == ["mnist_cnn", "mnist_mlp"]
    assert merged["settings"]["seeds"] == [0, 1, 2]
    assert [(r["model"], r["seed"]) for r in merged["runs"]] == [
        ("mnist_cnn", 0),
        ("mnist_cnn", 1),
        ("mnist_cnn", 2),
        ("mnist_mlp", 0),
        ("mnist_mlp", 1),
        ("mnist_mlp", 2),
    ]
    assert merged["label"] == "head" and merged["git"]["sha"] == HEAD_SHA
    results.validate(merged)


def test_failures_are_kept_and_count_as_their_seed():
    failure = {"model": "mnist_mlp", "seed": 2, "reason": "timed out after 60 s"}
    merged = results.merge([shard("mnist_mlp", [0, 1]), shard("mnist_mlp", [], failures=[failure])])
    assert merged["failures"] == [failure]
    assert merged["settings"]["seeds"] == [0, 1, 2]
    with pytest.raises(UsageError, match="both hold model mnist_mlp seed 2"):
        results.merge([shard("mnist_mlp", [2]), shard("mnist_mlp", [], failures=[failure])])


def test_a_seed_run_twice_is_refused_naming_both_files():
    with pytest.raises(UsageError, match="b.json and a.json both hold model mnist_mlp seed 1") as e:
        results.merge(
            [shard("mnist_mlp", [0, 1]), shard("mnist_mlp", [1])], sources=["a.json", "b.json"]
        )
    assert "--seed-list" in e.value.hint


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda d: d.update(label="base"), "label"),
        (lambda d: d["git"].update(sha="c" * 40), "commit"),
        (lambda d: d.update(tool_version="0.2.0"), "maintbot version"),
        (lambda d: d["settings"].update(epochs=1), "setting epochs"),
        (lambda d: d["settings"].update(train_limit=500), "setting train_limit"),
    ],
)
def test_shards_of_different_sides_or_settings_are_refused(change, what):
    odd = shard("mnist_cnn", [0])
    change(odd)
    with pytest.raises(UsageError, match=f"differ in their {what};") as e:
        results.merge([shard("mnist_mlp", [0]), odd])
    assert "one side" in e.value.hint


def test_different_software_is_refused_but_another_cpu_is_not():
    other_tf = {**ENVIRONMENT, "tensorflow": "2.20.0"}
    with pytest.raises(UsageError, match=r"different environments \(tensorflow differs\)"):
        results.merge([shard("mnist_mlp", [0]), shard("mnist_mlp", [1], environment=other_tf)])
    other_cpu = {**ENVIRONMENT, "cpu_model": "Intel Xeon", "cpu_count": 4, "usable_cpus": 4}
    merged = results.merge(
        [shard("mnist_mlp", [0]), shard("mnist_mlp", [1], environment=other_cpu)]
    )
    assert {r["environment"]["cpu_model"] for r in merged["runs"]} == {"AMD EPYC", "Intel Xeon"}


def test_nothing_to_merge_is_a_usage_error():
    with pytest.raises(UsageError, match="nothing to merge"):
        results.merge([])
