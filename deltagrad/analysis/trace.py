"""Step-by-step backpropagation of a small fully connected network (SYLLABUS §5), in the
notation of seed 004 §2.4 / seed 002 §1.2.4:

forward   z⁽ˡ⁾ = W⁽ˡ⁾h⁽ˡ⁻¹⁾ + b⁽ˡ⁾,  h⁽ˡ⁾ = σ(z⁽ˡ⁾),  h⁽⁰⁾ = x
output    δ⁽ᴸ⁾ = ∂L/∂z⁽ᴸ⁾ (from the loss)
backward  δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾) ⊙ σ′(z⁽ˡ⁾)
gradients ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ h⁽ˡ⁻¹⁾ᵀ,  ∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾   (summed over a batch)
update    W⁽ˡ⁾ ← W⁽ˡ⁾ − η ∂L/∂W⁽ˡ⁾,  b⁽ˡ⁾ ← b⁽ˡ⁾ − η ∂L/∂b⁽ˡ⁾   (plain SGD)

:func:`trace` computes all of it with the δ recursion in float64 NumPy, checks every
gradient against autograd, and returns one record per step. :func:`trace_cli` is the
``deltagrad trace`` command (a JSON spec or flags; text, Markdown or LaTeX output).
"""
from __future__ import annotations

import argparse
import json
import math
import numbers
import sys
from dataclasses import dataclass

import numpy as np

from .. import backend, nn
from ..nn import functional as F
from ..tensor import Tensor, _make

__all__ = ["trace", "Trace", "TraceStep", "trace_cli", "format_trace", "LOSSES"]

LOSSES = ("mse", "half_sse", "bce", "cross_entropy")


# ----------------------------------------------------------------------------- activations
def _sigmoid(z):
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))),
                    np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def _activation(module) -> tuple:
    """(name, σ, σ′) of an elementwise activation module (σ′ as PyTorch's backward: ReLU′(0)
    = 0, LeakyReLU′(0) = the slope)."""
    if module is None or isinstance(module, nn.Identity):
        return "identity", (lambda z: z), (lambda z: np.ones_like(z))
    if isinstance(module, nn.Sigmoid):
        return "sigmoid", _sigmoid, (lambda z: _sigmoid(z) * (1 - _sigmoid(z)))
    if isinstance(module, nn.Tanh):
        return "tanh", np.tanh, (lambda z: 1 - np.tanh(z) ** 2)
    if isinstance(module, nn.ReLU):
        return "relu", (lambda z: np.maximum(z, 0)), (lambda z: (z > 0).astype(z.dtype))
    if isinstance(module, nn.LeakyReLU):
        a = module.negative_slope
        return ("leaky_relu", (lambda z: np.where(z > 0, z, a * z)),
                (lambda z: np.where(z > 0, 1.0, a)))
    if isinstance(module, nn.ELU):
        a = module.alpha
        return ("elu", (lambda z: np.where(z > 0, z, a * np.expm1(np.minimum(z, 0)))),
                (lambda z: np.where(z > 0, 1.0, a * np.exp(np.minimum(z, 0)))))
    if isinstance(module, nn.Arctan):
        return "arctan", np.arctan, (lambda z: 1 / (1 + z * z))
    if isinstance(module, nn.Softmax):
        def softmax(z):
            e = np.exp(z - z.max(-1, keepdims=True))
            return e / e.sum(-1, keepdims=True)
        return "softmax", softmax, None
    raise TypeError(f"trace: unsupported layer {type(module).__name__}; a traced network is "
                    "Linear layers, each followed by at most one of Identity, Sigmoid, Tanh, "
                    "ReLU, LeakyReLU, ELU, Arctan (Softmax only last)")


@dataclass
class _Layer:
    key: str            # prefix of named_parameters(): "" or "0." ...
    linear: object
    act_module: object
    act: str
    sigma: object
    dsigma: object

    @property
    def w_key(self):
        return self.key + "weight"

    @property
    def b_key(self):
        return None if self.linear.bias is None else self.key + "bias"


