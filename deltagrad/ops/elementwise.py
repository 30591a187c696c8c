"""Elementwise operations: arithmetic, comparisons and the pointwise functions of the notes.

Each backward is written with differentiable operations, so its graph can itself be
differentiated (``create_graph=True``). Broadcasting is undone by the engine.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from .. import backend, kernels, threads
from ..autograd.function import Function
from ..autograd import grad_mode as _grad_mode
from ..tensor import Tensor, _make, result_type

_pybool = builtins.bool


# ----------------------------------------------------------------------------- operands
def as_operand(x, dtype, like: Tensor):
    """A Tensor of ``dtype`` on ``like``'s device from a Tensor, array or Python scalar."""
    if isinstance(x, Tensor):
        return x if x._data.dtype == dtype else cast(x, dtype)
    xp = backend.array_module(like._data)
    return _make(xp.asarray(x, dtype=dtype))


_SCALARS = (builtins.int, builtins.float)


def binary_operands(a, b, op: str):
    """Both operands as Tensors of PyTorch's promoted dtype (Python scalars never upcast)."""
    ta, tb = type(a), type(b)
    if ta is Tensor and tb is Tensor:  # fast paths: the common cases of every training step
        da, db = a._data, b._data
        if da.dtype is db.dtype or da.dtype == db.dtype:
            return a, b
    elif ta is Tensor and tb in _SCALARS and a._data.dtype.kind in "fV":
        return a, _make(_xp(a._data).asarray(b, dtype=a._data.dtype))
    elif tb is Tensor and ta in _SCALARS and b._data.dtype.kind in "fV":
        return _make(_xp(b._data).asarray(a, dtype=b._data.dtype)), b
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}: expected at least one Tensor")
    like = a if isinstance(a, Tensor) else b
    for x in (a, b):
        if not isinstance(x, (Tensor, builtins.int, builtins.float, np.ndarray, np.generic)):
            raise TypeError(f"{op}: unsupported operand type {type(x).__name__}")
    dtype = result_type(a, b)
    return as_operand(a, dtype, like), as_operand(b, dtype, like)


def _check_broadcast(op, a, b):
    if a._data.shape == b._data.shape:
        return
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"{op}: the shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                           "broadcast together (each dimension must match or be 1)") from None


_TORCH_TYPE_NAMES = {"int8": "Char", "uint8": "Byte", "int16": "Short", "int32": "Int",
                     "int64": "Long", "bool": "Bool"}


def require_float(x, op, allow=()):
    """PyTorch's float-only kernels refuse integer and bool tensors rather than cast them:
    NotImplementedError '"op" not implemented for 'Long'' (dtypes in ``allow`` pass)."""
    if x.dtype.kind not in "fV" and str(x.dtype) not in allow:  # V: bfloat16
        name = _TORCH_TYPE_NAMES.get(str(x.dtype), str(x.dtype))
        raise NotImplementedError(f'"{op}" not implemented for \'{name}\' (input of dtype '
                                  f"{x.dtype}; convert it with .float())")


