"""``profile``: record every deltagrad operation run inside a block, then summarise it.

    with profile(record_shapes=True) as prof:
        loss = model(x).sum(); loss.backward()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

Each operation (every ``Function.apply``), each backward node and each ``record_function``
range is one event (see ``recorder.py``): ``prof.events()`` lists them in start order,
``prof.key_averages()`` sums them by name, ``prof.export_chrome_trace(path)`` writes them for
chrome://tracing; ``prof.table(...)`` is the events' table. ``prof.step()`` marks training steps (ranges ``ProfilerStep#0``, ``#1``, ...).

deltagrad computes on the CPU with NumPy: only CPU time is recorded (``ProfilerActivity.CPU``).
Memory profiles, Python stacks, FLOP counts and ``schedule``/``on_trace_ready`` are refused
with an error naming them rather than silently left empty.
"""
from __future__ import annotations

import enum
import warnings

from .events import EventList
from .record_function import _record_function_enter, _record_function_exit
from .recorder import Recorder

__all__ = ["profile", "ProfilerActivity"]


class ProfilerActivity(enum.Enum):
    """What to profile: deltagrad has only the CPU."""
    CPU = "CPU"
    CUDA = "CUDA"


def _refuse(option, value):
    if value:
        raise NotImplementedError(f"profile({option}=...) is not supported by deltagrad's "
                                  "profiler (it records CPU time, call counts and input shapes)")


class profile:
    """``torch.profiler.profile``: a context manager recording the events of its block."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False):
        _refuse("schedule", schedule is not None)
        _refuse("on_trace_ready", on_trace_ready is not None)
        _refuse("profile_memory", profile_memory)
        _refuse("with_stack", with_stack)
        _refuse("with_flops", with_flops)
        _refuse("with_modules", with_modules)
        if activities is not None:
            activities = set(activities)
            for a in activities:
                if not isinstance(a, ProfilerActivity):
                    raise TypeError(f"profile: activities must be ProfilerActivity members, "
                                    f"got {a!r}")
            if ProfilerActivity.CUDA in activities:
                warnings.warn("profile: CUDA is not available to deltagrad (it runs on NumPy); "
                              "profiling the CPU only")
        self.activities = activities
        self.record_shapes = bool(record_shapes)
        self.recorder = None
        self.step_num = 0
        self._step_range = None
        self._events = None

    # ------------------------------------------------------------------ recording
    def start(self) -> None:
        if self.recorder is not None:
            raise RuntimeError("profile: the profiler is already running (it is not reentrant)")
        self.recorder = Recorder(record_shapes=self.record_shapes)
        self.recorder.start()
        self._events = None
        self._step_range = _record_function_enter(f"ProfilerStep#{self.step_num}") \
            if self.step_num else None

    def stop(self) -> None:
        if self.recorder is None:
            raise RuntimeError("profile: stop() without start()")
        if self._step_range is not None:
            _record_function_exit(self._step_range)
            self._step_range = None
        self.recorder.stop()
        self._events = EventList(self.recorder.events)
        self.recorder = None

    def step(self) -> None:
        """End the current training step's range and open the next (``ProfilerStep#n``)."""
        if self.recorder is None:
            raise RuntimeError("profile: step() outside the profiled block")
        if self._step_range is not None:
            _record_function_exit(self._step_range)
        self.step_num += 1
        self._step_range = _record_function_enter(f"ProfilerStep#{self.step_num}")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # ------------------------------------------------------------------ results
    def events(self) -> EventList:
        """Every recorded event, in start order."""
        if self._events is None:
            raise RuntimeError("profile: no results yet (the profiled block has not ended)")
        return self._events

    @property
    def function_events(self) -> EventList:
        return self.events()

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        """One average per operation name (and input shapes when ``group_by_input_shape``;
        without ``record_shapes=True`` every shape list is empty, as in PyTorch)."""
        return self.events().key_averages(group_by_input_shape)

    @property
    def self_cpu_time_total(self) -> float:
        return self.events().self_cpu_time_total

    def table(self, sort_by=None, row_limit=100, **kwargs) -> str:
        return self.events().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def export_chrome_trace(self, path) -> None:
        self.events().export_chrome_trace(path)
