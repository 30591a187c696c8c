"""Differentiable operations grouped by kind; importing this package attaches them to Tensor."""
from . import elementwise, reduce, shape, indexing, linalg  # noqa: F401
from ..tensor import Tensor
from .elementwise import (add, sub, mul, div, pow, neg, abs, exp, log, log1p, expm1, sqrt,
                          rsqrt, sin, cos, tanh, sigmoid, relu, clamp, sign, where, maximum,
                          minimum, reciprocal, erf, arctan)

E, R, S, I, L = elementwise, reduce, shape, indexing, linalg


def _swap(fn):
    return lambda self, other: fn(other, self)


def _binary(fn):
    return fn  # fn(input, other) is already the method (one call less on the hot path)


def _inplace(fn, name):
    def method(self, *args, **kwargs):
        return self._assign(fn(self, *args, **kwargs), name)
    method.__name__ = name
    return method


_methods = {
    # arithmetic operators
    "__add__": _binary(add), "__radd__": _swap(add), "__sub__": _binary(sub),
    "__rsub__": _swap(sub), "__mul__": _binary(mul), "__rmul__": _swap(mul),
    "__truediv__": _binary(div), "__rtruediv__": _swap(div), "__pow__": _binary(pow),
    "__rpow__": _swap(pow), "__matmul__": _binary(L.matmul), "__rmatmul__": _swap(L.matmul),
    "__floordiv__": _binary(E.floor_divide), "__rfloordiv__": _swap(E.floor_divide),
    "__mod__": _binary(E.remainder), "__rmod__": _swap(E.remainder), "__neg__": neg, "__pos__": lambda self: self,
    "__abs__": abs, "__invert__": E.bitwise_not,
    "__eq__": _binary(E.eq), "__ne__": _binary(E.ne), "__lt__": _binary(E.lt),
    "__le__": _binary(E.le), "__gt__": _binary(E.gt), "__ge__": _binary(E.ge),
    "__and__": _binary(E.bitwise_and), "__or__": _binary(E.bitwise_or),
    "__xor__": _binary(E.bitwise_xor), "__rand__": _swap(E.bitwise_and),
    "__ror__": _swap(E.bitwise_or), "__rxor__": _swap(E.bitwise_xor),
    "bitwise_and": E.bitwise_and, "bitwise_or": E.bitwise_or, "bitwise_xor": E.bitwise_xor,
    "bitwise_not": E.bitwise_not,
    "__getitem__": I.getitem,
    # named methods
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "pow": pow, "neg": neg, "negative": neg, "abs": abs,
    "exp": exp, "log": log, "log1p": log1p, "expm1": expm1, "sqrt": sqrt, "rsqrt": rsqrt,
    "sin": sin, "cos": cos, "tanh": tanh, "sigmoid": sigmoid, "relu": relu, "clamp": clamp,
    "clip": clamp, "sign": sign, "reciprocal": reciprocal, "erf": erf, "arctan": arctan,
    "atan": arctan, "tan": E.tan, "arcsin": E.arcsin, "asin": E.arcsin, "arccos": E.arccos,
    "acos": E.arccos, "maximum": maximum, "minimum": minimum, "remainder": E.remainder,
    "square": lambda self: pow(self, 2),
    "eq": E.eq, "ne": E.ne, "lt": E.lt, "le": E.le, "gt": E.gt, "ge": E.ge,
    "isnan": E.isnan, "isinf": E.isinf, "isfinite": E.isfinite, "floor": E.floor,
    "ceil": E.ceil, "round": E.round, "trunc": E.trunc, "logical_not": E.logical_not,
    "logical_and": E.logical_and, "logical_or": E.logical_or, "equal": E.equal,
    "allclose": E.allclose, "isclose": E.isclose, "clone": E.clone, "nonzero": E.nonzero,
    "where": lambda self, condition, other: where(condition, self, other),
    # reductions
    "sum": R.sum, "mean": R.mean, "var": R.var, "std": R.std, "max": R.max, "min": R.min,
    "amax": R.amax, "amin": R.amin, "argmax": R.argmax, "argmin": R.argmin,
    "logsumexp": R.logsumexp, "prod": R.prod, "norm": R.norm, "cumsum": R.cumsum,
    "all": R.all, "any": R.any, "count_nonzero": R.count_nonzero,
    # shape
    "reshape": S.reshape, "view": S.view, "flatten": S.flatten, "unflatten": S.unflatten,
    "squeeze": S.squeeze, "unsqueeze": S.unsqueeze, "permute": S.permute,
    "transpose": S.transpose, "swapaxes": S.swapaxes, "swapdims": S.swapaxes,
    "movedim": S.movedim, "t": S.t, "expand": S.expand, "expand_as": S.expand_as,
    "broadcast_to": S.broadcast_to, "repeat": S.repeat,
    "repeat_interleave": S.repeat_interleave, "split": S.split, "chunk": S.chunk,
    "unbind": S.unbind, "flip": S.flip, "roll": S.roll, "tril": S.tril, "triu": S.triu,
    "contiguous": S.contiguous,
    "view_as": lambda self, other: S.view(self, tuple(other.shape)),
    "reshape_as": lambda self, other: S.reshape(self, tuple(other.shape)),
    # indexing
    "index_select": I.index_select, "narrow": I.narrow, "select": I.select,
    "masked_fill": I.masked_fill, "masked_select": I.masked_select, "gather": I.gather,
    "scatter_add": I.scatter_add, "scatter": I.scatter, "take_along_dim": I.gather,
    # linear algebra
    "matmul": L.matmul, "mm": L.mm, "bmm": L.bmm, "mv": L.mv, "dot": L.dot, "outer": L.outer,
}
for _name, _fn in _methods.items():
    setattr(Tensor, _name, _fn)

