r"""ASGD, averaged stochastic gradient descent (Polyak & Juditsky 1992; Bottou's schedule):
SGD with a decaying rate η_t, and a running average ā of the iterates kept alongside.

    θ ← θ(1 − λ η_t) − η_t g_t,
    ā ← ā + μ_t (θ − ā)                  (ā = θ while μ_t = 1),
    η_{t+1} = η / (1 + λ η t)^α,   μ_{t+1} = 1 / max(1, t − t₀).

The average is state ``ax``; the parameters themselves follow plain SGD.
"""
from __future__ import annotations

from ..backend import array_module as _xp
from .optimizer import Optimizer, _advance, _l2, _scalar, _signed, check_nonnegative

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """``torch.optim.ASGD``: state ``step``, ``eta``, ``mu`` (0-d) and ``ax``."""

    _scalar_keys = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, o):
        if "lr" in o:
            check_nonnegative("ASGD", "lr", "learning rate", o["lr"])
        check_nonnegative("ASGD", "weight_decay", "weight_decay value", o.get("weight_decay", 0))

    def _init_state(self, group, param):
        return {"step": _scalar(0.0), "eta": _scalar(float(group["lr"])), "mu": _scalar(1.0),
                "ax": _xp(param).zeros_like(param)}

    def _update(self, group, param, grad, state, fresh, grad_owned):
        step = _advance(state["step"])
        lr, lambd = float(group["lr"]), float(group["lambd"])
        g = _l2(_signed(grad, group["maximize"], grad_owned), param,
                float(group["weight_decay"]))
        eta = float(state["eta"].reshape(-1)[0])
        mu = float(state["mu"].reshape(-1)[0])
        param *= 1 - lambd * eta
        param -= eta * g
        ax = state["ax"]
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        state["eta"][...] = lr / ((1 + lambd * lr * step) ** float(group["alpha"]))
        state["mu"][...] = 1 / max(1, step - float(group["t0"]))
