"""Recording calls of deltagrad's functions on Proxies.

PyTorch's functions notice a Proxy argument through ``__torch_function__``; deltagrad has no
such hook, so while tracing (and while a Proxy made outside a trace is alive) the public
functions of ``deltagrad``, ``deltagrad.nn.functional``, ``deltagrad.linalg`` and
``deltagrad.special`` (``naming.public_function_names``) are swapped, wherever a loaded
deltagrad module, ``__main__`` or the traced code's globals hold them, for a wrapper:

    wrapper(*args, **kwargs) = a call_function Node of fn     if a Proxy is among the args
                               fn(*args, **kwargs)            otherwise

Functions passed to ``fx.wrap`` are swapped the same way during a trace, in the globals of
the module that wrapped them. Tensor's binary operators record a method call for a Proxy
operand, as torch.fx does: ``tensor + proxy`` -> ``tensor.add(proxy)``. Every swap is undone
when the trace ends, even on error.
"""
from __future__ import annotations

import builtins
import functools
import sys
import weakref

from .functional_layout import lay_out

__all__ = ["patched_functions", "keep_patched_while_alive", "wrap", "find_proxy"]

#: (id of a module's globals, name) -> those globals, for every ``fx.wrap`` call
_wrapped_names: dict = {}


def find_proxy(args, kwargs, fn=None):
    """The first Proxy among ``args``/``kwargs`` (looking inside lists, tuples and dicts);
    Proxies of two different tracers are an error, as in torch.fx."""
    from .proxy import Proxy
    stack, found, tracers = [kwargs, args], None, {}
    while stack:  # depth first, left to right: reversed children on a LIFO stack
        a = stack.pop()
        if isinstance(a, Proxy):
            found = a if found is None else found
            tracers[id(a.tracer)] = a.tracer
        elif isinstance(a, (list, tuple)):
            stack.extend(reversed(a))
        elif isinstance(a, dict):
            stack.extend(reversed(list(a.values())))
    if len(tracers) > 1:
        raise RuntimeError(f"Found multiple different tracers {list(tracers.values())} while "
                           f"trying to trace operations {fn}")
    return found


