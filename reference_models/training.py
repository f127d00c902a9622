"""The training loop every reference model shares: seeding, timing, metrics, and the CLI.

A model module only says what is specific to it (architecture, optimiser, input preparation);
this module makes every model seeded, deterministic, timed and measured the same way, so a
difference between two runs comes from the model code and not from the harness.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reference_models import data

METRICS_FORMAT = 1  # bumped when the keys of the per-run metrics change incompatibly

# How fit() is executed, not what it computes. A batch of 32 is ~3 ms of arithmetic for the
# MLP, so with one step per call the Python round trip of Keras' loop (callbacks, iterator,
# tf.function dispatch) costs as much as the step itself. Running 64 steps inside one
# tf.function call (a tf.while_loop) removes that overhead and keeps the maths: the same
# batches, in the same order, the same ops, so a seed gives bit-identical weights and metrics
# (checked: same losses and test accuracy as one step per call; docs/benchmark.md, "Seconds
# per epoch"). Not used, also measured there: jit_compile=True (Keras refuses XLA while op
# determinism is on; forced, the CNN's step fails and the MLP's rounding changes) and
# intra/inter-op thread settings (no difference beyond the noise on 2 cores).
STEPS_PER_EXECUTION = 64
# "0" trains the old way (one step per call): kept so the before/after comparison in
# benchmarks/reference_epoch.py stays reproducible. The CLI's --fast/--no-fast defaults to it.
FAST_ENV = "MAINTBOT_TRAIN_FAST"


@dataclass(frozen=True)
class TrainConfig:
    """How one run is made. The limits exist for quick checks, never for published figures."""

    epochs: int = 5
    seed: int = 0
    dataset: str = "mnist"
    data_path: str | None = None
    train_limit: int | None = None
    test_limit: int | None = None
    fast: bool = True  # STEPS_PER_EXECUTION steps per call; False: the old one step per call


@dataclass(frozen=True)
class Prepared:
    """Model-ready arrays (scaled, shaped) and where the raw data came from."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    source: str


def seed_everything(seed: int) -> None:
    """Same code + seed + machine = same numbers: seeds Python, NumPy, TF; deterministic ops."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fast_default() -> bool:
    """Whether ``--fast`` is the default: yes unless ``$MAINTBOT_TRAIN_FAST`` says 0/false/no."""
    return os.environ.get(FAST_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def steps_per_execution(fast: bool) -> int:
    """Training steps Keras runs per call of its compiled function (see STEPS_PER_EXECUTION)."""
    return STEPS_PER_EXECUTION if fast else 1


def run(
    name: str,
    build_model: Callable[[], Any],
    load_data: Callable[..., Prepared],
    config: TrainConfig,
    *,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Trains ``build_model()`` on ``load_data(...)`` and returns the run's metrics."""
    started = time.perf_counter()
    prepared = load_data(  # first: a missing dataset fails before TensorFlow starts
        dataset=config.dataset,
        path=config.data_path,
        train_limit=config.train_limit,
        test_limit=config.test_limit,
    )
    seed_everything(config.seed)
    model = build_model()
    # Set after the model's own compile() so model modules stay as the seed documents wrote
    # them; Keras reads it when fit() builds its train function.
    model.steps_per_execution = steps_per_execution(config.fast)
    timer = _epoch_timer(f"{name} seed {config.seed}", config.epochs)
    model.fit(
        prepared.x_train,
        prepared.y_train,
        epochs=config.epochs,
        batch_size=batch_size,
        verbose=0,
        callbacks=[timer],
    )
    test_loss, test_accuracy = model.evaluate(
        prepared.x_test, prepared.y_test, batch_size=256, verbose=0
    )
    total_seconds = time.perf_counter() - started

    from reference_models import environment

    return {
        "metrics_format": METRICS_FORMAT,
        "model": name,
        "dataset": config.dataset,
        "seed": config.seed,
        "epochs": config.epochs,
        "batch_size": batch_size,
        "steps_per_execution": model.steps_per_execution,
        "train_examples": int(len(prepared.y_train)),
        "test_examples": int(len(prepared.y_test)),
        "data_source": prepared.source,
        "test_accuracy": finite(test_accuracy),
        "test_loss": finite(test_loss),
        "history": timer.history,
        "train_seconds": sum(epoch["seconds"] for epoch in timer.history),
        "total_seconds": total_seconds,
        "parameters": int(model.count_params()),
        "peak_rss_bytes": peak_rss_bytes(),
        "environment": environment.describe(Path(__file__).resolve().parent),
        "code_path": str(Path(sys.modules[build_model.__module__].__file__ or "").resolve()),
    }


