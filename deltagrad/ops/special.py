"""Special functions (``torch.special`` / ``torch.lgamma`` ...), from SciPy's kernels:
log Γ(x), ψ(x) = d/dx log Γ(x), the polygamma functions ψ⁽ⁿ⁾ and erf⁻¹.

Each derivative is the next function of the family, so gradients of any order exist:
d log Γ(x)/dx = ψ(x), dψ⁽ⁿ⁾(x)/dx = ψ⁽ⁿ⁺¹⁾(x), d erf⁻¹(y)/dy = (√π / 2) exp(erf⁻¹(y)²).
"""
from __future__ import annotations

import math

import numpy as np

from .elementwise import _unary

__all__ = ["lgamma", "digamma", "polygamma", "erfinv"]


def _special(xp):
    if xp is np:
        import scipy.special as sp
        return sp
    from .. import backend
    return backend.cupyx().scipy.special


_POLYGAMMA = {}


def polygamma(n, input):
    """ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function (n = 0 is ψ itself)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative or non-integer n, got "
                           f"{n!r}")
    n = int(n)
    if n not in _POLYGAMMA:
        _POLYGAMMA[n] = _unary(
            f"Polygamma{n}", lambda xp, x, n=n: _special(xp).polygamma(n, x).astype(x.dtype),
            lambda g, x, n=n: g * polygamma(n + 1, x),
            doc=f"ψ⁽{n}⁾(x); its derivative is ψ⁽{n + 1}⁾(x).")[1]
    return _POLYGAMMA[n](input)


_Lgamma, lgamma = _unary("Lgamma", lambda xp, x: _special(xp).gammaln(x),
                         lambda g, x: g * digamma(x),
                         doc="log |Γ(x)|; d/dx = ψ(x).")
_Digamma, digamma = _unary("Digamma", lambda xp, x: _special(xp).digamma(x),
                           lambda g, x: g * polygamma(1, x),
                           doc="ψ(x) = Γ'(x)/Γ(x); d/dx = ψ⁽¹⁾(x).")
_Erfinv, erfinv = _unary("Erfinv", lambda xp, x: _special(xp).erfinv(x),
                         lambda g, y: g * (math.sqrt(math.pi) / 2) * (y * y).exp(), saves="out",
                         doc="erf⁻¹(y) on (−1, 1); d/dy = (√π/2) exp(erf⁻¹(y)²).")

