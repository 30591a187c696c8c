"""The progress bar of one epoch: tqdm, fitted to the terminal, with loss, accuracy and ETA.

On a terminal it is a tqdm bar (``{desc} 42%|███▌    | 540/1293 ETA 00:02, 420 samples/s,
loss 0.4321 acc 0.8765``) that follows the terminal's width (``ncols``, or the width at
each redraw), so a redraw never wraps onto a new line, and that disappears when the epoch
ends (the caller prints one short summary line). Anywhere else (a pipe, a log file, CI) it
writes nothing, so logs hold one plain line per epoch instead of carriage returns.
"""
from __future__ import annotations

import sys
import time

BAR_FORMAT = ("{desc} {percentage:3.0f}%|{bar}| {n}/{total} ETA {remaining}, "
              "{rate_fmt}{postfix}")


class ProgressBar:
    """``bar = ProgressBar(total, desc); bar.update(n, loss=..., acc=...); bar.close()``."""

    def __init__(self, total: int, desc: str = "", stream=None,
                 interactive: bool | None = None, min_interval: float = 0.1,
                 ncols: int | None = None):
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = stream if stream is not None else sys.stdout
        if interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self.interactive = interactive
        self.count = 0
        self.stats: dict = {}
        self.start = time.perf_counter()
        self._bar = None
        if interactive:
            from tqdm import tqdm
            self._bar = tqdm(total=self.total, desc=desc, file=self.stream, leave=False,
                             ncols=ncols, dynamic_ncols=ncols is None, mininterval=min_interval,
                             unit=" samples", unit_scale=True, bar_format=BAR_FORMAT)

    @property
    def rate(self) -> float:
        """Samples per second since the bar started."""
        return self.count / max(time.perf_counter() - self.start, 1e-9)

    def update(self, n: int, **stats) -> None:
        """Count ``n`` more samples; ``stats`` (e.g. loss, acc) are shown after the bar."""
        self.count += n
        self.stats.update(stats)
        if self._bar is not None:
            self._bar.set_postfix_str(" ".join(f"{k} {v:.4f}" if isinstance(v, float)
                                               else f"{k} {v}" for k, v in self.stats.items()),
                                      refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        """Remove the bar (terminal only); the caller prints the epoch summary."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
