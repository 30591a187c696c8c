"""Activation functions: PyTorch's set (``F.relu`` ... ``F.softmax``) and the notes' extras.

Every pointwise activation y = f(x) is one fused node (:class:`Pointwise`): its forward is one
array formula, and its derivative f′ is written once, on a small math namespace, so that the
same line runs on raw arrays in a plain backward (fast: no graph, no per-op overhead) and on
Tensors when a graph of the backward is recorded (``create_graph=True``), which gives double
backward. Every formula is kept finite for |x| up to 1e4 in float32 (no e^x of a large x).

softmax(x)_i = e^(x_i − m) / Σ_j e^(x_j − m) with m = max_j x_j (log-sum-exp trick).
Jacobian (seed 002 §1.2.1): ∂s_i/∂x_j = s_i(δ_ij − s_j), see :func:`softmax_jacobian`.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from .. import backend, kernels
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, _make, _norm_dim
from . import elementwise as E
from .elementwise import _xp, _erf, cast, arctan, quiet_fp, require_float

__all__ = ["softmax", "log_softmax", "softmin", "softmax_jacobian", "softplus", "relu", "relu_",
           "leaky_relu", "leaky_relu_", "prelu", "elu", "elu_", "selu", "selu_", "celu",
           "celu_", "gelu", "gelu_sigmoid", "silu", "swish", "mish", "hardtanh", "hardtanh_",
           "relu6", "threshold", "threshold_", "hardsigmoid", "hardswish", "logsigmoid",
           "softsign", "tanhshrink", "hardshrink", "softshrink", "glu", "step", "arctan",
           "maxout"]


# ----------------------------------------------------------------------------- softmax family
def _rows_apart(x, dim):
    """Whether the rows along axis 0 are independent (normalised over another axis), so
    that the work may be split into blocks of them."""
    return dim is not None and x.ndim >= 2 and dim % x.ndim != 0


class Softmax(Function):
    """softmax along ``dim``; float16/bfloat16 computed in float32 and rounded once (PyTorch)."""

    def forward(ctx, x, dim):
        xp = _xp(x)
        xc = x.astype(np.float32) if x.dtype.itemsize == 2 else x  # float16, bfloat16

        def rows(xr):
            e = xp.exp(xr - (xr.max(axis=dim, keepdims=True) if xr.size else xr))  # 0: no max
            e /= e.sum(axis=dim, keepdims=True)
            return e
        with quiet_fp():  # a row of only −inf gives NaN, silently as in PyTorch
            e = E.shared(rows, xc) if _rows_apart(x, dim) else rows(xc)
        e = e.astype(x.dtype, copy=False)
        ctx.dim = dim
        ctx.save_for_backward(e)
        return e

    def backward(ctx, g):
        s, = ctx.saved_tensors
        # vector-Jacobian product with s_i(δ_ij − s_j): s ⊙ (g − Σ_j g_j s_j)
        return s * (g - (g * s).sum(ctx.dim, keepdim=True))


class LogSoftmax(Function):
    def forward(ctx, x, dim):
        xp = _xp(x)
        xc = x.astype(np.float32) if x.dtype.itemsize == 2 else x  # as Softmax

        def rows(xr):
            shifted = xr - (xr.max(axis=dim, keepdims=True) if xr.size else xr)  # 0: no max
            return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        with quiet_fp():
            out = E.shared(rows, xc) if _rows_apart(x, dim) else rows(xc)
        out = out.astype(x.dtype, copy=False)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g - out.exp() * g.sum(ctx.dim, keepdim=True)


def _float(x, op, dtype=None):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if dtype is not None:
        return cast(x, dtype)
    return x if x.dtype.kind in "fV" else cast(x, backend.get_default_dtype())  # V: bfloat16


def _prepare(x, dim, dtype, op):
    if dtype is None and isinstance(x, Tensor):
        require_float(x, op)  # PyTorch: softmax of an int tensor needs dtype=
    x = _float(x, op, dtype)
    if dim is None:  # PyTorch's legacy implicit dim
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return x, (_norm_dim(dim, x.ndim, op) if x.ndim else None)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(x)_i = e^(x_i) / Σ_j e^(x_j) along ``dim`` (computed with the max subtracted)."""
    x, d = _prepare(input, dim, dtype, "softmax")
    return Softmax.apply(x, dim=d)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log softmax(x)_i = x_i − log Σ_j e^(x_j), by the log-sum-exp trick (never log 0)."""
    x, d = _prepare(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(x, dim=d)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmin(x) = softmax(−x)."""
    x, d = _prepare(input, dim, dtype, "softmin")
    return Softmax.apply(-x, dim=d)


