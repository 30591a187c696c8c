"""Parameters as one flat vector and back (``torch.nn.utils.parameters_to_vector``)."""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops.shape import cat
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check(parameters, op):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Tensors as parameters, but got: {type(p).__name__}")
    return parameters


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    params = _check(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` (shapes in order).

    Values are copied (PyTorch re-points ``param.data`` at slices of ``vec``; copying keeps
    each parameter's own memory so later edits of ``vec`` don't leak into the model).
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {tuple(vec.shape)}")
    params = _check(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(f"vector_to_parameters: vec has {vec.numel()} elements but the "
                         f"parameters have {total}")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p._data[...] = vec._data[offset:offset + n].reshape(p._data.shape).astype(
                p.dtype, copy=False)
            p._version += 1
            offset += n