def quiet_fp():
    """A context in which IEEE results (±inf, NaN from log 0, x/0, inf − inf) come without
    NumPy's RuntimeWarnings: PyTorch is silent there. Used by the ops whose forward meets
    them in ordinary use (logs, division, powers, softmax of −inf rows, activations at ±inf);
    not on every op, since entering it costs ~1 µs."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def _xp(a):
    return backend.array_module(a)


# ----------------------------------------------------------------------------- dtype/device
class Cast(Function):
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    def backward(ctx, g):
        return cast(g, ctx.src) if backend.is_floating(ctx.src) else None


def cast(x: Tensor, dtype) -> Tensor:
    return Cast.apply(x, dtype=backend.as_dtype(dtype))


class ToDevice(Function):
    def forward(ctx, x, device):
        ctx.src = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(ctx, g):
        return to_device(g, ctx.src)


def to_device(x: Tensor, device) -> Tensor:
    dev = backend.device(device)
    backend.xp_for(dev)  # raises a clear error when CuPy is missing
    return ToDevice.apply(x, device=dev)


class Clone(Function):
    def forward(ctx, x):
        return x.copy()

    def backward(ctx, g):
        return g


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


# ----------------------------------------------------------------------------- arithmetic
# the smallest arrays that a compiled binary operation may split over the threads:
# kernels/numba_parallel.py's lowest bar, SPINNING_MIN_SPLIT (not imported here: that would
# import Numba with deltagrad)
_COMPILED_FLOOR = 1 << 14
_COMPILED_BINARY = (np.add, np.subtract, np.multiply)


def shared(fn, *args):
    """``fn(*args)``; on large NumPy arrays computed in row blocks on the threads
    (:func:`deltagrad.threads.split_apply`: the same numbers as one call). At more than one
    thread, a + b, a − b and a · b of two float arrays of one shape are one compiled loop
    split over them from Numba's bar on (``kernels/numba_binary.py``, the same numbers)."""
    a = args[0]
    if len(args) == 2 and fn in _COMPILED_BINARY and type(a) is np.ndarray and \
            a.size >= _COMPILED_FLOOR and threads.get_num_threads() > 1 and \
            kernels.get_backend() == "numba":
        from ..kernels import numba_binary
        if numba_binary.serves(fn, *args):
            return numba_binary.apply(fn, *args)
    limit = 2 * threads.MIN_SPLIT_ELEMENTS
    for a in args:
        if type(a) is np.ndarray and a.size >= limit:
            return threads.split_apply(fn, *args)
    return fn(*args)


class Add(Function):
    def forward(ctx, a, b):
        return shared(np.add, a, b) if type(a) is np.ndarray else a + b

    def backward(ctx, g):
        return g, g


class Sub(Function):
    def forward(ctx, a, b):
        return shared(np.subtract, a, b) if type(a) is np.ndarray else a - b

    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    def forward(ctx, a, b):
        ctx.save_for_backward(b if ctx.needs_input_grad[0] else None,
                              a if ctx.needs_input_grad[1] else None)
        return shared(np.multiply, a, b) if type(a) is np.ndarray else a * b

    def backward(ctx, g):
        b, a = ctx.saved_tensors
        return (g * b if b is not None else None), (g * a if a is not None else None)


class Div(Function):
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        with quiet_fp():
            return shared(np.true_divide, a, b) if type(a) is np.ndarray else a / b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """a^b for tensors: ∂/∂a = b a^(b−1), ∂/∂b = a^b ln a (0 where a = 0 and b > 0)."""

    def forward(ctx, a, b):
        with quiet_fp():
            out = _int_pow(a, b) if a.dtype.kind in "iub" else a ** b
        ctx.save_for_backward(a, b, out)
        return out

    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = g * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            safe_log = log(where(a > 0, a, ones_like_data(a)))
            gb = g * out * safe_log
        return ga, gb


def _int_pow(a, b):
    """Integer a^b as PyTorch computes it: a negative power truncates to 0 unless |a| = 1."""
    xp = _xp(a)
    neg = b < 0
    out = a ** xp.where(neg, 0, b)
    if neg.any():
        odd = (xp.abs(b) % 2) == 1
        at_neg = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0))
        out = xp.where(neg, at_neg, out).astype(out.dtype)
    return out


class PowScalar(Function):
    """x^p for a constant p: ∂/∂x = p x^(p−1)."""

    def forward(ctx, x, p):
        ctx.p = p
        ctx.save_for_backward(x)
        if p == 2:
            return x * x
        with quiet_fp():
            if p == 0.5:
                return _xp(x).sqrt(x)
            return x ** x.dtype.type(p) if x.dtype.kind in "fV" else x ** p

    def backward(ctx, g):
        x, = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return g * 0
        if p == 1:
            return g
        if p == 2:
            return g * x * 2.0
        return g * (x ** (p - 1)) * float(p)


def ones_like_data(t):
    return _make(_xp(t._data).ones_like(t._data))


