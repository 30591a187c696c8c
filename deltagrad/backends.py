"""``dg.backends``: PyTorch's backend switches (``torch.backends``), answering for deltagrad.

The flags are kept so programs can set and read them (``cudnn.benchmark = True``); they change
nothing, because deltagrad computes with NumPy (or CuPy) and never with cuDNN, TF32 or MPS.
``is_available()`` says so truthfully: cuDNN and MPS are never available.
"""
from __future__ import annotations

import warnings

from . import kernels  # deltagrad's own switch: NumPy or Numba-compiled cells (kernels/)

__all__ = ["cudnn", "cuda", "mps", "mkldnn", "kernels", "set_float32_matmul_precision",
           "get_float32_matmul_precision"]


class _Switches:
    """A namespace of flags with PyTorch's defaults; an unknown attribute raises."""

    def __init__(self, name, **flags):
        self.__dict__.update(flags)
        self._name = name

    def __getattr__(self, attr):
        raise AttributeError(f"torch.backends.{self._name}.{attr} is not supported by "
                             "deltagrad")

    def __repr__(self):
        flags = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return f"<deltagrad backends.{self._name} {flags}>"


class _Unavailable(_Switches):
    """A backend deltagrad never uses (cuDNN, MPS, oneDNN)."""

    def is_available(self) -> bool:
        return False

    def is_built(self) -> bool:
        return False

    def version(self):
        return None


class _CudaBackend(_Switches):
    def is_built(self) -> bool:
        from . import backend
        return backend.cuda_is_available()


cudnn = _Unavailable("cudnn", enabled=True, benchmark=False, deterministic=False,
                     allow_tf32=True, benchmark_limit=10)
cuda = _CudaBackend("cuda", matmul=_Switches("cuda.matmul", allow_tf32=False,
                                             allow_fp16_reduced_precision_reduction=True,
                                             allow_bf16_reduced_precision_reduction=True))
mps = _Unavailable("mps")
mkldnn = _Unavailable("mkldnn", enabled=True)


_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """``torch.set_float32_matmul_precision``: 'highest', 'high' or 'medium' let PyTorch use
    TF32/bfloat16 inside float32 GEMMs on a GPU. deltagrad's float32 products always sum in
    float32 ('highest'); the setting is kept so ``get_float32_matmul_precision`` returns it."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", stacklevel=2)
        return
    _matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision[0]