def softmax_jacobian(input, dim=-1):
    """The full Jacobian of softmax, J_ij = ∂s_i/∂x_j = s_i(δ_ij − s_j), for teaching.

    ``dim`` (the softmax dimension, of size n) is moved last and the result has shape
    ``(..., n, n)``: one n×n matrix per vector. Differentiable (built from Tensor ops).
    """
    x = _float(input, "softmax_jacobian")
    if x.ndim == 0:
        raise ValueError("softmax_jacobian: expected at least a 1-D input, got a 0-d tensor")
    x = x.movedim(_norm_dim(dim, x.ndim, "softmax_jacobian"), -1)
    s = softmax(x, -1)
    n = x.shape[-1]
    eye = _make(_xp(x._data).eye(n, dtype=x.dtype))
    return s.unsqueeze(-1) * (eye - s.unsqueeze(-2))


# ----------------------------------------------------------------------------- fused pointwise
def _sigmoid(xp, x):
    """σ(x) = max(e, [x ≥ 0]) / (1 + e) with e = e^(−|x|): stable (no overflow) and, unlike
    scipy's expit, SIMD-fast; accurate to a few ulps for tiny values too."""
    e = xp.asarray(xp.abs(x))  # (a 0-d input gives a NumPy scalar)
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    out = xp.maximum(e, x >= 0).astype(x.dtype, copy=False)
    e += 1
    out /= e
    return out


def _softplus(xp, x):
    """ln(1 + e^x) = max(x, 0) + ln(1 + e^(−|x|)): stable, and much faster than logaddexp."""
    e = xp.asarray(xp.abs(x))
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    xp.log1p(e, out=e)
    e += xp.maximum(x, 0)
    return e


class _ArrayMath:
    """The functions a derivative formula may use, on raw arrays (the fast path: no graph)."""

    def __init__(self, xp, dtype):
        self.xp, self.dtype = xp, dtype

    def exp(self, x):
        return self.xp.exp(x)

    def tanh(self, x):
        return self.xp.tanh(x)

    def erf(self, x):
        return _erf(self.xp, x)

    def sigmoid(self, x):
        return _sigmoid(self.xp, x)

    def softplus(self, x):
        return _softplus(self.xp, x)

    def abs(self, x):
        return self.xp.abs(x)

    def where(self, cond, a, b):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            t = self.dtype.type  # two constants: a masked affine map beats xp.where's speed
            return cond * t(a - b) + t(b)
        return self.xp.where(cond, a, b)

    def clamp(self, x, min=None, max=None):
        return self.xp.clip(x, min, max)


#: the same functions on Tensors: a derivative evaluated with these is itself differentiable
_TENSOR_MATH = SimpleNamespace(
    exp=E.exp, tanh=E.tanh, erf=E.erf, sigmoid=E.sigmoid, abs=E.abs, where=E.where,
    clamp=E.clamp, softplus=lambda x: Softplus.apply(x, beta=1.0, threshold=20.0))


