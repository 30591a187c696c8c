"""tanh as an odd rational function, for compiled loops that must vectorise.

Without Intel's SVML, ``np.tanh`` inside a Numba loop is one libm call per element (about
50× slower than NumPy's SIMD tanh). A ratio of polynomials needs only +, −, ×, ÷, which the
compiler turns into vector instructions:

    tanh(x) ≈ x · P(x²) / Q(x²),   P of degree 6, Q of degree 3 in s = x², P(0) = Q(0) = 1,
    tanh(x) = sign(x)               for |x| ≥ 9 (there tanh(x) rounds to ±1 in float32).

P(0) = Q(0) = 1 makes tanh(x) = x exactly for tiny |x| (subnormals included), and NaN in
gives NaN out. The coefficients are derived here (:func:`derive_coefficients`) as a
minimax fit of the *relative* error on [0, 9] in float64: Loeb's linearisation
x·P − tanh(x)·Q ≈ 0 weighted by 1/(tanh(x)·Q_prev), with Lawson's multiplicative weights
pushing the least-squares solution toward equal ripple. Max relative error 7.7e-9, about
0.13 float32 ulp.

The compiled cells (``numba_cells.py``) evaluate it in float32 arithmetic, as
:func:`rational_tanh` does here for float32 input: within 5 float32 ulp of the true tanh
(the rounding of P and Q, largest near |x| ≈ 7; tested on a dense grid of every binade).
Evaluated in float64 and rounded once it would be within 0.63 ulp, at twice the cost in a
cell (``numba_cells.py`` says what that bought and cost).
"""
from __future__ import annotations

import numpy as np

__all__ = ["P", "Q", "SATURATION", "derive_coefficients", "rational_tanh"]

SATURATION = 9.0  # |x| ≥ 9: tanh(x) = ±1 to float32 round-off (1 − tanh 9 = 3.0e-8)

# x·P(s)/Q(s), s = x²: coefficients of s⁰, s¹, … (printed by derive_coefficients())
P = (1.0, 0.13086143130612252, 0.0031062851704168172, 1.1177078036250211e-05,
     -2.0307506399900808e-08, 5.31192975713235e-11, -8.561580381573063e-14)
Q = (1.0, 0.4641947244891555, 0.02450460205927331, 0.0002549444827786441)


def derive_coefficients(num_degree=6, den_degree=3, xmax=SATURATION, iterations=200):
    """Fit tanh(x) ≈ x·P(x²)/Q(x²) on [0, xmax] minimising the maximum relative error.

    Unknowns p₁…p_m, q₁…q_n (p₀ = q₀ = 1), in the scaled variable u = x²/xmax² so the
    least-squares matrix stays well conditioned. Returns (P, Q, max relative error) with P
    and Q in powers of s = x²."""
    x = np.concatenate([np.geomspace(1e-4, 1.0, 2000), np.linspace(1.0, xmax, 6000)])
    t = np.tanh(x)
    u = x * x / xmax ** 2
    m, n = num_degree, den_degree
    A = np.concatenate([x[:, None] * u[:, None] ** np.arange(1, m + 1),
                        -t[:, None] * u[:, None] ** np.arange(1, n + 1)], axis=1)
    rhs = t - x  # x·(1 + Σ p_k u^k) − t·(1 + Σ q_k u^k) = 0
    lawson = np.full(x.size, 1.0 / x.size)
    q_prev = np.ones_like(x)
    best = None
    for _ in range(iterations):
        w = lawson / (t * np.abs(q_prev))
        c = np.linalg.lstsq(A * w[:, None], rhs * w, rcond=None)[0]
        p, q = np.r_[1.0, c[:m]], np.r_[1.0, c[m:]]
        q_prev = np.polyval(q[::-1], u)
        err = np.abs(x * np.polyval(p[::-1], u) / q_prev - t) / t
        if best is None or err.max() < best[2]:
            best = (p, q, err.max())
        lawson = lawson * err
        lawson /= lawson.sum()
    p, q, worst = best
    scale = xmax ** (-2.0 * np.arange(max(m, n) + 1))  # u^k = s^k / xmax^(2k)
    return tuple(p * scale[:m + 1]), tuple(q * scale[:n + 1]), float(worst)


def rational_tanh(x):
    """The same approximation in NumPy, by Horner's rule in x's precision (float32 for
    float32 input, as the compiled cells; float64 otherwise): the reference for the compiled
    version, and for reading."""
    x = np.asarray(x)
    x = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    p, q = (np.asarray(c, x.dtype) for c in (P, Q))
    with np.errstate(over="ignore", invalid="ignore"):
        s = x * x
        num, den = np.full_like(s, p[-1]), np.full_like(s, q[-1])
        for c in p[-2::-1]:
            num = num * s + c
        for c in q[-2::-1]:
            den = den * s + c
        y = x * num / den
    return np.where(np.abs(x) >= SATURATION, np.sign(x), y).astype(x.dtype)
