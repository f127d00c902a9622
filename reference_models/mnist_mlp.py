"""The MNIST MLP of the seed documents; its published result is 97.56 % test accuracy."""

from __future__ import annotations

import sys
from typing import Any

from reference_models import data, training
from reference_models.training import Prepared, TrainConfig

MODEL_NAME = "mnist_mlp"
EPOCHS = 5
LEARNING_RATE = 0.001  # Adam's default, as in the seed documents


def build_model() -> Any:
    """Flatten(28×28) → Dense(128, relu) → Dense(10, softmax); Adam, sparse cross-entropy."""
    import tensorflow as tf

    model = tf.keras.Sequential(
        [
            tf.keras.layers.Input(shape=(28, 28)),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(128, activation="relu"),
            tf.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def load_data(
    dataset: str = "mnist",
    path: str | None = None,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> Prepared:
    """The images as float32 in [0, 1] (the model is tuned for scaled inputs)."""
    raw = data.load(dataset, path).limited(train_limit, test_limit)
    x_train, x_test = raw.x_train / 255.0, raw.x_test / 255.0
    return Prepared(
        x_train=x_train.astype("float32"),
        y_train=raw.y_train,
        x_test=x_test.astype("float32"),
        y_test=raw.y_test,
        source=raw.source,
    )


def train(config: TrainConfig | None = None) -> dict[str, Any]:
    """One seeded run; returns the metrics (``test_accuracy``, ``test_loss``, timings, ...)."""
    return training.run(MODEL_NAME, build_model, load_data, config or TrainConfig(epochs=EPOCHS))


if __name__ == "__main__":
    sys.exit(training.main(MODEL_NAME, train, default_epochs=EPOCHS))