class Pointwise(Function):
    """One elementwise activation y = f(x) as one node.

    Subclasses give ``value(xp, x, **p)`` on arrays and ``derivative(m, x, y, **p)`` = f′(x)
    written with ``m.exp``, ``m.where``, ... and operators, so it runs on arrays (plain
    backward) and on Tensors (``create_graph=True``, double backward). ``saves`` names what
    the derivative reads ("x", "y" or "xy"). A ``piecewise`` f′ is constant between kinks:
    it is always evaluated on arrays, since its own derivative is 0. ``value`` may return
    ``(y, aux)``: an intermediate array the plain backward reuses as ``aux=`` (the Tensor
    form recomputes it, so it stays differentiable).
    """

    saves = "x"
    piecewise = False

    @staticmethod
    def value(xp, x, **p):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def derivative(m, x, y, **p):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(ctx, x, **p):
        value, xp = type(ctx).value, _xp(x)
        with quiet_fp():  # f(±inf), f(NaN): IEEE results, no warnings
            y = E.shared(lambda rows: value(xp, rows, **p), x)
        y, aux = y if isinstance(y, tuple) else (y, None)
        y = _xp(x).asarray(y, dtype=x.dtype)  # (0-d inputs give NumPy scalars)
        ctx.p = p
        ctx.save_for_backward(x if "x" in ctx.saves else None, y if "y" in ctx.saves else None,
                              aux)
        return y

    def backward(ctx, g):
        x, y, aux = ctx.saved_tensors
        if is_grad_enabled() and not ctx.piecewise:
            return g * type(ctx).derivative(_TENSOR_MATH, x, y, **ctx.p)
        xa = None if x is None else x._data
        ya = None if y is None else y._data
        aux = None if aux is None else aux._data
        p, derivative, m = ctx.p, type(ctx).derivative, _ArrayMath(_xp(g._data), g.dtype)

        def local(xs, ys, auxs):  # f′ on a block of rows
            d = derivative(m, xs, ys, **(p if auxs is None else dict(p, aux=auxs)))
            return m.xp.asarray(d, dtype=g.dtype)

        with quiet_fp():
            if is_grad_enabled():  # piecewise f′ while recording: stay differentiable in g
                return g * _make(E.shared(local, xa, ya, aux))
            return _make(E.shared(lambda gs, xs, ys, auxs: gs * local(xs, ys, auxs),
                                  g._data, xa, ya, aux))


_FLOAT_ONLY = {"elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "logsigmoid",
               "hardswish", "hardsigmoid", "leaky_relu", "softshrink", "hardshrink"}
_INT_KEEP = {"hardtanh", "relu6", "threshold"}


def _pointwise(cls, input, op, inplace=False, **p):
    """Apply a Pointwise activation; ``inplace`` writes the result into ``input`` (torch's
    ``inplace=True``): the node then reads a copy of x, so the graph stays correct.
    Integer input: PyTorch's float-only kernels raise, clamps (hardtanh, relu6, threshold)
    keep the integer dtype, the rest compute in the default float dtype."""
    if isinstance(input, Tensor) and input.dtype.kind not in "fV":
        if op in _FLOAT_ONLY:
            require_float(input, op)
        if op in _INT_KEEP and input.dtype.kind in "iu":
            return cls.apply(input, **p) if not inplace else input._assign(
                cls.apply(input, **p), op + "_")
    x = _float(input, op)
    if not inplace:
        return cls.apply(x, **p)
    src = x.clone() if x.requires_grad and is_grad_enabled() else x
    return input._assign(cls.apply(src, **p), op + "_")


class ELU(Pointwise):
    """scale·x for x > 0, scale·α(e^(input_scale·x) − 1) otherwise (ELU, SELU and CELU);
    f′ = scale for x > 0, scale·α·input_scale·e^(input_scale·x) otherwise."""

    @staticmethod
    def value(xp, x, alpha, scale, input_scale):
        neg = xp.expm1(xp.minimum(x, 0) * input_scale) * (alpha * scale)
        neg += xp.maximum(x, 0) * scale  # each branch is 0 on the other's side
        return neg

    @staticmethod
    def derivative(m, x, y, alpha, scale, input_scale):
        neg = m.exp(m.clamp(x, max=0) * input_scale) * (alpha * scale * input_scale)
        return m.where(x > 0, scale, neg)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def elu(input, alpha=1.0, inplace=False):
    """ELU(x) = x if x > 0 else α(e^x − 1)."""
    return _pointwise(ELU, input, "elu", inplace, alpha=alpha, scale=1.0, input_scale=1.0)


