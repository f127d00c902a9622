"""A repository's own model for ``maintbot bench``: softmax regression on MNIST.

List it as ``bench.models: [examples.my_model]``. It follows the reference contract (see
docs/benchmark.md, "Your own models"): ``python -m examples.my_model --epochs N --seed S
--out FILE`` trains once and writes the metrics JSON. The shared loop of
``reference_models.training`` (installed with ``maintbot[bench]``) does the seeding, timing,
measuring and the command line, so this module says only what is its own.
"""

from __future__ import annotations

import sys
from typing import Any

from reference_models import data, training
from reference_models.training import Prepared, TrainConfig

MODEL_NAME = "examples.my_model"  # the name in bench.models, which the metrics must report


def build_model() -> Any:
    """Flatten(28×28) → Dense(10, softmax): the smallest model that learns MNIST."""
    import tensorflow as tf

    model = tf.keras.Sequential(
        [
            tf.keras.layers.Input(shape=(28, 28)),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load_data(
    dataset: str = "mnist",
    path: str | None = None,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> Prepared:
    """The images scaled to [0, 1], as float32."""
    raw = data.load(dataset, path).limited(train_limit, test_limit)
    return Prepared(
        x_train=(raw.x_train / 255.0).astype("float32"),
        y_train=raw.y_train,
        x_test=(raw.x_test / 255.0).astype("float32"),
        y_test=raw.y_test,
        source=raw.source,
    )


def train(config: TrainConfig) -> dict[str, Any]:
    """One seeded run; the metrics dictionary of the contract."""
    return training.run(MODEL_NAME, build_model, load_data, config)


if __name__ == "__main__":
    sys.exit(training.main(MODEL_NAME, train, default_epochs=5))