def _layers(model) -> list:
    """The model as [Linear → activation] layers, in order."""
    if isinstance(model, nn.Linear):
        return [_Layer("", model, None, *_activation(None))]
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"trace: expected an nn.Linear or an nn.Sequential (e.g. dg.models.MLP) "
                        f"of Linear and activation layers, got {type(model).__name__}")
    layers, pending = [], None
    for name, m in model.named_children():
        if isinstance(m, nn.Linear):
            if pending is not None:
                layers.append(pending)
            pending = _Layer(name + ".", m, None, *_activation(None))
        elif isinstance(m, nn.Identity):
            continue
        else:
            if pending is None or pending.act_module is not None:
                raise TypeError(f"trace: layer {name} ({type(m).__name__}) must follow a Linear "
                                "layer directly (one activation per Linear)")
            pending = _Layer(pending.key, pending.linear, m, *_activation(m))
    if pending is None:
        raise TypeError("trace: the model has no Linear layer")
    layers.append(pending)
    for l in layers[:-1]:
        if l.act == "softmax":
            raise TypeError("trace: Softmax is supported only as the output activation")
    return layers


# ----------------------------------------------------------------------------- records
@dataclass
class TraceStep:
    """One SGD step: forward values (z, h per layer l = 1..L), δ per layer, the gradients
    and the parameters after the update (dicts keyed like ``named_parameters()``)."""

    step: int
    x: np.ndarray
    target: np.ndarray
    loss: float
    z: list
    h: list
    delta: list
    grads: dict
    params: dict
    y_hat: np.ndarray = None       # what the loss compares with the target (probabilities)

    def __getitem__(self, key):
        return getattr(self, key)

    def keys(self):
        return ("step", "x", "target", "loss", "z", "h", "delta", "grads", "params", "y_hat")


class Trace(list):
    """A list of :class:`TraceStep` with the setting and the initial parameters;
    ``str(trace)`` prints it, :meth:`format` gives ``"text"``, ``"markdown"`` or ``"latex"``."""

    def __init__(self, loss_name="mse", lr=0.0, activations=(), param_keys=(),
                 initial_params=None, single=True):
        super().__init__()
        self.loss_name, self.lr, self.single = loss_name, lr, single
        self.activations, self.param_keys = list(activations), list(param_keys)
        self.initial_params = dict(initial_params or {})

    def format(self, style: str = "text", precision: int = 6) -> str:
        return format_trace(self, style, precision)

    def __str__(self):
        return self.format("text")

    def __repr__(self):
        return f"Trace({len(self)} steps, loss={self.loss_name!r}, lr={self.lr})"


# ----------------------------------------------------------------------------- the loss
def _targets(loss, target, n_out, N) -> np.ndarray:
    t = np.asarray(backend.to_numpy(target._data) if isinstance(target, Tensor) else target)
    if loss == "cross_entropy" and (t.ndim == 0 or t.ndim == 1 and t.size == N
                                    and not (N == 1 and t.size == n_out and n_out > 1)):
        idx = t.reshape(-1)
        if not np.all(np.mod(idx, 1) == 0) or idx.min() < 0 or idx.max() >= n_out:
            raise ValueError(f"trace: cross_entropy targets must be class indices in "
                             f"[0, {n_out}) or one-hot rows, got {t.tolist()}")
        return np.eye(n_out)[idx.astype(np.int64)]
    t = t.astype(np.float64)
    try:
        return t.reshape(N, n_out)
    except ValueError:
        raise ValueError(f"trace: a target of shape {t.shape} does not fit {N} sample(s) with "
                         f"{n_out} output(s)") from None


