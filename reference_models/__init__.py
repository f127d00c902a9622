"""The project's reference TensorFlow/Keras models, trained on every PR to catch regressions.

Each model is a module with ``build_model()``, ``load_data()`` and ``train(config) -> metrics``
that also runs alone: ``python -m reference_models.mnist_mlp --epochs 5 --seed 0 --out m.json``.
"""

from __future__ import annotations

# The benchmark harness imports this list without importing TensorFlow: keep it plain data.
MODEL_NAMES: tuple[str, ...] = ("mnist_mlp", "mnist_cnn")

__all__ = ["MODEL_NAMES"]
