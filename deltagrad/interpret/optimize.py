"""Optimising over images (seed 003): keep the network fixed and move the pixels.

* class-model visualisation (Simonyan et al. 2014): argmax_I S_c(I) − λ‖I‖², S_c the class
  score before the softmax, starting from a zero image;
* single-neuron activation maximisation: the same with a unit of any layer in place of S_c;
* feature inversion (Mahendran & Vedaldi 2015): argmin_I ‖Φ(I) − Φ(I₀)‖² + λ_TV TV(I) + λ‖I‖²,
  Φ a layer's embedding, TV(I) = Σ ((I_{i+1,j} − I_{ij})² + (I_{i,j+1} − I_{ij})²)^{β/2};
* Deep Dream: start from a real image and climb ½‖h‖² of a layer, I ← I + η ∇L / mean|∇L|;
* fooling images (Nguyen et al. 2015): grow an image from noise until the network is sure of a
  class.

Each is one objective handed to :func:`optimize_image`. The model is put in eval mode for the
duration (batch norm and dropout must not change while the image moves) and its parameters get
no ``.grad``.
"""
from __future__ import annotations

import contextlib
import numbers

import numpy as np

from .. import autograd
from ..nn.module import Module
from ..tensor import Tensor, as_tensor, zeros
from .attribution import layer_activation, select_target


@contextlib.contextmanager
def eval_mode(model):
    """``model.eval()`` inside the block, the previous train/eval flags restored after it."""
    if not isinstance(model, Module):
        yield model
        return
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in flags:
            m.training = training


def _positive(value, name, op, integer=False):
    ok = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if not ok or isinstance(value, bool) or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        raise ValueError(f"{op}: {name} must be {kind}, got {value!r}")


def optimize_image(objective, init, steps=100, lr=0.1, normalize_grad=False, clamp=None,
                   optimizer="sgd", monotone=False, op="optimize_image"):
    """Gradient ascent on ``objective(I)`` (a scalar Tensor): I ← I + η ∇J (or η ∇J / mean|∇J|
    with ``normalize_grad``), or Adam's step with ``optimizer="adam"``; returns the image and J
    before each step and after the last. ``monotone=True`` backtracks (η halved, up to 30 times)
    whenever a step would lower J, so J never decreases."""
    _positive(steps, "steps", op, integer=True)
    _positive(lr, "lr", op)
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"{op}: optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    x = init.detach().clone()
    adam = None
    if optimizer == "adam":
        from ..optim import Adam
        x.requires_grad_(True)
        adam = Adam([x], lr=lr, maximize=True)
    history = []
    for _ in range(int(steps)):
        x.requires_grad_(True)
        value = objective(x)
        grad, = autograd.grad(value, [x])
        history.append(float(value.item()))
        g = grad.detach()
        if normalize_grad:
            g = g / (g.abs().mean() + 1e-8)
        if adam is not None:
            x.grad = g
            adam.step()
        elif monotone:
            x = _backtrack(objective, x.detach(), g, lr, float(value.item()), clamp)
        else:
            x = (x.detach() + lr * g)
        if clamp is not None:
            with autograd.no_grad():
                x.clamp_(*clamp)
    with autograd.no_grad():
        history.append(float(objective(x).item()))
    return x.detach(), history


def _backtrack(objective, x, g, lr, current, clamp):
    """x + η g with η halved until J does not drop (Armijo-style backtracking without the
    sufficient-decrease constant); x itself if no step of the 30 keeps J."""
    step = lr
    with autograd.no_grad():
        for _ in range(30):
            cand = x + step * g
            if clamp is not None:
                cand = cand.clamp(*clamp)
            if float(objective(cand).item()) >= current:
                return cand
            step /= 2
    return x


def _start(input_shape, init, op):
    if init is not None:
        return init.detach()
    if not isinstance(input_shape, (tuple, list)) or not all(
            isinstance(d, numbers.Integral) and d > 0 for d in input_shape):
        raise ValueError(f"{op}: input_shape must be positive sizes such as (1, 28, 28), got "
                         f"{input_shape!r}")
    return zeros((1,) + tuple(input_shape))


def class_model_visualization(model, target, input_shape=None, steps=200, lr=0.1, l2=1e-2,
                              init=None):
    """argmax_I S_c(I) − λ‖I‖² from a zero image (seed 003: "Score_c(I) − λ·R(I)"), by
    gradient ascent that backtracks rather than let the objective fall.

    Returns (image of shape (1, *input_shape), objective before each step and after the last).
    """
    op = "class_model_visualization"
    if l2 < 0:
        raise ValueError(f"{op}: l2 (λ) must be >= 0, got {l2}")
    x0 = _start(input_shape, init, op)
    with eval_mode(model):
        return optimize_image(lambda x: select_target(model(x), target, op).sum()
                              - l2 * (x * x).sum(), x0, steps, lr, monotone=True, op=op)


