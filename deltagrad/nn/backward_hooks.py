"""Module backward hooks (``register_full_backward_hook`` / ``register_full_backward_pre_hook``).

As in PyTorch, a module call with backward hooks passes its tensor inputs and outputs through
identity nodes: the output node's backward sees the gradients with respect to the outputs
(∂L/∂y: the pre-hooks may replace them), the input node's backward the gradients with respect
to the inputs (∂L/∂x: the hooks get ``(module, grad_input, grad_output)`` and may replace
``grad_input``). The identities copy their arrays, so an in-place operation after the module
(``nn.ReLU(inplace=True)``) changes the copy and the hooks still see correct gradients (PyTorch
refuses that combination).
"""
from __future__ import annotations

import warnings

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor


class _HookIdentity(Function):
    materialize_grads = False

    def forward(ctx, *arrays, call, stage):
        ctx.call, ctx.stage = call, stage
        out = tuple(a.copy() for a in arrays)
        return out if len(out) > 1 else out[0]

    def backward(ctx, *grads):
        if ctx.stage == "output":
            return ctx.call.output_backward(grads)
        return ctx.call.input_backward(grads)


def _check(kind, module, new, old):
    new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
    if len(new) != len(old):
        raise RuntimeError(f"{type(module).__name__} {kind} hook returned {len(new)} gradients, "
                           f"expected {len(old)}")
    for n, o in zip(new, old):
        if n is not None and o is not None and tuple(n.shape) != tuple(o.shape):
            raise RuntimeError(f"{type(module).__name__} {kind} hook returned a gradient of "
                               f"shape {tuple(n.shape)}, expected {tuple(o.shape)}")
    return new


class BackwardHookCall:
    """One call of a module that has backward hooks: wraps its inputs and outputs."""

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.n_tensor_inputs = 0
        self.input_positions = []

    def wrap_inputs(self, args):
        if not is_grad_enabled():
            return args
        tensors = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_tensor_inputs = len(tensors)
        needing = [(i, a) for i, a in tensors if a.requires_grad]
        self.input_positions = [k for k, (i, a) in enumerate(tensors) if a.requires_grad]
        if not needing:
            return args
        out = _HookIdentity.apply(*[a for _, a in needing], call=self, stage="input")
        out = out if isinstance(out, tuple) else (out,)
        args = list(args)
        for (i, _), new in zip(needing, out):
            args[i] = new
        return tuple(args)

    def wrap_outputs(self, result):
        if not is_grad_enabled():
            return result
        single = isinstance(result, Tensor)
        items = [result] if single else list(result) if isinstance(result, (tuple, list)) \
            else None
        if items is None:
            return result
        pos = [k for k, t in enumerate(items) if isinstance(t, Tensor) and t.requires_grad]
        if not pos:
            return result
        out = _HookIdentity.apply(*[items[k] for k in pos], call=self, stage="output")
        out = out if isinstance(out, tuple) else (out,)
        for k, new in zip(pos, out):
            items[k] = new
        return items[0] if single else type(result)(items)

    def output_backward(self, grads):
        m = self.module
        for hook in tuple(m._backward_pre_hooks.values()):
            new = hook(m, grads)
            if new is not None:
                grads = _check("backward pre", m, new, grads)
        self.grad_output = grads
        if not self.input_positions and m._backward_hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect "
                          "to module outputs since no inputs require gradients.", UserWarning,
                          stacklevel=2)
            none = (None,) * max(1, self.n_tensor_inputs)
            for hook in tuple(m._backward_hooks.values()):
                hook(m, none, grads)
        return grads

    def input_backward(self, grads):
        m = self.module
        full = [None] * self.n_tensor_inputs
        for k, g in zip(self.input_positions, grads):
            full[k] = g
        full = tuple(full)
        for hook in tuple(m._backward_hooks.values()):
            new = hook(m, full, self.grad_output)
            if new is not None:
                full = _check("backward", m, new, full)
        return tuple(full[k] for k in self.input_positions)