def _legacy_alpha(op, other, alpha):
    """PyTorch's deprecated overload ``x.add(number, tensor)`` = x + number·tensor."""
    if not isinstance(other, (builtins.int, builtins.float)) or isinstance(other, builtins.bool):
        raise TypeError(f"{op}(): alpha must be a number, got a Tensor (and other="
                        f"{type(other).__name__})")
    import warnings
    warnings.warn(f"This overload of {op} is deprecated: {op}(Number alpha, Tensor other); use "
                  f"{op}(Tensor other, *, Number alpha=1)", UserWarning, stacklevel=3)
    return alpha, other


def _check_alpha(op, a, alpha):
    """An integer result cannot take a fractional α (PyTorch refuses rather than rounding)."""
    if a.dtype.kind in "biu" and isinstance(alpha, (builtins.float, np.floating)):
        raise RuntimeError(f"{op}: for integral input tensors, argument alpha must not be a "
                           f"floating point number (got alpha={alpha} for {a.dtype})")


def add(input, other, alpha=1):
    if isinstance(alpha, Tensor):
        other, alpha = _legacy_alpha("add", other, alpha)
    a, b = binary_operands(input, other, "add")
    _check_broadcast("add", a, b)
    if alpha != 1:
        _check_alpha("add", a, alpha)
        b = b * alpha
    return Add.apply(a, b)


def sub(input, other, alpha=1):
    if isinstance(alpha, Tensor):
        other, alpha = _legacy_alpha("sub", other, alpha)
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError("sub: subtraction, the `-` operator, with a bool tensor is not "
                           "supported; to invert a mask use `~` or logical_not()")
    a, b = binary_operands(input, other, "sub")
    _check_broadcast("sub", a, b)
    if alpha != 1:
        _check_alpha("sub", a, alpha)
        b = b * alpha
    return Sub.apply(a, b)


def mul(input, other, *, out=None):
    """input · other, broadcast; ``out=`` receives the result (``ops/out_argument.py``)."""
    if out is not None:
        from .out_argument import write_out
        return write_out(mul(input, other), out, "mul")
    a, b = binary_operands(input, other, "mul")
    _check_broadcast("mul", a, b)
    return Mul.apply(a, b)


