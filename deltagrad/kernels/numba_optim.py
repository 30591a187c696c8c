"""The Adam/AdamW step as one compiled pass over the parameters (``optim/adam.py`` is the
readable reference).

The NumPy step is about thirteen passes over arrays as large as the parameters (the moving
averages, the root, the division, the update), each reading and writing memory. Here one
loop reads θ, g, m and v once and writes θ, m and v once, with the same operations in the
same order on the same float32 (or float64) numbers -- every intermediate is rounded to the
parameter's dtype exactly as NumPy rounds it -- so the result equals the NumPy step bit for
bit (``tests/optim/test_fused_adam.py``). No fast-math: no contraction into fused
multiply-adds, which would round differently. The loop releases the GIL, so
``deltagrad.threads`` runs blocks of a large parameter on several cores.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)

__all__ = ["adam_step"]


@njit(cache=True, nogil=True, error_model="numpy")
def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, neg_one, weight_decay,
              decoupled_scale, avg_weight, small_weight, beta2, one_minus_beta2, bc2_sqrt,
              eps, neg_step_size, amsgrad):
    """One Adam step on flat arrays, in place.

    ``neg_one`` is −1 when maximizing (else 1); ``weight_decay`` the coupled (L2) λ, 0 for
    AdamW, whose ``decoupled_scale`` = 1 − ηλ shrinks θ first; ``avg_weight`` is 1 − β₁ (or
    β₁ when ``small_weight`` is False: the NumPy lerp's two forms); all scalars arrive in
    the parameters' dtype."""
    for i in range(param.size):
        p = param[i]
        g = grad[i] * neg_one
        if decoupled_scale != 1:
            p = p * decoupled_scale
        if weight_decay != 0:
            g = g + p * weight_decay
        d = g - exp_avg[i]                       # m ← m + (1 − β₁)(g − m), torch's lerp
        if small_weight:
            m = exp_avg[i] + d * avg_weight
        else:
            m = g - d * avg_weight
        exp_avg[i] = m
        t = g * one_minus_beta2                  # v ← β₂ v + (1 − β₂) g²
        v = exp_avg_sq[i] * beta2 + t * g
        exp_avg_sq[i] = v
        if amsgrad:                              # NumPy's maximum: a NaN wins
            mx = max_exp_avg_sq[i]
            if not (v > mx or v != v):
                v = mx
            max_exp_avg_sq[i] = v
        den = np.sqrt(v) / bc2_sqrt + eps        # √v̂ + ε with v̂ = v/(1 − β₂ᵗ)
        param[i] = p + (m * neg_step_size) / den
