"""Activation layers: PyTorch's (``nn.ReLU`` ... ``nn.Softmax``) and the notes' extras
(``Step``, ``Arctan``, ``Swish`` with learnable β, ``GELUSigmoid``, ``Maxout``).

Each module calls its function in :mod:`deltagrad.ops.activation`, where the formula and its
derivative live; the module only holds the arguments (and, for PReLU/Swish/Maxout, the
parameters). ``repr`` matches PyTorch's, e.g. ``LeakyReLU(negative_slope=0.01)``.
"""
from __future__ import annotations

import math

from ..ops import activation as A
from ..ops import elementwise as E
from ..ops.linalg import linear
from ..tensor import empty, full
from .linear import add_weight_and_bias
from .module import Module, Parameter

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "GELU", "GELUSigmoid", "SiLU",
           "Swish", "Mish", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Softmin", "Softplus",
           "Hardtanh", "ReLU6", "Threshold", "Hardsigmoid", "Hardswish", "LogSigmoid",
           "Softsign", "Tanhshrink", "Hardshrink", "Softshrink", "GLU", "Step", "Arctan",
           "Maxout", "Softmax2d"]


def _inplace_repr(inplace):
    return "inplace=True" if inplace else ""


class ReLU(Module):
    """ReLU(x) = max(0, x)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return A.relu(input, inplace=self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    """LeakyReLU(x) = x if x > 0 else negative_slope·x."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return A.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """PReLU(x) = max(0, x) + a·min(0, x) with learnable ``weight`` a of shape
    (num_parameters,): one slope shared by all channels, or one per channel (dim 1)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty(num_parameters, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self):
        self.weight.data.fill_(self.init)

    def forward(self, input):
        return A.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class _Alpha(Module):
    """ELU and CELU: one ``alpha`` and ``inplace``."""
    _fn = None

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return type(self)._fn(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class ELU(_Alpha):
    """ELU(x) = x if x > 0 else α(e^x − 1)."""
    _fn = staticmethod(A.elu)


class CELU(_Alpha):
    """CELU(x) = max(0, x) + min(0, α(e^(x/α) − 1))."""
    _fn = staticmethod(A.celu)


class _Inplace(Module):
    """An activation whose only argument is ``inplace``."""
    _fn = None
    _show_inplace = True

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace) if self._show_inplace else ""


class SELU(_Inplace):
    """SELU(x) = λ·ELU_α(x), α ≈ 1.6733, λ ≈ 1.0507."""
    _fn = staticmethod(A.selu)


class SiLU(_Inplace):
    """SiLU(x) = x σ(x) (Swish with β fixed to 1)."""
    _fn = staticmethod(A.silu)


class Mish(_Inplace):
    """Mish(x) = x tanh(softplus(x))."""
    _fn = staticmethod(A.mish)


class ReLU6(_Inplace):
    """ReLU6(x) = min(max(0, x), 6)."""
    _fn = staticmethod(A.relu6)


class Hardsigmoid(_Inplace):
    """Hardsigmoid(x) = ReLU6(x + 3)/6."""
    _fn = staticmethod(A.hardsigmoid)
    _show_inplace = False


class Hardswish(_Inplace):
    """Hardswish(x) = x·ReLU6(x + 3)/6."""
    _fn = staticmethod(A.hardswish)
    _show_inplace = False


class _Plain(Module):
    """An activation without arguments."""
    _fn = None

    def forward(self, input):
        return type(self)._fn(input)


class Sigmoid(_Plain):
    """σ(x) = 1/(1 + e^(−x)); σ′ = σ(1 − σ)."""
    _fn = staticmethod(E.sigmoid)


class Tanh(_Plain):
    """tanh(x); tanh′ = 1 − tanh²."""
    _fn = staticmethod(E.tanh)


class Arctan(_Plain):
    """arctan(x) (seed 004 §1.5's arc-tangent unit); arctan′ = 1/(1 + x²)."""
    _fn = staticmethod(E.arctan)


class LogSigmoid(_Plain):
    """ln σ(x), stable for large |x|."""
    _fn = staticmethod(A.logsigmoid)


class Softsign(_Plain):
    """x / (1 + |x|)."""
    _fn = staticmethod(A.softsign)


class Tanhshrink(_Plain):
    """x − tanh x."""
    _fn = staticmethod(A.tanhshrink)


class GELUSigmoid(_Plain):
    """GELU's sigmoid approximation x·σ(1.702x) (seed 003)."""
    _fn = staticmethod(A.gelu_sigmoid)


