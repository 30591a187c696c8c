r"""The Adam family — Adam, AdamW, Adamax, NAdam, RAdam — on one moment-update core.

Every member runs ``_adam_moments`` (sign for ``maximize``, weight decay, first moment
``m_t = β₁ m_{t-1} + (1 − β₁) g_t`` and a second moment: the squared average
``v_t = β₂ v_{t-1} + (1 − β₂) g_t²`` or the max norm ``u_t = max(β₂ u_{t-1}, |g_t| + ε)``)
and then only its own parameter step (``_apply``).

Notes: seed 002 (2.2.3) and seed 004 (2.3.2) state Adam correctly and the code follows them
(with ε outside the root, as in PyTorch and seed 002's pseudocode). Seed 003's Adam section
writes the bias corrections as ``m_t/(1 − β₁)^t`` (the power belongs on β₁: ``1 − β₁^t``) and
the update as ``w − η ∇w_t/√(m̂_t + ε)`` (the numerator should be ``m̂_t`` and the root is of
``v̂_t``); its Adamax puts ``|∇w_t|`` into the first moment and squares it in the second, and its
NAdam takes a square root of the second moment twice. The code implements the standard
algorithms (Kingma & Ba 2015; Dozat 2016; Loshchilov & Hutter 2019 for AdamW), i.e. PyTorch's
documented updates, so that every step equals ``torch.optim``'s.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from .. import kernels, threads
from ..backend import array_module as _xp
from ..threads import parallel_rows
from .optimizer import (Optimizer, _advance, _lerp_, _scalar, _signed, check_betas,
                        check_nonnegative)


def _adam_moments(param, grad, exp_avg, second, tmp, *, lr, beta1, beta2, eps, weight_decay,
                  decoupled, maximize, owned, kind):
    """The shared core; returns the gradient ``g_t`` the moments were updated with.

    ``decoupled`` weight decay (AdamW) shrinks the weights, ``θ ← θ(1 − ηλ)``; otherwise
    ``g ← g + λθ`` (L2). ``kind`` is ``"square"`` (Adam, NAdam) or ``"inf"`` (Adamax).
    ``tmp`` holds three work arrays like ``param``; ``tmp[2]`` may come back as ``g``.
    """
    xp = _xp(param)
    g = _signed(grad, maximize, owned)
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            g = xp.add(g, xp.multiply(param, weight_decay, out=tmp[2]), out=tmp[2])
    _lerp_(exp_avg, g, 1 - beta1, tmp[0])
    second *= beta2
    t = tmp[0]
    if kind == "square":
        xp.multiply(g, 1 - beta2, out=t)
        t *= g
        second += t
    else:
        xp.abs(g, out=t)
        t += eps
        xp.maximum(second, t, out=second)
    return g


class _AdamFamily(Optimizer):
    """Options, checks, state and the shared step; subclasses give ``_apply``."""

    _second = "exp_avg_sq"
    _numpy_seconds = 0.0  # time spent in NumPy steps (see _worth_compiling)
    _kind = "square"

    def _check(self, o):
        name = type(self).__name__
        if "lr" in o:
            check_nonnegative(name, "lr", "learning rate", o["lr"])
        check_nonnegative(name, "eps", "epsilon value", o.get("eps", 0))
        check_betas(name, o.get("betas", (0.9, 0.999)))
        check_nonnegative(name, "weight_decay", "weight_decay value", o.get("weight_decay", 0))

    def _init_state(self, group, param):
        xp = _xp(param)
        st = {"step": _scalar(0.0), "exp_avg": xp.zeros_like(param),
              self._second: xp.zeros_like(param)}
        if group.get("amsgrad"):
            st["max_exp_avg_sq"] = xp.zeros_like(param)
        return st

    _compiled_scalars = None  # while a group steps compiled: {(step, dtype): kernel scalars}

    def _step_each(self, group, params):
        """The group's parameters, with whether the step runs compiled decided once and the
        kernel's scalars computed once per step count and dtype (not once per parameter)."""
        compiled = _compiled(self)
        self._compiled_scalars = {} if compiled else None
        try:
            super()._step_each(group, params)
        finally:
            self._compiled_scalars = None

    def _update(self, group, param, grad, state, fresh, grad_owned):
        step = _advance(state["step"])
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if _fused_step(self, group, param, grad, state, step, lr, beta1, beta2):
            return
        started = time.thread_time()
        tmp = self._scratch(param, 3)
        g = _adam_moments(param, grad, state["exp_avg"], state[self._second], tmp, lr=lr,
                          beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                          weight_decay=float(group["weight_decay"]),
                          decoupled=group.get("decoupled_weight_decay", False),
                          maximize=group["maximize"], owned=grad_owned, kind=self._kind)
        self._apply(group, param, g, state, step, lr, beta1, beta2, tmp)
        self._numpy_seconds += time.thread_time() - started