def selu(input, inplace=False):
    """SELU(x) = λ·ELU_α(x) with α ≈ 1.6733, λ ≈ 1.0507 (Klambauer et al. 2017).

    Seed 003 writes SELU as α e^(αx) with α ≈ 1.677363, a garbled line; this is the
    paper's (and PyTorch's) self-normalizing function.
    """
    return _pointwise(ELU, input, "selu", inplace, alpha=_SELU_ALPHA, scale=_SELU_SCALE,
                      input_scale=1.0)


def celu(input, alpha=1.0, inplace=False):
    """CELU(x) = max(0, x) + min(0, α(e^(x/α) − 1))."""
    if alpha == 0:
        raise ValueError("celu: alpha must be non-zero (it divides the input)")
    return _pointwise(ELU, input, "celu", inplace, alpha=alpha, scale=1.0,
                      input_scale=1.0 / alpha)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


class GELU(Pointwise):
    """GELU(x) = x Φ(x), Φ(x) = ½(1 + erf(x/√2)); f′ = Φ(x) + x φ(x), φ = e^(−x²/2)/√(2π).

    With the Numba kernel backend, a contiguous float32 array runs as one compiled pass that
    writes y and f′ (``kernels/numba_gelu.py``, its own float32-accurate erf), and the
    backward is g·f′; the formulas below are the reference, and run for everything else
    (and for ``create_graph=True``)."""

    kernel = "gelu"  # kernels/numba_gelu.py's gelu_forward

    def forward(ctx, x):
        ctx.compiled = _compiled_gelu(x)
        if not ctx.compiled:
            return Pointwise.forward(ctx, x)
        from ..kernels import numba_gelu
        y, slope = getattr(numba_gelu, ctx.kernel + "_forward")(x)
        ctx.p = {}
        ctx.save_for_backward(x, None, None)
        ctx.slope = slope
        return y

    def release(self):
        super().release()
        self.slope = None

    def backward(ctx, g):
        if ctx.compiled and not is_grad_enabled() and type(g._data) is np.ndarray and \
                g._data.dtype == np.float32:
            return _make(E.shared(np.multiply, g._data, ctx.slope))
        return Pointwise.backward(ctx, g)  # f′ from x, differentiable when recording

    @staticmethod
    def value(xp, x):
        cdf = _erf(xp, x * (1 / math.sqrt(2)))
        cdf += 1
        cdf *= 0.5
        return x * cdf, cdf

    @staticmethod
    def derivative(m, x, y, aux=None):
        cdf = aux if aux is not None else (m.erf(x * (1 / math.sqrt(2))) + 1.0) * 0.5
        pdf = m.exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))
        return cdf + x * pdf


def _compiled_leaky_relu(a) -> bool:
    """Whether ``a`` goes through the compiled LeakyReLU: a non-empty C-contiguous
    float32/float64 NumPy array, with the Numba kernel backend, in a process that may use
    Numba's thread pool."""
    if type(a) is not np.ndarray or a.dtype not in (np.float32, np.float64) or a.size == 0 \
            or not a.flags.c_contiguous or kernels.get_backend() != "numba":
        return False
    from ..kernels.numba_parallel import usable
    return usable()


def _compiled_gelu(a) -> bool:
    """Whether ``a`` goes through the compiled GELU: a non-empty C-contiguous float32 NumPy
    array, with the Numba kernel backend."""
    return (type(a) is np.ndarray and a.dtype == np.float32 and a.size > 0
            and a.flags.c_contiguous and kernels.get_backend() == "numba")


_K = math.sqrt(2 / math.pi)


class GELUTanh(Pointwise):
    """GELU's tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))); compiled like
    :class:`GELU` (``kernels/numba_gelu.py``, as x·σ(2u))."""

    kernel = "gelu_tanh"
    forward = GELU.forward
    backward = GELU.backward

    @staticmethod
    def value(xp, x):
        return x * (xp.tanh((x + x * x * x * 0.044715) * _K) + 1) * 0.5

    @staticmethod
    def derivative(m, x, y):
        t = m.tanh((x + x * x * x * 0.044715) * _K)
        return (t + 1.0) * 0.5 + x * (1.0 - t * t) * ((x * x * (3 * 0.044715) + 1.0) * (0.5 * _K))


