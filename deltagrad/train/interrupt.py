"""Ctrl-C and SIGTERM while training: stop promptly, never halfway through an epoch's files.

``with StopSignals() as stop:`` makes SIGTERM (``kill PID``, a job scheduler's stop) end
training the way Ctrl-C (SIGINT) does, by raising :class:`Stopped`; inside
``with stop.deferred():`` a signal is held until the block ends, so an epoch's best.npz,
checkpoint.npz and metrics.jsonl line are written together or not at all. The previous
handlers come back on exit. Outside the main thread (where Python cannot set handlers)
signals keep their usual meaning.
"""
from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """Training was stopped by a signal; ``signum`` says which (``name``: SIGINT/SIGTERM)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


class StopSignals:
    """Turn SIGINT and SIGTERM into :class:`Stopped`, held back inside :meth:`deferred`."""

    def __init__(self):
        self._previous: dict = {}
        self._pending = None
        self._depth = 0

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        if self._depth:
            self._pending = signum
            return
        raise Stopped(signum)

    @contextlib.contextmanager
    def deferred(self):
        """Hold a stop signal until the block has finished (then raise :class:`Stopped`)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if not self._depth and self._pending is not None:
            signum, self._pending = self._pending, None
            raise Stopped(signum)
