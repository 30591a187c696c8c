"""Adversarial examples (seed 003, "Fooling Deep CNNs"): small, deliberate input changes that
change a network's prediction.

* FGSM (Goodfellow et al. 2015): x′ = clip(x + ε · sign(∇ₓ L(f(x), y))), one step;
  targeted: x′ = clip(x − ε · sign(∇ₓ L(f(x), t))), towards class t.
* PGD (Madry et al. 2018): from a random start in the ε-ball, repeat
  x ← Π_{‖x − x₀‖∞ ≤ ε}(x + α · sign(∇ₓ L)), clipped to the valid pixel range.

Attacks run in pixel space: the model is switched to eval mode for the attack (and restored),
and a ``normalize=(mean, std)`` is applied inside, so ε is in pixel units and neither batch
norm nor dropout silently weakens the attack.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import autograd
from ..ops.loss import cross_entropy
from ..tensor import Tensor, as_tensor, rand_like
from .optimize import eval_mode


def _check(op, x, y, eps, clamp):
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(f"{op}: x must be a floating-point Tensor, got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    if not isinstance(eps, numbers.Real) or eps < 0:
        raise ValueError(f"{op}: eps must be >= 0, got {eps!r}")
    y = y if isinstance(y, Tensor) else as_tensor(np.asarray(y, dtype=np.int64))
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"{op}: expected one label per example ({x.shape[0]}), got labels of "
                         f"shape {tuple(y.shape)}")
    if clamp is not None and clamp[0] >= clamp[1]:
        raise ValueError(f"{op}: clamp must be (low, high) with low < high, got {clamp}")
    return y


def _logits(model, x, normalize):
    if normalize is not None:
        mean, std = normalize
        x = (x - mean) / std
    return model(x)


def _loss_grad_sign(model, x, y, normalize, targeted):
    x = x.detach().requires_grad_(True)
    logits = _logits(model, x, normalize)
    k = logits.shape[1]
    labels = y.numpy()
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise IndexError(f"attack: label {int(labels[(labels < 0) | (labels >= k)][0])} is out "
                         f"of range for a model with {k} classes")
    loss = cross_entropy(logits, y, reduction="sum")
    g, = autograd.grad(loss, [x])
    return -g.sign() if targeted else g.sign()


def _project(x, x0, eps, clamp):
    x = (x - x0).clamp(-eps, eps) + x0
    return x.clamp(*clamp) if clamp is not None else x


def fgsm(model, x, y, eps, targeted=False, clamp=(0.0, 1.0), normalize=None):
    """One signed-gradient step of size ε (away from y, or towards the target y if targeted)."""
    y = _check("fgsm", x, y, eps, clamp)
    with eval_mode(model):
        step = _loss_grad_sign(model, x, y, normalize, targeted)
    x_adv = x.detach() + eps * step
    return (x_adv.clamp(*clamp) if clamp is not None else x_adv).detach()


def pgd(model, x, y, eps, alpha, steps, random_start=True, targeted=False, clamp=(0.0, 1.0),
        normalize=None):
    """Projected gradient descent in the L∞ ball of radius ε around x."""
    y = _check("pgd", x, y, eps, clamp)
    if not isinstance(alpha, numbers.Real) or alpha <= 0:
        raise ValueError(f"pgd: alpha (step size) must be > 0, got {alpha!r}")
    if not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"pgd: steps must be a positive integer, got {steps!r}")
    x0 = x.detach()
    adv = x0 + (rand_like(x0) * 2 - 1) * eps if random_start else x0
    adv = _project(adv, x0, eps, clamp)
    with eval_mode(model):
        for _ in range(int(steps)):
            adv = _project(adv + alpha * _loss_grad_sign(model, adv, y, normalize, targeted),
                           x0, eps, clamp).detach()
    return adv


def accuracy_under_attack(model, x, y, eps_values, attack="fgsm", batch_size=500,
                          normalize=None, **attack_kwargs):
    """Test accuracy at each ε (ε = 0: clean accuracy): the accuracy-versus-ε curve."""
    attacks = {"fgsm": fgsm, "pgd": pgd}
    if attack not in attacks:
        raise ValueError(f"accuracy_under_attack: attack must be one of {sorted(attacks)}, got "
                         f"{attack!r}")
    y = y if isinstance(y, Tensor) else as_tensor(np.asarray(y, dtype=np.int64))
    out = []
    for eps in eps_values:
        correct = 0
        for lo in range(0, x.shape[0], batch_size):
            xb, yb = x[lo:lo + batch_size], y[lo:lo + batch_size]
            xa = attacks[attack](model, xb, yb, eps, normalize=normalize, **attack_kwargs) \
                if eps > 0 else xb
            with eval_mode(model), autograd.no_grad():
                pred = _logits(model, xa, normalize).numpy().argmax(1)
            correct += int((pred == yb.numpy()).sum())
        out.append(correct / x.shape[0])
    return out
