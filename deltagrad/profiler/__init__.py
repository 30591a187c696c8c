"""A small profiler with PyTorch's API (``torch.profiler``): which operations ran, how often,
for how long (self and total CPU time), on which input shapes.

    from deltagrad.profiler import profile, record_function
    with profile(record_shapes=True) as prof:
        with record_function("step"):
            loss = model(x).sum(); loss.backward()
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

Files: ``recorder.py`` (how operations become nested events), ``events.py`` (events, their
averages, the times), ``record_function.py`` (user ranges and their ``torch.ops.profiler``
operators), ``profile.py`` (the context manager), ``table.py`` (the text table),
``schedule.py`` (which steps a long run records), ``chrome_trace.py`` (the trace file and
``tensorboard_trace_handler``), ``autograd_profiler.py`` (``torch.autograd.profiler``),
``torch_ops.py`` (what ``torch.ops`` is under run-torch).
"""
from .chrome_trace import tensorboard_trace_handler
from .events import EventList, FunctionEvent, FunctionEventAvg
from .profile import ProfilerActivity, profile
from .record_function import record_function
from .schedule import ProfilerAction, schedule

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler", "EventList", "FunctionEvent", "FunctionEventAvg"]
