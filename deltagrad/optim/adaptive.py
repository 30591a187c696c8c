"""Per-coordinate adaptive learning rates: Adagrad, RMSprop, Adadelta and the notes' MaxProp.

Each keeps a running measure ``v_t`` of past gradient sizes and divides the step by it, so
coordinates with small (sparse) gradients take larger steps (seed 003, "AdaGrad" onwards).
"""
from __future__ import annotations

from ..backend import array_module as _xp
from ..tensor import _make
from .optimizer import (Optimizer, _advance, _l2, _lerp_, _scalar, _signed, _check_real,
                        check_nonnegative)


def _common_checks(opt, o, eps_name="epsilon value"):
    if "lr" in o:
        check_nonnegative(opt, "lr", "learning rate", o["lr"])
    if "eps" in o:
        check_nonnegative(opt, "eps", eps_name, o["eps"])
    check_nonnegative(opt, "weight_decay", "weight_decay value", o.get("weight_decay", 0))


class Adagrad(Optimizer):
    r"""Adagrad (seed 003): ``v_t = v_{t-1} + (∇w_t)²``, ``w_{t+1} = w_t − η ∇w_t / (√v_t + ε)``.

    The note writes ``η/√(v_t + ε)``; PyTorch (and this code) adds ε outside the root,
    ``√v_t + ε``, so the numbers match ``torch.optim.Adagrad``. The learning rate decays as
    ``η_t = η / (1 + (t − 1)·lr_decay)``; ``v_0 = initial_accumulator_value``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:          # torch creates Adagrad's state eagerly
            for p in group["params"]:
                init = self._init_state(group, p._data)
                self.state[p].update({k: _make(v) for k, v in init.items()})

    def _check(self, o):
        _common_checks("Adagrad", o)
        check_nonnegative("Adagrad", "lr_decay", "lr_decay value", o.get("lr_decay", 0))
        check_nonnegative("Adagrad", "initial_accumulator_value",
                          "initial_accumulator_value value", o.get("initial_accumulator_value", 0))

    def _init_state(self, group, param):
        return {"step": _scalar(0.0),
                "sum": _xp(param).full(param.shape, float(group["initial_accumulator_value"]),
                                       dtype=param.dtype)}

    def _update(self, group, param, grad, state, fresh, grad_owned):
        step = _advance(state["step"])
        lr = float(group["lr"])
        g = _l2(_signed(grad, group["maximize"], grad_owned), param, float(group["weight_decay"]))
        clr = lr / (1 + (step - 1) * float(group["lr_decay"]))
        state["sum"] += g * g
        std = _xp(param).sqrt(state["sum"])
        std += float(group["eps"])
        param += (-clr * g) / std


class RMSprop(Optimizer):
    r"""RMSprop: ``v_t = α v_{t-1} + (1 − α)(∇w_t)²``, ``w ← w − η ∇w_t / (√v_t + ε)``.

    Seed 003 writes the average as ``β v_{t-1} + (1 − β)(∇w_t)`` (the square is dropped on
    that line, though the expansion right after it squares every term) and seed 002 (2.2.2)
    multiplies the step by a velocity ``v_t`` it never defines for RMSProp; the code follows
    the standard algorithm (Hinton's lecture, ``torch.optim.RMSprop``) with ``α`` for the
    note's β. ``centered`` divides by the estimated variance ``v_t − (E[g])²`` instead;
    ``momentum`` μ > 0 keeps a buffer ``b ← μ b + g/(√v_t + ε)`` and steps ``w ← w − η b``.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, foreach=None, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, o):
        _common_checks("RMSprop", o)
        check_nonnegative("RMSprop", "momentum", "momentum value", o.get("momentum", 0))
        check_nonnegative("RMSprop", "alpha", "alpha value", o.get("alpha", 0))

    def _init_state(self, group, param):
        zeros = _xp(param).zeros_like(param)
        st = {"step": _scalar(0.0), "square_avg": zeros}
        if group["momentum"] > 0:
            st["momentum_buffer"] = zeros.copy()
        if group["centered"]:
            st["grad_avg"] = zeros.copy()
        return st

    def _update(self, group, param, grad, state, fresh, grad_owned):
        _advance(state["step"])
        lr, alpha, momentum = float(group["lr"]), float(group["alpha"]), float(group["momentum"])
        g = _l2(_signed(grad, group["maximize"], grad_owned), param, float(group["weight_decay"]))
        sq = state["square_avg"]
        sq *= alpha
        sq += ((1 - alpha) * g) * g
        if group["centered"]:
            ga = state["grad_avg"]
            _lerp_(ga, g, 1 - alpha)
            avg = _xp(sq).sqrt(sq - ga * ga)
        else:
            avg = _xp(sq).sqrt(sq)
        avg += float(group["eps"])
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            param += -lr * buf
        else:
            param += (-lr * g) / avg


