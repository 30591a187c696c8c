"""What a profile recorded: ``FunctionEvent`` (one timed range), ``FunctionEventAvg`` (the
events of one name summed) and ``EventList`` (a list of either, with PyTorch's methods).

Times are in microseconds, as PyTorch reports them:

    cpu_time_total       = end − start                       (the range, children included)
    self_cpu_time_total  = cpu_time_total − Σ children's cpu_time_total
    cpu_time             = cpu_time_total / count            (the average per call)
"""
from __future__ import annotations

__all__ = ["FunctionEvent", "FunctionEventAvg", "EventList", "SORT_KEYS"]

#: the columns ``table(sort_by=...)`` can sort by (largest first)
SORT_KEYS = ("cpu_time", "cpu_time_total", "self_cpu_time_total", "count")


class FunctionEvent:
    """One range: an operation, a backward node or a ``record_function`` block."""

    count = 1

    def __init__(self, id, name, thread, input_shapes, cpu_parent, kind="cpu_op"):
        self.id = id
        self.name = name
        self.thread = thread
        self.input_shapes = input_shapes
        self.cpu_parent = cpu_parent
        self.cpu_children: list = []
        self.kind = kind  # "cpu_op" or "user_annotation" (a record_function range)
        self.start_ns = self.end_ns = None

    @property
    def key(self) -> str:
        """The name averages group by: every ``ProfilerStep#n`` is ``ProfilerStep*``."""
        return "ProfilerStep*" if self.name.startswith("ProfilerStep#") else self.name

    @property
    def cpu_time_total(self) -> float:
        return (self.end_ns - self.start_ns) / 1000.0

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total

    @property
    def time_range(self) -> tuple:
        """(start, end) in microseconds of the process clock (``time.perf_counter``)."""
        return self.start_ns / 1000.0, self.end_ns / 1000.0

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time={self.cpu_time_total:.3f}us "
                f"cpu_children={[c.id for c in self.cpu_children]} input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """The events sharing a key (and input shapes, when grouped by them), summed."""

    def __init__(self, key, input_shapes=None):
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0

    def add(self, event) -> "FunctionEventAvg":
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}us "
                f"cpu_time={self.cpu_time:.3f}us count={self.count} "
                f"input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of events (``prof.events()``) or of averages (``prof.key_averages()``)."""

    def key_averages(self, group_by_input_shape: bool = False) -> "EventList":
        """One ``FunctionEventAvg`` per name (per name and input shapes when
        ``group_by_input_shape``), in order of first appearance."""
        groups: dict = {}
        for event in self:
            key = (event.key, str(event.input_shapes)) if group_by_input_shape else event.key
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(
                    event.key, event.input_shapes if group_by_input_shape else None)
            avg.add(event)
        return EventList(groups.values())

    @property
    def self_cpu_time_total(self) -> float:
        """Σ self time of every event: the time the profile accounted for, in µs."""
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by=None, row_limit=100, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False,
              time_unit=None) -> str:
        """The events laid out as PyTorch's profiler table (see ``table.py``)."""
        from .table import build_table
        return build_table(self, sort_by=sort_by, row_limit=row_limit,
                           max_name_column_width=max_name_column_width,
                           max_shapes_column_width=max_shapes_column_width, header=header,
                           top_level_events_only=top_level_events_only, time_unit=time_unit)

    def export_chrome_trace(self, path) -> None:
        from .chrome_trace import export_chrome_trace
        export_chrome_trace(self, path)

    def __str__(self):
        return self.table()