def _output(loss, last: _Layer, z, h, d):
    """(loss value, δ⁽ᴸ⁾, ŷ) for the output layer."""
    N = z.shape[0]
    if loss == "mse":                              # L = (1/(N K)) Σ (h − d)²
        return ((h - d) ** 2).mean(), 2 * (h - d) / h.size * last.dsigma(z), h
    if loss == "half_sse":                         # J = ½ Σ (d − h)²  (seed 000 §3.3)
        return 0.5 * ((d - h) ** 2).sum(), (h - d) * last.dsigma(z), h
    if loss == "bce":
        if last.act == "identity":                 # h are logits: BCE with logits
            p = _sigmoid(z)
            value = (np.maximum(z, 0) - z * d + np.log1p(np.exp(-np.abs(z)))).mean()
            return value, (p - d) / z.size, p
        if last.act in ("softmax",):
            raise ValueError("trace: loss 'bce' needs a sigmoid (or no) output activation")
        eps = 1e-300
        value = -(d * np.log(np.maximum(h, eps)) + (1 - d) * np.log(np.maximum(1 - h, eps))).mean()
        if last.act == "sigmoid":                  # ∂L/∂z = (ŷ − y)/n (seed 002 §1.5.3)
            return value, (h - d) / h.size, h
        return value, (h - d) / (h * (1 - h)) / h.size * last.dsigma(z), h
    if loss == "cross_entropy":                    # ∇_z L = −(e_t − ŷ) (seed 003), mean over N
        if last.act == "identity":
            p = _activation(nn.Softmax(dim=-1))[1](z)
            logp = z - z.max(1, keepdims=True)
            logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
        elif last.act == "softmax":
            p = h
            logp = np.log(np.maximum(h, 1e-300))
        else:
            raise ValueError("trace: loss 'cross_entropy' needs logits (no output activation) "
                             f"or a Softmax output, not {last.act}")
        return -(d * logp).sum() / N, -(d - p) / N, p
    raise ValueError(f"trace: unknown loss {loss!r}; expected one of {LOSSES}")


def _autograd_loss(loss, last: _Layer, out, d):
    if loss == "mse":
        return F.mse_loss(out, d)
    if loss == "half_sse":
        return ((d - out) ** 2).sum() * 0.5
    if loss == "bce":
        if last.act == "identity":
            return F.binary_cross_entropy_with_logits(out, d)
        return F.binary_cross_entropy(out, d)
    if last.act == "softmax":
        return -(d * out.log()).sum() / out.shape[0]
    return F.cross_entropy(out, d)


# ----------------------------------------------------------------------------- trace
def _step_math(layers, P, X, D, loss):
    """Forward, δ recursion and gradients for parameters P (float64 NumPy dict)."""
    z, h = [], []
    a = X
    for l in layers:
        zl = a @ P[l.w_key].T
        if l.b_key:
            zl = zl + P[l.b_key]
        a = l.sigma(zl)
        z.append(zl)
        h.append(a)
    value, delta_L, y_hat = _output(loss, layers[-1], z[-1], h[-1], D)
    deltas = [None] * len(layers)
    deltas[-1] = delta_L
    for i in range(len(layers) - 2, -1, -1):      # δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾) ⊙ σ′(z⁽ˡ⁾)
        deltas[i] = (deltas[i + 1] @ P[layers[i + 1].w_key]) * layers[i].dsigma(z[i])
    grads = {}
    for i, l in enumerate(layers):                 # ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ h⁽ˡ⁻¹⁾ᵀ, ∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾
        prev = X if i == 0 else h[i - 1]
        grads[l.w_key] = deltas[i].T @ prev
        if l.b_key:
            grads[l.b_key] = deltas[i].sum(0)
    return float(value), z, h, deltas, grads, y_hat


def _check_autograd(layers, P, X, D, loss, grads, step):
    from ..autograd import grad
    params = {k: _make(v.copy()).requires_grad_(True) for k, v in P.items()}
    out = _make(X.copy())
    for l in layers:
        out = F.linear(out, params[l.w_key], params[l.b_key] if l.b_key else None)
        if l.act_module is not None:
            out = l.act_module(out)
    value = _autograd_loss(loss, layers[-1], out, _make(D.copy()))
    keys = list(params)
    auto = grad(value, [params[k] for k in keys])
    for k, g in zip(keys, auto):
        g = backend.to_numpy(g._data)
        if not np.allclose(grads[k], g, rtol=1e-9, atol=1e-12):
            raise RuntimeError(f"trace: step {step}: the δ-recursion gradient of {k} disagrees "
                               f"with autograd (max difference "
                               f"{np.abs(grads[k] - g).max():.3g})")


