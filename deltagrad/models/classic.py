"""Classic neurons and learning rules (SYLLABUS §1): McCulloch–Pitts, the perceptron, ADALINE,
the linear / logistic / softmax neuron with their closed-form gradients, the 2ⁿ-perceptron
network that computes any boolean function (seed 003) and the MLP.

Notation of the notes: z = wᵀx + b (pre-activation), ŷ or y the output, d or y the target,
η (α) the learning rate. The single neurons keep PyTorch's layout (``weight`` of shape
(out, in), ``bias`` of shape (out,)), so their ``state_dict`` is that of an ``nn.Linear``.
"""
from __future__ import annotations

import copy
import itertools
import math
import numbers
import warnings

import numpy as np

from .. import backend, nn
from ..nn import functional as F
from ..tensor import Tensor, _make, zeros

__all__ = ["McCullochPitts", "Perceptron", "Adaline", "LinearNeuron", "LogisticRegression",
           "SoftmaxRegression", "BooleanNetwork", "boolean_network", "MLP",
           "ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """A learning rule stopped at ``epochs`` without converging."""


# ----------------------------------------------------------------------------- helpers
def _numpy(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return backend.to_numpy(x.detach()._data)
    return np.asarray(x)


def _check_count(value, name, op, minimum=1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{op}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_lr(lr, op) -> float:
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) \
            or lr <= 0:
        raise ValueError(f"{op}: lr must be a positive finite number, got {lr!r}")
    return float(lr)


def _inputs(X, n_inputs, op) -> np.ndarray:
    """X as a float64 (N, n_inputs) array; a single sample (n_inputs,) becomes (1, n_inputs)."""
    a = np.asarray(_numpy(X), dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != n_inputs:
        raise ValueError(f"{op}: expected inputs of shape (N, {n_inputs}) or ({n_inputs},), "
                         f"got {tuple(np.shape(_numpy(X)))}")
    return a


def _binary_labels(y, n, op) -> np.ndarray:
    a = np.asarray(_numpy(y), dtype=np.float64).reshape(-1)
    if a.size != n:
        raise ValueError(f"{op}: {n} samples but {a.size} targets")
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"{op}: targets must be 0 or 1, got {np.unique(a).tolist()}")
    return a


# ----------------------------------------------------------------------------- McCulloch–Pitts
class McCullochPitts(nn.Module):
    """McCulloch & Pitts' neuron (1943): binary inputs, no weights, a threshold θ.

    y = 1 if Σᵢ xᵢ ≥ θ over the excitatory inputs and no inhibitory input is on, else 0
    (absolute inhibition). AND of n inputs: θ = n; OR: θ = 1; NOT: θ = 0 with the input
    inhibitory (:meth:`AND`, :meth:`OR`, :meth:`NOT`). Seed 001 writes "sum > θ"; that is
    the same neuron with θ lowered by one (the sum is an integer); we use the standard ≥.
    """

    def __init__(self, threshold, inhibitory=()):
        super().__init__()
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) \
                or not math.isfinite(threshold):
            raise ValueError(f"McCullochPitts: threshold must be a finite number, got "
                             f"{threshold!r}")
        self.threshold = threshold
        self.inhibitory = tuple(int(i) for i in inhibitory)

    @classmethod
    def AND(cls, n_inputs: int = 2) -> "McCullochPitts":
        return cls(_check_count(n_inputs, "n_inputs", "McCullochPitts.AND"))

    @classmethod
    def OR(cls, n_inputs: int = 2) -> "McCullochPitts":
        _check_count(n_inputs, "n_inputs", "McCullochPitts.OR")
        return cls(1)

    @classmethod
    def NOT(cls) -> "McCullochPitts":
        return cls(0, inhibitory=(0,))

    def _fire(self, x) -> np.ndarray:
        a = np.asarray(_numpy(x))
        if a.ndim == 0:
            a = a.reshape(1)
        if a.size and not np.isin(a, (0, 1)).all():
            bad = np.unique(a[~np.isin(a, (0, 1))])[:5].tolist()
            raise ValueError(f"McCullochPitts: inputs must be binary (0 or 1), got values "
                             f"{bad} in an input of shape {a.shape}")
        m = a.shape[-1]
        for i in self.inhibitory:
            if not -m <= i < m:
                raise ValueError(f"McCullochPitts: inhibitory input {i} does not exist in "
                                 f"inputs of size {m}")
        inhib = np.zeros(m, bool)
        inhib[list(self.inhibitory)] = True
        total = (a * ~inhib).sum(-1)
        blocked = (a * inhib).sum(-1) > 0
        return ((total >= self.threshold) & ~blocked).astype(np.int64)

    def forward(self, x):
        """Outputs 0/1 (shape ``x.shape[:-1]``) in the default float dtype."""
        return _make(self._fire(x).astype(backend.get_default_dtype()))

    def predict(self, X) -> np.ndarray:
        return self._fire(X)

    def extra_repr(self):
        return f"threshold={self.threshold}" + (
            f", inhibitory={self.inhibitory}" if self.inhibitory else "")


# ----------------------------------------------------------------------------- threshold units
class _ThresholdUnit(nn.Module):
    """One neuron z = wᵀx + b with weights starting at zero and a per-sample learning rule.

    ``forward`` returns z of shape (N, 1) (so the unit trains in the generic loop as well);
    ``predict`` thresholds it; ``fit`` runs epochs of the rule over the samples in order.
    """

    _op = "unit"

    def __init__(self, n_inputs: int, lr: float, dtype=None, device=None):
        super().__init__()
        self.n_inputs = _check_count(n_inputs, "n_inputs", self._op)
        self.lr = _check_lr(lr, self._op)
        self.weight = nn.Parameter(zeros(1, self.n_inputs, dtype=dtype, device=device))
        self.bias = nn.Parameter(zeros(1, dtype=dtype, device=device))
        self.errors_: list = []
        self.converged_ = False

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.n_inputs:
            raise RuntimeError(f"{self._op}: expected input of shape (*, {self.n_inputs}), "
                               f"got {tuple(input.shape)}")
        return F.linear(input, self.weight, self.bias)

    def flops(self, inputs, output) -> int:
        """2·n per sample (and per position of extra leading dimensions) for z = wᵀx + b,
        ``deltagrad summary``'s convention."""
        positions = 1
        for d in tuple(output.shape)[1:-1]:
            positions *= int(d)
        return 2 * self.n_inputs * positions

    # parameters as float64 NumPy -----------------------------------------------------
    @property
    def coef_(self) -> np.ndarray:
        """w, shape (n_inputs,)."""
        return backend.to_numpy(self.weight._data).reshape(-1).astype(np.float64)

    @property
    def intercept_(self) -> float:
        """b (= −θ, seed 000 §2.2)."""
        return float(backend.to_numpy(self.bias._data)[0])

    def _set(self, w: np.ndarray, b: float) -> None:
        xp = backend.array_module(self.weight._data)
        self.weight._data[...] = xp.asarray(w.reshape(1, -1), dtype=self.weight.dtype)
        self.bias._data[...] = xp.asarray([b], dtype=self.bias.dtype)

    def decision_function(self, X) -> np.ndarray:
        """z = Xw + b, shape (N,)."""
        return _inputs(X, self.n_inputs, self._op) @ self.coef_ + self.intercept_

    def reset_parameters(self) -> None:
        self._set(np.zeros(self.n_inputs), 0.0)
        self.errors_, self.converged_ = [], False

    # the rule ------------------------------------------------------------------------
    def _epoch(self, X, y) -> tuple:
        """One pass of the rule over (X, y) in order; returns (mistakes, extra)."""
        raise NotImplementedError(f"{type(self).__name__}._epoch")

    def _start_fit(self, X, y, epochs, op):
        """Checked (X, y, epochs) of a ``fit``, with the weights reset to zero."""
        X = _inputs(X, self.n_inputs, op)
        y = self._targets(y, len(X), op)
        epochs = _check_count(epochs, "epochs", op)
        self.reset_parameters()
        return X, y, epochs

    def partial_fit(self, x, y):
        """Apply the rule once to each given sample, in order (no reset)."""
        X = _inputs(x, self.n_inputs, f"{self._op}.partial_fit")
        self._epoch(X, self._targets(y, len(X), f"{self._op}.partial_fit"))
        return self

    def _targets(self, y, n, op) -> np.ndarray:
        """The checked targets of ``fit``/``partial_fit`` (0/1 labels for a step unit)."""
        return _binary_labels(y, n, op)


class Perceptron(_ThresholdUnit):
    """Rosenblatt's perceptron (seed 002 §1.3): ŷ = g(wᵀx + b) with the step g(z) = 1 if
    z ≥ 0 else 0 (seed 002's threshold; the bias is w₀ with x₀ = 1), weights starting at 0.

    Rule, per sample: e = y − ŷ, w ← w + η e x, b ← b + η e (only mistakes change w).
    ``fit`` stops after the first epoch without a mistake (``converged_ = True``); on data
    that are not linearly separable (XOR) it never gets there: ``converged_`` stays False,
    ``errors_`` (mistakes per epoch) never reaches 0 and a :class:`ConvergenceWarning` says so.
    """

    _op = "Perceptron"

    def __init__(self, n_inputs: int, lr: float = 1.0, dtype=None, device=None):
        super().__init__(n_inputs, lr, dtype, device)

    def predict(self, X) -> np.ndarray:
        return (self.decision_function(X) >= 0).astype(np.int64)

    def _epoch(self, X, y):
        w, b = self.coef_, self.intercept_
        mistakes = 0
        for xi, yi in zip(X, y):
            e = yi - (1.0 if xi @ w + b >= 0 else 0.0)
            if e:
                mistakes += 1
                w = w + self.lr * e * xi
                b = b + self.lr * e
        self._set(w, b)
        return mistakes

    def fit(self, X, y, epochs: int = 100):
        """Weights to zero, then up to ``epochs`` passes of the perceptron rule."""
        X, y, epochs = self._start_fit(X, y, epochs, "Perceptron.fit")
        for _ in range(epochs):
            self.errors_.append(self._epoch(X, y))
            if self.errors_[-1] == 0:
                self.converged_ = True
                break
        if not self.converged_:
            warnings.warn(f"Perceptron.fit: still {self.errors_[-1]} mistake(s) in epoch "
                          f"{epochs} (errors_ per epoch: {self.errors_}); the data may not be "
                          "linearly separable", ConvergenceWarning, stacklevel=2)
        return self


class Adaline(_ThresholdUnit):
    """ADALINE (seed 002 §1.4): learns on the pre-threshold output z = wᵀx + b by the
    Widrow–Hoff delta rule (least mean squares), then thresholds z for a class.

    Per sample, e = y − z and
      ``rule="original"``:   w ← w + η e x,          b ← b + η e
      ``rule="unit_norm"``:  w ← w + η e x/‖x‖,      b ← b + η e/‖x‖   (seed 002)
      ``rule="normalized"``: w ← w + η e x/‖x‖²,     b ← b + η e/‖x‖²  (Widrow & Lehr's α-LMS)
    where ‖x‖ is the norm of the augmented input [1, x₁, …, x_m] (the bias input x₀ = 1
    counts, as in Widrow & Lehr; seed 002 lists only x₁…x_m, which divides by zero at x = 0).
    Weights start at zero.

    The targets say what the unit is: 0/1 labels (ŷ = 1 if z ≥ θ else 0, θ = ½ by default),
    bipolar ±1 labels, Widrow's own (ŷ = sign: 1 if z ≥ θ else −1, θ = 0 by default), or any
    real numbers: LMS regression, where ``predict`` returns z itself. ``labels_`` is (0, 1),
    (−1, 1) or None accordingly; ``threshold`` overrides θ. ``errors_``: misclassifications per
    epoch (classification only); ``cost_``: ½Σ(y − z)² per epoch; ``converged_``: the
    end-of-epoch weights moved by at most ``tol`` (``fit`` then stops).
    """

    _op = "Adaline"
    RULES = ("original", "unit_norm", "normalized")

    def __init__(self, n_inputs: int, lr: float = 0.01, rule: str = "original",
                 threshold: float | None = None, tol: float = 1e-6, dtype=None, device=None):
        super().__init__(n_inputs, lr, dtype, device)
        if rule not in self.RULES:
            raise ValueError(f"Adaline: rule must be one of {self.RULES}, got {rule!r}")
        self.rule, self.tol = rule, float(tol)
        self._threshold = None if threshold is None else float(threshold)
        self.labels_: tuple | None = (0.0, 1.0)
        self.cost_: list = []

    @property
    def threshold(self) -> float | None:
        """θ: the one given, else the midpoint of the two labels (None for regression)."""
        if self._threshold is not None or self.labels_ is None:
            return self._threshold
        return (self.labels_[0] + self.labels_[1]) / 2

    @threshold.setter
    def threshold(self, value) -> None:
        self._threshold = None if value is None else float(value)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.cost_ = []

    def _targets(self, y, n, op) -> np.ndarray:
        """Real targets (LMS regression); all in {0, 1} or all in {−1, 1} makes a classifier."""
        a = np.asarray(_numpy(y), dtype=np.float64).reshape(-1)
        if a.size != n:
            raise ValueError(f"{op}: {n} samples but {a.size} targets")
        if not np.isfinite(a).all():
            raise ValueError(f"{op}: targets must be finite numbers, got "
                             f"{a[~np.isfinite(a)][:3].tolist()}")
        values = set(np.unique(a).tolist())
        if self.labels_ is not None and values <= set(self.labels_):
            return a  # (a partial_fit batch of one class keeps the labels)
        self.labels_ = ((0.0, 1.0) if values <= {0.0, 1.0} else
                        (-1.0, 1.0) if values <= {-1.0, 1.0} else None)
        return a

    def predict(self, X) -> np.ndarray:
        """ŷ: the label on z's side of θ, or z itself for real targets (regression)."""
        z = self.decision_function(X)
        if self.labels_ is None:
            return z
        lo, hi = self.labels_
        return np.where(z >= self.threshold, hi, lo).astype(np.int64)

    def _partial(self, X, y):
        with np.errstate(over="ignore", invalid="ignore"):
            return self._partial_rule(X, y)

    def _partial_rule(self, X, y):
        w, b = self.coef_, self.intercept_
        mistakes, cost = 0, 0.0
        labels, theta = self.labels_, self.threshold
        for xi, yi in zip(X, y):
            z = xi @ w + b
            if labels is not None:
                mistakes += int((labels[1] if z >= theta else labels[0]) != yi)
            e = yi - z
            cost += 0.5 * e * e
            scale = 1.0
            if self.rule != "original":
                norm2 = 1.0 + xi @ xi
                scale = 1.0 / (math.sqrt(norm2) if self.rule == "unit_norm" else norm2)
            w = w + self.lr * e * scale * xi
            b = b + self.lr * e * scale
        big = float(np.finfo(self.weight.dtype).max)
        if not (np.isfinite(w).all() and math.isfinite(b)) or np.abs(w).max() > big \
                or abs(b) > big:
            raise FloatingPointError(f"Adaline: the weights overflowed (lr={self.lr} is too "
                                     "large for these inputs)")
        self._set(w, b)
        return mistakes, cost

    def _epoch(self, X, y):
        return self._partial(X, y)[0]

    def fit(self, X, y, epochs: int = 100):
        """Weights to zero, then up to ``epochs`` passes of the delta rule."""
        self.labels_ = None  # decided afresh by these targets
        X, y, epochs = self._start_fit(X, y, epochs, "Adaline.fit")
        before = np.zeros(self.n_inputs + 1)
        for _ in range(epochs):
            mistakes, cost = self._partial(X, y)
            if self.labels_ is not None:
                self.errors_.append(mistakes)
            self.cost_.append(cost)
            after = np.append(self.coef_, self.intercept_)
            if np.abs(after - before).max() <= self.tol:
                self.converged_ = True
                break
            before = after
        return self


# ----------------------------------------------------------------------------- gradient neurons
class _GradientNeuron(nn.Linear):
    """A one-layer model z = Wx + b (an ``nn.Linear``) trained on a loss J whose gradient
    the notes write in closed form: ∂J/∂W = δᵀX / N, ∂J/∂b = Σₙ δₙ / N with the output error
    δ = ∂ℓ/∂z per sample (``reduction="sum"`` drops the 1/N)."""

    def _target(self, target, n) -> np.ndarray:
        raise NotImplementedError

    def _delta(self, z: np.ndarray, d: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _loss(self, z: Tensor, target: Tensor, reduction: str) -> Tensor:
        raise NotImplementedError

    def _xt(self, x, op):
        if isinstance(x, Tensor):
            x = x if x.dtype == self.weight.dtype else x.to(self.weight.dtype)
        else:
            x = _make(np.asarray(x, dtype=self.weight.dtype))
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{op}: expected inputs of shape (N, {self.in_features}), got "
                             f"{tuple(x.shape)}")
        return x

    @staticmethod
    def _check_reduction(reduction, op):
        if reduction not in ("mean", "sum"):
            raise ValueError(f"{op}: reduction must be 'mean' or 'sum', got {reduction!r}")

    def loss(self, x, target, reduction: str = "mean") -> Tensor:
        """J on a batch, as a differentiable Tensor (the autograd route)."""
        op = f"{type(self).__name__}.loss"
        self._check_reduction(reduction, op)
        x = self._xt(x, op)
        d = self._target(target, x.shape[0])
        return self._loss(self(x), _make(d), reduction)

    def closed_form_grad(self, x, target, reduction: str = "mean") -> dict:
        """{"weight": ∂J/∂W, "bias": ∂J/∂b} from the notes' formula (NumPy, the model's dtype)."""
        op = f"{type(self).__name__}.closed_form_grad"
        self._check_reduction(reduction, op)
        x = self._xt(x, op)
        X = backend.to_numpy(x._data).astype(self.weight.dtype, copy=False)
        W = backend.to_numpy(self.weight._data)
        z = X @ W.T
        if self.bias is not None:
            z = z + backend.to_numpy(self.bias._data)
        delta = self._delta(z, self._target(target, len(X)))
        if reduction == "mean":
            delta = delta / len(X)
        grads = {"weight": delta.T @ X}
        if self.bias is not None:
            grads["bias"] = delta.sum(0)
        return grads

    def autograd_grad(self, x, target, reduction: str = "mean") -> dict:
        """The same gradient by reverse-mode autodiff of :meth:`loss`."""
        params = dict(self.named_parameters())
        grads = backend_grad(self.loss(x, target, reduction), list(params.values()))
        return {k: backend.to_numpy(g._data) for k, g in zip(params, grads)}

    def sgd_step(self, x, target, lr: float, method: str = "closed_form",
                 reduction: str = "mean") -> float:
        """θ ← θ − η ∂J/∂θ on one batch; returns J before the step."""
        op = f"{type(self).__name__}.sgd_step"
        lr = _check_lr(lr, op)
        if method not in ("closed_form", "autograd"):
            raise ValueError(f"{op}: method must be 'closed_form' or 'autograd', got "
                             f"{method!r}")
        value = float(self.loss(x, target, reduction).item())
        grads = (self.closed_form_grad if method == "closed_form" else self.autograd_grad)(
            x, target, reduction)
        xp = backend.array_module(self.weight._data)
        for name, p in self.named_parameters():
            p._data -= xp.asarray(lr * grads[name], dtype=p.dtype)
        return value

    def fit(self, X, y, epochs: int = 1, lr: float = 0.1, batch_size: int = 1,
            method: str = "closed_form", reduction: str = "mean"):
        """``epochs`` passes of (mini-batch) gradient descent over the samples in order
        (``batch_size=1``: the notes' per-sample "exam" updates); ``loss_`` holds the mean
        batch loss per epoch."""
        op = f"{type(self).__name__}.fit"
        epochs = _check_count(epochs, "epochs", op)
        batch_size = _check_count(batch_size, "batch_size", op)
        X = self._xt(X, op)
        Y = np.asarray(_numpy(y))
        self.loss_ = []
        for _ in range(epochs):
            losses = [self.sgd_step(X[i:i + batch_size], Y[i:i + batch_size], lr, method,
                                    reduction) for i in range(0, X.shape[0], batch_size)]
            self.loss_.append(float(np.mean(losses)))
        return self


def backend_grad(output, inputs):
    from ..autograd import grad
    return grad(output, inputs)


class LinearNeuron(_GradientNeuron):
    """The linear neuron of seed 000 §3: y = wᵀx + b, J = ½(d − y)².

    Closed form: ∇_w J = −(d − y)x, ∇_b J = −(d − y); SGD: w ← w + α(d − y)x,
    b ← b + α(d − y) (over a batch, J is averaged: ``reduction="mean"``).
    ``forward`` returns y, shape (N, n_outputs).
    """

    def __init__(self, n_inputs: int, n_outputs: int = 1, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(_check_count(n_inputs, "n_inputs", "LinearNeuron"),
                         _check_count(n_outputs, "n_outputs", "LinearNeuron"), bias, device,
                         dtype)

    def _target(self, target, n):
        d = np.asarray(_numpy(target), dtype=self.weight.dtype)
        try:
            return d.reshape(n, self.out_features)
        except ValueError:
            raise ValueError(f"LinearNeuron: targets of shape {d.shape} do not fit {n} samples "
                             f"of {self.out_features} output(s)") from None

    def _delta(self, z, d):
        return -(d - z)

    def _loss(self, z, d, reduction):
        sse = ((d - z) ** 2).sum() * 0.5
        return sse / z.shape[0] if reduction == "mean" else sse

    def predict(self, X) -> np.ndarray:
        with _no_grad():
            return backend.to_numpy(self(self._xt(X, "LinearNeuron.predict"))._data)


class LogisticRegression(_GradientNeuron):
    """Logistic regression (seed 002 §1.5): ŷ = σ(wᵀx + b) = P(y = 1 | x) with the binary
    cross-entropy L = −[y log ŷ + (1 − y) log(1 − ŷ)].

    Closed form: ∂L/∂w = (ŷ − y)x, ∂L/∂b = ŷ − y. ``forward`` returns the logit z (N, 1)
    (PyTorch's convention: the loss is ``binary_cross_entropy_with_logits``);
    :meth:`predict_proba` gives ŷ and :meth:`predict` [ŷ ≥ ½].
    """

    def __init__(self, n_inputs: int, bias: bool = True, device=None, dtype=None):
        super().__init__(_check_count(n_inputs, "n_inputs", "LogisticRegression"), 1, bias,
                         device, dtype)

    def _target(self, target, n):
        return _binary_labels(target, n, "LogisticRegression").astype(
            self.weight.dtype).reshape(n, 1)

    def _delta(self, z, d):
        return 1.0 / (1.0 + np.exp(-z)) - d

    def _loss(self, z, d, reduction):
        return F.binary_cross_entropy_with_logits(z, d, reduction=reduction)

    def predict_proba(self, X) -> np.ndarray:
        with _no_grad():
            z = self(self._xt(X, "LogisticRegression.predict_proba"))
            return backend.to_numpy(F.sigmoid(z)._data).reshape(-1)

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X) >= 0.5).astype(np.int64)


