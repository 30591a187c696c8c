"""The ``out=`` argument of PyTorch's functions (``torch.matmul(a, b, out=c)``): the result
is computed as usual, then written into ``out``'s memory, and ``out`` is returned.

As in PyTorch: ``out`` must be a Tensor; no gradient can flow through it (an input that
requires grad while recording is refused); its dtype must hold the result (``matmul`` asks
for the result's dtype exactly); an ``out`` with no elements takes the result's shape. A
non-empty ``out`` of another shape is refused here (PyTorch resizes it with a deprecation
warning).
"""
from __future__ import annotations

from .. import backend
from ..autograd import grad_mode as _grad_mode
from ..tensor import Tensor


def write_out(result: Tensor, out, op: str, exact_dtype: bool = False) -> Tensor:
    """``out`` ← ``result`` (cast to ``out.dtype`` when allowed); returns ``out``."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if result.requires_grad and _grad_mode.is_grad_enabled():
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if exact_dtype and out.dtype != result.dtype:
        raise RuntimeError(f"{op}(): expected out tensor to have dtype {result.dtype}, but got "
                           f"{out.dtype} instead")
    if out.shape != result.shape:
        if out.numel() != 0 or out._view is not None:
            raise RuntimeError(f"{op}(): out has shape {tuple(out.shape)} but the result has "
                               f"shape {tuple(result.shape)}; pass an out of that shape or "
                               "with no elements")
        out._data = backend.array_module(out._data).empty(tuple(result.shape), out.dtype)
    with _grad_mode.no_grad():
        out._assign(result, op)
    return out
