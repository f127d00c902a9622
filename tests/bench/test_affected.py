"""Which models a change affects: plain paths in, a decision and its reason out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.bench.affected import decide, every_model, matches, normalize, reconcile
from tests.paths import REPO_ROOT

MODELS = ["mnist_mlp", "mnist_cnn"]
SHARED = (
    "reference_models/__init__.py",
    "reference_models/training.py",
    "reference_models/data.py",
    "reference_models/environment.py",
    "pyproject.toml",
    "requirements*.txt",
    "requirements/**",
    "*.lock",
)


def scope_of(changed, models=MODELS, **kw):
    kw.setdefault("shared", SHARED)
    return decide(changed, models, **kw)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("pyproject.toml", "pyproject.toml", True),
        ("pyproject.toml", "research/pyproject.toml", True),  # no '/': a name in any folder
        ("requirements*.txt", "requirements-dev.txt", True),
        ("requirements*.txt", "ci/requirements.txt", True),
        ("requirements*.txt", "requirements.in", False),
        ("*.lock", "uv.lock", True),
        ("*.lock", "frontend/yarn.lock", True),
        ("reference_models/*.py", "reference_models/mnist_mlp.py", True),
        ("reference_models/*.py", "reference_models/sub/deep.py", False),  # '*' stays in a folder
        ("reference_models/*.py", "other/reference_models/x.py", False),  # '/' anchors at the root
        ("requirements/**", "requirements/base/cpu.txt", True),
        ("requirements/**", "requirements.txt", False),
        ("src/**/model.py", "src/model.py", True),  # '**' is zero or more folders
        ("src/**/model.py", "src/a/b/model.py", True),
        ("src/**/model.py", "src/a/b/model.pyc", False),
        ("data/", "data/mnist/train.npz", True),  # a trailing '/' is the whole folder
        ("data/", "database.py", False),
        ("README.md", "readme.md", False),  # git paths are case-sensitive
    ],
)
def test_patterns_match_like_gitignore(pattern, path, expected):
    assert matches(pattern, path) is expected


def test_paths_are_compared_as_git_prints_them():
    assert normalize("./reference_models//mnist_mlp.py") == "reference_models/mnist_mlp.py"
    assert matches("reference_models/mnist_mlp.py", "./reference_models/mnist_mlp.py")


def test_a_readme_change_affects_no_model_and_says_why():
    scope = scope_of(["README.md", "docs/benchmark.md"])
    assert scope.nothing_affected
    assert scope.skipped == MODELS and scope.affected == []
    assert scope.changed == ("README.md", "docs/benchmark.md")
    reason = scope.of("mnist_mlp").reason
    assert reason == "none of the changed files is its code, shared code or a dependency file"


def test_a_change_to_one_model_affects_only_that_model():
    scope = scope_of(["README.md", "reference_models/mnist_cnn.py"])
    assert scope.affected == ["mnist_cnn"] and scope.skipped == ["mnist_mlp"]
    assert scope.of("mnist_cnn").reason == "reference_models/mnist_cnn.py changed (its own code)"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("reference_models/training.py", "shared by every model: bench.paths.shared"),
        ("reference_models/data.py", "shared by every model: bench.paths.shared"),
        ("pyproject.toml", "shared by every model: bench.paths.shared"),
        ("ci/requirements-gpu.txt", "shared by every model: bench.paths.shared"),
        ("uv.lock", "shared by every model: bench.paths.shared"),
        (".github/maintbot.yml", "the benchmark's configuration"),
    ],
)
def test_shared_code_dependencies_and_the_config_affect_every_model(path, why):
    scope = scope_of([path, "README.md"])
    assert scope.affected == MODELS
    assert scope.of("mnist_mlp").reason == f"{path} changed ({why})"


def test_the_reason_counts_the_other_matching_files():
    scope = scope_of(["pyproject.toml", "reference_models/mnist_mlp.py", "uv.lock"])
    # its own code is the most telling reason, so it comes first
    assert scope.of("mnist_mlp").reason == (
        "reference_models/mnist_mlp.py changed (its own code) (and 2 more changed files)"
    )
    assert [path for path, _ in scope.of("mnist_mlp").because] == [
        "reference_models/mnist_mlp.py",
        "pyproject.toml",
        "uv.lock",
    ]
    assert [path for path, _ in scope.of("mnist_cnn").because] == ["pyproject.toml", "uv.lock"]


def test_the_configuration_file_counts_even_when_shared_is_empty():
    scope = scope_of([".github/maintbot.yml"], shared=())
    assert scope.affected == MODELS
    moved = scope_of(
        ["ci/bench.yml"], shared=(), config_files=(".github/maintbot.yml", "ci/bench.yml")
    )
    assert moved.affected == MODELS


def test_an_empty_shared_list_leaves_only_each_models_own_module():
    scope = scope_of(["reference_models/training.py", "pyproject.toml"], shared=())
    assert scope.nothing_affected


def test_a_repositorys_own_model_depends_on_its_module_package_and_parent_inits():
    models = ["mnist_mlp", "examples.my_model", "lab.models.tiny"]
    assert scope_of(["examples/my_model.py"], models).affected == ["examples.my_model"]
    assert scope_of(["examples/__init__.py"], models).affected == ["examples.my_model"]
    assert scope_of(["examples/other.py"], models).nothing_affected
    # a model that is a package: everything inside it is its own code
    assert scope_of(["lab/models/tiny/layers.py"], models).affected == ["lab.models.tiny"]
    assert scope_of(["lab/__init__.py"], models).affected == ["lab.models.tiny"]
    assert scope_of(["lab/models/big.py"], models).nothing_affected


def test_paths_listed_for_one_model_affect_that_model_only():
    extra = {"mnist_cnn": ("data/cnn/**", "augment.py")}
    scope = scope_of(["data/cnn/shift.npz"], extra=extra)
    assert scope.affected == ["mnist_cnn"]
    assert scope.of("mnist_cnn").reason == (
        "data/cnn/shift.npz changed (listed for mnist_cnn in bench.paths.models)"
    )
    assert scope_of(["tools/augment.py"], extra=extra).affected == ["mnist_cnn"]


def test_an_incomplete_list_of_files_affects_every_model():
    scope = scope_of(["README.md"], complete=False)
    assert scope.affected == MODELS
    assert scope.of("mnist_cnn").reason == "the list of changed files is incomplete"


def test_no_changed_file_affects_nothing():
    scope = scope_of([])
    assert scope.nothing_affected and scope.changed == ()


def test_every_model_forces_a_run():
    scope = every_model(MODELS, "scoping is off")
    assert scope.affected == MODELS and scope.of("mnist_mlp").reason == "scoping is off"


def test_the_results_record_is_bounded():
    changed = [f"docs/page{i:03}.md" for i in range(60)] + ["reference_models/mnist_mlp.py"]
    record = scope_of(changed).to_results()
    assert record["changed_count"] == 61
    assert len(record["changed"]) == 50
    assert record["models"] == [
        {"model": "mnist_mlp", "affected": True, "because": ["reference_models/mnist_mlp.py"]},
        {"model": "mnist_cnn", "affected": False, "because": []},
    ]


def test_reconcile_keeps_what_ran_and_names_what_should_have():
    trusted = scope_of(["reference_models/mnist_cnn.py"])
    shown, missing = reconcile(trusted, ran=["mnist_mlp"])
    assert missing == ["mnist_cnn"]
    assert shown.of("mnist_mlp").affected  # trained anyway: compared, never hidden
    assert shown.of("mnist_mlp").reason == "trained by the benchmark run"
    assert shown.of("mnist_cnn").reason == "reference_models/mnist_cnn.py changed (its own code)"

    shown, missing = reconcile(scope_of(["README.md"]), ran=[])
    assert missing == [] and shown.nothing_affected

    shown, missing = reconcile(scope_of(["README.md"]), ran=["examples.my_model"])
    assert shown.affected == ["examples.my_model"] and missing == []


def test_the_decision_is_pure():
    probe = (
        "import importlib, json, sys; importlib.import_module('bot.bench.affected'); "
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = set(json.loads(done.stdout))
    assert not loaded & {"github", "requests", "sqlalchemy", "tensorflow", "git"}
