"""``torch.autograd.profiler``: the older spelling of the same profiler.

``profile(enabled=True, record_shapes=False, ...)`` records exactly what
``deltagrad.profiler.profile`` does; ``enabled=False`` records nothing (and its results are
an error to ask for, as in PyTorch); ``print(prof)`` shows the table of its events in start
order. ``record_function`` is the same class.
"""
from __future__ import annotations

from .profile import profile as _profile
from .record_function import record_function
from .events import EventList, FunctionEvent, FunctionEventAvg

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]


class profile(_profile):
    """``torch.autograd.profiler.profile``."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True):
        if use_cuda or use_device not in (None, "cpu"):
            raise NotImplementedError("torch.autograd.profiler.profile(use_cuda/use_device=...) "
                                      "is not supported by deltagrad (it runs on the CPU)")
        if not use_cpu:
            raise ValueError("profile(use_cpu=False): deltagrad has only the CPU to profile")
        super().__init__(record_shapes=record_shapes, profile_memory=profile_memory,
                         with_stack=with_stack, with_flops=with_flops, with_modules=with_modules)
        self.enabled = bool(enabled)

    def __enter__(self):
        if self.enabled:
            self.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.stop()
        return False

    def events(self):
        if not self.enabled:
            raise RuntimeError("profile(enabled=False) recorded nothing: there are no events")
        return super().events()

    def __str__(self):
        """The table of every event in start order (``print(prof)``)."""
        if self._events is None:
            return "<unfinished torch.autograd.profile>"
        return str(self._events)
