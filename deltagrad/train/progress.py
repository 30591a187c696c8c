"""A small progress bar for one epoch: loss, accuracy and samples/s as training runs.

On a terminal it redraws one line (``\\r``) at most ten times a second; anywhere else
(a pipe, a log file, CI) it stays silent until the epoch ends, so logs hold one plain line
per epoch instead of thousands of carriage returns.
"""
from __future__ import annotations

import sys
import time


def _fmt_count(n: float) -> str:
    return f"{n / 1000:.1f}k" if n >= 10000 else f"{n:.0f}"


class ProgressBar:
    """``bar = ProgressBar(total, desc); bar.update(n, loss=..., accuracy=...); bar.close()``."""

    def __init__(self, total: int, desc: str = "", stream=None, width: int = 24,
                 interactive: bool | None = None, min_interval: float = 0.1):
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = stream if stream is not None else sys.stdout
        if interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self.interactive = interactive
        self.width = width
        self.min_interval = min_interval
        self.count = 0
        self.postfix: dict = {}
        self.start = time.perf_counter()
        self._last_draw = 0.0

    @property
    def rate(self) -> float:
        """Samples per second since the bar started."""
        return self.count / max(time.perf_counter() - self.start, 1e-9)

    def update(self, n: int, **postfix) -> None:
        self.count += n
        self.postfix.update(postfix)
        if not self.interactive:
            return
        now = time.perf_counter()
        if now - self._last_draw >= self.min_interval or self.count >= self.total:
            self._last_draw = now
            self._draw()

    def line(self) -> str:
        frac = min(self.count / self.total, 1.0)
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        stats = " ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in self.postfix.items())
        return (f"{self.desc} [{bar}] {_fmt_count(self.count)}/{_fmt_count(self.total)} "
                f"{stats} {self.rate:,.0f} samples/s").rstrip()

    def _draw(self) -> None:
        self.stream.write("\r" + self.line() + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (terminal only); the caller prints the epoch summary."""
        if self.interactive:
            self._draw()
            self.stream.write("\r\x1b[K")
            self.stream.flush()
