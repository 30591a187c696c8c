"""The recorder: how a running profile turns each operation into a timed, nested event.

While a profile runs on a thread, ``grad_mode._state.profiler`` holds its ``Recorder``. That
slot is the only thing the hot paths look at (one ``is None`` check):

* ``Function.apply`` hands the call to ``Recorder.forward``: one event named after the
  operation (``MatMul``, ``Linear``, ``Relu``) around the whole call;
* the backward engine hands each node to ``Recorder.call``: one event named after the node
  (``ReluBackward``, ``AccumulateGrad``), with the operations its backward runs nested inside.

Events nest by a stack of open ranges: an event begun while another is open is its child, so

    total(e) = end(e) − start(e),     self(e) = total(e) − Σ_children total(c)

An operation's own forward works on arrays, so nothing inside it can be an event: the slot is
cleared while it runs, which also keeps the clock reads out of its time. Only the thread that
entered the profile is recorded (the engine runs backward on the calling thread).
"""
from __future__ import annotations

import threading
import time

from ..autograd.grad_mode import _state
from .events import FunctionEvent

__all__ = ["Recorder", "active_recorder"]


def active_recorder():
    """The recorder running on this thread, or None."""
    return _state.profiler


def _shapes(values):
    """Input shapes as PyTorch lists them: a list per input, ``[]`` for a non-tensor."""
    return [list(v.shape) if hasattr(v, "shape") else [] for v in values]


class Recorder:
    """Collects the events of one profile on one thread."""

    def __init__(self, record_shapes: bool = False):
        self.record_shapes = record_shapes
        self.events: list = []       # every event begun, in start order
        self.open: list = []         # the stack of ranges not yet ended
        self.thread = threading.get_ident()
        self.running = False
        self._next_id = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if _state.profiler is not None:
            raise RuntimeError("profiler: a profile is already running on this thread "
                               "(profiles do not nest: end the first one before starting another)")
        _state.profiler = self
        self.running = True

    def stop(self) -> None:
        """Stop recording; ranges still open (a record_function never exited) end now."""
        now = time.perf_counter_ns()
        while self.open:
            self.open.pop().end_ns = now
        if _state.profiler is self:
            _state.profiler = None
        self.running = False

    # ------------------------------------------------------------------ ranges
    def begin(self, name: str, inputs=None, kind: str = "cpu_op") -> FunctionEvent:
        """Open a range named ``name`` (a child of the innermost open range)."""
        self._next_id += 1
        parent = self.open[-1] if self.open else None
        shapes = _shapes(inputs) if self.record_shapes and inputs is not None else []
        event = FunctionEvent(self._next_id, name, self.thread, shapes, parent, kind)
        if parent is not None:
            parent.cpu_children.append(event)
        self.events.append(event)
        self.open.append(event)
        event.start_ns = time.perf_counter_ns()
        return event

    def end(self, event: FunctionEvent) -> None:
        """Close ``event`` (normally the innermost open range; a range closed out of order is
        taken off the stack where it is)."""
        event.end_ns = time.perf_counter_ns()
        if self.open and self.open[-1] is event:
            self.open.pop()
        elif event in self.open:
            self.open.remove(event)
        else:
            raise RuntimeError(f"profiler: the range {event.name!r} is not open "
                               "(ended twice, or begun in another profile)")

    # ------------------------------------------------------------------ hooks
    def forward(self, cls, inputs, params):
        """``cls.apply(*inputs, **params)`` as one event named after the operation."""
        event = self.begin(cls.__name__, inputs)
        _state.profiler = None  # its forward works on arrays: nothing inside to record
        try:
            return cls.apply(*inputs, **params)
        finally:
            _state.profiler = self
            self.end(event)

    def call(self, name: str, fn, inputs, *args):
        """``fn(*args)`` as one event ``name`` (a backward node); operations inside nest."""
        event = self.begin(name, inputs)
        try:
            return fn(*args)
        finally:
            self.end(event)
