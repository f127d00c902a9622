"""The classification head: multinomial logistic regression over issue features, in NumPy.

A linear head over a good embedding is what SetFit trains after its contrastive step; it
fits in seconds on CPU, and its probabilities are a plain softmax we can calibrate with
one temperature. Inference is a matrix product, so it needs no ML library at all.

A head trained on several projects can also learn each project's own habits ("feature
augmentation", Daumé 2007): every feature appears once shared and once per project, so
the fit finds one set of weights that holds everywhere plus a per-project correction
(``deltas``) where a project's habits differ. An issue of a project the head never saw is
scored with the shared weights alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LinearHead:
    """``softmax((x @ (weights + deltas[domain]) + bias) / temperature)``; weights have shape
    (features, labels), ``deltas`` maps a domain (a repository) to a correction of that shape."""

    weights: np.ndarray
    bias: np.ndarray
    temperature: float = 1.0
    deltas: dict[str, np.ndarray] = field(default_factory=dict)

    def logits(self, features: Any, domains: Sequence[str | None] | None = None) -> np.ndarray:
        out = np.asarray(features @ self.weights) + self.bias
        if self.deltas and domains is not None:
            for domain, delta in self.deltas.items():
                rows = np.array([d == domain for d in domains], dtype=bool)
                if rows.any():
                    out[rows] += np.asarray(features[rows] @ delta)
        return out

    def probabilities(
        self, features: Any, domains: Sequence[str | None] | None = None
    ) -> np.ndarray:
        return softmax(self.logits(features, domains) / self.temperature)

    def with_temperature(self, temperature: float) -> LinearHead:
        return LinearHead(self.weights, self.bias, temperature, self.deltas)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def fit_head(
    features: Any,
    labels: np.ndarray,
    n_labels: int,
    *,
    l2: float = 1.0,
    iterations: int = 300,
    domains: Sequence[str | None] | None = None,
    domain_scale: float = 1.0,
) -> LinearHead:
    """Class-balanced multinomial logistic regression with an L2 penalty, fitted by L-BFGS.

    ``features`` is a dense array or a SciPy sparse matrix. ``l2`` is the penalty per
    sample-weight unit (as ``1/C`` in scikit-learn). With ``domains`` naming at least two
    distinct repositories, the head also learns a per-repository correction (module
    docstring); ``domain_scale`` > 1 scales the per-repository copies of the features up,
    which makes a correction of the same effect cheaper under the penalty (the corrections
    then weigh more against the shared weights). Deterministic: the same data gives the
    same weights."""
    from scipy import sparse

    if sparse.issparse(features):
        x = sparse.csr_matrix(features, dtype=np.float64)
    else:
        x = np.asarray(features, dtype=np.float64)
        if np.count_nonzero(x) < 0.2 * x.size:  # hashed word features: mostly zeros
            x = sparse.csr_matrix(x)
    d = x.shape[1]
    names = sorted({dom for dom in domains or () if dom is not None})
    if len(names) < 2:
        names = []
    else:
        assert domains is not None
        x = sparse.hstack(
            [sparse.csr_matrix(x)]
            + [
                sparse.diags(
                    domain_scale * np.array([dom == name for dom in domains], dtype=np.float64)
                )
                @ x
                for name in names
            ]
        ).tocsr()
    weights, bias = _logistic_regression(x, labels, n_labels, l2, iterations)
    blocks = weights.reshape(-1, d, n_labels)
    return LinearHead(
        weights=blocks[0].astype(np.float32),
        bias=bias.astype(np.float32),
        deltas={
            name: (domain_scale * blocks[k + 1]).astype(np.float32) for k, name in enumerate(names)
        },
    )


def _logistic_regression(
    x: Any, labels: np.ndarray, n_labels: int, l2: float, iterations: int
) -> tuple[np.ndarray, np.ndarray]:
    from scipy.optimize import minimize

    n, d = x.shape
    counts = np.bincount(labels, minlength=n_labels).astype(np.float64)
    sample_weight = (n / (n_labels * np.maximum(counts, 1)))[labels]
    onehot = np.eye(n_labels)[labels]

    def loss_and_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = flat[: d * n_labels].reshape(d, n_labels)
        b = flat[d * n_labels :]
        z = np.asarray(x @ w) + b
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(sample_weight * (onehot * log_p).sum(axis=1)).sum() + 0.5 * l2 * (w * w).sum()
        delta = (np.exp(log_p) - onehot) * sample_weight[:, None]
        grad_w = np.asarray(x.T @ delta) + l2 * w
        grad_b = delta.sum(axis=0)
        return float(loss), np.concatenate([grad_w.ravel(), grad_b])

    start = np.zeros(d * n_labels + n_labels)
    result = minimize(
        loss_and_grad, start, jac=True, method="L-BFGS-B", options={"maxiter": iterations}
    )
    return result.x[: d * n_labels].reshape(d, n_labels), result.x[d * n_labels :]


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
