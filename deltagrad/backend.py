"""The backend layer: which array module holds the numbers (NumPy, or CuPy on a GPU),
devices, dtypes and the default dtype, and the random number generators.

Nothing above this layer imports NumPy's random state or CuPy directly: they ask here.
CuPy is imported only when a tensor is first put on ``"cuda"``.
"""
from __future__ import annotations

import builtins as _builtins
import os

import numpy as np

# Module-level names below shadow float/int/bool on purpose (dg.float, dg.int like torch).
_pyfloat, _pyint, _pybool = _builtins.float, _builtins.int, _builtins.bool

# ----------------------------------------------------------------------------- dtypes
float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")


class _MissingDtype:
    """``dg.bfloat16`` without the ml_dtypes package: using it says what to install."""

    def __repr__(self):
        return "deltagrad.bfloat16 (unavailable: pip install ml_dtypes)"


_bfloat16 = []  # [dtype] once loaded


def bfloat16_dtype():
    """bfloat16 (1 sign, 8 exponent, 7 mantissa bits) from the optional ml_dtypes package,
    imported on first use (it takes 0.6 s: ``import deltagrad`` does not pay it)."""
    if not _bfloat16:
        try:
            import ml_dtypes
            _bfloat16.append(np.dtype(ml_dtypes.bfloat16))
        except ImportError:  # pragma: no cover - ml_dtypes is in the test extra
            _bfloat16.append(_MissingDtype())
    return _bfloat16[0]


def _is_bfloat16(d) -> _pybool:
    """Whether the NumPy dtype ``d`` is bfloat16 (only a void-kind dtype can be: ml_dtypes is
    then already imported, so the check costs nothing)."""
    return d.kind == "V" and isinstance(bfloat16_dtype(), np.dtype) and d == bfloat16_dtype()


def __getattr__(name):
    if name == "bfloat16":
        return bfloat16_dtype()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_DTYPE_NAMES = {
    "float16": float16, "half": float16, "float32": float32, "float": float32,
    "float64": float64, "double": float64, "int8": int8, "uint8": uint8, "int16": int16,
    "int32": int32, "int": int32, "int64": int64, "long": int64, "bool": bool_,
}
_SUPPORTED = {float16, float32, float64, int8, uint8, int16, int32, int64, bool_}

_default_dtype = float32


def as_dtype(dtype) -> np.dtype:
    """Normalise a user's dtype (``dg.float32``, ``"float32"``, ``np.float32``, ``float``)."""
    if dtype is None:
        return _default_dtype
    if isinstance(dtype, str) and dtype == "bfloat16":
        dtype = bfloat16_dtype()
    if isinstance(dtype, _MissingDtype):
        raise TypeError("dtype bfloat16 needs the ml_dtypes package: pip install ml_dtypes")
    if isinstance(dtype, str):
        if dtype not in _DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(_DTYPE_NAMES)}")
        return _DTYPE_NAMES[dtype]
    if dtype is _pyfloat:
        return _default_dtype
    if dtype is _pyint:
        return int64
    if dtype is _pybool:
        return bool_
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None
    if d not in _SUPPORTED and not _is_bfloat16(d):
        raise TypeError(f"dtype {d} is not supported by deltagrad; expected one of "
                        "float16/32/64, bfloat16, int8/16/32/64, uint8, bool")
    return d


def set_default_dtype(dtype) -> None:
    """Set the dtype of new floating tensors (``torch.set_default_dtype``)."""
    global _default_dtype
    d = as_dtype(dtype)
    if not is_floating(d):
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_dtype = d


def get_default_dtype() -> np.dtype:
    return _default_dtype


class finfo:
    """Machine limits of a floating dtype (``torch.finfo``): bits, eps, max, min, tiny
    (= smallest_normal), resolution, dtype (its name)."""

    def __init__(self, type=None):
        d = as_dtype(type)
        if not is_floating(d):
            raise TypeError(f"finfo: expected a floating dtype, got {d} (use iinfo for "
                            "integers)")
        if _is_bfloat16(d):
            import ml_dtypes
            info = ml_dtypes.finfo(d)
        else:
            info = np.finfo(d)
        self.bits, self.dtype = _pyint(info.bits), str(d)
        self.eps, self.max, self.min = _pyfloat(info.eps), _pyfloat(info.max), _pyfloat(info.min)
        self.tiny = self.smallest_normal = _pyfloat(info.smallest_normal)
        self.resolution = 10.0 ** -_pyint(info.precision)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, bits={self.bits}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``torch.iinfo``): bits, max, min, dtype (its name)."""

    def __init__(self, type):
        d = as_dtype(type)
        if d.kind not in "iub":
            raise TypeError(f"iinfo: expected an integer dtype, got {d} (use finfo for "
                            "floating dtypes)")
        info = np.iinfo(np.uint8 if d.kind == "b" else d)
        self.bits, self.max, self.min, self.dtype = (_pyint(info.bits), _pyint(info.max),
                                                     _pyint(info.min), str(d))

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def is_floating(dtype) -> _pybool:
    """float16/32/64 and bfloat16 (whose NumPy kind is 'V', not 'f')."""
    d = np.dtype(dtype)
    return d.kind == "f" or _is_bfloat16(d)


# ----------------------------------------------------------------------------- devices
class device:
    """A place where arrays live: ``device("cpu")`` (NumPy) or ``device("cuda:0")`` (CuPy)."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {spec!r}; expected 'cpu' or 'cuda[:N]'")
        self.type = kind
        self.index = _pyint(idx) if idx else index
        if kind == "cuda" and self.index is None:
            self.index = 0

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"


