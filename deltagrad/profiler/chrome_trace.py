"""``export_chrome_trace``: the events as a Chrome trace (open in chrome://tracing or Perfetto).

The Trace Event Format: one "complete" event per range,

    {"ph": "X", "cat": "cpu_op" | "user_annotation", "name": ..., "pid": ..., "tid": ...,
     "ts": start in µs, "dur": duration in µs, "args": {"Input Dims": [...]}}

inside ``{"traceEvents": [...], "displayTimeUnit": "ms"}``. The file is written atomically
(a temporary file in the same folder, then renamed over ``path``).
"""
from __future__ import annotations

import json
import os
import tempfile

__all__ = ["export_chrome_trace", "chrome_trace"]


def chrome_trace(events) -> dict:
    """The trace as a JSON-ready dict."""
    pid = os.getpid()
    trace = []
    for e in events:
        start, end = e.time_range
        entry = {"ph": "X", "cat": e.kind, "name": e.name, "pid": pid, "tid": e.thread,
                 "ts": start, "dur": end - start, "args": {"Ev Idx": e.id}}
        if e.input_shapes:
            entry["args"]["Input Dims"] = e.input_shapes
        trace.append(entry)
    return {"schemaVersion": 1, "displayTimeUnit": "ms", "traceEvents": trace,
            "traceName": "deltagrad"}


def export_chrome_trace(events, path) -> None:
    """Write ``chrome_trace(events)`` to ``path`` atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"export_chrome_trace: no such folder: {folder!r}")
    fd, tmp = tempfile.mkstemp(prefix=".chrome_trace.", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(chrome_trace(events), f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