#: what switching to the compiled step costs once when Numba is not loaded yet, in CPU time,
#: measured on the project's machine (2 cores, load ~3): importing Numba 0.14 s, loading the
#: cached kernel and the first call 0.31 s
COMPILED_STEP_COST_S = 0.45
#: the compiled step's time as a fraction of the NumPy step's, measured alongside: the Adam
#: steps of one Fashion-MNIST epoch of the 784-256-128-10 MLP (469 steps) take 0.116 s compiled
#: and 0.30 s in NumPy
COMPILED_STEP_FRACTION = 0.39


def _worth_compiling(opt) -> bool:
    """Ski rental: the rent is what each NumPy step loses to the compiled one, its time
    ``t`` × (1 − COMPILED_STEP_FRACTION); keep paying it until it adds up to what the switch
    costs, then switch, so a short run (one epoch of a small model) never pays for loading
    Numba and a long one never pays more than twice the least it could have. The steps are
    timed in this thread's CPU time, so that other processes slowing the machine do not push a
    short run over. Free when another kernel has loaded Numba already."""
    forgone = opt._numpy_seconds * (1 - COMPILED_STEP_FRACTION)
    return "numba" in sys.modules or forgone >= COMPILED_STEP_COST_S


def _compiled(opt) -> bool:
    """Whether the step may run compiled (the arrays are checked per parameter)."""
    return type(opt)._apply is Adam._apply and _worth_compiling(opt) and \
        kernels.get_backend() == "numba"  # (asking for the backend imports Numba)


def _fused_step(opt, group, param, grad, state, step, lr, beta1, beta2) -> bool:
    """Adam/AdamW as one compiled pass (``kernels/numba_optim.py``, the same numbers as the
    NumPy step below) when the kernel backend is Numba and the arrays are plain contiguous
    float32/float64 NumPy arrays; split over the threads for large parameters. Returns
    whether it ran."""
    shared = opt._compiled_scalars  # set for the parameters of one group's step
    if shared is None and not _compiled(opt):
        return False
    arrays = [param, grad, state["exp_avg"], state["exp_avg_sq"]]
    if group["amsgrad"]:
        arrays.append(state["max_exp_avg_sq"])
    dtype = param.dtype
    if dtype not in (np.float32, np.float64) or any(
            type(a) is not np.ndarray or a.dtype != dtype or not a.flags.c_contiguous
            for a in arrays):
        return False
    from ..kernels.numba_optim import adam_step
    key = (step, dtype)
    scalars = shared.get(key) if shared is not None else None
    if scalars is None:
        scalars = _kernel_scalars(group, dtype.type, step, lr, beta1, beta2)
        if shared is not None:
            shared[key] = scalars
    flat = [a.reshape(-1) for a in arrays]
    vmax = flat[4] if group["amsgrad"] else flat[3]
    if param.size < 2 * threads.MIN_SPLIT_ELEMENTS:  # (parallel_rows would not split it)
        adam_step(flat[0], flat[1], flat[2], flat[3], vmax, *scalars)
        return True
    parallel_rows(param.size, 1, lambda lo, hi: adam_step(
        flat[0][lo:hi], flat[1][lo:hi], flat[2][lo:hi], flat[3][lo:hi], vmax[lo:hi], *scalars))
    return True


def _kernel_scalars(group, t, step, lr, beta1, beta2):
    """``adam_step``'s scalars in the parameters' dtype ``t``: the same for every parameter
    of a group at one step."""
    wd = float(group["weight_decay"])
    decoupled = group.get("decoupled_weight_decay", False)
    weight = 1 - beta1                            # _lerp_'s two forms, the same scalars
    small = abs(weight) < 0.5
    return (t(-1.0 if group["maximize"] else 1.0), t(0.0 if decoupled else wd),
            t(1 - lr * wd if decoupled and wd != 0 else 1.0),
            t(weight if small else 1 - weight), small, t(beta2), t(1 - beta2),
            t((1 - beta2 ** step) ** 0.5), t(float(group["eps"])),
            t(-(lr / (1 - beta1 ** step))), bool(group["amsgrad"]))


