"""Running PyTorch programs on deltagrad: ``import torch`` resolves to deltagrad.

    python -m deltagrad.torch_compat script.py [args...]
    deltagrad run-torch script.py [args...]

A finder at the front of ``sys.meta_path`` answers every ``torch[.x.y]`` import with a thin
alias module over the deltagrad module of the same place (``torch.nn`` → ``deltagrad.nn``,
``torch.optim.lr_scheduler`` → ``deltagrad.optim.lr_scheduler``, ``torch.nn.modules.batchnorm``
→ ``deltagrad.nn.normalization``, see ``RENAMES``), or over a namespace object
(``torch.backends.cudnn`` → ``deltagrad.backends.cudnn``, ``torch.cuda.amp`` →
``deltagrad.cuda.amp``). Attribute reads go to the deltagrad object; writes of flags
(``torch.backends.cudnn.benchmark = True``) go there too. What deltagrad lacks raises an
``ImportError`` or ``AttributeError`` saying ``torch.xyz is not supported by deltagrad``:
nothing is faked.

A ``spawn``/``forkserver`` child (``dg.multiprocessing``) is a fresh interpreter without the
finder; ``install()`` also puts ``CHILD_PATH`` first on ``sys.path``, which the child inherits:
its ``torch.py`` installs the alias there on the child's first ``import torch``.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
import types

__all__ = ["install", "uninstall", "torch_is_deltagrad", "run_script", "resolve",
           "SUPPORTED", "RENAMES"]

#: torch's top-level submodules that deltagrad has under the same name
SUPPORTED = ("nn", "optim", "utils", "autograd", "distributions", "linalg", "special", "cuda",
             "backends", "amp", "accelerator", "sparse", "serialization", "onnx",
             "distributed", "random", "version", "multiprocessing", "fx",
             "testing", "profiler", "ops")

#: torch module -> deltagrad module where the names differ (longest prefix wins)
RENAMES = {
    "torch": "deltagrad",
    "torch.nn.modules": "deltagrad.nn",
    "torch.nn.modules.activation": "deltagrad.nn",  # MultiheadAttention is in nn.transformer
    "torch.nn.modules.batchnorm": "deltagrad.nn.normalization",
    "torch.nn.modules.instancenorm": "deltagrad.nn.normalization",
    "torch.nn.modules.container": "deltagrad.nn.module",
    "torch.nn.modules.flatten": "deltagrad.nn.module",
    "torch.nn.parameter": "deltagrad.nn.module",
    "torch.nn.modules.upsampling": "deltagrad.nn.pooling",
    "torch.optim.adadelta": "deltagrad.optim.adaptive",
    "torch.optim.adagrad": "deltagrad.optim.adaptive",
    "torch.optim.rmsprop": "deltagrad.optim.adaptive",
    "torch.optim.adamax": "deltagrad.optim.adam",
    "torch.optim.adamw": "deltagrad.optim.adam",
    "torch.optim.nadam": "deltagrad.optim.adam",
    "torch.optim.radam": "deltagrad.optim.adam",
    "torch.onnx": "deltagrad.io.onnx",
    "torch.serialization": "deltagrad.io.serialization",
    "torch.utils.tensorboard": "deltagrad.utils.tensorboard",
    "torch.autograd.profiler": "deltagrad.profiler.autograd_profiler",
    "torch.ops": "deltagrad.profiler.torch_ops",  # only torch.ops.profiler
}

_MISSING = object()


def _unsupported(torch_name):
    # raised without ``name=``, so ``from torch.x import y`` shows this message too (the
    # import system turns a ModuleNotFoundError naming y into "cannot import name 'y'")
    return f"{torch_name} is not supported by deltagrad"


def resolve(torch_name: str):
    """The deltagrad module (or namespace object) that ``torch_name`` stands for, or
    ModuleNotFoundError naming the torch spelling."""
    parts = torch_name.split(".")
    if parts[0] != "torch":
        raise ValueError(f"resolve: expected a torch module name, got {torch_name!r}")
    if len(parts) > 1 and parts[1] not in SUPPORTED:
        raise ModuleNotFoundError(_unsupported(torch_name))
    prefix = max((p for p in RENAMES if torch_name == p or torch_name.startswith(p + ".")),
                 key=len)
    dg_name = RENAMES[prefix] + torch_name[len(prefix):]
    try:
        return importlib.import_module(dg_name)
    except ModuleNotFoundError as e:
        if not (e.name and (dg_name == e.name or dg_name.startswith(e.name + "."))):
            raise  # a dependency of the deltagrad module is missing: its own message
    parent, _, attr = torch_name.rpartition(".")  # an attribute of what the parent is
    try:
        obj = getattr(resolve(parent), attr, _MISSING) if parent else _MISSING
    except ImportError:
        obj = _MISSING
    if obj is _MISSING or isinstance(obj, type) or callable(obj):
        raise ModuleNotFoundError(_unsupported(torch_name))
    return obj  # a namespace object: deltagrad.backends.cudnn, deltagrad.cuda.amp


class TorchAlias(types.ModuleType):
    """``torch.x.y``: reads and writes go to the deltagrad object it stands for."""

    def __init__(self, name, target):
        super().__init__(name, getattr(target, "__doc__", None))
        object.__setattr__(self, "_deltagrad_target", target)

    def __getattr__(self, name):
        target = object.__getattribute__(self, "_deltagrad_target")
        value = getattr(target, name, _MISSING)
        full = f"{self.__name__}.{name}"
        if isinstance(value, types.ModuleType) or isinstance(value, types.SimpleNamespace) \
                or (value is not _MISSING and type(value).__module__ == "deltagrad.backends"):
            try:
                return importlib.import_module(full)  # keeps the torch spelling in errors
            except ImportError:
                raise AttributeError(_unsupported(full)) from None
        if value is _MISSING:
            if name.startswith("__") and name.endswith("__"):
                raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
            try:  # a torch submodule under another deltagrad name: torch.nn.modules.linear
                return importlib.import_module(full)
            except ImportError:
                raise AttributeError(_unsupported(full)) from None
        return value

    def __setattr__(self, name, value):
        if (name.startswith("__") and name.endswith("__")) or isinstance(value, TorchAlias):
            object.__setattr__(self, name, value)  # import machinery's own attributes
        else:
            setattr(object.__getattribute__(self, "_deltagrad_target"), name, value)

    def __dir__(self):
        return sorted(set(dir(object.__getattribute__(self, "_deltagrad_target"))))

    def __repr__(self):
        target = object.__getattribute__(self, "_deltagrad_target")
        return f"<module {self.__name__!r} (deltagrad: {getattr(target, '__name__', target)!r})>"


class TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``torch`` and ``torch.*`` before any installed PyTorch and loads the alias."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        resolved = resolve(fullname)  # raises ModuleNotFoundError for what deltagrad lacks
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        spec.loader_state = resolved
        return spec

    def create_module(self, spec):
        module = TorchAlias(spec.name, spec.loader_state)
        origin = getattr(spec.loader_state, "__file__", None)
        if origin:
            object.__setattr__(module, "__file__", origin)
        return module

    def exec_module(self, module):
        object.__setattr__(module, "__path__", [])


_finder = TorchFinder()

#: the folder whose ``torch.py`` installs the alias in a spawned child (see the docstring)
CHILD_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child_path")


def _torch_modules():
    return {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}


def install() -> None:
    """Put the finder first on ``sys.meta_path`` and ``CHILD_PATH`` first on ``sys.path``; a
    real PyTorch already imported in this process is taken out of ``sys.modules``
    (``uninstall`` does not bring it back: use ``torch_is_deltagrad()`` for that)."""
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    if CHILD_PATH not in sys.path:
        sys.path.insert(0, CHILD_PATH)
    for k, v in _torch_modules().items():
        if not isinstance(v, TorchAlias):
            del sys.modules[k]


def uninstall() -> None:
    """Remove the finder and the torch alias modules."""
    while _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    while CHILD_PATH in sys.path:
        sys.path.remove(CHILD_PATH)
    for k, v in _torch_modules().items():
        if isinstance(v, TorchAlias):
            del sys.modules[k]


@contextlib.contextmanager
def torch_is_deltagrad():
    """Within the block ``import torch`` gives deltagrad; afterwards the previous ``torch``
    modules (a real PyTorch, if one was imported) are back."""
    saved = _torch_modules()
    install()
    try:
        yield
    finally:
        uninstall()
        sys.modules.update(saved)


def run_script(path: str, argv=()) -> dict:
    """Run the file ``path`` as ``__main__`` with ``sys.argv = [path, *argv]``, its folder
    first on ``sys.path`` and ``import torch`` resolving to deltagrad (``python script.py``
    with PyTorch swapped for deltagrad). Returns the script's globals."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"run-torch: no such script: {path!r}")
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        with torch_is_deltagrad():
            return runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv, sys.path[:] = old_argv, old_path