def gelu(input, approximate="none"):
    """GELU(x) = x Φ(x) (``approximate='none'``, exact erf form) or its tanh approximation.

    The notes' sigmoid approximation x σ(1.702x) (seed 003) is :func:`gelu_sigmoid`.
    """
    if approximate == "none":
        return _pointwise(GELU, input, "gelu")
    if approximate == "tanh":
        return _pointwise(GELUTanh, input, "gelu")
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r} "
                     "(the sigmoid approximation x·σ(1.702x) is gelu_sigmoid)")


class SiLU(Pointwise):
    """x σ(βx) with a constant β; f′ = s(1 + βx(1 − s)), s = σ(βx)."""

    @staticmethod
    def value(xp, x, beta):
        return x * _sigmoid(xp, x * beta if beta != 1 else x)

    @staticmethod
    def derivative(m, x, y, beta):
        s = m.sigmoid(x * beta)
        return s * (x * beta * (1.0 - s) + 1.0)


def silu(input, inplace=False):
    """SiLU(x) = x σ(x) (Swish with β = 1)."""
    return _pointwise(SiLU, input, "silu", inplace, beta=1.0)


def gelu_sigmoid(input):
    """GELU's sigmoid approximation x·σ(1.702x) (seed 003: "x·σ(1.702·x) called GelU")."""
    return _pointwise(SiLU, input, "gelu_sigmoid", beta=1.702)


class Mish(Pointwise):
    """Mish(x) = x tanh(softplus(x)); f′ = t + x(1 − t²)σ(x), t = tanh(softplus(x))."""

    @staticmethod
    def value(xp, x):
        return x * xp.tanh(_softplus(xp, x))

    @staticmethod
    def derivative(m, x, y):
        t = m.tanh(m.softplus(x))
        return t + x * (1.0 - t * t) * m.sigmoid(x)


def mish(input, inplace=False):
    """Mish(x) = x tanh(ln(1 + e^x))."""
    return _pointwise(Mish, input, "mish", inplace)


class Softplus(Pointwise):
    """(1/β) ln(1 + e^(βx)), and x itself where βx > threshold; f′ = σ(βx) (1 above it)."""

    @staticmethod
    def value(xp, x, beta, threshold):
        bx = x * beta
        sp = _softplus(xp, bx)
        if beta != 1:
            sp /= beta
        return xp.where(bx > threshold, x, sp)

    @staticmethod
    def derivative(m, x, y, beta, threshold):
        bx = x * beta
        return m.where(bx > threshold, 1.0, m.sigmoid(bx))


def softplus(input, beta=1.0, threshold=20.0):
    """Softplus(x) = (1/β) ln(1 + e^(βx)), linear where βx > ``threshold``."""
    return _pointwise(Softplus, input, "softplus", beta=beta, threshold=threshold)


class LogSigmoid(Pointwise):
    """ln σ(x) = −ln(1 + e^(−x)); f′ = σ(−x)."""

    @staticmethod
    def value(xp, x):
        return -_softplus(xp, -x)

    @staticmethod
    def derivative(m, x, y):
        return m.sigmoid(-x)


def logsigmoid(input):
    """LogSigmoid(x) = ln(1/(1 + e^(−x))), stable for large |x|."""
    return _pointwise(LogSigmoid, input, "logsigmoid")


class Softsign(Pointwise):
    """x / (1 + |x|); f′ = 1/(1 + |x|)²."""

    @staticmethod
    def value(xp, x):
        return x / (xp.abs(x) + 1)

    @staticmethod
    def derivative(m, x, y):
        d = m.abs(x) + 1.0
        return 1.0 / (d * d)


def softsign(input):
    """Softsign(x) = x / (1 + |x|)."""
    return _pointwise(Softsign, input, "softsign")


class Tanhshrink(Pointwise):
    """x − tanh x; f′ = tanh² x."""

    @staticmethod
    def value(xp, x):
        return x - xp.tanh(x)

    @staticmethod
    def derivative(m, x, y):
        t = m.tanh(x)
        return t * t


def tanhshrink(input):
    """Tanhshrink(x) = x − tanh(x)."""
    return _pointwise(Tanhshrink, input, "tanhshrink")


