"""Reverse-mode automatic differentiation: ``backward``, ``grad``, ``Function``, ``gradcheck``."""
from __future__ import annotations

from .function import Function, AccumulateGrad
from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode
from .engine import run_backward


def _seeds(outputs, grad_outputs, op):
    from ..tensor import Tensor, _make
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{op}: outputs must be Tensors, got {type(out).__name__}")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs; "
                                   f"output {i} has shape {tuple(out.shape)}, so pass "
                                   "gradient= (a tensor of that shape)")
            xp = __import__("deltagrad.backend", fromlist=["x"]).array_module(out._data)
            g = _make(xp.ones(out._data.shape, out.dtype))
        else:
            if not isinstance(g, Tensor):
                from ..tensor import tensor
                g = tensor(g, dtype=out.dtype, device=out.device)
            if tuple(g.shape) != tuple(out.shape):
                raise RuntimeError(f"{op}: mismatch in shape: gradient has shape "
                                   f"{tuple(g.shape)} but output {i} has shape {tuple(out.shape)}")
        seeds.append(g)
    return seeds


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    from ..tensor import Tensor
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if grad_tensors is None else [grad_tensors]
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seeds(tensors, grad_tensors, "backward")
    run_backward(tensors, seeds, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple, without touching ``.grad`` (``torch.autograd.grad``).

    With ``create_graph=True`` the result has a graph of its own, so it can be
    differentiated again (gradient penalties, the contractive autoencoder's ‖∂h/∂x‖²).
    """
    from ..tensor import Tensor
    if not only_inputs:
        import warnings
        warnings.warn("grad: only_inputs argument is deprecated and is ignored now (defaults to "
                      "True); to accumulate into .grad use backward()", UserWarning, stacklevel=2)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seeds(outputs, grad_outputs, "grad")
    return tuple(run_backward(outputs, seeds, retain_graph, create_graph, targets=inputs,
                              allow_unused=allow_unused))


from .gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: E402
from ..legacy import Variable  # noqa: E402

__all__ = ["Function", "AccumulateGrad", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "inference_mode", "backward", "grad", "gradcheck",
           "gradgradcheck", "GradcheckError", "Variable"]
