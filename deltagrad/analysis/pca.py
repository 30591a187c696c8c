"""Principal component analysis through the SVD, and principal angles between subspaces
(seed 001 "autoencoders resemble PCA", seed 002 §4.1.2: a linear autoencoder with MSE spans
the top-k principal subspace, without PCA's orthogonality).

With X̄ = X − 1μᵀ (rows are examples) and the thin SVD X̄ = U S Vᵀ, the principal directions
are the rows of Vᵀ, the explained variances S²/(n − 1), and the scores X̄ V.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["PCA", "pca", "principal_angles"]


def _matrix(X, name, op):
    a = X.detach().numpy() if hasattr(X, "detach") else np.asarray(X)
    if a.ndim != 2:
        raise ValueError(f"{op}: {name} must be a 2-D array, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ValueError(f"{op}: {name} must hold real numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{op}: {name} holds NaN or inf")
    return a


class PCA:
    """The fitted result of :func:`pca`, with scikit-learn's attribute names:
    ``components_`` (k × features, unit rows, largest variance first, sign chosen so each
    row's largest-magnitude entry is positive), ``explained_variance_`` (S²/(n − 1)),
    ``explained_variance_ratio_``, ``singular_values_``, ``mean_``, ``n_components_``."""

    def __init__(self, components, explained_variance, ratio, singular_values, mean):
        self.components_ = components
        self.explained_variance_ = explained_variance
        self.explained_variance_ratio_ = ratio
        self.singular_values_ = singular_values
        self.mean_ = mean
        self.n_components_ = components.shape[0]

    def transform(self, X) -> np.ndarray:
        """Scores (X − μ) Vₖ, shape (n, k)."""
        X = _matrix(X, "X", "PCA.transform")
        if X.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"PCA.transform: expected X with {self.mean_.shape[0]} features, "
                             f"got shape {X.shape}")
        return (X - self.mean_) @ self.components_.T

    def inverse_transform(self, Z) -> np.ndarray:
        """Reconstructions μ + Z Vₖᵀ, shape (n, features)."""
        Z = _matrix(Z, "Z", "PCA.inverse_transform")
        if Z.shape[1] != self.n_components_:
            raise ValueError(f"PCA.inverse_transform: expected Z with {self.n_components_} "
                             f"columns, got shape {Z.shape}")
        return Z @ self.components_ + self.mean_

    def __repr__(self):
        return (f"PCA(n_components={self.n_components_}, "
                f"n_features={self.components_.shape[1]})")


def pca(X, k) -> PCA:
    """The top-``k`` principal components of the rows of ``X`` (n × features), via SVD."""
    op = "pca"
    X = _matrix(X, "X", op)
    n, p = X.shape
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= min(n, p):
        raise ValueError(f"{op}: k must be an int in [1, min(n_samples, n_features)] = "
                         f"[1, {min(n, p)}] for X of shape {X.shape}, got {k!r}")
    if n < 2:
        raise ValueError(f"{op}: needs at least 2 samples, got {n}")
    mean = X.mean(0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(1)])
    vt = vt * signs[:, None]
    var = s ** 2 / (n - 1)
    total = var.sum()
    ratio = var / total if total > 0 else np.zeros_like(var)
    return PCA(vt[:k], var[:k], ratio[:k], s[:k], mean)


def principal_angles(A, B) -> np.ndarray:
    """The principal angles θ₁ ≤ … ≤ θ_q (radians) between the column spaces of ``A`` (n × p)
    and ``B`` (n × q), q = min(p, q): cos θᵢ are the singular values of Q_Aᵀ Q_B with Q the
    orthonormal bases of the spans, sin θᵢ those of Q_B − Q_A Q_Aᵀ Q_B (used for small θ).
    Rows-as-directions such as ``components_`` go in transposed."""
    op = "principal_angles"
    A, B = _matrix(A, "A", op), _matrix(B, "B", op)
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"{op}: A and B must have the same number of rows (the ambient "
                         f"dimension), got {A.shape} and {B.shape}")
    qa, qb = _orth(A, "A", op), _orth(B, "B", op)
    if qa.shape[1] < qb.shape[1]:
        qa, qb = qb, qa
    cos = np.linalg.svd(qa.T @ qb, compute_uv=False)               # descending
    sin = np.linalg.svd(qb - qa @ (qa.T @ qb), compute_uv=False)[::-1]  # ascending
    # arccos loses small angles (cos θ ≈ 1 − θ²/2), arcsin large ones: take each where exact
    return np.where(cos ** 2 < 0.5, np.arccos(np.clip(cos, -1, 1)),
                    np.arcsin(np.clip(sin, -1, 1)))


def _orth(A, name, op):
    u, s, _ = np.linalg.svd(A, full_matrices=False)
    tol = max(A.shape) * np.finfo(float).eps * (s[0] if s.size else 0)
    r = int((s > tol).sum())
    if r == 0:
        raise ValueError(f"{op}: {name} spans no subspace (all columns are zero)")
    return u[:, :r]