class Hardswish(Pointwise):
    """x·ReLU6(x + 3)/6; f′ = 0 for x ≤ −3, x/3 + ½ on (−3, 3), 1 for x ≥ 3 (as PyTorch)."""

    @staticmethod
    def value(xp, x):
        return x * xp.clip(x + 3, 0, 6) / 6

    @staticmethod
    def derivative(m, x, y):
        return m.where(x <= -3, 0.0, m.where(x < 3, x * (1 / 3) + 0.5, 1.0))


def hardswish(input, inplace=False):
    """Hardswish(x) = x·ReLU6(x + 3)/6."""
    return _pointwise(Hardswish, input, "hardswish", inplace)


# ------------------------------------------------------------------ piecewise-linear ones
class LeakyReLU(Pointwise):
    """max(0, x) + s·min(0, x); f′ = 1 for x > 0, s otherwise.

    With the Numba kernel backend, contiguous float32/float64 arrays run as one compiled pass
    forward and one backward (``kernels/numba_leaky_relu.py``); the formulas below are the
    reference, and run for everything else."""
    piecewise = True

    def forward(ctx, x, negative_slope):
        ctx.compiled = _compiled_leaky_relu(x)
        if not ctx.compiled:
            return Pointwise.forward(ctx, x, negative_slope=negative_slope)
        from ..kernels.numba_leaky_relu import leaky_relu_forward
        ctx.p = dict(negative_slope=negative_slope)
        ctx.save_for_backward(x, None, None)
        return leaky_relu_forward(x, negative_slope)

    def backward(ctx, g):
        if ctx.compiled and not is_grad_enabled() and _compiled_leaky_relu(g._data) and \
                g._data.dtype == ctx.saved_tensors[0].dtype:
            from ..kernels.numba_leaky_relu import leaky_relu_backward
            return _make(leaky_relu_backward(g._data, ctx.saved_tensors[0]._data,
                                             ctx.p["negative_slope"]))
        return Pointwise.backward(ctx, g)

    @staticmethod
    def value(xp, x, negative_slope):
        if negative_slope <= 1:  # max(x, s·x) is x > 0 ? x : s·x, and faster than where
            return xp.maximum(x, x * negative_slope)
        return xp.where(x > 0, x, x * negative_slope)

    @staticmethod
    def derivative(m, x, y, negative_slope):
        return m.where(x > 0, 1.0, negative_slope)


