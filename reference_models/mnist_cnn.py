"""The seed documents' small CNN, on MNIST here and on Fashion-MNIST where Keras can fetch it."""

from __future__ import annotations

import sys
from typing import Any

from reference_models import data, training
from reference_models.training import Prepared, TrainConfig

MODEL_NAME = "mnist_cnn"
EPOCHS = 5
LEARNING_RATE = 0.001


def build_model() -> Any:
    """Conv2D(32, 3×3, relu) → MaxPooling(2×2) → Flatten → Dense(128, relu) → Dense(10)."""
    import tensorflow as tf

    model = tf.keras.Sequential(
        [
            tf.keras.layers.Input(shape=(28, 28, 1)),
            tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
            tf.keras.layers.MaxPooling2D((2, 2)),
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
    """Scaled to [0, 1] with the channel axis Conv2D needs (the seed's code forgot it)."""
    raw = data.load(dataset, path).limited(train_limit, test_limit)
    x_train, x_test = raw.x_train / 255.0, raw.x_test / 255.0
    return Prepared(
        x_train=x_train[..., None].astype("float32"),
        y_train=raw.y_train,
        x_test=x_test[..., None].astype("float32"),
        y_test=raw.y_test,
        source=raw.source,
    )


def train(config: TrainConfig | None = None) -> dict[str, Any]:
    """One seeded run; returns the metrics (``test_accuracy``, ``test_loss``, timings, ...)."""
    return training.run(MODEL_NAME, build_model, load_data, config or TrainConfig(epochs=EPOCHS))


if __name__ == "__main__":
    sys.exit(training.main(MODEL_NAME, train, default_epochs=EPOCHS))
