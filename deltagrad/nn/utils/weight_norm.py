"""Weight normalisation (Salimans & Kingma 2016), PyTorch's first API:
``nn.utils.weight_norm(module, name='weight', dim=0)``.

The parameter w is replaced by a magnitude g (``weight_g``) and a direction v (``weight_v``),

    w = g · v / ‖v‖,

the norm taken over every dimension but ``dim`` (over all of them for ``dim=None``, which
PyTorch spells −1). A forward pre-hook recomputes w before each forward, so gradients reach
g and v. (``nn.utils.parametrizations.weight_norm`` is the newer form of the same thing.)
"""
from __future__ import annotations

import warnings

from ...autograd.grad_mode import no_grad
from ..module import Parameter

__all__ = ["weight_norm", "remove_weight_norm", "norm_except_dim"]


def norm_except_dim(v, pow=2, dim=0):
    """‖v‖_pow over every dimension except ``dim``, kept as size-1 dims (a 0-D tensor for
    dim = −1: the norm of the whole tensor, PyTorch's convention)."""
    if dim == -1:
        return v.norm(pow)
    d = dim % v.ndim
    others = tuple(a for a in range(v.ndim) if a != d)
    return v.norm(pow, others, keepdim=True) if others else v.abs()


def weight_from_norm(g, v, dim):
    """w = g · v / ‖v‖ (``torch._weight_norm``)."""
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook that sets ``module.<name>`` from ``<name>_g`` and ``<name>_v``."""

    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute_weight(self, module):
        return weight_from_norm(getattr(module, self.name + "_g"),
                                getattr(module, self.name + "_v"), self.dim)

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def _hooks(module, kind, name):
    return [h for h in module._forward_pre_hooks.values()
            if isinstance(h, kind) and h.name == name]


def weight_norm(module, name="weight", dim=0):
    """Split ``module.<name>`` into ``<name>_g`` (magnitude) and ``<name>_v`` (direction)."""
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    if _hooks(module, WeightNorm, name):
        raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    if name not in module._parameters or module._parameters[name] is None:
        raise ValueError(f"weight_norm: module {type(module).__name__} has no parameter "
                         f"{name!r}")
    dim = -1 if dim is None else dim
    fn = WeightNorm(name, dim)
    weight = module._parameters.pop(name)
    with no_grad():
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, dim)))
        module.register_parameter(name + "_v", Parameter(weight.detach().clone()))
    setattr(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_reparametrization(module, kind, name, label, parameters=(), buffers=(), **compute):
    """Undo a forward-pre-hook reparametrization of ``module.<name>`` (weight norm, spectral
    norm): the hook's current weight becomes one parameter again, and the hook and the
    parameters/buffers it used (``<name><suffix>``) are removed."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, kind) and hook.name == name:
            with no_grad():
                weight = hook.compute_weight(module, **compute)
            del module._forward_pre_hooks[key]
            for suffix in parameters:
                del module._parameters[name + suffix]
            for suffix in buffers:
                del module._buffers[name + suffix]
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(weight.detach()))
            return module
    raise ValueError(f"{label} of '{name}' not found in {module}")


def remove_weight_norm(module, name="weight"):
    """Put back ``module.<name>`` as one parameter holding g · v / ‖v‖."""
    return remove_reparametrization(module, WeightNorm, name, "weight_norm",
                                    parameters=("_g", "_v"))