class SoftmaxRegression(_GradientNeuron):
    """Softmax regression (seed 002 §1.6, seed 003): ŷ = softmax(Wx + b), categorical
    cross-entropy L = −log ŷ_t for the true class t.

    Closed form (seed 003): ∇_z L = −(e_t − ŷ), so ∇_W L = −(e_t − ŷ) xᵀ, ∇_b L = −(e_t − ŷ).
    Targets are class indices (N,) or one-hot / probability rows (N, K). ``forward``
    returns the logits z (N, K) (PyTorch's ``cross_entropy`` takes logits).
    """

    def __init__(self, n_inputs: int, n_classes: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(_check_count(n_inputs, "n_inputs", "SoftmaxRegression"),
                         _check_count(n_classes, "n_classes", "SoftmaxRegression", 2), bias,
                         device, dtype)

    def _target(self, target, n):
        t = np.asarray(_numpy(target))
        K = self.out_features
        if t.ndim == 2 and t.shape == (n, K):
            return t.astype(self.weight.dtype)
        t = t.reshape(-1)
        if t.size != n or not np.issubdtype(t.dtype, np.integer) and not \
                np.all(np.equal(np.mod(t, 1), 0)):
            raise ValueError(f"SoftmaxRegression: targets must be {n} class indices or an "
                             f"({n}, {K}) one-hot array, got shape {np.shape(_numpy(target))}")
        t = t.astype(np.int64)
        if t.size and (t.min() < 0 or t.max() >= K):
            raise ValueError(f"SoftmaxRegression: class indices must be in [0, {K}), got "
                             f"{t.min()}..{t.max()}")
        return np.eye(K, dtype=self.weight.dtype)[t]

    def _delta(self, z, d):
        e = np.exp(z - z.max(1, keepdims=True))
        return -(d - e / e.sum(1, keepdims=True))

    def _loss(self, z, d, reduction):
        return F.cross_entropy(z, d, reduction=reduction)

    def predict_proba(self, X) -> np.ndarray:
        with _no_grad():
            z = self(self._xt(X, "SoftmaxRegression.predict_proba"))
            return backend.to_numpy(F.softmax(z, dim=1)._data)

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(1)


def _no_grad():
    from ..autograd import no_grad
    return no_grad()


# ----------------------------------------------------------------------------- boolean network
_NAMED_TABLES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0],
                 "nand": [1, 1, 1, 0], "nor": [1, 0, 0, 0], "xnor": [1, 0, 0, 1]}


