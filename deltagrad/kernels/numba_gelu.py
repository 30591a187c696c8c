"""GELU as one compiled pass forward and one backward, with an erf derived here.

    GELU(x) = x·Φ(x),   Φ(x) = ½(1 + erf(x/√2)) = ½·erfc(−x/√2),
    GELU′(x) = Φ(x) + x·φ(x),   φ(x) = e^(−x²/2)/√(2π).

``ops/activation.py``'s ``GELU`` (SciPy's erf, then NumPy's passes) is the readable
reference. Here the forward writes y and Φ (saved for the backward) in one pass, and the
backward writes g·(Φ + x·φ(x)) in one pass, for float32 arrays. With z = |x|/√2:

- z < 1:  erf(z) ≈ z·P(z²), an odd polynomial (P of degree 6);
- z ≥ 1:  erfc(z) = e^(−z²)·erfcx(z), erfcx(z) ≈ N(v)/D(v) with v = z/Z_MAX (degrees 5
  and 6). Writing the tail as erfc keeps Φ's *relative* accuracy for negative x, where
  1 + erf(x/√2) would cancel (Φ(−10) = 7.6e−24);
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

The coefficients are derived here (:func:`derive_coefficients`): least-squares fits of the
relative error on dense grids, with Lawson's multiplicative weights pushing them toward
equal ripple (Loeb's linearisation N − f·D ≈ 0 for the ratio), against SciPy's float64
erf/erfcx. Fitted relative errors: erf 1.2e−9, erfcx 1.8e−9, e^t 7e−10, all far below float32's half ulp (6e−8); tests/kernels/test_numba_gelu.py checks GELU and its
derivative on a dense float32 grid against float64 SciPy.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .numba_exp import exp_nonpositive, exp_nonpositive_reference, minimax_fit
from .numba_parallel import OPTIONS as _PARALLEL, use_threads

__all__ = ["Z_MAX", "ERF_P", "ERFCX_N", "ERFCX_D", "derive_coefficients", "gelu_cdf",
           "gelu_forward", "gelu_backward", "gelu_tanh_forward", "gelu_tanh_backward"]

Z_MAX = 10.5  # −Z_MAX² = numba_exp.T_MIN

# printed by derive_coefficients(): powers 0, 1, 2, ... of s = z² and of v = z/Z_MAX
ERF_P = (1.128379165726636, -0.3761262582355906, 0.11283585139598412, -0.02685381150310935,
    0.005188326761066628, -0.000801018459426051, 7.853828534585985e-05)
ERFCX_N = (0.9996168627751993, 10.949514436230661, 54.39032954297002, 120.25833505207235,
    -44.227416438049595, 4.651792357311603)
ERFCX_D = (1.0, 22.771232914910936, 214.79132173208703, 1007.392492482323, 2239.4302394801425,
    -823.5612197343801, 86.67005611536217)


def derive_coefficients(iterations=300):
    """Fit (ERF_P, ERFCX_N, ERFCX_D) again; returns them and the two worst relative errors
    (erf on [0, 1], erfcx on [1, Z_MAX])."""
    from scipy.special import erf, erfcx

    z = np.linspace(1e-6, 1.0, 20001)
    p, e_erf = minimax_fit(z[:, None] * (z * z)[:, None] ** np.arange(7), erf(z), iterations)

    z = np.linspace(1.0, Z_MAX, 30001)
    v, f = z / Z_MAX, erfcx(z)
    m, n = 5, 6  # N(v) − f·D(v) = 0 with D(0) = 1: unknowns N₀…N₅, D₁…D₆
    basis = np.concatenate([v[:, None] ** np.arange(m + 1),
                            -f[:, None] * v[:, None] ** np.arange(1, n + 1)], axis=1)

    def ratio_error(c):
        d = np.polyval(np.r_[1.0, c[m + 1:]][::-1], v)
        return np.abs(np.polyval(c[:m + 1][::-1], v) / d - f) / f, np.abs(d)
    c, e_erfcx = minimax_fit(basis, f, iterations, ratio_error)
    return tuple(p), tuple(c[:m + 1]), (1.0,) + tuple(c[m + 1:]), (e_erf, e_erfcx)


def gelu_cdf(x):
    """(Φ(x), e^(−x²/2)) by the formulas above in NumPy (float64): the reference for the
    compiled loops, and for reading."""
    x = np.asarray(x, dtype=np.float64)
    z = np.minimum(np.abs(x) * (1 / math.sqrt(2)), Z_MAX)
    s = z * z
    gauss = exp_nonpositive_reference(-s)
    v = z / Z_MAX
    with np.errstate(all="ignore"):
        tail = gauss * np.polyval(ERFCX_N[::-1], v) / np.polyval(ERFCX_D[::-1], v)
    erfc = np.where(z < 1.0, 1.0 - z * np.polyval(ERF_P[::-1], s), tail)
    saturated = np.abs(x) * (1 / math.sqrt(2)) >= Z_MAX
    erfc = np.where(saturated, 0.0, erfc)
    gauss = np.where(saturated, 0.0, gauss)
    cdf = np.where(x < 0, 0.5 * erfc, 1.0 - 0.5 * erfc)
    return np.where(np.isnan(x), np.nan, cdf), gauss


_P0, _P1, _P2, _P3, _P4, _P5, _P6 = ERF_P
_N0, _N1, _N2, _N3, _N4, _N5 = ERFCX_N
_D1, _D2, _D3, _D4, _D5, _D6 = ERFCX_D[1:]
_OPTIONS = dict(_PARALLEL, fastmath={"contract"})  # contract: a·b + c as one FMA
_LOCAL = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"},
              inline="always")


@njit(**_LOCAL)
def _cdf_gauss(x):
    """Φ(x) and e^(−x²/2) of one float64 x (NaN gives NaN; ±inf gives Φ = 0/1, e = 0)."""
    a = abs(x) * 0.7071067811865476
    saturated = a >= Z_MAX
    z = Z_MAX if saturated else a
    s = z * z
    e = exp_nonpositive(-s)  # e^(−z²)
    small = 1.0 - z * (_P0 + s * (_P1 + s * (_P2 + s * (_P3 + s * (_P4 + s * (
        _P5 + s * _P6))))))
    v = z * (1.0 / Z_MAX)
    num = _N0 + v * (_N1 + v * (_N2 + v * (_N3 + v * (_N4 + v * _N5))))
    den = 1.0 + v * (_D1 + v * (_D2 + v * (_D3 + v * (_D4 + v * (_D5 + v * _D6)))))
    erfc = small if z < 1.0 else e * num / den
    if saturated:
        erfc = 0.0
        e = 0.0
    half = 0.5 * erfc
    cdf = half if x < 0.0 else 1.0 - half
    if x != x:
        cdf = x
    return cdf, e


@njit(**_OPTIONS)
def _forward(x, y, cdf):
    for k in prange(x.size):
        xk = np.float64(x[k])
        c, _ = _cdf_gauss(xk)
        cdf[k] = c
        y[k] = xk * c


@njit(**_OPTIONS)
def _backward(g, x, cdf, gx):
    for k in prange(x.size):
        xk = np.float64(x[k])
        _, e = _cdf_gauss(xk)
        gx[k] = np.float64(g[k]) * (np.float64(cdf[k]) + xk * e * 0.3989422804014327)


def gelu_forward(x):
    """(GELU(x), Φ(x)) of a C-contiguous float32 array, in one pass."""
    y, cdf = np.empty_like(x), np.empty_like(x)
    use_threads(x.size)
    _forward(x.reshape(-1), y.reshape(-1), cdf.reshape(-1))
    return y, cdf


def gelu_backward(g, x, cdf):
    """g·(Φ(x) + x·φ(x)) for C-contiguous float32 arrays of one shape, in one pass."""
    gx = np.empty_like(x)
    use_threads(x.size)
    _backward(g.reshape(-1), x.reshape(-1), cdf.reshape(-1), gx.reshape(-1))
    return gx


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
def _tanh_forward(x, y, gate):
    for k in prange(x.size):
        xk = np.float64(x[k])
        s, _ = _tanh_gate(xk)
        gate[k] = s
        y[k] = xk * s


@njit(**_OPTIONS)
def _tanh_backward(g, x, gate, gx):
    for k in prange(x.size):
        xk = np.float64(x[k])
        _, ss = _tanh_gate(xk)
        slope = 2.0 * _K * (1.0 + 3.0 * _C * xk * xk)
        gx[k] = np.float64(g[k]) * (np.float64(gate[k]) + xk * ss * slope)


def gelu_tanh_forward(x):
    """(GELU_tanh(x), σ(2u)) of a C-contiguous float32 array, in one pass."""
    y, gate = np.empty_like(x), np.empty_like(x)
    use_threads(x.size)
    _tanh_forward(x.reshape(-1), y.reshape(-1), gate.reshape(-1))
    return y, gate


def gelu_tanh_backward(g, x, gate):
    """g·GELU_tanh′(x) for C-contiguous float32 arrays of one shape, in one pass."""
    gx = np.empty_like(x)
    use_threads(x.size)
    _tanh_backward(g.reshape(-1), x.reshape(-1), gate.reshape(-1), gx.reshape(-1))
    return gx
