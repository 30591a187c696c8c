"""``dg.accelerator``: the current accelerator (``torch.accelerator``): CUDA through CuPy
when a GPU is there, else none (``current_accelerator()`` is None, as in PyTorch)."""
from __future__ import annotations

from . import backend

__all__ = ["is_available", "current_accelerator", "device_count", "synchronize"]


def is_available() -> bool:
    return backend.cuda_is_available()


def current_accelerator(check_available: bool = False):
    """``device('cuda')`` when a GPU is usable, else None."""
    return backend.device("cuda") if is_available() else None


def device_count() -> int:
    from . import cuda
    return cuda.device_count()


def synchronize(device=None) -> None:
    if not is_available():
        raise RuntimeError("dg.accelerator.synchronize: no accelerator is available")
    from . import cuda
    cuda.synchronize(device)