class Adam(_AdamFamily):
    r"""Adam: ``θ_t = θ_{t-1} − η m̂_t / (√v̂_t + ε)``, ``m̂_t = m_t/(1 − β₁^t)``,
    ``v̂_t = v_t/(1 − β₂^t)`` (seed 002, 2.2.3; seed 004, 2.3.2).

    ``amsgrad`` divides by the running maximum of ``v̂`` instead (it never decreases);
    ``decoupled_weight_decay=True`` is AdamW.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _apply(self, group, param, g, state, step, lr, beta1, beta2, tmp):
        xp = _xp(param)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        step_size = lr / (1 - beta1 ** step)
        v = state["exp_avg_sq"]
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        denom = xp.sqrt(v, out=tmp[1])
        denom /= bias_correction2_sqrt
        denom += float(group["eps"])
        upd = xp.multiply(state["exp_avg"], -step_size, out=tmp[0])
        upd /= denom
        param += upd


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay, ``θ ← θ(1 − ηλ)`` before the Adam step
    (Loshchilov & Hutter 2019; seed 003 lists it among the gradient-based schemes)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, decoupled_weight_decay=True)


class Adamax(_AdamFamily):
    r"""Adamax: Adam with the infinity norm, ``u_t = max(β₂ u_{t-1}, |g_t| + ε)``,
    ``θ_t = θ_{t-1} − η/(1 − β₁^t) · m_t/u_t`` (seed 003, "Introducing Max norm in Adam").

    As the note says, ``u_t`` needs no bias correction. (The note's ``|∇w_t|`` in the first
    moment and ``|∇w_t|²`` in the max are slips; Kingma & Ba's Adamax is implemented.)
    """

    _second = "exp_inf"
    _kind = "inf"

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _apply(self, group, param, g, state, step, lr, beta1, beta2, tmp):
        clr = lr / (1 - beta1 ** step)
        upd = _xp(param).multiply(state["exp_avg"], -clr, out=tmp[0])
        upd /= state["exp_inf"]
        param += upd


class NAdam(_AdamFamily):
    r"""NAdam: Adam with Nesterov momentum (Dozat 2016; seed 003, "NADAM").

    With the momentum schedule ``μ_t = β₁(1 − ½·0.96^{tψ})`` (ψ = ``momentum_decay``):
    ``θ_t = θ_{t-1} − η(1 − μ_t)/(1 − Πμ_{≤t}) · g_t/(√v̂_t + ε)
    − η μ_{t+1}/(1 − Πμ_{≤t+1}) · m_t/(√v̂_t + ε)``.

    The note's last line, ``η/√(v̂ + ε) (β₁ m̂ + (1 − β₁)∇w_t)``, is this with a constant μ; its
    ``v`` line takes a square root that the update then takes again (kept once here).
    """

    _scalar_keys = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, o):
        super()._check(o)
        check_nonnegative("NAdam", "momentum_decay", "momentum_decay value",
                          o.get("momentum_decay", 0))

    def _init_state(self, group, param):
        st = super()._init_state(group, param)
        st["mu_product"] = _scalar(1.0)
        return st

    def _apply(self, group, param, g, state, step, lr, beta1, beta2, tmp):
        xp = _xp(param)
        psi = float(group["momentum_decay"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        mp = state["mu_product"]
        mp *= mu
        mu_product = float(mp.reshape(-1)[0])
        mu_product_next = mu_product * mu_next
        v = state["exp_avg_sq"]
        denom = xp.divide(v, 1 - beta2 ** step, out=tmp[1])
        xp.sqrt(denom, out=denom)
        denom += float(group["eps"])
        upd = xp.multiply(g, -lr * (1.0 - mu) / (1.0 - mu_product), out=tmp[0])
        upd /= denom
        param += upd
        upd = xp.multiply(state["exp_avg"], -lr * mu_next / (1.0 - mu_product_next), out=tmp[0])
        upd /= denom
        param += upd


class RAdam(_AdamFamily):
    r"""RAdam: Adam with the variance of the adaptive rate rectified (Liu et al. 2020).

    With ρ_∞ = 2/(1 − β₂) − 1 and ρ_t = ρ_∞ − 2tβ₂^t/(1 − β₂^t) (the length of the
    approximated simple moving average): while ρ_t ≤ 5 the step is plain momentum,
    ``θ ← θ − η m̂_t``; afterwards ``θ ← θ − η m̂_t · r_t · √(1 − β₂^t)/(√v_t + ε)`` with
    ``r_t = √((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t))``.
    ``decoupled_weight_decay=True`` shrinks θ(1 − ηλ) as AdamW does.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _apply(self, group, param, g, state, step, lr, beta1, beta2, tmp):
        xp = _xp(param)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        upd = xp.divide(state["exp_avg"], bias_correction1, out=tmp[0])
        upd *= lr
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            denom = xp.sqrt(state["exp_avg_sq"], out=tmp[1])
            denom += float(group["eps"])
            adaptive = xp.divide(bias_correction2 ** 0.5, denom, out=tmp[1])
            upd *= adaptive
            upd *= rect
        param -= upd
