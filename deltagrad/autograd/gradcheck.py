"""Finite-difference gradient checks in float64.

A directional check: for random directions v (one per input) and a random cotangent w
of the outputs, compare the analytic ⟨∂⟨w, f⟩/∂x, v⟩ with the central difference
(⟨w, f(x + εv)⟩ − ⟨w, f(x − εv)⟩) / 2ε. It costs two evaluations per direction, whatever
the size of x, and a wrong gradient entry is caught with probability 1 over random v.
``fast_mode=False`` checks every coordinate instead (a full numerical Jacobian-vector
product), for small inputs.
"""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return x if isinstance(x, (tuple, list)) else (x,)


def _scalarize(fn, inputs, cotangents):
    outs = _as_tuple(fn(*inputs))
    total = 0.0
    for o, w in zip(outs, cotangents):
        total = total + (o * w).sum() if o.dtype.kind in "fV" else total
    return total


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              n_directions=3, fast_mode=True, seed=0, _graph_in_fn=False):
    """Check the gradients of ``fn`` at ``inputs`` (float64 Tensors) by finite differences.

    ``_graph_in_fn``: ``fn`` differentiates internally (gradgradcheck), so the perturbed
    evaluations keep grad mode on and their inputs require grad.
    """
    from ..tensor import Tensor, _make
    from .grad_mode import no_grad, set_grad_enabled
    from . import grad as autograd_grad
    inputs = _as_tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs "
                             "(finite differences are meaningless in float32)")
    rng = np.random.default_rng(seed)
    with no_grad():
        outs = _as_tuple(fn(*inputs))
    cot = [_make(rng.standard_normal(o.shape)) if o.dtype.kind in "fV" else None for o in outs]
    cot = [c if c is not None else 0 for c in cot]

    value = _scalarize(fn, inputs, cot)
    if isinstance(value, Tensor) and value.requires_grad:
        analytic = autograd_grad(value, [inputs[i] for i in diff], allow_unused=True)
    else:  # the function does not depend on its inputs through the graph
        analytic = [None] * len(diff)
    analytic = [np.zeros(inputs[i].shape) if g is None else g.detach().numpy()
                for i, g in zip(diff, analytic)]

    def perturbed(k, direction, step):
        args = list(inputs)
        args[k] = _make(inputs[k].detach().numpy() + step * direction)
        if _graph_in_fn:
            args[k].requires_grad_(True)
        with set_grad_enabled(_graph_in_fn):
            return float(_scalarize(fn, args, cot).item())

    for pos, k in enumerate(diff):
        shape = inputs[k].shape
        if fast_mode:
            directions = [rng.standard_normal(shape) for _ in range(n_directions)]
        else:
            directions = [np.eye(1, int(np.prod(shape)), j).reshape(shape)
                          for j in range(int(np.prod(shape)))]
        for v in directions:
            numeric = (perturbed(k, v, eps) - perturbed(k, v, -eps)) / (2 * eps)
            exact = float((analytic[pos] * v).sum())
            if not abs(numeric - exact) <= atol + rtol * abs(numeric):
                msg = (f"gradcheck: gradient mismatch for input {k} (shape {tuple(shape)}): "
                       f"analytic directional derivative {exact:.10g}, numerical {numeric:.10g}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  n_directions=3, seed=1):
    """Check second derivatives: gradcheck of x ↦ ⟨∂⟨w, f⟩/∂x, u⟩ built with create_graph."""
    from ..tensor import Tensor, _make
    from . import grad as autograd_grad
    inputs = _as_tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    rng = np.random.default_rng(seed)
    outs = _as_tuple(fn(*inputs))
    cot = [_make(rng.standard_normal(o.shape)) if o.dtype.kind in "fV" else 0 for o in outs]
    us = [_make(rng.standard_normal(inputs[i].shape)) for i in diff]

    def first_order(*args):
        from .grad_mode import enable_grad
        args = [a.detach().requires_grad_() if i in diff and not a.requires_grad else a
                for i, a in enumerate(args)]
        with enable_grad():
            value = _scalarize(fn, args, cot)
            if not (isinstance(value, Tensor) and value.requires_grad):
                return value * 0.0
            gs = autograd_grad(value, [args[i] for i in diff], create_graph=True,
                               allow_unused=True)
            total = 0.0
            for g, u in zip(gs, us):
                if g is not None:
                    total = total + (g * u).sum()
            return total

    return gradcheck(first_order, inputs, eps, atol, rtol, raise_exception, n_directions,
                     seed=seed, _graph_in_fn=True)