def relu(input, inplace=False):
    """ReLU(x) = max(0, x); f′ = 1 for x > 0, else 0 (seed 000; 0 at 0 as PyTorch)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"relu: expected a Tensor, got {type(input).__name__}")
    return E.relu(input, inplace)  # saves its output, so in place needs no copy of x


def relu_(input):
    return relu(input, inplace=True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """LeakyReLU(x) = x if x > 0 else s·x (the notes' max(αx, x) for α < 1)."""
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
        raise TypeError(f"leaky_relu(): argument 'negative_slope' must be a number, got "
                        f"{type(negative_slope).__name__}")
    return _pointwise(LeakyReLU, input, "leaky_relu", inplace, negative_slope=negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


class Hardtanh(Pointwise):
    """clip(x, lo, hi); f′ = 1 strictly inside (lo, hi), 0 elsewhere (PyTorch's rule)."""
    piecewise = True

    @staticmethod
    def value(xp, x, lo, hi):
        return xp.clip(x, lo, hi)

    @staticmethod
    def derivative(m, x, y, lo, hi):
        return (x > lo) & (x < hi)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Hardtanh(x) = min(max(x, min_val), max_val)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return _pointwise(Hardtanh, input, "hardtanh", inplace, lo=min_val, hi=max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """ReLU6(x) = min(max(0, x), 6)."""
    return _pointwise(Hardtanh, input, "relu6", inplace, lo=0.0, hi=6.0)


class Threshold(Pointwise):
    """x if x > threshold else value; f′ = [x > threshold]. Tested as "not x ≤ threshold"
    (PyTorch's kernel), so NaN stays NaN with gradient 1."""
    piecewise = True

    @staticmethod
    def value(xp, x, threshold, value):
        return xp.where(x <= threshold, x.dtype.type(value), x)

    @staticmethod
    def derivative(m, x, y, threshold, value):
        return ~(x <= threshold)


def threshold(input, threshold, value, inplace=False):
    """Threshold(x) = x if x > threshold else value."""
    return _pointwise(Threshold, input, "threshold", inplace, threshold=threshold, value=value)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, inplace=True)


class Hardsigmoid(Pointwise):
    """ReLU6(x + 3)/6; f′ = 1/6 strictly inside (−3, 3)."""
    piecewise = True

    @staticmethod
    def value(xp, x):
        return xp.clip(x + 3, 0, 6) / 6

    @staticmethod
    def derivative(m, x, y):
        return m.where((x > -3) & (x < 3), 1 / 6, 0.0)


def hardsigmoid(input, inplace=False):
    """Hardsigmoid(x) = 0 if x ≤ −3, 1 if x ≥ 3, x/6 + ½ otherwise."""
    return _pointwise(Hardsigmoid, input, "hardsigmoid", inplace)


class Hardshrink(Pointwise):
    """x if |x| > λ else 0; f′ = [|x| > λ]. Tested as "not |x| ≤ λ", so NaN stays NaN."""
    piecewise = True

    @staticmethod
    def value(xp, x, lambd):
        return xp.where(xp.abs(x) <= lambd, x.dtype.type(0), x)

    @staticmethod
    def derivative(m, x, y, lambd):
        return ~(m.abs(x) <= lambd)


def hardshrink(input, lambd=0.5):
    """Hardshrink(x) = x if |x| > λ else 0."""
    return _pointwise(Hardshrink, input, "hardshrink", lambd=lambd)


class Softshrink(Pointwise):
    """x − λ·sign(x) if |x| > λ else 0; f′ = [|x| > λ] (NaN stays NaN, as in Hardshrink)."""
    piecewise = True

    @staticmethod
    def value(xp, x, lambd):
        return xp.where(xp.abs(x) <= lambd, x.dtype.type(0),
                        x - xp.copysign(x.dtype.type(lambd), x))

    @staticmethod
    def derivative(m, x, y, lambd):
        return ~(m.abs(x) <= lambd)


def softshrink(input, lambd=0.5):
    """Softshrink(x) = x − λ if x > λ, x + λ if x < −λ, 0 otherwise."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be non-negative, got {lambd}")
    return _pointwise(Softshrink, input, "softshrink", lambd=lambd)


class Step(Pointwise):
    """The binary/threshold unit: 1 where x ≥ θ (``inclusive``) or x > θ, else 0; f′ = 0."""
    piecewise = True

    @staticmethod
    def value(xp, x, threshold, inclusive):
        return ((x >= threshold) if inclusive else (x > threshold)).astype(x.dtype)

    saves = ""

    def backward(ctx, g):
        return _make(_xp(g._data).zeros_like(g._data))


def step(input, threshold=0.0, inclusive=True):
    """Binary step: 1 if x ≥ θ else 0 (seed 002 §1.2.1: step(x) = 1 for x ≥ 0, 0 for x < 0).

    ``inclusive=False`` gives 1 only for x > θ, the convention of seed 000 §2.2 ("1 if u > 0,
    0 otherwise") and of seed 001's McCulloch–Pitts unit (fires if the sum > θ). The
    derivative is 0 everywhere (undefined at θ, seed 000), so the gradient through a step
    is zero: it trains nothing by backpropagation (use the perceptron rule).
    """
    return _pointwise(Step, input, "step", threshold=threshold, inclusive=inclusive)


# ----------------------------------------------------------------------------- learnable ones
def _channel_param(weight, x, op, name):
    """Reshape a per-channel parameter of shape (C,) to broadcast along dim 1 of ``x``."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(weight).__name__}")
    n = weight.numel()
    if n == 1:
        return weight.reshape(())
    if weight.ndim != 1:
        raise ValueError(f"{op}: {name} must be 1-D (one value per channel), got shape "
                         f"{tuple(weight.shape)}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if n != channels:
        raise ValueError(f"{op}: {name} has {n} elements but the input of shape "
                         f"{tuple(x.shape)} has {channels} channels (dim 1); expected 1 or "
                         f"{channels}")
    w = weight.reshape((n,) + (1,) * (x.ndim - 2))
    return w if w.dtype == x.dtype else cast(w, x.dtype)


class PReLU(Function):
    """x if x > 0 else a·x with a learnable a: ∂/∂x = [x > 0] + a[x ≤ 0], ∂/∂a = x[x ≤ 0]."""

    def forward(ctx, x, a):
        ctx.save_for_backward(x, a if ctx.needs_input_grad[0] else None)
        return _xp(x).where(x > 0, x, a * x)

    def backward(ctx, g):
        x, a = ctx.saved_tensors
        pos = x > 0
        gx = E.where(pos, g, g * a) if ctx.needs_input_grad[0] else None
        ga = E.where(pos, 0.0, g * x) if ctx.needs_input_grad[1] else None
        return gx, ga


def prelu(input, weight):
    """PReLU(x) = max(0, x) + a·min(0, x), with ``weight`` a of shape (C,) applied along
    dim 1 (channels), or of one element shared by all (seed 003: "Parametric ReLU, α is
    also treated as a parameter")."""
    x = _float(input, "prelu")
    return PReLU.apply(x, _channel_param(weight, x, "prelu", "weight"))


class Swish(Function):
    """x σ(βx) with a learnable β: ∂/∂x = s(1 + βx(1 − s)), ∂/∂β = x² s(1 − s), s = σ(βx)."""

    def forward(ctx, x, beta):
        ctx.save_for_backward(x, beta)
        return x * _sigmoid(_xp(x), x * beta)

    def backward(ctx, g):
        x, beta = ctx.saved_tensors
        s = E.sigmoid(x * beta)
        ds = s * (1.0 - s)
        gx = g * (s + x * beta * ds) if ctx.needs_input_grad[0] else None
        gb = g * x * x * ds if ctx.needs_input_grad[1] else None
        return gx, gb


def swish(input, beta=1.0):
    """Swish(x) = x σ(βx) (seed 003: "where β is a learnable parameter is called SWISH").

    ``beta`` is a number (fixed: β = 1 is SiLU, β = 1.702 the GELU approximation) or a
    Tensor of one element or of one per channel (dim 1), which then receives a gradient.
    """
    if not isinstance(beta, Tensor):
        return _pointwise(SiLU, input, "swish", beta=float(beta))
    x = _float(input, "swish")
    return Swish.apply(x, _channel_param(beta, x, "swish", "beta"))


# ----------------------------------------------------------------------------- the others
def glu(input, dim=-1):
    """GLU(a, b) = a ⊙ σ(b), with ``input`` split in halves a, b along ``dim``."""
    x = _float(input, "glu")
    d = _norm_dim(dim, x.ndim, "glu")
    if x.shape[d] % 2:
        raise RuntimeError(f"glu: halving dimension {dim} of input shape {tuple(x.shape)} "
                           "needs an even size")
    a, b = x.chunk(2, d)
    return a * E.sigmoid(b)


def maxout(input, pieces, dim=1):
    """Maxout pooling: split dimension ``dim`` (size C) into C/k groups of k = ``pieces``
    consecutive features and keep each group's max, so channel j of the output is
    max_i x[..., j·k + i, ...] (seed 003: max{w_1 x + b_1, ..., w_n x + b_n}; with a
    linear layer in front this is the maxout unit, :class:`deltagrad.nn.Maxout`).
    The gradient goes to the winning piece only (shared evenly at exact ties).
    """
    x = _float(input, "maxout")
    if not isinstance(pieces, int) or pieces < 1:
        raise ValueError(f"maxout: pieces must be a positive int, got {pieces!r}")
    if x.ndim == 0:
        raise ValueError("maxout: expected at least a 1-D input, got a 0-d tensor")
    d = _norm_dim(dim, x.ndim, "maxout")
    if x.shape[d] % pieces:
        raise ValueError(f"maxout: dimension {dim} of input shape {tuple(x.shape)} has size "
                         f"{x.shape[d]}, which is not a multiple of pieces={pieces}")
    return x.unflatten(d, (x.shape[d] // pieces, pieces)).amax(d + 1)