CPU = device("cpu")
_cupy = None
_default_device = CPU


def set_default_device(dev) -> None:
    """Where factory functions (``zeros``, ``randn``, ``linspace``, ``tensor`` of Python data...)
    put new tensors when no ``device=`` is given (``torch.set_default_device``); ``None``
    means the CPU again."""
    global _default_device
    if dev is not None and not isinstance(dev, (str, device)):
        raise TypeError(f"set_default_device: expected a device, a string like 'cpu' or "
                        f"'cuda:0', or None, got {type(dev).__name__} ({dev!r})")
    _default_device = CPU if dev is None else device(dev)


def get_default_device() -> device:
    """The device new tensors go to when none is given (``torch.get_default_device``)."""
    return _default_device


def _import_cupy():
    """CuPy, imported on first use; ``DELTAGRAD_DEVICE_BACKEND=strict`` puts the strict pretend
    GPU (``deltagrad.testing.strict_device``) in its place, to test the device code path."""
    global _cupy
    if _cupy is None and os.environ.get("DELTAGRAD_DEVICE_BACKEND") == "strict":
        from .testing.strict_device import module
        _cupy = module()
    if _cupy is None:
        try:
            import cupy  # noqa: F401
        except ImportError:
            raise RuntimeError("device 'cuda' needs CuPy: pip install cupy-cuda12x "
                               "(deltagrad runs on the CPU without it)") from None
        _cupy = cupy
    return _cupy


def cupyx():
    """CuPy's extension module (``scatter_add``, ``scipy.special``) for the active device
    backend: ``cupyx`` itself, or the strict test device's stand-in."""
    cp = _import_cupy()
    extension = getattr(cp, "cupyx", None)       # the strict test device carries its own
    if extension is not None:
        return extension
    import cupyx as extension
    return extension


def cuda_is_available() -> _pybool:
    try:
        cp = _import_cupy()
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def xp_for(dev: device):
    """The array module for a device: ``numpy`` on the CPU, ``cupy`` on CUDA."""
    return np if dev.type == "cpu" else _import_cupy()


def device_of(array) -> device:
    if isinstance(array, np.ndarray) or np.isscalar(array):
        return CPU
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return device(f"cuda:{array.device.id}")
    return CPU


def array_module(array):
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def to_device(array, dev: device):
    if device_of(array) == dev:
        return array
    if dev.type == "cpu":
        return array.get()
    cp = _import_cupy()
    with cp.cuda.Device(dev.index):
        return cp.asarray(array)


def to_numpy(array) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else array.get()


class ConversionShortcuts:
    """``x.cpu()``, ``x.cuda()``, ``x.float()``, ``x.double()``, ``x.half()`` as shorthands of
    ``x.to(...)``, for everything with a ``to`` (tensors and modules)."""

    __slots__ = ()

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def half(self):
        return self.to(float16)

    def bfloat16(self):
        return self.to(bfloat16_dtype())


# ----------------------------------------------------------------------------- RNG
class Generator:
    """A seeded source of random numbers (``torch.Generator``), backed by NumPy's PCG64."""

    def __init__(self, device="cpu"):
        self.device = globals()["device"](device)
        self._rng = np.random.default_rng()
        self._seed = None

    def manual_seed(self, seed: _pyint) -> "Generator":
        self._seed = _pyint(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> _pyint:
        s = _pyint(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self) -> dict:
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state

    @property
    def numpy(self) -> np.random.Generator:
        return self._rng


default_generator = Generator()


def manual_seed(seed: _pyint) -> Generator:
    """Seed the global generator so a CPU run is bit-for-bit repeatable."""
    default_generator.manual_seed(seed)
    if _cupy is not None:
        _cupy.random.seed(_pyint(seed) % (2 ** 32))
    return default_generator


def seed() -> _pyint:
    """Seed the global generator from fresh entropy; returns the seed (``torch.seed``)."""
    return default_generator.seed()


def initial_seed():
    """The seed last given to the global generator (``torch.initial_seed``)."""
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def rng(generator: Generator | None = None) -> np.random.Generator:
    return (generator or default_generator).numpy
