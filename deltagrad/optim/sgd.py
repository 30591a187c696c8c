"""Stochastic gradient descent with momentum and Nesterov momentum (``torch.optim.SGD``)."""
from __future__ import annotations

from .optimizer import Optimizer, _l2, _signed, check_nonnegative


class SGD(Optimizer):
    r"""Gradient descent, optionally with (Nesterov) momentum.

    Notes (seed 003, "Momentum Based Gradient Descent"): ``U_t = ∇w_t + β U_{t-1}``,
    ``w_{t+1} = w_t − η U_t`` — PyTorch's form with ``momentum = β`` and ``dampening = 0``.
    Seed 002 (2.2.1) writes the same rule with the learning rate inside the velocity,
    ``v_t = ρ v_{t-1} + α∇J``, ``θ ← θ − v_t``; for a constant η the two give the same
    iterates. With dampening τ the buffer is ``b_t = μ b_{t-1} + (1 − τ) g_t`` (``b_1 = g_1``).

    Nesterov (seed 003, NAG): the note evaluates the gradient at the look-ahead point,
    ``U_t = ∇(w_t − βU_{t-1}) + βU_{t-1}``. Like PyTorch (Sutskever et al., 2013) the code uses
    the equivalent re-parametrised form that needs no second gradient evaluation:
    ``w ← w − η (g_t + μ b_t)``.

    Weight decay adds ``λθ`` to the gradient; ``maximize`` ascends.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach)
        super().__init__(params, defaults)

    def _check(self, o):
        if "lr" in o:
            check_nonnegative("SGD", "lr", "learning rate", o["lr"])
        check_nonnegative("SGD", "momentum", "momentum value", o.get("momentum", 0))
        check_nonnegative("SGD", "weight_decay", "weight_decay value", o.get("weight_decay", 0))
        if o.get("nesterov") and (o.get("momentum", 0) <= 0 or o.get("dampening", 0) != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                             f"(SGD got momentum={o.get('momentum')}, "
                             f"dampening={o.get('dampening')})")

    def _init_state(self, group, param):
        return {"momentum_buffer": param.copy()} if group["momentum"] != 0 else {}

    def _update(self, group, param, grad, state, fresh, grad_owned):
        lr, momentum = float(group["lr"]), float(group["momentum"])
        g = _signed(grad, group["maximize"], grad_owned)
        g = _l2(g, param, float(group["weight_decay"]))
        if momentum != 0:
            buf = state["momentum_buffer"]
            if fresh:
                buf[...] = g
            else:
                buf *= momentum
                damp = 1 - float(group["dampening"])
                buf += g if damp == 1 else damp * g
            g = g + momentum * buf if group["nesterov"] else buf
        param += -lr * g
