"""``profile``: record every deltagrad operation run inside a block, then summarise it.

    with profile(record_shapes=True) as prof:
        loss = model(x).sum(); loss.backward()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

Each operation (every ``Function.apply``), each backward node and each ``record_function``
range is one event (see ``recorder.py``): ``prof.events()`` lists them in start order,
``prof.key_averages()`` sums them by name, ``prof.export_chrome_trace(path)`` writes them for
chrome://tracing; ``prof.table(...)`` is the events' table.

A long run records only some steps: ``schedule=schedule(wait=1, warmup=1, active=3)`` with
``prof.step()`` after each training step records the active steps (each in a range
``ProfilerStep#n``) and, at the end of each cycle, calls ``on_trace_ready(prof)`` (e.g.
``tensorboard_trace_handler(folder)``); ``prof.events()`` then holds the last cycle. Without a
schedule the whole block is one cycle (``on_trace_ready``, if given, runs at its end).

deltagrad computes on the CPU with NumPy: only CPU time is recorded (``ProfilerActivity.CPU``).
Memory profiles, Python stacks and FLOP counts are refused with an error naming them rather
than silently left empty.
"""
from __future__ import annotations

import enum
import warnings

from .events import EventList
from .record_function import _record_function_enter, _record_function_exit
from .recorder import Recorder
from .schedule import RECORDING, ProfilerAction

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
        _refuse("profile_memory", profile_memory)
        _refuse("with_stack", with_stack)
        _refuse("with_flops", with_flops)
        _refuse("with_modules", with_modules)
        for name, fn in (("schedule", schedule), ("on_trace_ready", on_trace_ready)):
            if fn is not None and not callable(fn):
                raise TypeError(f"profile: {name} must be callable, got {type(fn).__name__}")
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
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes = bool(record_shapes)
        self.recorder = None
        self.running = False
        self.step_num = 0
        self.current_action = None
        self._step_range = None
        self._events = None

    # ------------------------------------------------------------------ recording
    def _action(self) -> ProfilerAction:
        if self.schedule is None:
            return ProfilerAction.RECORD
        action = self.schedule(self.step_num)
        if not isinstance(action, ProfilerAction):
            raise TypeError(f"profile: schedule({self.step_num}) returned {action!r}, expected "
                            "a ProfilerAction")
        return action

    def _begin_cycle(self) -> None:
        self.recorder = Recorder(record_shapes=self.record_shapes)
        self.recorder.start()
        if self.schedule is not None:  # steps are ranges only under a schedule, as in PyTorch
            self._step_range = _record_function_enter(f"ProfilerStep#{self.step_num}")

    def _end_cycle(self) -> None:
        """Stop recording, keep the cycle's events and hand them to ``on_trace_ready``."""
        if self._step_range is not None:
            _record_function_exit(self._step_range)
            self._step_range = None
        self.recorder.stop()
        self._events = EventList(self.recorder.events)
        self.recorder = None
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def start(self) -> None:
        if self.running:
            raise RuntimeError("profile: the profiler is already running (it is not reentrant)")
        self.running = True
        self._events = None
        self.current_action = self._action()
        if self.current_action in RECORDING:
            self._begin_cycle()

    def stop(self) -> None:
        if not self.running:
            raise RuntimeError("profile: stop() without start()")
        self.running = False
        if self.recorder is not None:
            self._end_cycle()

    def step(self) -> None:
        """A training step ended: move the schedule on (ending or starting a cycle)."""
        if not self.running:
            raise RuntimeError("profile: step() outside the profiled block")
        previous = self.current_action
        self.step_num += 1
        self.current_action = self._action()
        if self.recorder is not None and (previous is ProfilerAction.RECORD_AND_SAVE
                                          or self.current_action not in RECORDING):
            self._end_cycle()
        if self.recorder is None:
            if self.current_action in RECORDING:
                self._begin_cycle()
        elif self.schedule is not None:  # the cycle goes on: the next step's range
            _record_function_exit(self._step_range)
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
            raise RuntimeError("profile: no results yet (the profiled block has not ended, or "
                               "its schedule has not finished a cycle)")
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