class BooleanNetwork(nn.Module):
    """Seed 003's network of perceptrons for any boolean function of n inputs.

    Inputs 0/1 are read as ±1 (True = +1, False = −1). Hidden perceptron i (one per input
    pattern pᵢ ∈ {±1}ⁿ, 2ⁿ of them) has weights pᵢ and bias −n, so pᵢᵀx − n ≥ 0 only for
    x = pᵢ (it is 0 there and ≤ −2 elsewhere). The output perceptron has weight +1 from the
    hidden units whose pattern should give 1 and −1 from the others, bias 0, and fires when
    Σᵢ wᵢhᵢ + b ≥ 0. Patterns are in binary counting order, x₁ most significant.
    """

    def __init__(self, truth_table):
        super().__init__()
        t = self._table(truth_table)
        n = int(round(math.log2(len(t))))
        patterns = np.array(list(itertools.product((-1.0, 1.0), repeat=n)))
        dtype = backend.get_default_dtype()
        self.n_inputs = n
        self.truth_table = tuple(int(v) for v in t)
        self.hidden = nn.Linear(n, 2 ** n, dtype=dtype)
        self.output = nn.Linear(2 ** n, 1, dtype=dtype)
        self.step = nn.Step(0.0, inclusive=True)
        self.hidden.weight._data[...] = patterns
        self.hidden.bias._data[...] = -n
        self.output.weight._data[...] = (2.0 * t - 1.0)[None, :]
        self.output.bias._data[...] = 0.0
        self.requires_grad_(False)

    @staticmethod
    def _table(truth_table) -> np.ndarray:
        op = "boolean_network"
        if isinstance(truth_table, str):
            if truth_table.lower() not in _NAMED_TABLES:
                raise ValueError(f"{op}: unknown function {truth_table!r}; named ones are "
                                 f"{sorted(_NAMED_TABLES)}")
            truth_table = _NAMED_TABLES[truth_table.lower()]
        t = np.asarray(_numpy(truth_table)).reshape(-1)
        size = t.size
        if size < 2 or size & (size - 1):
            raise ValueError(f"{op}: a truth table of n inputs has 2**n entries (n >= 1); got "
                             f"{size} entries, which is not a power of 2 >= 2")
        if not np.isin(t, (0, 1)).all():
            raise ValueError(f"{op}: truth table entries must be 0 or 1 (or bools), got "
                             f"{np.unique(t).tolist()}")
        return t.astype(np.float64)

    def forward(self, x):
        """x: (N, n) of 0/1 → y: (N,) of 0/1."""
        a = np.asarray(_numpy(x))
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[1] != self.n_inputs:
            raise ValueError(f"BooleanNetwork: expected inputs of shape (N, {self.n_inputs}), "
                             f"got {a.shape}")
        if a.size and not np.isin(a, (0, 1)).all():
            raise ValueError("BooleanNetwork: inputs must be 0 or 1, got values "
                             f"{np.unique(a[~np.isin(a, (0, 1))])[:5].tolist()}")
        bipolar = _make((2.0 * a - 1.0).astype(self.hidden.weight.dtype))
        h = self.step(self.hidden(bipolar))
        return self.step(self.output(h)).reshape(a.shape[0])

    def predict(self, X) -> np.ndarray:
        return backend.to_numpy(self(X)._data).astype(np.int64)


