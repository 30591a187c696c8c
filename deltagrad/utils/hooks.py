"""``RemovableHandle`` (``torch.utils.hooks.RemovableHandle``): what every ``register_*hook``
returns; ``handle.remove()`` (or leaving a ``with handle:`` block) unregisters the hook."""
from __future__ import annotations

import itertools

_ids = itertools.count(1)


class RemovableHandle:
    """A registered hook's key in one or more ordered dicts of hooks."""

    def __init__(self, *stores, hook=None):
        self.id = next(_ids)
        self.stores = stores
        if hook is not None:
            for store in stores:
                store[self.id] = hook

    def remove(self):
        for store in self.stores:
            store.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
