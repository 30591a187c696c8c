"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True
    #: the running ``deltagrad.profiler`` recorder of this thread, or None (the one check that
    #: ``Function.apply`` and the backward engine make: nothing more is done without a profiler)
    profiler = None


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradMode:
    """A context manager and decorator that sets the grad mode to ``self.mode`` inside."""

    mode = True

    def __enter__(self):
        self.prev = _state.enabled
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Operations inside record no graph: ``with dg.no_grad(): ...`` (also a decorator)."""
    mode = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` block."""
    mode = True


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: as a call (takes effect at once, like PyTorch's),
    a context manager (restored on exit) or a decorator (only inside the function)."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self.prev = _state.enabled
        _state.enabled = self.mode

    def __enter__(self):  # the mode was already set by __init__; keep its previous value
        return self

    def __call__(self, fn):
        _state.enabled = self.prev  # used as a decorator: do not change the mode now
        return super().__call__(fn)


class inference_mode(no_grad):
    """``no_grad`` under PyTorch's other name (``inference_mode(False)`` records again)."""

    def __init__(self, mode: bool = True):
        self.mode = not mode
