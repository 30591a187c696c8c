"""e^t for t ≤ 0 with only +, −, ×: an exp that compiled loops can vectorise.

Without Intel's SVML, ``math.exp`` in a Numba loop is one libm call per element, which
keeps the loop scalar (measured: 2–2.5 ms for 393K numbers, more than a whole fused GELU
pass). For t ∈ [T_MIN, 0], T_MIN = −110.25:

    e^t = (E(t/128))^128,   E a polynomial of degree 8 fitted on [T_MIN/128, 0],

so seven squarings follow one short polynomial; they multiply E's relative error by 128.
Below T_MIN the result is 0 (e^(−110.25) = 1.4e−48, under float32's smallest subnormal
1.4e−45); t = −∞ gives 0, NaN gives NaN. Used by the GELU (t = −x²/2) and the attention
softmax (t = s − max s) kernels, which evaluate it in float64 and round once to float32.

The coefficients are derived here (:func:`derive_coefficients`): a least-squares fit of the
relative error against float64 ``np.exp`` on a dense grid, with Lawson's multiplicative
weights pushing it toward equal ripple and E(0) = 1 kept exact (so e^0 = 1): worst relative
error 5.9e−12 (×128: 8e−10, far below float32's half ulp 6e−8).

The callers inline it, and Numba's on-disk cache (``cache=True``) is checked against the
caller's own file only: after changing the coefficients here, also touch
``numba_gelu.py`` and ``numba_attention.py`` (or delete their cached ``.nbi``/``.nbc``
files) so that their loops are compiled again.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)

__all__ = ["T_MIN", "SQUARINGS", "EXP_E", "minimax_fit", "derive_coefficients",
           "exp_nonpositive", "exp_nonpositive_reference"]

T_MIN = -110.25  # = −10.5²
SQUARINGS = 7    # e^t = (E(t / 2⁷))^(2⁷)

# printed by derive_coefficients(): powers 0, 1, 2, ... of u = t/128
EXP_E = (1.0, 0.9999999993559328, 0.4999999772237777, 0.16666638722887822, 0.04166498806148097,
    0.008327688898415855, 0.001377677459826912, 0.0001852294079145847, 1.610500418982953e-05)


def minimax_fit(basis, f, iterations, denominator=None, weight=None):
    """Coefficients c minimising max |basis·c − f|/|weight| on the grid (``weight`` = f
    unless given: the relative error; rows scaled by 1/|weight|, and for a ratio N/D fitted
    as N − f·D ≈ 0 by 1/|D| of the previous step, Loeb's linearisation), and the worst
    error reached. Lawson's weights w ← w·|error| move the least-squares solution toward
    equal ripple. ``denominator(c)`` returns (the ratio's relative errors, |D|) for a
    ratio."""
    weight = f if weight is None else weight
    w = np.full(f.size, 1.0 / f.size)
    scale = np.ones_like(f)
    best = None
    for _ in range(iterations):
        rw = np.sqrt(w) / (np.abs(weight) * scale)
        c = np.linalg.lstsq(basis * rw[:, None], f * rw, rcond=None)[0]
        err, scale = denominator(c) if denominator else (
            np.abs(basis @ c - f) / np.abs(weight), scale)
        if best is None or err.max() < best[1]:
            best = (c, float(err.max()))
        w = w * err
        w /= w.sum()
    return best


def derive_coefficients(iterations=300):
    """Fit EXP_E again; returns it and its worst relative error on [T_MIN/128, 0]. E(0) = 1
    is kept exact (so e^0 = 1)."""
    u = np.linspace(T_MIN / 2 ** SQUARINGS, 0.0, 20001)
    e, worst = minimax_fit(u[:, None] ** np.arange(1, 9), np.expm1(u), iterations,
                           weight=np.exp(u))
    return (1.0,) + tuple(e), worst


def exp_nonpositive_reference(t):
    """The same formula in NumPy (float64), for reading and as the compiled one's reference."""
    t = np.asarray(t, dtype=np.float64)
    e = np.polyval(EXP_E[::-1], np.maximum(t, T_MIN) / 2 ** SQUARINGS)
    for _ in range(SQUARINGS):
        e = e * e
    return np.where(t < T_MIN, 0.0, np.where(np.isnan(t), np.nan, e))


_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8 = EXP_E
_SCALE_U = 1.0 / 2 ** SQUARINGS


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")
def exp_nonpositive(t):
    """e^t of one float64 t ≤ 0 (t > 0 is outside the fit)."""
    below = t < T_MIN
    u = (T_MIN if below else t) * _SCALE_U  # NaN stays NaN
    e = _E0 + u * (_E1 + u * (_E2 + u * (_E3 + u * (_E4 + u * (_E5 + u * (
        _E6 + u * (_E7 + u * _E8)))))))
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    e = e * e  # seven squarings
    return 0.0 if below else e