def _unit(act, unit, op):
    """One unit of a layer's output (channel c averaged over positions, or an exact index)."""
    if isinstance(unit, numbers.Integral):
        if not 0 <= unit < act.shape[1]:
            raise IndexError(f"{op}: unit {unit} is out of range for a layer with "
                             f"{act.shape[1]} channels/units")
        h = act[:, int(unit)]
        return h.mean() if h.ndim > 1 else h.sum()
    index = tuple(unit)
    if len(index) != act.ndim - 1:
        raise IndexError(f"{op}: unit index {index} needs {act.ndim - 1} numbers for a layer "
                         f"output of shape {tuple(act.shape)}")
    return act[(slice(None),) + index].sum()


def activation_maximization(model, layer, unit, input_shape=None, steps=200, lr=0.1, l2=1e-2,
                            init=None):
    """argmax_I h(I) − λ‖I‖² for one unit h of ``layer`` (a channel: its mean activation)."""
    op = "activation_maximization"
    x0 = _start(input_shape, init, op)
    with eval_mode(model):
        def objective(x):
            _, act = layer_activation(model, layer, x, method=op)
            return _unit(act, unit, op) - l2 * (x * x).sum()
        return optimize_image(objective, x0, steps, lr, op=op)


def total_variation(x, beta=2.0):
    """TV(I) = Σ_{ij} ((I_{i+1,j} − I_{ij})² + (I_{i,j+1} − I_{ij})²)^{β/2} over the last two axes."""
    dh = x[..., 1:, :-1] - x[..., :-1, :-1]
    dw = x[..., :-1, 1:] - x[..., :-1, :-1]
    sq = dh * dh + dw * dw
    return sq.sum() if beta == 2 else ((sq + 1e-8) ** (beta / 2)).sum()


def feature_inversion(model, layer, image, steps=200, lr=0.05, tv_weight=1e-2, l2=0.0,
                      init=None, optimizer="adam"):
    """argmin_I ‖Φ(I) − Φ(I₀)‖² + λ_TV TV(I) + λ‖I‖² from a small random image; returns
    (image, loss history). Deeper layers give more abstract reconstructions (seed 003)."""
    op = "feature_inversion"
    if tv_weight < 0 or l2 < 0:
        raise ValueError(f"{op}: tv_weight and l2 must be >= 0, got {tv_weight}, {l2}")
    with eval_mode(model), autograd.no_grad():
        _, target = layer_activation(model, layer, image.detach(), method=op)
    target = target.detach()
    if init is None:
        rng = np.random.default_rng(0)
        init = as_tensor((rng.standard_normal(tuple(image.shape)) * 0.01).astype(
            image.numpy().dtype))

    def negative_loss(x):
        _, phi = layer_activation(model, layer, x, method=op)
        d = phi - target
        return -((d * d).sum() + tv_weight * total_variation(x) + l2 * (x * x).sum())

    with eval_mode(model):
        x, history = optimize_image(negative_loss, init, steps, lr, optimizer=optimizer, op=op)
    return x, [-h for h in history]


def deep_dream(model, layer, image, steps=20, lr=0.02, channel=None):
    """Deep Dream: I ← I + η ∇L/mean|∇L| with L = ½‖h‖² of the layer (or of one channel),
    starting from a real image; returns (image, L before each step and after the last)."""
    op = "deep_dream"

    def objective(x):
        _, act = layer_activation(model, layer, x, method=op)
        if channel is not None:
            if not 0 <= channel < act.shape[1]:
                raise IndexError(f"{op}: channel {channel} is out of range for a layer with "
                                 f"{act.shape[1]} channels")
            act = act[:, channel]
        return 0.5 * (act * act).sum()

    with eval_mode(model):
        return optimize_image(objective, image, steps, lr, normalize_grad=True, op=op)