def trace(model, x, target, loss: str = "mse", lr: float = 0.1, steps: int = 1,
          check: bool = True) -> Trace:
    """Record ``steps`` plain-SGD steps of ``model`` on (``x``, ``target``).

    ``model``: an ``nn.Linear`` or an ``nn.Sequential`` / ``dg.models.MLP`` of Linear layers
    each followed by at most one elementwise activation. ``x``: one sample (n,) or a batch
    (N, n). ``loss``: ``"mse"`` (PyTorch's ``mse_loss``, the mean over all outputs),
    ``"half_sse"`` (the notes' J = ½Σ(d − y)², summed), ``"bce"`` (binary cross-entropy on a
    sigmoid output, or with logits when the last layer has no activation) or
    ``"cross_entropy"`` (logits, or a Softmax output; targets are class indices or one-hot).
    Everything is computed in float64 by the δ recursion; ``check`` compares each gradient
    with autograd's. The model itself is not changed.
    """
    if loss not in LOSSES:
        raise ValueError(f"trace: unknown loss {loss!r}; expected one of {LOSSES}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) \
            or lr < 0:
        raise ValueError(f"trace: lr must be a finite number >= 0, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"trace: steps must be an int >= 1, got {steps!r}")
    layers = _layers(model)
    n_in, n_out = layers[0].linear.in_features, layers[-1].linear.out_features
    X = np.asarray(backend.to_numpy(x._data) if isinstance(x, Tensor) else x, dtype=np.float64)
    single = X.ndim == 1
    X = X.reshape(1, -1) if single else X
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"trace: x must have shape ({n_in},) or (N, {n_in}), got "
                         f"{np.shape(X)}")
    D = _targets(loss, target, n_out, X.shape[0])
    P = {}
    for l in layers:
        P[l.w_key] = backend.to_numpy(l.linear.weight._data).astype(np.float64)
        if l.b_key:
            P[l.b_key] = backend.to_numpy(l.linear.bias._data).astype(np.float64)
    keys = [k for k, _ in model.named_parameters()]
    order = [k for k in keys if k in P] + [k for k in P if k not in keys]
    out = Trace(loss_name=loss, lr=float(lr), activations=[l.act for l in layers],
                param_keys=order, initial_params={k: P[k].copy() for k in order},
                single=single)
    squeeze = (lambda a: a[0]) if single else (lambda a: a)
    for s in range(1, steps + 1):
        value, z, h, deltas, grads, y_hat = _step_math(layers, P, X, D, loss)
        if check:
            _check_autograd(layers, P, X, D, loss, grads, s)
        P = {k: P[k] - lr * grads[k] for k in P}
        out.append(TraceStep(step=s, x=squeeze(X), target=squeeze(D), loss=value,
                             z=[squeeze(a) for a in z], h=[squeeze(a) for a in h],
                             delta=[squeeze(a) for a in deltas],
                             grads={k: grads[k] for k in order},
                             params={k: P[k].copy() for k in order}, y_hat=squeeze(y_hat)))
    return out


# ----------------------------------------------------------------------------- printing
_SUP = str.maketrans("0123456789L", "⁰¹²³⁴⁵⁶⁷⁸⁹ᴸ")
_LOSS_TEXT = {"mse": "L = (1/n) Σ (y − d)²  (mse_loss)", "half_sse": "J = ½ Σ (d − y)²",
              "bce": "L = −(1/n) Σ [d log ŷ + (1 − d) log(1 − ŷ)]",
              "cross_entropy": "L = −(1/N) Σ log ŷ_t  (cross_entropy)"}
_LOSS_TEX = {"mse": r"L=\frac{1}{n}\sum(y-d)^2", "half_sse": r"J=\tfrac12\sum(d-y)^2",
             "bce": r"L=-\frac{1}{n}\sum[d\log\hat y+(1-d)\log(1-\hat y)]",
             "cross_entropy": r"L=-\frac{1}{N}\sum\log\hat y_t"}


def _num(v, p):
    s = f"{float(v):.{p}g}"
    return "0" if s == "-0" else s


def _txt(a, p):
    a = np.asarray(a)
    if a.ndim == 0:
        return _num(a, p)
    return "[" + ", ".join(_txt(r, p) for r in a) + "]"


def _tex(a, p):
    a = np.asarray(a)
    if a.ndim == 0:
        return _num(a, p)
    if a.ndim == 1:
        a = a[:, None]                              # the notes' column vectors
    rows = r" \\ ".join(" & ".join(_num(v, p) for v in r) for r in a)
    return r"\begin{bmatrix}" + rows + r"\end{bmatrix}"


def _param_name(key, layers_keys, tex=False):
    for i, (wk, bk) in enumerate(layers_keys, 1):
        if key in (wk, bk):
            sym = "W" if key == wk else "b"
            return f"{sym}^{{({i})}}" if tex else f"{sym}⁽{str(i).translate(_SUP)}⁾"
    return key


def _layer_keys(t: Trace):
    ws = [k for k in t.param_keys if k.endswith("weight")]
    return [(w, w[:-len("weight")] + "bias") for w in ws]


def format_trace(t: Trace, style: str = "text", precision: int = 6) -> str:
    """The trace as plain text (the notes' symbols), a Markdown table per step, or LaTeX
    (``align*`` with bmatrix; vectors as columns, a batch as one row per sample)."""
    if style not in ("text", "markdown", "latex"):
        raise ValueError(f"format_trace: style must be text, markdown or latex, got {style!r}")
    p, lk, L = precision, _layer_keys(t), len(t.activations)
    sup = lambda i: f"⁽{str(i).translate(_SUP)}⁾"   # noqa: E731
    lines = []
    if style == "text":
        lines.append(f"loss {_LOSS_TEXT[t.loss_name]}, η = {_num(t.lr, p)}, activations "
                     + ", ".join(f"σ{sup(i)} = {a}" for i, a in enumerate(t.activations, 1)))
        lines.append("initial parameters")
        for k in t.param_keys:
            lines.append(f"  {_param_name(k, lk)} = {_txt(t.initial_params[k], p)}   ({k})")
        for r in t:
            lines.append(f"step {r.step}")
            lines.append(f"  forward   h⁽⁰⁾ = x = {_txt(r.x, p)}")
            for i in range(L):
                lines.append(f"            z{sup(i + 1)} = W{sup(i + 1)}h{sup(i)} + b{sup(i + 1)}"
                             f" = {_txt(r.z[i], p)}    h{sup(i + 1)} = σ(z{sup(i + 1)}) = "
                             f"{_txt(r.h[i], p)}")
            lines.append(f"  loss      d = {_txt(r.target, p)}, ŷ = {_txt(r.y_hat, p)}, "
                         f"L = {_num(r.loss, p)}")
            lines.append(f"  backward  δ{sup(L)} = ∂L/∂z{sup(L)} = {_txt(r.delta[-1], p)}")
            for i in range(L - 2, -1, -1):
                lines.append(f"            δ{sup(i + 1)} = (W{sup(i + 2)}ᵀ δ{sup(i + 2)}) ⊙ "
                             f"σ′(z{sup(i + 1)}) = {_txt(r.delta[i], p)}")
            lines.append("  gradients ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ h⁽ˡ⁻¹⁾ᵀ, ∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾")
            for k in t.param_keys:
                lines.append(f"            ∂L/∂{_param_name(k, lk)} = {_txt(r.grads[k], p)}")
            lines.append("  update    θ ← θ − η ∂L/∂θ")
            for k in t.param_keys:
                lines.append(f"            {_param_name(k, lk)} = {_txt(r.params[k], p)}")
        return "\n".join(lines)
    if style == "markdown":
        lines.append(f"**loss** {_LOSS_TEXT[t.loss_name]}, **η** = {_num(t.lr, p)}")
        for r in t:
            lines += ["", f"### step {r.step} (L = {_num(r.loss, p)})", "",
                      "| l | σ | z⁽ˡ⁾ | h⁽ˡ⁾ | δ⁽ˡ⁾ |", "|---|---|---|---|---|",
                      f"| 0 | | | x = {_txt(r.x, p)} | |"]
            for i in range(L):
                lines.append(f"| {i + 1} | {t.activations[i]} | {_txt(r.z[i], p)} | "
                             f"{_txt(r.h[i], p)} | {_txt(r.delta[i], p)} |")
            lines += ["", "| parameter | ∂L/∂θ | after the update |", "|---|---|---|"]
            for k in t.param_keys:
                lines.append(f"| {_param_name(k, lk)} (`{k}`) | {_txt(r.grads[k], p)} | "
                             f"{_txt(r.params[k], p)} |")
        return "\n".join(lines)
    lines.append(r"% deltagrad trace: $" + _LOSS_TEX[t.loss_name] + r"$, $\eta=" + _num(t.lr, p)
                 + "$")
    for r in t:
        lines.append(r"\paragraph{Step " + str(r.step) + r"} $L=" + _num(r.loss, p) + "$")
        lines.append(r"\begin{align*}")
        rows = [r"\mathbf{h}^{(0)} &= \mathbf{x} = " + _tex(r.x, p)]
        for i in range(L):
            j = i + 1
            rows.append(rf"\mathbf{{z}}^{{({j})}} &= " + _tex(r.z[i], p)
                        + rf", \quad \mathbf{{h}}^{{({j})}} = \sigma(\mathbf{{z}}^{{({j})}}) = "
                        + _tex(r.h[i], p))
        for i in range(L - 1, -1, -1):
            rhs = (r"\frac{\partial L}{\partial \mathbf{z}^{(L)}}" if i == L - 1 else
                   rf"\left(\mathbf{{W}}^{{({i + 2})\top}}"
                   rf"\boldsymbol{{\delta}}^{{({i + 2})}}\right)"
                   rf"\odot\sigma'(\mathbf{{z}}^{{({i + 1})}})")
            rows.append(rf"\boldsymbol{{\delta}}^{{({i + 1})}} &= {rhs} = " + _tex(r.delta[i], p))
        for k in t.param_keys:
            rows.append(rf"\frac{{\partial L}}{{\partial {_param_name(k, lk, True)}}} &= "
                        + _tex(r.grads[k], p))
        for k in t.param_keys:
            rows.append(rf"{_param_name(k, lk, True)} &\leftarrow " + _tex(r.params[k], p))
        lines.append(" \\\\\n".join(rows))
        lines.append(r"\end{align*}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- command line
def _floats(text):
    try:
        v = json.loads(text)
    except json.JSONDecodeError:
        try:
            v = [float(s) for s in text.split(",") if s.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected numbers like 1,0.5 or a JSON array, "
                                             f"got {text!r}") from None
    return v


def _sizes(text):
    try:
        v = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 2,2,1, got {text!r}") from None
    if len(v) < 2 or min(v) < 1:
        raise argparse.ArgumentTypeError(f"expected at least two sizes >= 1, got {text!r}")
    return v


def _parser():
    from ..cli.messages import Parser
    p = Parser(
        prog="deltagrad trace",
        description="Print the step-by-step backpropagation of a small MLP: forward values "
        "z and h per layer, δ per layer, the gradients δhᵀ and the parameters after each SGD "
        "step. Give a JSON spec file and/or flags (flags win).",
        epilog='spec example: {"sizes": [2, 2, 1], "activation": "sigmoid", '
        '"output_activation": "sigmoid", "params": {"0.weight": [[0.15, 0.2], [0.25, 0.3]], '
        '"0.bias": [0.35, 0.35], "2.weight": [[0.4, 0.45]], "2.bias": [0.6]}, '
        '"x": [0.05, 0.1], "target": [0.01], "loss": "half_sse", "lr": 0.5, "steps": 1}')
    p.add_argument("spec", nargs="?", help="JSON file with the settings below (or - for stdin)")
    p.add_argument("--sizes", type=_sizes, help="layer sizes, e.g. 2,2,1")
    p.add_argument("--activation", help="hidden activation (relu, sigmoid, tanh, ...)")
    p.add_argument("--output-activation", dest="output_activation",
                   help="output activation (default none = linear)")
    p.add_argument("--params", help="JSON object of parameters keyed like named_parameters() "
                   "(\"0.weight\", \"0.bias\", ...); default: PyTorch-style random init")
    p.add_argument("--x", type=_floats, help="input: 1,0 or a JSON array (a batch: [[..],[..]])")
    p.add_argument("--target", type=_floats, help="target: 1 or a JSON array (class indices "
                   "for cross_entropy)")
    p.add_argument("--loss", choices=LOSSES)
    p.add_argument("--lr", type=float, help="learning rate η")
    p.add_argument("--steps", type=int, help="number of SGD steps")
    p.add_argument("--seed", type=int, help="seed of the random init (default 0)")
    p.add_argument("--format", choices=("text", "markdown", "latex"), default="text")
    p.add_argument("--precision", type=int, default=6, help="significant digits (default 6)")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="skip the comparison with autograd")
    return p


def _build(spec: dict):
    from ..models.classic import MLP
    sizes = spec.get("sizes")
    if not sizes:
        raise ValueError("trace: the spec needs sizes (e.g. --sizes 2,2,1)")
    backend.manual_seed(int(spec.get("seed", 0) or 0))
    model = MLP(sizes, activation=spec.get("activation", "sigmoid"),
                output_activation=spec.get("output_activation"), dtype=backend.float64)
    params = spec.get("params")
    if params:
        if isinstance(params, str):
            params = json.loads(params)
        own = dict(model.named_parameters())
        unknown = sorted(set(params) - set(own))
        if unknown:
            raise ValueError(f"trace: unknown parameters {unknown}; this model has "
                             f"{sorted(own)}")
        for k, v in params.items():
            a = np.asarray(v, dtype=np.float64)
            if a.shape != tuple(own[k].shape):
                a = a.reshape(tuple(own[k].shape)) if a.size == own[k].numel() else a
            if a.shape != tuple(own[k].shape):
                raise ValueError(f"trace: parameter {k} needs shape {tuple(own[k].shape)}, "
                                 f"got {a.shape}")
            own[k]._data[...] = a
    return model


def trace_cli(argv=None, stream=None) -> int:
    """``deltagrad trace [SPEC.json] [--sizes ..] ...``: print a trace; returns the exit
    status (0 ok, 2 a bad spec)."""
    from ..cli.messages import error_line, parse_arguments
    stream = stream if stream is not None else sys.stdout
    args, status = parse_arguments(_parser(), argv)
    if args is None:
        return status
    spec = {}
    try:
        if args.spec:
            text = sys.stdin.read() if args.spec == "-" else open(args.spec).read()
            spec = json.loads(text)
            if not isinstance(spec, dict):
                raise ValueError("the spec must be a JSON object")
        for k in ("sizes", "activation", "output_activation", "params", "x", "target", "loss",
                  "lr", "steps", "seed"):
            if getattr(args, k) is not None:
                spec[k] = getattr(args, k)
        if "x" not in spec or "target" not in spec:
            raise ValueError("trace: give the input x and the target (--x, --target)")
        model = _build(spec)
        t = trace(model, spec["x"], spec["target"], loss=spec.get("loss", "mse"),
                  lr=spec.get("lr", 0.1), steps=spec.get("steps", 1), check=args.check)
    except (OSError, ValueError, TypeError, RuntimeError) as e:
        print(error_line(e), file=sys.stderr)
        return 2
    print(t.format(args.format, args.precision), file=stream)
    return 0
