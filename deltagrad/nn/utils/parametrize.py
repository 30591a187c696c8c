"""Parametrizations (``torch.nn.utils.parametrize``): a tensor of a module computed from
stored originals by a chain of modules, w = f_k(… f_1(original)), each time it is read.

``register_parametrization(module, "weight", f)`` moves the parameter to
``module.parametrizations.weight.original`` (or ``original0``, ``original1``, … when
``f.right_inverse`` returns several tensors), and turns ``module.weight`` into a property of a
new class ``Parametrized<Class>``; assigning to it stores ``right_inverse(value)``.
"""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..module import Module, ModuleDict, ModuleList, Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized",
           "ParametrizationList"]


def _store(module, name, tensor):
    """Register ``tensor`` as a parameter if it is one, else as a buffer."""
    if isinstance(tensor, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


class ParametrizationList(ModuleList):
    """The chain f_1, …, f_k of one tensor and its originals."""

    def __init__(self, modules, original, unsafe=False):
        super().__init__(modules)
        self.unsafe = unsafe
        new = original
        with no_grad():
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    new = m.right_inverse(new)
        self.is_tensor = isinstance(new, Tensor)
        if self.is_tensor:
            if new is not original:      # keep the same tensor object where shapes allow
                with no_grad():
                    if tuple(new.shape) == tuple(original.shape) and new.dtype == original.dtype:
                        original.copy_(new)
                    else:
                        original = Parameter(new.detach(), original.requires_grad) \
                            if isinstance(original, Parameter) else new.detach()
            _store(self, "original", original)
        else:
            self.ntensors = len(new)
            for i, t in enumerate(new):
                t = t.detach()
                _store(self, f"original{i}",
                       Parameter(t, original.requires_grad) if isinstance(original, Parameter)
                       else t)

    def right_inverse(self, value):
        """Store the originals that give ``value`` (through each right_inverse, last first)."""
        with no_grad():
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    value = m.right_inverse(value)
            if self.is_tensor:
                self.original.copy_(value)
            else:
                for i, t in enumerate(value):
                    getattr(self, f"original{i}").copy_(t)

    def forward(self):
        chain = list(self)
        x = chain[0](self.original) if self.is_tensor else chain[0](
            *(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in chain[1:]:
            x = m(x)
        return x


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has parametrizations (on ``tensor_name``, if given)."""
    parametrizations = module._modules.get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else \
        tensor_name in parametrizations


def _assign(self, name, value):
    """``module.<name> = value``: a parametrized name stores right_inverse(value); a Parameter
    cannot replace it (PyTorch's KeyError), anything else is Module's usual assignment."""
    if is_parametrized(self, name):
        if isinstance(value, Parameter):
            raise KeyError(f"attribute '{name}' already exists")
        self.parametrizations[name].right_inverse(value)
    else:
        Module.__setattr__(self, name, value)


def _parametrized_class(module):
    """Give ``module`` a class of its own, so properties can be added to it alone."""
    cls = type(module)
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {"__setattr__": _assign})
    module.parametrizations = ModuleDict()


def _add_property(module, name):
    def get(self):
        return self.parametrizations[name]()

    def set_(self, value):
        self.parametrizations[name].right_inverse(value)

    setattr(type(module), name, property(get, set_))


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` the output of ``parametrization`` (appended to the chain
    if the tensor is already parametrized)."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be an "
                        f"nn.Module, got {type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        return module
    if tensor_name in module._parameters or tensor_name in module._buffers:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"register_parametrization: {tensor_name!r} of {module} is None")
        chain = ParametrizationList([parametrization], original, unsafe=unsafe)
        if not unsafe:
            with no_grad():
                value = chain()
            if tuple(value.shape) != tuple(original.shape) or value.dtype != original.dtype:
                raise ValueError(f"Registering a parametrization may not change the shape or "
                                 f"dtype of the tensor, unless the `unsafe` flag is enabled: "
                                 f"{tensor_name} was {tuple(original.shape)} {original.dtype}, "
                                 f"the parametrization gives {tuple(value.shape)} "
                                 f"{value.dtype}")
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _parametrized_class(module)
        module.parametrizations[tensor_name] = chain
        _add_property(module, tensor_name)
        return module
    raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                     f"parametrized element with name '{tensor_name}'")


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo ``register_parametrization``: ``module.<tensor_name>`` becomes a plain tensor
    again, holding the current parametrized value (or the original, if
    ``leave_parametrized=False``)."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:
        original = chain.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            with no_grad():
                if tuple(value.shape) == tuple(original.shape) and value.dtype == original.dtype:
                    original.copy_(value)
                else:
                    original = Parameter(value.detach(), original.requires_grad) if isinstance(
                        original, Parameter) else value.detach()
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
        with no_grad():
            value = getattr(module, tensor_name).detach()
        first = chain.original0
        original = Parameter(value, first.requires_grad) if isinstance(first, Parameter) \
            else value
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _store(module, tensor_name, original)
    if not is_parametrized(module):
        del module._modules["parametrizations"]
        module.__class__ = type(module).__bases__[0]
    return module
