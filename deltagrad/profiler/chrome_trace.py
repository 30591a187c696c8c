"""``export_chrome_trace``: the events as a Chrome trace (open in chrome://tracing or Perfetto).

The Trace Event Format: one "complete" event per range,

    {"ph": "X", "cat": "cpu_op" | "user_annotation", "name": ..., "pid": ..., "tid": ...,
     "ts": start in µs, "dur": duration in µs, "args": {"Input Dims": [...]}}

inside ``{"traceEvents": [...], "displayTimeUnit": "ms"}``. The file is written atomically
(a temporary file in the same folder, then renamed over ``path``), gzipped when ``path`` ends
in ``.gz``. ``tensorboard_trace_handler(folder)`` is an ``on_trace_ready`` that writes each
cycle's trace as ``folder/<worker>.<time>.pt.trace.json`` (TensorBoard's profiler plugin
reads such files).
"""
from __future__ import annotations

import gzip
import json
import os
import socket
import tempfile
import time

__all__ = ["export_chrome_trace", "chrome_trace", "tensorboard_trace_handler"]


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
        text = json.dumps(chrome_trace(events)).encode()
        with os.fdopen(fd, "wb") as f:
            f.write(gzip.compress(text) if path.endswith(".gz") else text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An ``on_trace_ready`` writing each finished cycle to ``dir_name`` (made if missing) as
    ``<worker_name>.<time in ns>.pt.trace.json[.gz]`` (never over an earlier file); the worker
    is ``<host>_<pid>`` unless named."""
    if not isinstance(dir_name, (str, os.PathLike)):
        raise TypeError(f"tensorboard_trace_handler: dir_name must be a path, got "
                        f"{type(dir_name).__name__}")
    dir_name = os.fspath(dir_name)

    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        suffix = ".pt.trace.json" + (".gz" if use_gzip else "")
        stamp = time.time_ns()
        while os.path.exists(os.path.join(dir_name, f"{worker}.{stamp}{suffix}")):
            stamp += 1  # two cycles within the clock's resolution
        prof.export_chrome_trace(os.path.join(dir_name, f"{worker}.{stamp}{suffix}"))
    return handler