def peak_rss_bytes() -> int:
    """Peak resident memory of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def main(
    name: str,
    train: Callable[[TrainConfig], dict[str, Any]],
    argv: Sequence[str] | None = None,
    *,
    default_epochs: int = 5,
) -> int:
    """``python -m reference_models.<name>``: one run, metrics JSON to ``--out`` or stdout."""
    from bot.errors import MaintbotError

    args = _parser(name, default_epochs).parse_args(argv)
    config = TrainConfig(
        epochs=args.epochs,
        seed=args.seed,
        dataset=args.dataset,
        data_path=args.data,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        fast=args.fast,
    )
    try:
        metrics = train(config)
    except MaintbotError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    text = json.dumps(metrics, indent=2, sort_keys=True, allow_nan=False)
    if args.out:
        write_atomically(Path(args.out), text + "\n")
    else:
        print(text)
    print(
        f"[{name} seed {config.seed}] test accuracy {_show(metrics['test_accuracy'])}, "
        f"loss {_show(metrics['test_loss'])}, {metrics['total_seconds']:.1f} s",
        file=sys.stderr,
    )
    return 0


def write_atomically(path: Path, text: str) -> None:
    """A reader (the harness, after a timeout) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _parser(name: str, default_epochs: int) -> argparse.ArgumentParser:
    module = name if "." in name else f"reference_models.{name}"  # a repository's own model
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=f"Train the {name} reference model once and write its metrics as JSON.",
    )
    parser.add_argument("--epochs", type=_positive, default=default_epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="metrics JSON file (default: stdout)")
    parser.add_argument("--dataset", choices=data.DATASETS, default="mnist")
    parser.add_argument(
        "--data", help=f"dataset file or folder (else ${data.PATH_ENV['mnist']}, Keras, packaged)"
    )
    parser.add_argument(
        "--fast",
        action=argparse.BooleanOptionalAction,
        default=fast_default(),
        help=f"run {STEPS_PER_EXECUTION} training steps per call (same maths; default: on, "
        f"unless ${FAST_ENV}=0); --no-fast: one step per call, the old way, for comparisons",
    )
    parser.add_argument(
        "--train-limit", type=_positive, help="for quick checks: train on the first N images"
    )
    parser.add_argument(
        "--test-limit", type=_positive, help="for quick checks: test on the first N images"
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _epoch_timer(label: str, epochs: int) -> Any:
    """A Keras callback recording per-epoch loss, accuracy and wall time, with a progress line.

    Built inside a function so importing this module does not import TensorFlow.
    """
    import tensorflow as tf

    class EpochTimer(tf.keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.history: list[dict[str, float | int | None]] = []
            self._started = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = time.perf_counter() - self._started
            logs = logs or {}
            loss, accuracy = finite(logs.get("loss")), finite(logs.get("accuracy"))
            self.history.append(
                {"epoch": epoch + 1, "loss": loss, "accuracy": accuracy, "seconds": seconds}
            )
            print(
                f"[{label}] epoch {epoch + 1}/{epochs}: loss {_show(loss)}, "
                f"accuracy {_show(accuracy)} ({seconds:.1f} s)",
                file=sys.stderr,
                flush=True,
            )

    return EpochTimer()


def finite(value: object) -> float | None:
    """A float, or None where training diverged (NaN/inf are not JSON and not a measurement)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _show(value: float | None) -> str:
    return "diverged" if value is None else f"{value:.4f}"