def recording(fn, is_wrapped=False, functional_name=None):
    """``fn`` that records a call_function Node when given a Proxy; a
    ``deltagrad.nn.functional`` function (``functional_name``) records its arguments laid out
    as torch.fx records torch's (``functional_layout.py``)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        proxy = find_proxy(args, kwargs, fn)
        if proxy is None:
            return fn(*args, **kwargs)
        if functional_name is not None:
            args, kwargs = lay_out(functional_name, fn, args, kwargs)
        result = proxy.tracer.create_proxy("call_function", fn, args, kwargs)
        if is_wrapped:
            result.node.meta["is_wrapped"] = True
        return result
    wrapper._fx_original = fn
    return wrapper


#: Tensor operator -> the method torch.fx records when its other operand is a Proxy
TENSOR_OPERATOR_METHODS = {
    "__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div",
    "__floordiv__": "__floordiv__", "__mod__": "remainder", "__pow__": "pow",
    "__matmul__": "matmul", "__eq__": "eq", "__ne__": "ne", "__lt__": "lt", "__le__": "le",
    "__gt__": "gt", "__ge__": "ge", "__and__": "__and__", "__or__": "__or__",
    "__xor__": "__xor__", "__lshift__": "__lshift__", "__rshift__": "__rshift__"}


def recording_operator(method, method_name):
    """``tensor <op> proxy``: a ``call_method`` node ``tensor.<method_name>(proxy)``."""
    from .proxy import Proxy

    @functools.wraps(method)
    def operator_method(self, other):
        if isinstance(other, Proxy):
            return other.tracer.create_proxy("call_method", method_name, (self, other), {})
        return method(self, other)
    operator_method._fx_original = method
    return operator_method


def wrap(fn_or_name):
    """Record calls of this module-level function as one ``call_function`` node instead of
    tracing through it (``torch.fx.wrap``). Call it at the top level of the defining module."""
    if callable(fn_or_name):
        name = getattr(fn_or_name, "__name__", None)
        if not name or name == "<lambda>":
            raise ValueError(f"fx.wrap: expected a named function, got {fn_or_name!r}")
    elif isinstance(fn_or_name, str):
        name = fn_or_name
    else:
        raise TypeError("fx.wrap: expected a function or a function name, got "
                        f"{type(fn_or_name).__name__}")
    frame = sys._getframe(1)
    if frame.f_code.co_name != "<module>":
        raise NotImplementedError("fx.wrap must be called at the top level of a module")
    _wrapped_names[(id(frame.f_globals), name)] = frame.f_globals
    return fn_or_name


def _deltagrad_namespaces(extra_globals):
    seen = set()
    for name, module in list(sys.modules.items()):
        if (name == "deltagrad" or name.startswith("deltagrad.") or name == "__main__") \
                and not name.startswith("deltagrad.fx") and type(module).__name__ != "TorchAlias":
            d = getattr(module, "__dict__", None)
            if isinstance(d, dict) and id(d) not in seen:
                seen.add(id(d))
                yield d
    for d in extra_globals:
        if id(d) not in seen:
            seen.add(id(d))
            yield d


class patched_functions:
    """``with patched_functions(globals_of_traced_code, wrapped=True):`` the swap described
    in the module docstring; leaving the block restores exactly what it swapped."""

    def __init__(self, extra_globals=(), wrapped=False):
        self.extra_globals, self.wrapped = list(extra_globals), wrapped
        self.swapped = []  # (namespace dict, name, original)

    def __enter__(self):
        from .naming import public_function_names
        table = public_function_names()
        try:
            for d in _deltagrad_namespaces(self.extra_globals):
                for name, value in list(d.items()):
                    entry = table.get(id(value))
                    if entry is not None and entry[0] is value:
                        path = entry[1]
                        functional = path[len("nn.functional."):] \
                            if path.startswith("nn.functional.") else None
                        self._swap(d, name, recording(value, functional_name=functional))
            from ..tensor import Tensor
            for name, method_name in TENSOR_OPERATOR_METHODS.items():
                original = vars(Tensor).get(name)
                if original is not None and not hasattr(original, "_fx_original"):
                    self._swap(Tensor, name, recording_operator(original, method_name))
            if self.wrapped:
                for (_, name), d in list(_wrapped_names.items()):
                    original = d.get(name, getattr(builtins, name, None))
                    if original is not None and not hasattr(original, "_fx_original"):
                        self._swap(d, name, recording(original, is_wrapped=True))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _swap(self, where, name, wrapper):
        """``where``: a namespace dict, or a class (set through setattr)."""
        if isinstance(where, dict):
            self.swapped.append((where, name, where.get(name, _ABSENT)))
            where[name] = wrapper
        else:
            self.swapped.append((where, name, vars(where)[name]))
            setattr(where, name, wrapper)

    def __exit__(self, *exc):
        for where, name, original in reversed(self.swapped):
            if not isinstance(where, dict):
                setattr(where, name, original)
            elif original is _ABSENT:
                where.pop(name, None)
            else:
                where[name] = original
        self.swapped = []
        return False


_ABSENT = object()
#: traces running now (they hold their own swap)
_trace_depth = [0]
#: Proxies alive that were made outside a trace, and the swap they hold
_free = {"count": 0, "patch": None}


def keep_patched_while_alive(proxy) -> None:
    """A Proxy made outside any trace (a graph built by hand, a Transformer) keeps deltagrad's
    functions recording until the last such Proxy is gone."""
    if _trace_depth[0] > 0:
        return
    _free["count"] += 1
    if _free["patch"] is None:
        _free["patch"] = patched_functions().__enter__()
    weakref.finalize(proxy, _forget_free_proxy)


def _forget_free_proxy():
    _free["count"] -= 1
    release_unused_patch()


def release_unused_patch() -> None:
    """Undo the swap of free Proxies once none is alive and no trace relies on it."""
    if _free["count"] == 0 and _trace_depth[0] == 0 and _free["patch"] is not None:
        patch, _free["patch"] = _free["patch"], None
        patch.__exit__(None, None, None)
