r"""Adafactor (Shazeer & Stern 2018): Adam's second moment without its memory. For a matrix
gradient only a row average R and a column average C of g² are kept, and V ≈ R C / mean(R):

    β̂₂_t = 1 − t^{c} (c = ``beta2_decay`` < 0),   ρ_t = min(η, 1/√t),
    α_t = max(ε₂, RMS(θ)) ρ_t,
    R ← lerp(R, mean_cols(g²), 1 − β̂₂_t),   C ← lerp(C, mean_rows(g²), 1 − β̂₂_t)
        (a vector keeps the full v ← lerp(v, g², 1 − β̂₂_t)),
    U = g / √max(V, ε₁²),   θ ← θ − α_t U / max(1, RMS(U)/d).

``weight_decay`` shrinks θ(1 − ηλ) first. Rows and columns make the rule per parameter, so
this optimizer never takes the flat (foreach) path.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..backend import array_module as _xp
from ..tensor import Tensor, _make
from .optimizer import Optimizer, _advance, _lerp_, _scalar, _signed, check_nonnegative

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """``torch.optim.Adafactor``: state ``step`` and ``row_var``/``col_var`` (≥ 2-D
    parameters) or ``variance`` (vectors)."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _flat_for(self, gi, group, params):
        return None            # row and column statistics need each parameter's shape

    def _load_value(self, p, index, name, value):
        """``row_var``/``col_var`` have a size-1 dim where the parameter has its columns/rows."""
        if name not in ("row_var", "col_var"):
            return super()._load_value(p, index, name, value)
        want = self._init_state(None, np.empty(tuple(p.shape), p.dtype))[name].shape
        if isinstance(value, Tensor):
            value = backend.to_numpy(value._data)
        arr = np.array(np.asarray(value), dtype=p.dtype, copy=True)
        if arr.shape != want:
            raise ValueError(f"Adafactor.load_state_dict: state '{name}' of parameter {index} "
                             f"has shape {arr.shape}, expected {want} for a parameter of shape "
                             f"{tuple(p.shape)}")
        return _make(backend.to_device(arr, p._device))

    def _check(self, o):
        if "lr" in o:
            check_nonnegative("Adafactor", "lr", "learning rate", o["lr"])
        if not 0.0 >= o.get("beta2_decay", -0.8):
            raise ValueError(f"beta2_decay should be <= 0 but is: {o['beta2_decay']}")
        eps1, eps2 = o.get("eps", (None, 1e-3))
        if eps1 is not None and not 0.0 <= eps1:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps1}")
        if not 0.0 <= eps2:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps2}")
        if not 1.0 <= o.get("d", 1.0):
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {o['d']}")
        check_nonnegative("Adafactor", "weight_decay", "weight_decay value",
                          o.get("weight_decay", 0))

    def _init_state(self, group, param):
        xp = _xp(param)
        if param.ndim > 1:
            rows, cols = list(param.shape), list(param.shape)
            rows[-1] = 1
            cols[-2] = 1
            return {"step": _scalar(0.0), "row_var": xp.zeros(rows, param.dtype),
                    "col_var": xp.zeros(cols, param.dtype)}
        return {"step": _scalar(0.0), "variance": xp.zeros_like(param)}

    def _update(self, group, param, grad, state, fresh, grad_owned):
        xp = _xp(param)
        step = _advance(state["step"])
        lr = float(group["lr"])
        eps1, eps2 = group["eps"]
        eps1 = float(np.finfo(param.dtype).eps) if eps1 is None else float(eps1)
        g = _signed(grad, group["maximize"], grad_owned)
        decay = step ** float(group["beta2_decay"])
        rho = min(lr, 1 / step ** 0.5)
        rms = float(xp.sqrt((param * param).sum())) / param.size ** 0.5
        alpha = max(float(eps2), rms) * rho
        if group["weight_decay"] != 0:
            param *= 1 - lr * float(group["weight_decay"])
        if param.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            g2 = g * g
            _lerp_(row_var, g2.sum(axis=-1, keepdims=True) / g.shape[-1], decay)
            _lerp_(col_var, g2.sum(axis=-2, keepdims=True) / g.shape[-2], decay)
            var = row_var @ col_var
            var /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            _lerp_(state["variance"], g * g, decay)
            var = state["variance"].copy()
        update = 1 / xp.sqrt(xp.maximum(var, eps1 * eps1))
        update *= g
        denom = max(1.0, float(xp.sqrt((update * update).sum())) / (update.size ** 0.5
                                                                     * float(group["d"])))
        param -= (alpha / denom) * update
