"""PyTorch's legacy spellings that old programs still use: the typed tensor classes
(``dg.FloatTensor(2, 3)``, ``dg.LongTensor([1, 2])``, ``isinstance(x, dg.FloatTensor)``), the
legacy constructor ``dg.Tensor(*sizes)`` / ``dg.Tensor(data)``, the type strings of
``Tensor.type()`` and ``autograd.Variable``.
"""
from __future__ import annotations

import builtins

import numpy as np

from . import backend

_pyint, _pybool = builtins.int, builtins.bool

#: legacy class name -> dtype (the names of ``x.type()``)
TYPE_NAMES = {"FloatTensor": backend.float32, "DoubleTensor": backend.float64,
              "HalfTensor": backend.float16, "LongTensor": backend.int64,
              "IntTensor": backend.int32, "ShortTensor": backend.int16,
              "CharTensor": backend.int8, "ByteTensor": backend.uint8,
              "BoolTensor": backend.bool_}
_NAME_OF = {np.dtype(d): n for n, d in TYPE_NAMES.items()}


def type_name(dtype, device_type="cpu"):
    """'deltagrad.FloatTensor' for float32 on the CPU ('deltagrad.cuda.FloatTensor' on a GPU)."""
    name = _NAME_OF.get(np.dtype(dtype))
    if name is None:
        return f"deltagrad.{np.dtype(dtype)}"
    return f"deltagrad.{'cuda.' if device_type == 'cuda' else ''}{name}"


def parse_type(spec):
    """(dtype, device or None) from a dtype, a legacy class or a string such as
    'torch.LongTensor', 'deltagrad.cuda.FloatTensor' or 'float64'."""
    if isinstance(spec, type) and isinstance(spec, _TypedTensorMeta):
        return spec.dtype, None
    if isinstance(spec, str):
        parts = spec.split(".")
        if parts[-1] in TYPE_NAMES and parts[0] in ("torch", "deltagrad") and \
                len(parts) in (2, 3) and (len(parts) == 2 or parts[1] == "cuda"):
            return TYPE_NAMES[parts[-1]], ("cuda" if len(parts) == 3 else "cpu")
        if parts[-1] in TYPE_NAMES or spec.endswith("Tensor"):
            raise ValueError(f"type(): invalid type {spec!r}; expected e.g. 'torch.FloatTensor', "
                             f"'torch.cuda.LongTensor' or a dtype")
    try:
        return backend.as_dtype(spec), None
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"type(): invalid type {spec!r}: {e}") from None


def legacy_new(args, dtype, device, op):
    """The array of the legacy constructor: ``op(*sizes)`` (zeros: an 'uninitialised' tensor
    that is at least reproducible), ``op(Size)``, ``op(sequence or array)`` (converted to
    ``dtype``), ``op(tensor)`` (shared when of ``dtype``) or ``op()`` (empty)."""
    from .tensor import Size, Tensor, tensor
    dev = backend.device(device) if device is not None else backend.CPU
    xp = backend.xp_for(dev)
    if len(args) == 0:
        return xp.empty((0,), dtype)
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    if all(isinstance(a, (_pyint, np.integer)) and not isinstance(a, (_pybool, np.bool_))
           for a in args):
        sizes = tuple(_pyint(a) for a in args)
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"{op}(): trying to create a tensor with negative dimension: "
                               f"{list(sizes)}")
        return xp.zeros(sizes, dtype)
    if len(args) > 1:
        raise TypeError(f"{op}(): expected sizes (ints) or one sequence of data, got "
                        f"({', '.join(type(a).__name__ for a in args)})")
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype != dtype:
            raise TypeError(f"{op}(): expected a tensor of dtype {np.dtype(dtype)}, got "
                            f"{data.dtype}; convert it with .to()")
        return data._data
    if isinstance(data, range):
        data = list(data)  # torch.LongTensor(range(n)), as pygcn's idx_train
    if not isinstance(data, (list, tuple, np.ndarray)):
        raise TypeError(f"{op}(): data must be a sequence (got {type(data).__name__}); for a "
                        f"scalar use deltagrad.tensor({data!r})")
    return tensor(data, dtype=dtype, device=dev)._data


class _TypedTensorMeta(type):
    """``isinstance(x, dg.FloatTensor)`` is True for a float32 tensor, as in PyTorch."""

    def __instancecheck__(cls, obj):
        from .tensor import Tensor
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __repr__(cls):
        return f"<class 'deltagrad.{cls.__name__}'>"


def _typed(name, dtype):
    def __new__(cls, *args, device=None):
        from .tensor import _make
        return _make(legacy_new(args, dtype, device, name))
    return _TypedTensorMeta(name, (), {"__new__": __new__, "dtype": np.dtype(dtype),
                                       "__doc__": f"A {np.dtype(dtype)} tensor (legacy "
                                                  f"constructor): {name}(*sizes) or "
                                                  f"{name}(data)."})


FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor, \
    ByteTensor, BoolTensor = (_typed(n, d) for n, d in TYPE_NAMES.items())


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        from .tensor import Tensor
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """``autograd.Variable(data, requires_grad=False)``: before PyTorch 0.4 the autograd
    wrapper, now a tensor sharing ``data``'s memory as a new leaf (``volatile`` is ignored, as
    in PyTorch)."""

    def __new__(cls, data, requires_grad=False, volatile=False):
        from .tensor import Tensor, _make
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable(): data must be a Tensor, got {type(data).__name__}")
        t = _make(data._data)
        t.requires_grad = requires_grad
        return t


__all__ = ["Variable", *TYPE_NAMES]
