r"""Rprop, resilient backpropagation (Riedmiller & Braun 1993): only the sign of each
gradient coordinate is used, with a step size of its own per coordinate.

    s = sign(g_t · g_{t−1}):  Δ_t = min(Δ_{t−1} η₊, Δ_max) if s > 0,
                              max(Δ_{t−1} η₋, Δ_min) if s < 0 (and g_t is taken as 0),
                              Δ_{t−1} if s = 0;
    θ_t = θ_{t−1} − sign(g_t) Δ_t,    Δ_0 = η (``lr``).
"""
from __future__ import annotations

from ..backend import array_module as _xp
from .optimizer import Optimizer, _advance, _check_real, _scalar, _signed, check_nonnegative

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """``torch.optim.Rprop``: state ``prev`` (the last gradient used) and ``step_size``."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 foreach=None, maximize=False):
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, o):
        if "lr" in o:
            check_nonnegative("Rprop", "lr", "learning rate", o["lr"])
        etas = o.get("etas", (0.5, 1.2))
        for i, e in enumerate(etas):
            _check_real("Rprop", f"etas[{i}]", e)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]} (Rprop option 'etas' "
                             "must satisfy 0 < eta_minus < 1 < eta_plus)")

    def _init_state(self, group, param):
        xp = _xp(param)
        return {"step": _scalar(0.0), "prev": xp.zeros_like(param),
                "step_size": xp.full(param.shape, float(group["lr"]), dtype=param.dtype)}

    def _update(self, group, param, grad, state, fresh, grad_owned):
        xp = _xp(param)
        _advance(state["step"])
        etaminus, etaplus = (float(e) for e in group["etas"])
        lo, hi = (float(s) for s in group["step_sizes"])
        g = _signed(grad, group["maximize"], grad_owned)
        sign = xp.sign(g * state["prev"])
        factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, 1.0)).astype(
            param.dtype)
        step_size = state["step_size"]
        step_size *= factor
        xp.clip(step_size, lo, hi, out=step_size)
        g = xp.where(factor == etaminus, 0, g).astype(param.dtype)
        param -= xp.sign(g) * step_size
        state["prev"][...] = g
