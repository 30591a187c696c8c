"""GELU and its derivative as one compiled pass, with an erf derived here.

    GELU(x) = x·Φ(x),   Φ(x) = ½(1 + erf(x/√2)) = ½·erfc(−x/√2),
    GELU′(x) = Φ(x) + x·φ(x),   φ(x) = e^(−x²/2)/√(2π).

``ops/activation.py``'s ``GELU`` (SciPy's erf, then NumPy's passes) is the readable
reference. Here one pass writes y and the derivative f′ = Φ + x·φ(x) (saved, so that the
backward is the product g·f′; e^(−x²/2) is the e^(−z²) that Φ needs anyway), for float32
arrays. With z = |x|/√2:

- erfc(z) = e^(−z²)·erfcx(z), erfcx(z) ≈ N(v)/D(v) with v = z/Z_MAX (degrees 5 and 6,
  N(0) = D(0) = 1), one formula on [0, Z_MAX]. Writing Φ with erfc keeps its *relative*
  accuracy for negative x, where 1 + erf(x/√2) would cancel (Φ(−10) = 7.6e−24);
- z ≥ Z_MAX = 10.5: erfc(z) = 0 (x·Φ(x) rounds to 0 in float32 from x ≈ −14.4 on);
- Φ(x) = ½·erfc(z) for x < 0 and 1 − ½·erfc(z) for x ≥ 0.

GELU's tanh approximation takes the same path: ½(1 + tanh u) = σ(2u), so

    GELU_tanh(x) = x·σ(2u),   u = √(2/π)(x + 0.044715x³),
    GELU_tanh′(x) = σ(2u) + x·2σ(2u)(1 − σ(2u))·√(2/π)(1 + 3·0.044715x²),

with e = e^(−2|u|): σ(2u) = 1/(1 + e) for u ≥ 0 and e/(1 + e) for u < 0, σ(1 − σ) =
e/(1 + e)² (no 1 + tanh u that cancels for negative x, as it does in PyTorch's formula).

e^(−z²) and e^(−2|u|) come from ``numba_exp.exp_nonpositive``, an exp the compiler can
vectorise (a libm call per element costs about as much as the whole rest). Everything is
evaluated in float64 and rounded once to float32.

The coefficients are derived here (:func:`derive_coefficients`): a least-squares fit of
the relative error on a dense grid against SciPy's float64 erfcx, Loeb's linearisation
N − erfcx·D ≈ 0 with Lawson's multiplicative weights pushing it toward equal ripple.
Relative errors: erfcx 3.3e−9, e^t 8e−10, both far below float32's half ulp (6e−8);
tests/kernels/test_numba_gelu.py checks GELU and its derivative on a dense float32 grid
against float64 SciPy.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_exp import exp_nonpositive, exp_nonpositive_reference, minimax_fit
from .numba_parallel import OPTIONS as _PARALLEL, use_threads

__all__ = ["Z_MAX", "ERFCX_N", "ERFCX_D", "derive_coefficients", "gelu_cdf",
           "gelu_forward", "gelu_tanh_forward"]

Z_MAX = 10.5  # −Z_MAX² = numba_exp.T_MIN

# printed by derive_coefficients(): powers 0, 1, 2, ... of v = z/Z_MAX
ERFCX_N = (1.0, 12.171979005567445, 70.73149269268433, 208.92285160645764, 235.3430897677045,
    -184.13827951419154)
ERFCX_D = (1.0, 24.019962586072026, 245.06905861968173, 1335.159784541409, 3873.6549301344303,
    4379.390675195881, -3426.832146359729)


def derive_coefficients(iterations=300):
    """Fit (ERFCX_N, ERFCX_D) again on [0, Z_MAX]; returns them and the worst relative error.
    N(0) = D(0) = 1 (erfcx(0) = 1), so Φ(0) = ½ exactly."""
    from scipy.special import erfcx

    z = np.linspace(0.0, Z_MAX, 40001)
    v, f = z / Z_MAX, erfcx(z)
    m, n = 5, 6  # N(v) − f·D(v) = 0 with N(0) = D(0) = 1: unknowns N₁…N₅, D₁…D₆
    basis = np.concatenate([v[:, None] ** np.arange(1, m + 1),
                            -f[:, None] * v[:, None] ** np.arange(1, n + 1)], axis=1)

    def ratio_error(c):
        d = np.polyval(np.r_[1.0, c[m:]][::-1], v)
        return np.abs(np.polyval(np.r_[1.0, c[:m]][::-1], v) / d - f) / f, np.abs(d)
    c, worst = minimax_fit(basis, f - 1.0, iterations, ratio_error, weight=f)
    return (1.0,) + tuple(c[:m]), (1.0,) + tuple(c[m:]), worst


def gelu_cdf(x):
    """(Φ(x), e^(−x²/2)) by the formulas above in NumPy (float64): the reference for the
    compiled loops, and for reading."""
    x = np.asarray(x, dtype=np.float64)
    z = np.minimum(np.abs(x) * (1 / math.sqrt(2)), Z_MAX)
    gauss = exp_nonpositive_reference(-z * z)
    v = z / Z_MAX
    erfc = gauss * np.polyval(ERFCX_N[::-1], v) / np.polyval(ERFCX_D[::-1], v)
    saturated = np.abs(x) * (1 / math.sqrt(2)) >= Z_MAX
    erfc = np.where(saturated, 0.0, erfc)
    gauss = np.where(saturated, 0.0, gauss)
    cdf = np.where(x < 0, 0.5 * erfc, 1.0 - 0.5 * erfc)
    return np.where(np.isnan(x), np.nan, cdf), gauss


_N0, _N1, _N2, _N3, _N4, _N5 = ERFCX_N
_D1, _D2, _D3, _D4, _D5, _D6 = ERFCX_D[1:]
_OPTIONS = dict(_PARALLEL, fastmath={"contract"})  # contract: a·b + c as one FMA
_LOCAL = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"},
              inline="always")


@njit(**_LOCAL)
def _cdf_and_gauss(x):
    """(Φ(x), e^(−x²/2)) of one float64 x (NaN gives NaN; ±inf gives 0/1 and 0)."""
    a = abs(x) * 0.7071067811865476
    saturated = a >= Z_MAX
    z = Z_MAX if saturated else a
    v = z * (1.0 / Z_MAX)
    num = _N0 + v * (_N1 + v * (_N2 + v * (_N3 + v * (_N4 + v * _N5))))
    den = 1.0 + v * (_D1 + v * (_D2 + v * (_D3 + v * (_D4 + v * (_D5 + v * _D6)))))
    gauss = 0.0 if saturated else exp_nonpositive(-z * z)  # e^(−z²) = e^(−x²/2)
    half = 0.5 * gauss * num / den
    cdf = half if x < 0.0 else 1.0 - half
    return (x if x != x else cdf), gauss


@njit(**_OPTIONS)
def _forward(x, y, slope):
    for k in prange(x.size):
        xk = np.float64(x[k])
        c, gauss = _cdf_and_gauss(xk)
        y[k] = xk * c
        slope[k] = c + xk * (gauss * 0.3989422804014327)  # Φ + x·φ, φ = e^(−x²/2)/√(2π)


def _forward_pass(kernel, x):
    """(y, f′(x)) from ``kernel(x, y, slope)`` over flat views."""
    y, slope = np.empty_like(x), np.empty_like(x)
    use_threads(x.size)
    kernel(x.reshape(-1), y.reshape(-1), slope.reshape(-1))
    return y, slope


def gelu_forward(x):
    """(GELU(x), GELU′(x)) of a C-contiguous float32 array, in one pass."""
    return _forward_pass(_forward, x)


_K = 0.7978845608028654  # √(2/π)
_C = 0.044715


@njit(**_LOCAL)
def _tanh_gate(x):
    """σ(2u) and σ(2u)(1 − σ(2u)) for u = √(2/π)(x + 0.044715x³), of one float64 x."""
    u = _K * (x + _C * x * x * x)
    e = exp_nonpositive(-2.0 * abs(u))  # NaN stays NaN, |u| = ∞ gives 0
    r = 1.0 / (1.0 + e)
    s = e * r if u < 0.0 else r
    return s, e * r * r


@njit(**_OPTIONS)
def _tanh_forward(x, y, slope):
    for k in prange(x.size):
        xk = np.float64(x[k])
        s, ss = _tanh_gate(xk)
        y[k] = xk * s
        slope[k] = s + xk * ss * (2.0 * _K * (1.0 + 3.0 * _C * xk * xk))


def gelu_tanh_forward(x):
    """(GELU_tanh(x), GELU_tanh′(x)) of a C-contiguous float32 array, in one pass."""
    return _forward_pass(_tanh_forward, x)
