"""Where the data utilities get their random numbers: a ``dg.Generator``, an int seed, or
the global generator (seeded by ``dg.manual_seed``)."""
from __future__ import annotations

import numbers

import numpy as np

from ... import backend


def as_generator(generator, op="op"):
    """``None`` -> None (the global generator), an int -> a fresh seeded Generator."""
    if generator is None or isinstance(generator, backend.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return backend.Generator().manual_seed(int(generator))
    raise TypeError(f"{op}: generator must be a dg.Generator, an int seed or None, "
                    f"got {type(generator).__name__}")


def numpy_rng(generator) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (global one when ``None``)."""
    return backend.rng(generator)
