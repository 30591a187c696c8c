"""``record_function``: a named range of the user's own, around any block of code.

    with record_function("attention"):          # or @record_function("attention") on a def
        ...

Inside a running profile the block becomes an event (kind ``user_annotation``) and every
operation run in it nests below it; without a profile it costs one check. The context manager
is built on the two operators torch.fx graphs call (``torch.ops.profiler``):

    handle = _record_function_enter(name)        # opens the range
    _record_function_exit(handle)                # closes it

Called with an fx Proxy (while tracing), each records itself as a ``call_function`` node, as
torch's operators do through ``__torch_function__``.
"""
from __future__ import annotations

import functools
import sys

from .recorder import active_recorder

__all__ = ["record_function", "RecordFunctionHandle"]


class RecordFunctionHandle:
    """What ``_record_function_enter`` returns: the open range (None without a profile)."""

    __slots__ = ("name", "event", "recorder")

    def __init__(self, name, event, recorder):
        self.name, self.event, self.recorder = name, event, recorder

    def __repr__(self):
        state = "recording" if self.event is not None else "not recording"
        return f"<RecordFunctionHandle {self.name!r} ({state})>"


def _traced(fn):
    """``fn`` as a torch operator: given an fx Proxy it records a call_function node."""
    @functools.wraps(fn)
    def operator(*args, **kwargs):
        patching = sys.modules.get("deltagrad.fx.patching")  # no Proxy exists before fx loads
        proxy = patching.find_proxy(args, kwargs, operator) if patching is not None else None
        if proxy is not None:
            return proxy.tracer.create_proxy("call_function", operator, args, kwargs)
        return fn(*args, **kwargs)
    operator.__module__ = "deltagrad.ops.profiler"  # how generated fx code names it
    return operator


@_traced
def _record_function_enter(name, args=None):
    """Open the range ``name`` in the running profile (``args``: a string shown with it)."""
    if not isinstance(name, str):
        raise TypeError(f"record_function: name must be a str, got {type(name).__name__}")
    if args is not None and not isinstance(args, str):
        raise TypeError(f"record_function: args must be a str or None, got {type(args).__name__}")
    recorder = active_recorder()
    event = recorder.begin(name, kind="user_annotation") if recorder is not None else None
    return RecordFunctionHandle(name, event, recorder)


@_traced
def _record_function_exit(handle):
    """Close the range that ``_record_function_enter`` opened."""
    if not isinstance(handle, RecordFunctionHandle):
        raise TypeError("_record_function_exit: expected the handle _record_function_enter "
                        f"returned, got {type(handle).__name__}")
    if handle.event is not None and handle.recorder.running:  # a stopped profile ended it
        handle.recorder.end(handle.event)
    handle.event = None


class record_function:
    """A user range: a context manager, and a decorator timing every call of a function."""

    def __init__(self, name: str, args=None):
        if not isinstance(name, str):
            raise TypeError(f"record_function: name must be a str, got {type(name).__name__}")
        self.name = name
        self.args = args
        self.record = None

    def __enter__(self):
        self.record = _record_function_enter(self.name, self.args)
        return self

    def __exit__(self, *exc):
        _record_function_exit(self.record)
        self.record = None
        return False

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError(f"record_function({self.name!r}) decorates a function, got "
                            f"{type(fn).__name__}")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapper
