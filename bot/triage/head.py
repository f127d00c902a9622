"""The classification head: multinomial logistic regression over issue features, in NumPy.

A linear head over a good embedding is what SetFit trains after its contrastive step; it
fits in a second on CPU, and its probabilities are a plain softmax we can calibrate with
one temperature. Inference is a matrix product, so it needs no ML library at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearHead:
    """``softmax((x @ weights + bias) / temperature)``; weights have shape (features, labels)."""

    weights: np.ndarray
    bias: np.ndarray
    temperature: float = 1.0

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weights + self.bias

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features) / self.temperature)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def fit_head(
    features: np.ndarray,
    labels: np.ndarray,
    n_labels: int,
    *,
    l2: float = 1.0,
    iterations: int = 300,
) -> LinearHead:
    """Class-balanced multinomial logistic regression with an L2 penalty, fitted by L-BFGS.

    ``l2`` is the penalty per sample-weight unit (as ``1/C`` in scikit-learn). Deterministic:
    the same data gives the same weights."""
    from scipy import sparse
    from scipy.optimize import minimize

    n, d = features.shape
    counts = np.bincount(labels, minlength=n_labels).astype(np.float64)
    sample_weight = (n / (n_labels * np.maximum(counts, 1)))[labels]
    onehot = np.eye(n_labels)[labels]
    x = features.astype(np.float64)
    if np.count_nonzero(x) < 0.2 * x.size:  # hashed word features: mostly zeros
        x = sparse.csr_matrix(x)

    def loss_and_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = flat[: d * n_labels].reshape(d, n_labels)
        b = flat[d * n_labels :]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(sample_weight * (onehot * log_p).sum(axis=1)).sum() + 0.5 * l2 * (w * w).sum()
        delta = (np.exp(log_p) - onehot) * sample_weight[:, None]
        grad_w = x.T @ delta + l2 * w
        grad_b = delta.sum(axis=0)
        return float(loss), np.concatenate([grad_w.ravel(), grad_b])

    start = np.zeros(d * n_labels + n_labels)
    result = minimize(
        loss_and_grad, start, jac=True, method="L-BFGS-B", options={"maxiter": iterations}
    )
    flat = result.x
    return LinearHead(
        weights=flat[: d * n_labels].reshape(d, n_labels).astype(np.float32),
        bias=flat[d * n_labels :].astype(np.float32),
    )


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the log-loss of held-out logits (grid search: one
    scalar, no optimiser needed); > 1 softens an over-confident head."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 161))
    best, best_loss = 1.0, np.inf
    for t in grid:
        p = softmax(logits / t)
        loss = -np.log(np.maximum(p[np.arange(len(labels)), labels], 1e-12)).mean()
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best