from . import composite as _C  # noqa: E402
for _name in ("lerp", "logaddexp", "log2", "log10", "nan_to_num", "diff", "tensor_split",
              "bincount"):                 # torch has no Tensor.isin
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, getattr(_C, _name))

for _name, _fn in {"add_": add, "sub_": sub, "mul_": mul, "div_": div, "pow_": pow,
                   "clamp_": clamp, "clip_": clamp, "neg_": neg, "abs_": abs, "exp_": exp,
                   "log_": log, "sqrt_": sqrt, "sigmoid_": sigmoid, "tanh_": tanh,
                   "relu_": relu, "masked_fill_": I.masked_fill, "scatter_add_": I.scatter_add,
                   "scatter_": I.scatter, "tril_": S.tril, "triu_": S.triu,
                   "maximum_": maximum, "minimum_": minimum}.items():
    setattr(Tensor, _name, _inplace(_fn, _name))

for _op, _fn in {"__iadd__": add, "__isub__": sub, "__imul__": mul, "__itruediv__": div}.items():
    setattr(Tensor, _op, _inplace(_fn, _op))

def _softmax_method(name):
    def method(self, dim, dtype=None):
        from . import activation
        return getattr(activation, name)(self, dim, dtype=dtype)
    method.__name__ = name
    return method


Tensor.softmax = _softmax_method("softmax")
Tensor.log_softmax = _softmax_method("log_softmax")

Tensor.T = property(lambda self: S.permute(self, tuple(reversed(range(self.ndim)))))
Tensor.mT = property(lambda self: S.transpose(self, -2, -1))
Tensor.H = Tensor.T


from . import sorting as _sorting, sampling as _sampling, special as _special  # noqa: E402
for _name, _fn in {"sort": _sorting.sort, "argsort": _sorting.argsort, "msort": _sorting.msort,
                   "topk": _sorting.topk, "unique": _sorting.unique, "diag": L.diag,
                   "multinomial": _sampling.multinomial, "diagonal": L.diagonal,
                   "kthvalue": _sorting.kthvalue, "median": _sorting.median, "trace": L.trace,
                   "addmm": lambda self, mat1, mat2, *, beta=1, alpha=1: L.addmm(
                       self, mat1, mat2, beta=beta, alpha=alpha),
                   "bernoulli": lambda self, p=None, *, generator=None: _sampling.bernoulli(
                       self, p, generator=generator),
                   "addcmul": E.addcmul, "addcdiv": E.addcdiv, "lgamma": _special.lgamma,
                   "digamma": _special.digamma, "erfinv": _special.erfinv,
                   "polygamma": lambda self, n: _special.polygamma(n, self)}.items():
    setattr(Tensor, _name, _fn)
for _name, _fn in {"addcmul_": E.addcmul, "addcdiv_": E.addcdiv}.items():
    setattr(Tensor, _name, _inplace(_fn, _name))

from . import (cumulative as _cumulative, pointwise as _pointwise,  # noqa: E402
               products as _products, layout as _layout, index_update as _index_update)
for _name, _fn in {"cumprod": _cumulative.cumprod, "atan2": _pointwise.atan2,
                   "arctan2": _pointwise.atan2, "clamp_min": _pointwise.clamp_min,
                   "clamp_max": _pointwise.clamp_max,
                   "baddbmm": _products.baddbmm, "addbmm": _products.addbmm,
                   "kron": _products.kron, "cross": _products.cross, "tile": _layout.tile,
                   "ravel": _layout.ravel, "moveaxis": _layout.moveaxis, "rot90": _layout.rot90,
                   "index_add": _index_update.index_add, "index_copy": _index_update.index_copy,
                   "index_fill": _index_update.index_fill,
                   "fill_diagonal_": _index_update.fill_diagonal_,
                   "unfold": _layout.sliding_windows}.items():
    setattr(Tensor, _name, _fn)
for _name, _fn in {"cumprod_": _cumulative.cumprod, "atan2_": _pointwise.atan2,
                   "clamp_min_": _pointwise.clamp_min, "clamp_max_": _pointwise.clamp_max,
                   "baddbmm_": _products.baddbmm, "addbmm_": _products.addbmm,
                   "index_add_": _index_update.index_add, "index_copy_": _index_update.index_copy,
                   "index_fill_": _index_update.index_fill}.items():
    setattr(Tensor, _name, _inplace(_fn, _name))

from . import profiler  # noqa: E402,F401  (dg.ops.profiler: torch.ops.profiler's two operators)
