"""``dg.version`` (``torch.version``): deltagrad's version, and ``cuda``: the CUDA runtime
version CuPy reports when a GPU is usable, else None (a CPU build, as ``torch.version.cuda``
says for PyTorch's CPU wheels)."""
from __future__ import annotations

__all__ = ["__version__", "cuda", "hip", "git_version", "debug"]


from . import __version__  # noqa: E402,F401  (one number: deltagrad/__init__.py)
hip = None
git_version = None
debug = False


def __getattr__(name):
    if name == "cuda":  # asked on use: importing CuPy is slow
        from . import backend
        if not backend.cuda_is_available():
            return None
        v = int(backend._import_cupy().cuda.runtime.runtimeGetVersion())
        return f"{v // 1000}.{v % 1000 // 10}"
    raise AttributeError(f"module 'deltagrad.version' has no attribute {name!r}")
