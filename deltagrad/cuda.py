"""``dg.cuda``: the CUDA device namespace (``torch.cuda``), answering truthfully.

deltagrad reaches a GPU through CuPy (``backend.py``). Without CuPy or a GPU,
``is_available()`` is False and ``device_count()`` 0; the seeding functions do nothing (as
PyTorch's do before CUDA is initialised); anything that needs a device (``synchronize``,
``current_device``, ``get_device_name``, ``set_device``) raises saying there is none.
``dg.cuda.amp`` holds PyTorch's older spellings ``autocast(...)`` and ``GradScaler(...)``:
``dg.amp``'s with ``device_type``/``device`` set to ``'cuda'``.
"""
from __future__ import annotations

import types

from . import amp as _amp, backend

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all", "seed",
           "seed_all", "synchronize", "current_device", "set_device", "get_device_name",
           "empty_cache", "memory_allocated", "max_memory_allocated", "is_bf16_supported",
           "amp"]


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return backend.cuda_is_available()


def device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy or a GPU)."""
    if not is_available():
        return 0
    return int(backend._import_cupy().cuda.runtime.getDeviceCount())


def _cupy(op):
    if not is_available():
        raise RuntimeError(f"dg.cuda.{op}: no CUDA device is available (deltagrad needs CuPy "
                           "and a GPU for 'cuda'; dg.cuda.is_available() is False)")
    return backend._import_cupy()


def manual_seed(seed) -> None:
    """Seed the GPU's generator; without a GPU nothing to seed (PyTorch ignores it too)."""
    if backend._cupy is not None and is_available():
        backend._cupy.random.seed(int(seed) % (2 ** 32))


manual_seed_all = manual_seed  # one CuPy generator per process


def seed() -> None:
    if backend._cupy is not None and is_available():
        backend._cupy.random.seed()


seed_all = seed


def synchronize(device=None) -> None:
    """Wait for the GPU's queued work to finish."""
    _cupy("synchronize").cuda.Device(_index(device)).synchronize()


def current_device() -> int:
    return int(_cupy("current_device").cuda.Device().id)


def set_device(device) -> None:
    _cupy("set_device").cuda.Device(_index(device)).use()


def get_device_name(device=None) -> str:
    cp = _cupy("get_device_name")
    props = cp.cuda.runtime.getDeviceProperties(_index(device))
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def empty_cache() -> None:
    """Give CuPy's cached blocks back to the GPU (nothing to do without one)."""
    if backend._cupy is not None and is_available():
        backend._cupy.get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    if backend._cupy is None or not is_available():
        return 0
    return int(backend._cupy.get_default_memory_pool().used_bytes())


def max_memory_allocated(device=None) -> int:
    if backend._cupy is None or not is_available():
        return 0
    return int(backend._cupy.get_default_memory_pool().total_bytes())


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: deltagrad's CUDA path (CuPy) has no bfloat16 kernels."""
    return False


def _index(device):
    if device is None:
        return backend._import_cupy().cuda.Device().id
    if isinstance(device, int):
        return device
    d = backend.device(device)
    if d.type != "cuda":
        raise ValueError(f"dg.cuda: expected a CUDA device, got {d}")
    return d.index or 0


def _cuda_autocast(enabled=True, dtype=None, cache_enabled=True):
    """``torch.cuda.amp.autocast(...)`` = ``dg.amp.autocast('cuda', ...)``."""
    return _amp.autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


def _cuda_grad_scaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                      growth_interval=2000, enabled=True):
    """``torch.cuda.amp.GradScaler(...)`` = ``dg.amp.GradScaler('cuda', ...)``."""
    return _amp.GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                           enabled)


amp = types.SimpleNamespace(autocast=_cuda_autocast, GradScaler=_cuda_grad_scaler)