def div(input, other, rounding_mode=None):
    """True division (ints become floating, as in PyTorch); ``rounding_mode`` 'trunc'/'floor'."""
    a, b = binary_operands(input, other, "div")
    _check_broadcast("div", a, b)
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or "
                             f"'floor' but found {rounding_mode!r}")
        xp, x, y = _xp(a._data), a._data, b._data
        if a.dtype.kind in "iu":  # exact integer arithmetic (a float quotient rounds > 2⁵³)
            _int_division_check("div", a, b)
            if rounding_mode == "floor":
                return _make(xp.floor_divide(x, y))
            return _make((xp.abs(x) // xp.abs(y) * (xp.sign(x) * xp.sign(y))).astype(a.dtype))
        with quiet_fp():
            q = x / y
            q = xp.trunc(q) if rounding_mode == "trunc" else xp.floor(q)
        return _make(q.astype(a.dtype))
    if a.dtype.kind not in "fV":  # V: bfloat16 stays bfloat16
        a, b = cast(a, backend.get_default_dtype()), cast(b, backend.get_default_dtype())
    return Div.apply(a, b)


class Remainder(Function):
    """a mod b with the sign of b (Python's %): ∂/∂a = 1, ∂/∂b = −⌊a/b⌋."""

    def forward(ctx, a, b):
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        with quiet_fp():
            return _xp(a).mod(a, b)

    def backward(ctx, g):
        gb = None
        if ctx.needs_input_grad[1]:
            a, b = ctx.saved_tensors
            gb = -g * floor(a / b)
        return g, gb


def _int_division_check(op, a, b):
    _no_bool(op, a, b)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and bool((b._data == 0).any()):
        raise RuntimeError(f"{op}: ZeroDivisionError (integer division by zero)")


def remainder(input, other):
    """Python's modulus: the result has the sign of ``other``."""
    a, b = binary_operands(input, other, "remainder")
    _check_broadcast("remainder", a, b)
    _int_division_check("remainder", a, b)
    if a.dtype.kind in "fV":
        return Remainder.apply(a, b)
    return _make(_xp(a._data).mod(a._data, b._data))


def floor_divide(input, other):
    a, b = binary_operands(input, other, "floor_divide")
    _int_division_check("floor_divide", a, b)
    return div(a, b, rounding_mode="floor")


def pow(input, exponent):
    if isinstance(input, Tensor) and isinstance(exponent, (builtins.int, builtins.float)) \
            and not isinstance(exponent, _pybool):
        dtype = result_type(input, exponent)
        if dtype.kind not in "fV" and exponent < 0:
            raise RuntimeError("pow: integers to negative integer powers are not allowed "
                               f"(a {input.dtype} tensor to the power {exponent})")
        if dtype != input.dtype:
            input = cast(input, dtype)
        return PowScalar.apply(input, p=exponent)
    a, b = binary_operands(input, exponent, "pow")
    _check_broadcast("pow", a, b)
    if a.dtype == backend.bool_:
        if not isinstance(exponent, _pybool):  # bool ** bool tensor: not defined (as torch)
            _no_bool("pow", a)
        return a.clone() if exponent else _make(_xp(a._data).ones(a.shape, bool))
    return Pow.apply(a, b)


class Neg(Function):
    def forward(ctx, x):
        return -x

    def backward(ctx, g):
        return -g


def neg(x):
    if x.dtype == backend.bool_:
        raise RuntimeError("neg: negation, the `-` operator, on a bool tensor is not supported; "
                           "to invert a mask use `~` or logical_not()")
    return Neg.apply(x)


def _is_bool(x):
    return isinstance(x, _pybool) or (isinstance(x, Tensor) and x.dtype == backend.bool_)


def _no_bool(op, *xs):
    for x in xs:
        if x.dtype == backend.bool_:
            raise RuntimeError(f"{op}: not implemented for bool tensors (shape "
                               f"{tuple(x.shape)}); convert with .long() or .float() first")


# ----------------------------------------------------------------------------- pointwise
def _unary(name, fwd, grad, saves="in", doc=""):
    """Build a pointwise Function: ``grad(g, x_or_y)`` is the backward in Tensor ops."""

    def forward(ctx, x):
        xp = _xp(x)
        with quiet_fp():
            out = shared(lambda rows: fwd(xp, rows), x)
        if out.dtype != x.dtype:  # SciPy's kernels compute float16 in float64: keep x's dtype
            out = out.astype(x.dtype)
        ctx.save_for_backward(x if saves == "in" else out)
        return out

    def backward(ctx, g):
        saved, = ctx.saved_tensors
        return grad(g, saved)

    cls = type(name, (Function,), {"forward": forward, "backward": backward, "__doc__": doc})

    def op(x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name.lower()}: expected a Tensor, got {type(x).__name__}")
        if x.dtype.kind not in "fV":  # integers and bool compute in the default dtype
            x = cast(x, backend.get_default_dtype())
        return cls.apply(x)

    op.__name__ = name.lower()
    op.__doc__ = doc
    return cls, op


def _expit(xp, x):
    if xp is np:
        from scipy.special import expit
        return expit(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def _erf(xp, x):
    if xp is np:
        from scipy.special import erf as _e
        return _e(x)
    from .. import backend
    return backend.cupyx().scipy.special.erf(x)


Exp, exp = _unary("Exp", lambda xp, x: xp.exp(x), lambda g, y: g * y, "out", "e^x; ∂/∂x = e^x")
Log, log = _unary("Log", lambda xp, x: xp.log(x), lambda g, x: g / x, "in", "ln x; ∂/∂x = 1/x")
Log1p, log1p = _unary("Log1p", lambda xp, x: xp.log1p(x), lambda g, x: g / (x + 1.0), "in",
                      "ln(1 + x)")
Expm1, expm1 = _unary("Expm1", lambda xp, x: xp.expm1(x), lambda g, y: g * (y + 1.0), "out",
                      "e^x − 1")
Sqrt, sqrt = _unary("Sqrt", lambda xp, x: xp.sqrt(x), lambda g, y: g / (y * 2.0), "out",
                    "√x; ∂/∂x = 1/(2√x)")
Rsqrt, rsqrt = _unary("Rsqrt", lambda xp, x: 1 / xp.sqrt(x),
                      lambda g, y: g * (y * y * y) * -0.5, "out", "1/√x")
Sin, sin = _unary("Sin", lambda xp, x: xp.sin(x), lambda g, x: g * cos(x), "in", "sin x")
Cos, cos = _unary("Cos", lambda xp, x: xp.cos(x), lambda g, x: -g * sin(x), "in", "cos x")
Tanh, tanh = _unary("Tanh", lambda xp, x: xp.tanh(x), lambda g, y: g * (1.0 - y * y), "out",
                    "tanh x; ∂/∂x = 1 − tanh² x")
Sigmoid, sigmoid = _unary("Sigmoid", _expit, lambda g, y: g * y * (1.0 - y), "out",
                          "σ(x) = 1/(1 + e^(−x)), computed stably; σ′ = σ(1 − σ)")
def _rounded_once(f):
    """``f`` evaluated in float64 and rounded once for narrower floats: NumPy's float32
    tan/arctan/arcsin/arccos err by a few ulp (tan(arctan(ln 4)) ≠ ln 4), PyTorch's by ≤ 1."""
    def value(xp, x):
        if x.dtype.itemsize >= 8 or x.dtype.kind != "f":
            return f(xp, x)
        return f(xp, x.astype(np.float64)).astype(x.dtype)
    return value


Arctan, arctan = _unary("Arctan", _rounded_once(lambda xp, x: xp.arctan(x)),
                        lambda g, x: g / (x * x + 1.0),
                        "in", "arctan x; ∂/∂x = 1/(1 + x²)")
Erf, erf = _unary("Erf", _erf, lambda g, x: g * exp(-(x * x)) * (2.0 / math.sqrt(math.pi)),
                  "in", "erf x; ∂/∂x = 2/√π e^(−x²)")
Reciprocal, reciprocal = _unary("Reciprocal", lambda xp, x: 1 / x, lambda g, y: -g * y * y,
                                "out", "1/x")
Abs, _abs_float = _unary("Abs", lambda xp, x: xp.abs(x), lambda g, x: g * sign(x), "in",
                         "|x|; ∂/∂x = sign(x) (0 at 0, as PyTorch)")
Tan, tan = _unary("Tan", _rounded_once(lambda xp, x: xp.tan(x)), lambda g, y: g * (y * y + 1.0), "out",
                  "tan x; ∂/∂x = 1 + tan² x")
Arcsin, arcsin = _unary("Arcsin", _rounded_once(lambda xp, x: xp.arcsin(x)),
                        lambda g, x: g / sqrt(1.0 - x * x), "in", "arcsin x; ∂/∂x = 1/√(1 − x²)")
Arccos, arccos = _unary("Arccos", _rounded_once(lambda xp, x: xp.arccos(x)),
                        lambda g, x: -g / sqrt(1.0 - x * x), "in",
                        "arccos x; ∂/∂x = −1/√(1 − x²)")
atan, asin, acos = arctan, arcsin, arccos


def abs(x):
    _no_bool("abs", x)
    if x.dtype.kind not in "fV":
        return _make(_xp(x._data).abs(x._data))
    return Abs.apply(x)


#: ``relu_backward_rule[0]``: None, or ``rule(g, out) -> grad_in`` replacing ReLU's backward
#: while a visualisation needs it (guided backprop: ``relu(g)·[out > 0]``); set through
#: ``deltagrad.interpret.relu_backward_rule``, so ``nn.ReLU``, in-place and ``F.relu`` all follow.
relu_backward_rule = [None]


def _relu_grad(g, out):
    return g * (out > 0)


def _compiled_relu_grad(g, out) -> bool:
    """Whether ReLU's backward runs as the compiled pass of ``kernels/numba_relu.py`` (the
    same numbers as ``_relu_grad``): g and the output are non-empty C-contiguous NumPy arrays
    of one shape and float32/float64 dtype, the kernel backend is Numba, and the process may
    use Numba's thread pool."""
    if type(g) is not np.ndarray or type(out) is not np.ndarray or g.dtype != out.dtype or \
            g.dtype not in (np.float32, np.float64) or g.shape != out.shape or g.size == 0 or \
            not (g.flags.c_contiguous and out.flags.c_contiguous):
        return False
    from .. import kernels
    if kernels.get_backend() != "numba":
        return False
    from ..kernels.numba_parallel import usable
    return usable()


class Relu(Function):
    """max(0, x); the gradient is 1 where x > 0 (0 at 0, as PyTorch)."""

    def forward(ctx, x):
        out = shared(np.maximum, x, 0) if type(x) is np.ndarray else _xp(x).maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        out, = ctx.saved_tensors
        if relu_backward_rule[0] is not None:
            return relu_backward_rule[0](g, out)
        if not _grad_mode.is_grad_enabled():  # plain backward: one array product, no graph
            if _compiled_relu_grad(g._data, out._data):
                from ..kernels.numba_relu import relu_backward
                return _make(relu_backward(g._data, out._data))
            return _make(shared(_relu_grad, g._data, out._data))
        return g * (out > 0)


def relu(x, inplace=False):
    _no_bool("relu", x)
    return x.relu_() if inplace else Relu.apply(x)


class Clamp(Function):
    """min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi (PyTorch's convention)."""

    def forward(ctx, x, lo, hi):
        xp = _xp(x)
        out = xp.clip(x, lo, hi) if lo is not None or hi is not None else x.copy()
        if out.dtype != x.dtype:
            out = out.astype(x.dtype)  # bfloat16: NumPy clips with both bounds in float32
        if ctx._recording:
            mask = xp.ones(x.shape, bool)
            if lo is not None:
                mask &= x >= lo
            if hi is not None:
                mask &= x <= hi
            ctx.save_for_backward(mask)
        return out

    def backward(ctx, g):
        mask, = ctx.saved_tensors
        return g * mask


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        x, lo, hi = _clamp_operands(x, min, max)
        return ClampTensor.apply(x, *(b for b in (lo, hi) if b is not None),
                                 has_lo=lo is not None, has_hi=hi is not None)
    dtype = result_type(x, *(v for v in (min, max) if v is not None))
    if dtype != x.dtype:
        x = cast(x, dtype)
    return Clamp.apply(x, lo=min, hi=max)


clip = clamp


def _clamp_operands(x, lo, hi):
    """x and the bounds in their common dtype; a number bound becomes a constant tensor."""
    bounds = [b for b in (lo, hi) if b is not None]
    dtype = result_type(x, *bounds)
    if x.dtype.kind in "iub" and dtype.kind == "f" and not any(
            isinstance(b, Tensor) and b.dtype.kind == "f" for b in bounds):
        dtype = x.dtype  # an integer tensor clamped by number bounds stays integer
    x = x if x.dtype == dtype else cast(x, dtype)

    def as_tensor(b):
        if b is None:
            return None
        if isinstance(b, Tensor):
            _check_broadcast("clamp", x, b)
            return b if b.dtype == dtype else cast(b, dtype)
        return full_like_scalar(x, b)
    return x, as_tensor(lo), as_tensor(hi)


class ClampTensor(Function):
    """min(max(x, lo), hi) with tensor bounds, and PyTorch's gradients: x gets g where
    lo ≤ x ≤ hi (ties included), lo gets g where x < lo < hi, hi gets g where x > hi or
    hi < lo (an empty range gives hi)."""

    def forward(ctx, x, *bounds, has_lo, has_hi):
        xp = _xp(x)
        lo = bounds[0] if has_lo else None
        hi = bounds[-1] if has_hi else None
        out = x
        if lo is not None:
            out = xp.maximum(out, lo)
        if hi is not None:
            out = xp.minimum(out, hi)
        if ctx._recording:
            keep = xp.ones(out.shape, bool)
            if lo is not None:
                keep &= x >= lo
            if hi is not None:
                keep &= x <= hi
            masks = [keep]
            if lo is not None:
                masks.append((x < lo) & (lo < hi) if hi is not None else
                             xp.broadcast_to(x < lo, out.shape))
            if hi is not None:
                masks.append((x > hi) | (hi < lo) if lo is not None else
                             xp.broadcast_to(x > hi, out.shape))
            ctx.save_for_backward(*masks)
        return out if out is not x else x.copy()

    def backward(ctx, g):
        return tuple(g * m for m in ctx.saved_tensors)


def full_like_scalar(t, v):
    return _make(_xp(t._data).asarray(v, dtype=t.dtype))


class Maximum(Function):
    """Elementwise max; at ties the gradient is split evenly between both (as PyTorch)."""

    def forward(ctx, a, b):
        xp = _xp(a)
        if ctx._recording:
            ctx.save_for_backward(((a > b) + 0.5 * (a == b)).astype(a.dtype))
        return xp.maximum(a, b)

    def backward(ctx, g):
        w, = ctx.saved_tensors
        return g * w, g * (1.0 - w)


def maximum(a, b):
    a, b = binary_operands(a, b, "maximum")
    _check_broadcast("maximum", a, b)
    return Maximum.apply(a, b)


def minimum(a, b):
    a, b = binary_operands(a, b, "minimum")
    _check_broadcast("minimum", a, b)
    return -Maximum.apply(-a, -b) if a.dtype.kind in "fV" else _make(
        _xp(a._data).minimum(a._data, b._data))


class Step(Function):
    """A piecewise-constant function (sign, floor, ceil, round, trunc): its gradient is 0."""

    def forward(ctx, x, fn):
        return fn(_xp(x), x)

    def backward(ctx, g):
        return g * 0.0


def _step(name, fn):
    def op(x):
        if x.dtype == backend.bool_:
            if name == "sign":
                return _make(x._data.copy())
            _no_bool(name, x)
        if x.dtype.kind not in "fV":
            return _make(fn(_xp(x._data), x._data))
        return Step.apply(x, fn=fn)
    op.__name__ = name
    op.__doc__ = f"{name}(x); piecewise constant, so its gradient is 0 (as PyTorch)."
    return op


sign = _step("sign", lambda xp, a: xp.sign(a))


class Where(Function):
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return _xp(a).where(cond, a, b)

    def backward(ctx, g):
        cond, = ctx.saved_tensors
        zero = _make(_xp(g._data).zeros((), g.dtype))
        ga = where(cond, g, zero) if ctx.needs_input_grad[1] else None
        gb = where(cond, zero, g) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def where(condition, input=None, other=None):
    """``condition ? input : other`` elementwise, with broadcasting."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where: condition must be a bool Tensor")
    if condition.dtype != backend.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype} (compare it, e.g. cond != 0)")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        # where(cond, 1.0, 0.0): two Python scalars make a tensor of their promoted dtype
        from ..tensor import result_type
        for name, v in (("input", input), ("other", other)):
            if not isinstance(v, (builtins.bool, builtins.int, builtins.float)):
                raise TypeError(f"where(): argument '{name}' must be a Tensor or a number, got "
                                f"{type(v).__name__}")
        dt = result_type(input, other)
        input = _make(_xp(condition._data).asarray(input, dtype=dt))
    a, b = binary_operands(input, other, "where")
    try:
        np.broadcast_shapes(condition.shape, a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"where(): condition {tuple(condition.shape)}, input "
                           f"{tuple(a.shape)} and other {tuple(b.shape)} do not broadcast to "
                           "one shape") from None
    return Where.apply(condition, a, b)


def nonzero(x, as_tuple=False):
    idx = _xp(x._data).nonzero(x._data)
    if as_tuple:
        return tuple(_make(i.astype(np.int64)) for i in idx)
    return _make(_xp(x._data).stack(idx, axis=1).astype(np.int64))


# ----------------------------------------------------------------------------- no-gradient ops
def _compare(ufunc_name):
    def op(a, b):
        x, y = binary_operands(a, b, ufunc_name)
        _check_broadcast(ufunc_name, x, y)
        return _make(getattr(_xp(x._data), ufunc_name)(x._data, y._data))
    op.__name__ = ufunc_name
    return op


eq, ne, lt, le, gt, ge = (_compare(n) for n in
                          ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"))
logical_and, logical_or, logical_xor = (_compare(n) for n in
                                        ("logical_and", "logical_or", "logical_xor"))


def _pointwise_nograd(name):
    def op(x):
        return _make(getattr(_xp(x._data), name)(x._data))
    op.__name__ = name
    return op


logical_not, isnan, isinf, isfinite = (
    _pointwise_nograd(n) for n in ("logical_not", "isnan", "isinf", "isfinite"))
floor = _step("floor", lambda xp, a: xp.floor(a))
ceil = _step("ceil", lambda xp, a: xp.ceil(a))
trunc = _step("trunc", lambda xp, a: xp.trunc(a))


def round(x, decimals=0):
    return _step("round", lambda xp, a: xp.round(a, decimals))(x)


def _require_integral(op, *ts):
    for t in ts:
        if t.dtype.kind not in "biu":
            name = {"float16": "Half", "float32": "Float", "float64": "Double"}.get(
                str(t.dtype), str(t.dtype))
            raise NotImplementedError(f'"{op}" not implemented for \'{name}\' (bitwise ops '
                                      f"take integer or bool tensors, got {t.dtype})")


def _bitwise(ufunc_name):
    """``&``, ``|``, ``^``: bitwise on integers (6 & 3 = 2), logical on bools, as PyTorch."""
    def op(a, b):
        x, y = binary_operands(a, b, ufunc_name)
        _require_integral(ufunc_name, x, y)
        _check_broadcast(ufunc_name, x, y)
        return _make(getattr(_xp(x._data), ufunc_name)(x._data, y._data))
    op.__name__ = ufunc_name
    return op


bitwise_and, bitwise_or, bitwise_xor = (_bitwise(n) for n in
                                        ("bitwise_and", "bitwise_or", "bitwise_xor"))


def bitwise_not(x):
    _require_integral("bitwise_not", x)
    return logical_not(x) if x.dtype == backend.bool_ else _make(~x._data)


def equal(a, b) -> bool:
    """True if both tensors have the same shape and elements."""
    return tuple(a.shape) == tuple(b.shape) and _pybool((a._data == b._data).all())


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    _check_broadcast("allclose", a, b)
    return _pybool(_xp(a._data).allclose(a._data, b._data, rtol=rtol, atol=atol,
                                         equal_nan=equal_nan))


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    _check_broadcast("isclose", a, b)
    return _make(_xp(a._data).isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg


def square(x):
    return pow(x, 2)


def _addc(op, combine, input, tensor1, tensor2, legacy, value):
    if legacy:  # the deprecated overload op(input, value, tensor1, tensor2)
        if len(legacy) != 1 or not isinstance(tensor1, (builtins.int, builtins.float)):
            raise TypeError(f"{op}(): expected (input, tensor1, tensor2, *, value=1)")
        import warnings
        warnings.warn(f"This overload of {op} is deprecated: {op}(Number value, Tensor tensor1, "
                      f"Tensor tensor2); use {op}(tensor1, tensor2, *, value=...)", UserWarning,
                      stacklevel=3)
        value, tensor1, tensor2 = tensor1, tensor2, legacy[0]
    if isinstance(value, builtins.bool) or not isinstance(value, (builtins.int, builtins.float)):
        raise TypeError(f"{op}(): value must be a number, got {type(value).__name__}")
    term = combine(tensor1, tensor2)
    return add(input, term if value == 1 else term * value)


def addcmul(input, tensor1, tensor2, *legacy, value=1):
    """input + value · tensor1 ⊙ tensor2 (an optimizer's v ← β v + (1 − β) g ⊙ g)."""
    return _addc("addcmul", mul, input, tensor1, tensor2, legacy, value)


def addcdiv(input, tensor1, tensor2, *legacy, value=1):
    """input + value · tensor1 / tensor2 (an optimizer's θ ← θ − η m / (√v + ε))."""
    return _addc("addcdiv", div, input, tensor1, tensor2, legacy, value)