class Adadelta(Optimizer):
    r"""Adadelta: a step size that needs no learning rate, from two running averages.

    ``v_t = ρ v_{t-1} + (1 − ρ) g_t²``, ``Δw_t = −√(u_{t-1} + ε)/√(v_t + ε) · g_t``,
    ``u_t = ρ u_{t-1} + (1 − ρ) Δw_t²``, ``w_{t+1} = w_t + lr·Δw_t``.

    Seed 003 writes ``Δw_t = −√(v_{t-1}/v_t) ∇w_t`` and then reuses the name ``v_t`` for the
    average of the squared *updates*; that is Zeiler's algorithm with the two accumulators
    (``square_avg`` = v, ``acc_delta`` = u here, as in ``torch.optim.Adadelta``) given one name,
    and with ε dropped. The code keeps them apart and adds ε inside both roots.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, o):
        _common_checks("Adadelta", o)
        rho = o.get("rho", 0.9)
        _check_real("Adadelta", "rho", rho)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho} (Adadelta option 'rho' must be in [0, 1])")

    def _init_state(self, group, param):
        zeros = _xp(param).zeros_like(param)
        return {"step": _scalar(0.0), "square_avg": zeros, "acc_delta": zeros.copy()}

    def _update(self, group, param, grad, state, fresh, grad_owned):
        _advance(state["step"])
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        g = _l2(_signed(grad, group["maximize"], grad_owned), param, float(group["weight_decay"]))
        sq, acc = state["square_avg"], state["acc_delta"]
        sq *= rho
        sq += ((1 - rho) * g) * g
        xp = _xp(sq)
        std = xp.sqrt(sq + eps)
        delta = xp.sqrt(acc + eps)
        delta /= std
        delta *= g
        acc *= rho
        acc += ((1 - rho) * delta) * delta
        param += -lr * delta


class MaxProp(Optimizer):
    r"""MaxProp (seed 003): RMSprop with the max norm in place of the squared average.

    ``v_t = max(β v_{t-1}, |∇w_t|)``, ``w_{t+1} = w_t − η ∇w_t / (v_t + ε)``.

    The note's first line keeps ``√(v_t + ε)`` from RMSprop and then says "square root is
    removed as max norm is used now", which is what the code does: v already has the units of
    a gradient. A noisy zero gradient can no longer shrink ``v_t`` at once (it only decays by
    β per step), so one empty mini-batch does not inflate the step. There is no PyTorch twin.
    """

    def __init__(self, params, lr=1e-3, beta=0.99, eps=1e-8, weight_decay=0, *,
                 maximize=False, foreach=None):
        defaults = dict(lr=lr, beta=beta, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach)
        super().__init__(params, defaults)

    def _check(self, o):
        _common_checks("MaxProp", o)
        beta = o.get("beta", 0.99)
        _check_real("MaxProp", "beta", beta)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter: {beta} (MaxProp option 'beta' must be "
                             "in [0, 1))")

    def _init_state(self, group, param):
        return {"step": _scalar(0.0), "exp_inf": _xp(param).zeros_like(param)}

    def _update(self, group, param, grad, state, fresh, grad_owned):
        _advance(state["step"])
        lr = float(group["lr"])
        g = _l2(_signed(grad, group["maximize"], grad_owned), param, float(group["weight_decay"]))
        v = state["exp_inf"]
        v *= float(group["beta"])
        _xp(v).maximum(v, abs(g), out=v)
        param += (-lr * g) / (v + float(group["eps"]))
