"""``dg.random`` (``torch.random``): the global generator's seed and state, and ``fork_rng``."""
from __future__ import annotations

import contextlib

from .backend import (Generator, default_generator, get_rng_state, initial_seed,  # noqa: F401
                      manual_seed, seed, set_rng_state)

__all__ = ["Generator", "default_generator", "get_rng_state", "set_rng_state", "manual_seed",
           "seed", "initial_seed", "fork_rng"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Draws inside the block leave the global generator as it was before
    (``torch.random.fork_rng``)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