def receptive_window(model, layer, input_shape):
    """(size R, jump J, padding P) per spatial axis of ``layer``'s units: unit i sees input
    positions [i·J − P, i·J − P + R − 1]. Composed over the conv/pool layers called up to and
    including ``layer`` (R ← R + (k − 1)·d·J, P ← P + p·J, J ← s·J); exact for a chain of
    layers, an upper bound where branches run side by side."""
    op = "receptive_window"
    calls = []
    hooks = [m.register_forward_hook(lambda mod, i, o: calls.append(mod))
             for m in model.modules() if not list(m.children())]
    try:
        with eval_mode(model), autograd.no_grad():
            x = zeros((1,) + tuple(input_shape))
            layer_activation(model, layer, x, method=op)
    finally:
        for h in hooks:
            h.remove()
    nd = len(input_shape) - 1
    size, jump, pad = [1] * nd, [1] * nd, [0] * nd
    for m in calls:
        k = getattr(m, "kernel_size", None)
        if k is not None and not getattr(m, "transposed", False):
            k, s, p, d = (_tuple(getattr(m, a, dflt), nd) for a, dflt in
                          (("kernel_size", 1), ("stride", None), ("padding", 0), ("dilation", 1)))
            s = k if s == (None,) * nd else s
            for a in range(nd):
                size[a] += (k[a] - 1) * d[a] * jump[a]
                pad[a] += p[a] * jump[a]
                jump[a] *= s[a]
        if m is layer:
            break
    return tuple(size), tuple(jump), tuple(pad)


def _tuple(v, n):
    if v is None:
        return (None,) * n
    if isinstance(v, str):          # padding="same"/"valid" is not a number
        raise ValueError(f"receptive_window: padding={v!r} is not supported; use numbers")
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def top_activating_patches(model, layer, inputs, channel, k=9, batch_size=256):
    """The k dataset patches that drive channel ``channel`` of ``layer`` hardest (seed 003:
    "feed in images ... identify the images which cause these neurons to fire, then trace back
    to the pattern"): one list entry per patch with the image index, the unit's position, its
    activation, the receptive-field box (clipped to the image) and the patch itself."""
    op = "top_activating_patches"
    _positive(k, "k", op, integer=True)
    x = inputs if isinstance(inputs, Tensor) else as_tensor(np.asarray(inputs))
    acts = []
    with eval_mode(model), autograd.no_grad():
        for lo in range(0, x.shape[0], batch_size):
            _, a = layer_activation(model, layer, x[lo:lo + batch_size], method=op)
            if not 0 <= channel < a.shape[1]:
                raise IndexError(f"{op}: channel {channel} is out of range for a layer with "
                                 f"{a.shape[1]} channels")
            acts.append(a[:, channel].numpy())
    a = np.concatenate(acts)
    size, jump, pad = receptive_window(model, layer, tuple(x.shape[1:]))
    flat = a.reshape(-1)
    order = np.argsort(-flat, kind="stable")[:int(k)]
    images = x.numpy()
    out = []
    for f in order:
        idx = np.unravel_index(f, a.shape)
        n, pos = int(idx[0]), tuple(int(i) for i in idx[1:])
        box = tuple(slice(max(0, p * j - q), min(dim, p * j - q + r))
                    for p, j, q, r, dim in zip(pos, jump, pad, size, x.shape[2:]))
        out.append({"index": n, "position": pos, "activation": float(flat[f]), "box": box,
                    "patch": images[(n, slice(None)) + box]})
    return out


def filters_as_images(weight):
    """First-layer filters as images (seed 003: "plot the kernels/filters as images"): a conv
    weight (out, in, kh, kw) → (out, kh, kw, in) with each filter scaled to [0, 1]."""
    if isinstance(weight, Module):
        weight = weight.weight
    w = weight.detach().numpy() if isinstance(weight, Tensor) else np.asarray(weight)
    if w.ndim != 4:
        raise ValueError(f"filters_as_images: expected a conv weight (out, in, kh, kw), got shape "
                         f"{w.shape}")
    lo = w.min(axis=(1, 2, 3), keepdims=True)
    span = w.max(axis=(1, 2, 3), keepdims=True) - lo
    scaled = np.divide(w - lo, span, out=np.full_like(w, 0.5), where=span > 0)
    return scaled.transpose(0, 2, 3, 1)


def fooling_image(model, target, input_shape, steps=100, lr=0.1, confidence=0.99, seed=0,
                  clamp=(0.0, 1.0)):
    """Grow an image from uniform noise by ascending log p(target | I) until the network gives
    it probability ≥ ``confidence``; returns (image, the target's probability per step)."""
    op = "fooling_image"
    if not 0 < confidence < 1:
        raise ValueError(f"{op}: confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    x = as_tensor(rng.uniform(*clamp, size=(1,) + tuple(input_shape)).astype(np.float32))
    probs = []
    from ..ops.activation import log_softmax
    with eval_mode(model):
        for _ in range(int(steps)):
            x.requires_grad_(True)
            logp = select_target(log_softmax(model(x), 1), target, op).sum()
            probs.append(float(np.exp(logp.item())))
            if probs[-1] >= confidence:
                break
            g, = autograd.grad(logp, [x])
            x = (x.detach() + lr * g.sign()).clamp(*clamp)
    return x.detach(), probs
