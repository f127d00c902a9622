"""Results files: the versioned schema, and reading untrusted ones (truncated, hostile, huge).

The documents are built literally by tests/bench/builders.py (not through the code under
test).
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from bot.bench import results
from bot.errors import UsageError
from tests.bench.builders import HEAD_SHA, make_results, make_run, side, write


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(results.schema())
    assert results.schema()["properties"]["schema_version"] == {"const": results.SCHEMA_VERSION}


def test_a_well_formed_file_round_trips(tmp_path):
    doc = side([0.975, 0.976, 0.974])
    path = write(tmp_path, "base.json", doc)
    assert results.load(path) == doc
    jsonschema.validate(doc, results.schema())


def test_a_repositorys_own_model_and_the_scope_round_trip(tmp_path):
    doc = side([0.975, 0.976], model="examples.my_model", label="head", sha=HEAD_SHA)
    doc["scope"] = {
        "changed_count": 2,
        "changed": ["README.md", "examples/my_model.py"],
        "models": [
            {"model": "examples.my_model", "affected": True, "because": ["examples/my_model.py"]},
            {"model": "mnist_mlp", "affected": False, "because": []},
        ],
    }
    assert results.load(write(tmp_path, "head.json", doc)) == doc


def test_truncated_file_fails_cleanly(tmp_path):
    text = json.dumps(side([0.975, 0.976]))
    path = write(tmp_path, "cut.json", text[: len(text) // 2])
    with pytest.raises(UsageError, match=r"not valid JSON at line \d+, column \d+.*truncated"):
        results.load(path)


def test_wrong_schema_version_is_named(tmp_path):
    doc = side([0.975])
    doc["schema_version"] = 2
    with pytest.raises(UsageError, match="schema version 2; this maintbot reads version 1 only"):
        results.load(write(tmp_path, "v2.json", doc))
    doc["schema_version"] = "1"
    with pytest.raises(UsageError, match="schema version \\?"):
        results.load(write(tmp_path, "v-str.json", doc))


def test_not_a_results_file_at_all(tmp_path):
    with pytest.raises(UsageError, match="not a maintbot benchmark results file"):
        results.load(write(tmp_path, "other.json", {"hello": "world"}))
    with pytest.raises(UsageError, match="not a results document"):
        results.load(write(tmp_path, "list.json", [1, 2, 3]))
    with pytest.raises(UsageError, match="cannot read the results file"):
        results.load(tmp_path / "missing.json")


def test_a_one_megabyte_field_is_refused_without_being_echoed(tmp_path):
    doc = side([0.975])
    doc["runs"][0]["environment"]["cpu_model"] = "A" * 1_000_000
    with pytest.raises(UsageError) as caught:
        results.load(write(tmp_path, "big-field.json", doc))
    message = str(caught.value)
    assert "runs[0].environment.cpu_model is longer than 200 characters" in message
    assert "AAAA" not in message and len(message) < 400


def test_an_oversized_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.json"
    path.write_bytes(b'{"pad": "' + b"x" * (results.MAX_BYTES + 10) + b'"}')
    with pytest.raises(UsageError, match="larger than 4 MiB"):
        results.load(path)


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: d["runs"][0].update(test_accuracy="0.97"), "runs[0].test_accuracy"),
        (lambda d: d["runs"][0].update(test_accuracy=1.5), "runs[0].test_accuracy is above 1"),
        (lambda d: d["runs"][0].update(model="mnist mlp<script>"), "runs[0].model"),
        (lambda d: d["runs"][0].update(extra="x"), "has a key the schema does not allow"),
        (lambda d: d["git"].update(sha="not-a-sha"), "git.sha"),
        (
            lambda d: d.update(pull_request={"number": "12", "head_sha": HEAD_SHA}),
            "pull_request.number should be of type integer",
        ),
        (lambda d: d.update(runs=[d["runs"][0]] * 401), "runs has more than 400 items"),
        (lambda d: d["runs"][0].pop("test_loss"), "is missing the key 'test_loss'"),
        (lambda d: d["runs"][0].update(model="examples..model"), "runs[0].model"),
        (lambda d: d["runs"][0].update(model="a." + "b" * 100), "runs[0].model"),
        (lambda d: d.update(scope={"changed_count": 1, "changed": []}), "scope is missing"),
        (
            lambda d: d.update(scope={"changed_count": 51, "changed": ["x"] * 51, "models": []}),
            "scope.changed has more than 50 items",
        ),
        (
            lambda d: d.update(scope={"changed_count": 1, "changed": ["x" * 501], "models": []}),
            "scope.changed[0] is longer than 500 characters",
        ),
    ],
)
def test_wrong_types_and_sizes_are_refused(tmp_path, mutate, where):
    doc = side([0.975, 0.976])
    mutate(doc)
    with pytest.raises(UsageError, match="bad.json: ") as caught:
        results.load(write(tmp_path, "bad.json", doc))
    assert where in str(caught.value)


def test_nan_and_infinity_are_not_numbers(tmp_path):
    text = json.dumps(side([0.975])).replace('"test_loss": 0.08', '"test_loss": NaN')
    with pytest.raises(UsageError, match="NaN is not a number JSON allows"):
        results.load(write(tmp_path, "nan.json", text))
    text = json.dumps(side([0.975])).replace('"test_loss": 0.08', '"test_loss": 1e999')
    with pytest.raises(UsageError, match="too large to be finite"):
        results.load(write(tmp_path, "inf.json", text))


def test_deep_nesting_and_non_utf8_fail_cleanly(tmp_path):
    with pytest.raises(UsageError, match="nested too deeply"):
        results.load(write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000))
    (tmp_path / "latin1.json").write_bytes(b'{"label": "caf\xe9"}')
    with pytest.raises(UsageError, match="not UTF-8"):
        results.load(tmp_path / "latin1.json")


def test_the_same_seed_twice_is_refused(tmp_path):
    doc = make_results([make_run(seed=0), make_run(seed=0, accuracy=0.9)])
    with pytest.raises(UsageError, match="repeats model mnist_mlp seed 0"):
        results.load(write(tmp_path, "dup.json", doc))


def test_a_symbolic_link_is_not_followed(tmp_path):
    target = write(tmp_path, "real.json", side([0.975]))
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with pytest.raises(UsageError, match="symbolic link"):
        results.load(link)


def test_run_record_keeps_only_schema_keys():
    metrics = make_run()
    metrics.pop("wall_seconds")
    metrics["code_path"] = "/somewhere/reference_models/mnist_mlp.py"
    metrics["metrics_format"] = 1
    metrics["environment"]["secret_extra"] = "x"
    record = results.run_record(metrics, wall_seconds=12.5)
    assert "code_path" not in record and "metrics_format" not in record
    assert "secret_extra" not in record["environment"]
    assert record["wall_seconds"] == 12.5
    doc = make_results([record])
    results.validate(doc)
