"""``schedule``: which training steps a long-running profile records.

    schedule(wait=1, warmup=1, active=2, repeat=1, skip_first=0, skip_first_wait=0)

maps the step number (counted by ``prof.step()``) to an action. After ``skip_first`` steps
(and without the first cycle's ``wait`` steps when ``skip_first_wait`` is 1), cycles of ``wait + warmup + active`` steps repeat (``repeat`` times, or forever when 0):

    step in cycle  < wait                  → NONE             (not recorded)
                   < wait + warmup         → WARMUP           (not recorded: nothing to warm up
                                                               in deltagrad, kept for the count)
                   < wait + warmup + active − 1 → RECORD
                   = the cycle's last step → RECORD_AND_SAVE  (its end hands the cycle's
                                                               events to ``on_trace_ready``)
"""
from __future__ import annotations

import enum

__all__ = ["ProfilerAction", "schedule"]


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


def _count(name, value, smallest):
    if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
        raise ValueError(f"schedule: {name} must be an int >= {smallest}, got {value!r}")


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """The step → ProfilerAction function described in the module docstring."""
    for name, value, smallest in (("wait", wait, 0), ("warmup", warmup, 0),
                                  ("active", active, 1), ("repeat", repeat, 0),
                                  ("skip_first", skip_first, 0),
                                  ("skip_first_wait", skip_first_wait, 0)):
        _count(name, value, smallest)
    cycle = wait + warmup + active

    def action(step: int) -> ProfilerAction:
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"schedule: the step must be an int >= 0, got {step!r}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        k = step % cycle
        if k < wait:
            return ProfilerAction.NONE
        if k < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if k < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action