def boolean_network(truth_table) -> BooleanNetwork:
    """The seed 003 network (2ⁿ hidden perceptrons) computing the boolean function whose
    output for the inputs spelling i in binary (x₁ most significant) is ``truth_table[i]``;
    a name ("and", "or", "xor", "nand", "nor", "xnor") also works."""
    return BooleanNetwork(truth_table)


# ----------------------------------------------------------------------------- MLP
_ACTIVATIONS = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
    "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU, "softplus": nn.Softplus,
    "arctan": nn.Arctan, "step": nn.Step, "selu": nn.SELU,
    "softmax": lambda: nn.Softmax(dim=-1), "log_softmax": lambda: nn.LogSoftmax(dim=-1),
}


def _activation(spec, op):
    """A fresh activation module from a name, a Module class/factory or a Module to copy;
    None / "identity" / "linear" give None (no module)."""
    if spec is None or (isinstance(spec, str) and spec.lower() in ("identity", "linear",
                                                                    "none")):
        return None
    if isinstance(spec, str):
        key = spec.lower()
        if key not in _ACTIVATIONS:
            raise ValueError(f"{op}: unknown activation {spec!r}; expected one of "
                             f"{sorted(_ACTIVATIONS) + ['identity']}, a Module or a factory")
        return _ACTIVATIONS[key]()
    if isinstance(spec, nn.Module):
        return copy.deepcopy(spec)
    if callable(spec):
        m = spec()
        if not isinstance(m, nn.Module):
            raise TypeError(f"{op}: activation factory returned {type(m).__name__}, not a "
                            "Module")
        return m
    raise TypeError(f"{op}: activation must be a name, a Module or a factory, got "
                    f"{type(spec).__name__}")