class GELU(Module):
    """GELU(x) = x Φ(x) (``approximate='none'``) or its tanh approximation (``'tanh'``)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r} "
                             "(the sigmoid approximation x·σ(1.702x) is nn.GELUSigmoid)")
        self.approximate = approximate

    def forward(self, input):
        return A.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class _Dim(Module):
    """Softmax, LogSoftmax, Softmin: a ``dim``."""
    _fn = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return type(self)._fn(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_Dim):
    """softmax(x)_i = e^(x_i) / Σ_j e^(x_j) along ``dim``."""
    _fn = staticmethod(A.softmax)


class Softmax2d(Module):
    """softmax over the channels at every location of (N, C, H, W) or (C, H, W) input."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input of 3 or 4 dimensions (C, H, W) or "
                             f"(N, C, H, W), got {input.ndim}D input of shape "
                             f"{tuple(input.shape)}")
        return A.softmax(input, -3)


class LogSoftmax(_Dim):
    """log softmax along ``dim``, by the log-sum-exp trick."""
    _fn = staticmethod(A.log_softmax)


class Softmin(_Dim):
    """softmax(−x) along ``dim``."""
    _fn = staticmethod(A.softmin)


class GLU(Module):
    """GLU(a, b) = a ⊙ σ(b), the input split in halves along ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return A.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softplus(Module):
    """Softplus(x) = (1/β) ln(1 + e^(βx)), linear where βx > ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return A.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """Hardtanh(x) = min(max(x, min_val), max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value=None, max_value=None):
        super().__init__()
        if min_value is not None:  # PyTorch's deprecated spellings
            min_val = min_value
        if max_value is not None:
            max_val = max_value
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val "
                             f"({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return A.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return (f"min_val={self.min_val}, max_val={self.max_val}"
                + (", inplace=True" if self.inplace else ""))


class Threshold(Module):
    """Threshold(x) = x if x > threshold else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return A.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return (f"threshold={self.threshold}, value={self.value}"
                + (", inplace=True" if self.inplace else ""))


class _Lambd(Module):
    _fn = None

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return type(self)._fn(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(_Lambd):
    """x if |x| > λ else 0."""
    _fn = staticmethod(A.hardshrink)


class Softshrink(_Lambd):
    """x − λ·sign(x) if |x| > λ else 0."""
    _fn = staticmethod(A.softshrink)


class Step(Module):
    """Binary step: 1 if x ≥ threshold else 0 (seed 002); ``inclusive=False`` for x > θ
    (seeds 000/001). Its gradient is zero everywhere."""

    def __init__(self, threshold: float = 0.0, inclusive: bool = True):
        super().__init__()
        self.threshold, self.inclusive = threshold, inclusive

    def forward(self, input):
        return A.step(input, self.threshold, self.inclusive)

    def extra_repr(self):
        return f"threshold={self.threshold}, inclusive={self.inclusive}"


class Swish(Module):
    """Swish(x) = x σ(βx) with learnable ``beta`` of shape (num_parameters,), one β shared
    (default) or one per channel (dim 1), initialised to ``init`` (seed 003). SiLU is
    Swish with β fixed to 1; β = 1.702 gives GELU's sigmoid approximation."""

    def __init__(self, num_parameters: int = 1, init: float = 1.0, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.beta = Parameter(full((num_parameters,), init, dtype=dtype, device=device))

    def reset_parameters(self):
        self.beta.data.fill_(self.init)

    def forward(self, input):
        return A.swish(input, self.beta)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Maxout(Module):
    """The maxout unit h_j(x) = max_{i<k} (W_{jk+i} x + b_{jk+i}) (seed 003: "max{w_1 x + b_1,
    ..., w_n x + b_n}"): a linear layer to ``out_features``·``pieces`` features, then the
    max over each group of ``pieces`` consecutive ones (:func:`deltagrad.nn.functional.maxout`).

    ``weight`` has shape (out_features·pieces, in_features) and ``bias``
    (out_features·pieces,), initialised like ``nn.Linear``: U(−1/√in_features, 1/√in_features).
    For the pooling form over channel groups of a conv feature map, call
    ``F.maxout(x, pieces, dim=1)`` after a convolution instead.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be >= 1, got {pieces}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        n = out_features * pieces
        add_weight_and_bias(self, (n, in_features), bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        for p in (self.weight, self.bias):
            if p is not None:
                p.data.uniform_(-bound, bound)

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise RuntimeError(f"Maxout({self.extra_repr()}): expected input of shape "
                               f"(*, {self.in_features}), got {tuple(input.shape)}")
        return A.maxout(linear(input, self.weight, self.bias), self.pieces, dim=-1)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}, bias={self.bias is not None}")
