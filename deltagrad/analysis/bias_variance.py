"""Bias–variance decomposition by retraining on bootstrap resamples (seed 004 §4.2).

Squared loss (the notes' formula): a model f_φ(D) trained on data sets D (here B bootstrap
resamples of one training set), evaluated on test points x with targets y(x),

    E_D[E^gen] = E_x[ (ȳ(x) − f̄(x))² + Var_D[f_φ(D)(x)] + Var[y(x)] ]
               =        Bias²       +    Variance       + Irreducible error (noise)

with f̄(x) = E_D f_φ(D)(x) and ȳ(x) = E[y | x] (known for a synthetic task). On a finite
test set the measured error (1/BN) Σ_b Σ_i (y_i − f_b(x_i))² equals
bias² + variance + noise + 2·(1/N) Σ_i (y_i − ȳ_i)(ȳ_i − f̄_i) exactly; the last
(``cross``) term has expectation 0 and shrinks like 1/√N.

0-1 loss (Domingos 2000): the main prediction y_m(x) = the most frequent class over the
B models, bias B(x) = 1[y_m ≠ y*] against the Bayes-optimal label y*, variance
V(x) = P_D(ŷ ≠ y_m); then E_D[1(ŷ ≠ y*)] = B(x) + c(x)·V(x) exactly, with c = +1 where
unbiased and c = −P(ŷ = y* | ŷ ≠ y_m) where biased (variance then helps). Noise is the rate
at which the observed test label differs from y*.
"""
from __future__ import annotations

import numpy as np


def _check_predictions(predictions, n_test, op) -> np.ndarray:
    p = np.asarray(predictions)
    if p.ndim != 2 or p.shape[0] < 2:
        raise ValueError(f"{op}: predictions must have shape (B, N) with B >= 2 retrained "
                         f"models, got {p.shape}")
    if p.shape[1] != n_test:
        raise ValueError(f"{op}: predictions cover {p.shape[1]} test points but the targets "
                         f"have {n_test}")
    return p


def squared_loss_decomposition(predictions, y_test, y_mean) -> dict:
    """Bias², variance, noise of squared loss from ``predictions`` (B, N) of B retrained
    models at N test points, the observed targets ``y_test`` (N,) and the noise-free
    targets ``y_mean`` = ȳ(x) (N,). Returns also the measured ``expected_error`` and the
    finite-sample ``cross`` term (bias² + variance + noise + cross = expected_error)."""
    op = "squared_loss_decomposition"
    y = np.asarray(y_test, dtype=np.float64).reshape(-1)
    ybar = np.asarray(y_mean, dtype=np.float64).reshape(-1)
    if y.shape != ybar.shape:
        raise ValueError(f"{op}: y_test has {y.shape[0]} values but y_mean has {ybar.shape[0]}")
    p = _check_predictions(predictions, y.shape[0], op).astype(np.float64)
    fbar = p.mean(axis=0)
    return {"bias2": float(np.mean((ybar - fbar) ** 2)),
            "variance": float(np.mean(p.var(axis=0))),
            "noise": float(np.mean((y - ybar) ** 2)),
            "cross": float(2 * np.mean((y - ybar) * (ybar - fbar))),
            "expected_error": float(np.mean((y[None] - p) ** 2))}


def zero_one_decomposition(predictions, y_optimal, y_test=None) -> dict:
    """Domingos' decomposition of 0-1 loss from class ``predictions`` (B, N), the
    Bayes-optimal labels ``y_optimal`` (N,) and optionally the observed labels ``y_test``.
    Returns ``bias``, ``variance`` (mean P(ŷ ≠ y_m)), ``net_variance`` (mean c·V), the
    ``expected_error`` against y* (= bias + net_variance exactly), and with ``y_test`` the
    ``noise`` rate and ``expected_error_observed`` against the observed labels."""
    op = "zero_one_decomposition"
    ystar = np.asarray(y_optimal).reshape(-1)
    p = _check_predictions(predictions, ystar.shape[0], op).astype(np.int64)
    n_classes = int(max(p.max(), ystar.max())) + 1
    counts = np.zeros((n_classes, p.shape[1]), dtype=np.int64)
    for b in range(p.shape[0]):
        counts[p[b], np.arange(p.shape[1])] += 1
    main = counts.argmax(axis=0)          # ties: the smallest class
    biased = main != ystar
    v = np.mean(p != main[None], axis=0)
    p_right = np.mean(p == ystar[None], axis=0)
    c_v = np.where(biased, -p_right, v)   # P(ŷ = y*) = P(ŷ ≠ y_m)·P(ŷ = y* | ŷ ≠ y_m)
    out = {"bias": float(biased.mean()), "variance": float(v.mean()),
           "net_variance": float(c_v.mean()),
           "expected_error": float(np.mean(p != ystar[None]))}
    if y_test is not None:
        y = np.asarray(y_test).reshape(-1)
        if y.shape != ystar.shape:
            raise ValueError(f"{op}: y_test has {y.shape[0]} labels but y_optimal has "
                             f"{ystar.shape[0]}")
        out["noise"] = float(np.mean(y != ystar))
        out["expected_error_observed"] = float(np.mean(p != y[None]))
    return out


def bootstrap_predictions(fit_predict, x_train, y_train, x_test, rounds: int = 20,
                          seed: int = 0) -> np.ndarray:
    """(B, N) predictions at ``x_test`` of ``fit_predict(x, y, x_test, b)`` retrained on
    ``rounds`` bootstrap resamples of (x_train, y_train)."""
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 2:
        raise ValueError(f"bootstrap_predictions: rounds must be an int >= 2, got {rounds!r}")
    if len(x_train) != len(y_train):
        raise ValueError(f"bootstrap_predictions: x_train has {len(x_train)} samples but "
                         f"y_train has {len(y_train)}")
    from ..models.ensemble import bootstrap_indices
    rng = np.random.default_rng(seed)
    out = []
    for b in range(rounds):
        idx = bootstrap_indices(len(x_train), rng)
        out.append(np.asarray(fit_predict(x_train[idx], y_train[idx], x_test, b)).reshape(-1))
    return np.stack(out)