class MLP(nn.Sequential):
    """Multilayer perceptron: ``MLP([D⁽⁰⁾, D⁽¹⁾, …, D⁽ᴸ⁾])`` is
    Linear(D⁽⁰⁾, D⁽¹⁾) → σ → … → Linear(D⁽ᴸ⁻¹⁾, D⁽ᴸ⁾) → output activation,
    i.e. z⁽ˡ⁾ = W⁽ˡ⁾h⁽ˡ⁻¹⁾ + b⁽ˡ⁾, h⁽ˡ⁾ = σ(z⁽ˡ⁾) (seed 004 §1.1). ``activation`` (hidden
    layers, default ReLU) and ``output_activation`` (default none: linear outputs) are names
    ("relu", "sigmoid", "tanh", ...), Module classes/factories or Modules (copied per layer).
    It has Σₗ D⁽ˡ⁻¹⁾D⁽ˡ⁾ weights and Σₗ D⁽ˡ⁾ biases: ``MLP([2, 4, 3, 1])`` has 23 + 8 (seed 001).
    A plain ``nn.Sequential``, so its ``state_dict`` keys are "0.weight", "0.bias", "2.weight", ...
    """

    def __init__(self, sizes, activation="relu", output_activation=None, bias: bool = True,
                 device=None, dtype=None):
        op = "MLP"
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"{op}: sizes needs at least the input and output sizes, got "
                             f"{sizes}")
        for s in sizes:
            _check_count(s, "every size", op)
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b, bias=bias, device=device, dtype=dtype))
            act = _activation(activation if i < len(sizes) - 2 else output_activation, op)
            if act is not None:
                layers.append(act)
        super().__init__(*layers)
        self.sizes = tuple(int(s) for s in sizes)

    @property
    def linear_layers(self) -> list:
        return [m for m in self if isinstance(m, nn.Linear)]

    def num_weights(self) -> int:
        return sum(m.weight.numel() for m in self.linear_layers)

    def num_biases(self) -> int:
        return sum(m.bias.numel() for m in self.linear_layers if m.bias is not None)
