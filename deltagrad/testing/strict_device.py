"""A strict pretend GPU for testing the device code path without a GPU.

CI and most users have no GPU, so CuPy code paths would go untested. This module imitates
CuPy's *contract* toward NumPy, on top of NumPy:

* arrays are :class:`StrictArray` objects, not ``numpy.ndarray``;
* converting one implicitly to NumPy raises (``np.asarray(a)``, ``np.array(a)``, a NumPy
  function without a device twin), as CuPy does; ``a.get()`` / ``asnumpy(a)`` are the only
  way back;
* mixing a device array with a NumPy array in one operation raises (CuPy: "Unsupported type
  <class 'numpy.ndarray'>");
* the module offers what deltagrad asks of ``cupy``: the NumPy-like functions (``xp.exp``,
  ``xp.zeros`` ...), ``ndarray``, ``asarray``, ``asnumpy``, ``cuda.Device``, ``random``.

``with use_strict_device():`` makes ``device("cuda")`` resolve to it, so ``x.to("cuda")``, a
model's ``.to("cuda")`` and ``deltagrad train --device cuda`` run exactly the code CuPy would
run, and every stray ``np.`` call on device data fails loudly.
"""
from __future__ import annotations

import contextlib
import numbers
import types
import weakref

import numpy as np

_CONVERSION = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
               "construct a NumPy array explicitly.")


_wrappers = weakref.WeakValueDictionary()   # id(data) -> its one wrapper (while alive)


def _unsupported(x):
    return TypeError(f"Unsupported type {type(x)} (a NumPy array mixed with a device array: "
                     "move it with xp.asarray first)")


def _unwrap(x, where):
    """Device arrays → their NumPy data; NumPy arrays refuse; containers recursively."""
    if isinstance(x, StrictArray):
        return x._a
    if isinstance(x, np.ndarray):
        if x.ndim == 0:          # a NumPy scalar array is a scalar, as in CuPy
            return x
        raise _unsupported(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, where) for v in x)
    if isinstance(x, slice):
        return slice(_unwrap(x.start, where), _unwrap(x.stop, where), _unwrap(x.step, where))
    return x


def _wrap(x):
    if isinstance(x, np.ndarray):
        # one wrapper per NumPy array, so identities hold as for CuPy arrays (view.base is src)
        w = _wrappers.get(id(x))
        return w if w is not None and w._a is x else StrictArray(x)
    if isinstance(x, np.generic):          # CuPy reductions give 0-d device arrays
        return StrictArray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


class _Device:
    def __init__(self, id=0):
        self.id = id

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class _Flags:
    def __init__(self, a):
        self._f = a.flags

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __getitem__(self, key):
        return self._f[key]


class StrictArray:
    """A device array: NumPy data inside, CuPy's rules outside."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 2000

    def __init__(self, a):
        self._a = a
        _wrappers[id(a)] = self

    # -- the only ways out
    def get(self, stream=None, order="C", out=None):
        return np.array(self._a, copy=True, order=order)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(_CONVERSION)

    def tolist(self):
        return self._a.tolist()

    def item(self):
        return self._a.item()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __index__(self):
        return self._a.__index__()

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) if isinstance(v, np.ndarray) else StrictArray(np.asarray(v))
                for v in self._a)

    def __repr__(self):
        return "strict_device_" + repr(self._a)

    __str__ = __repr__

    def __format__(self, spec):
        return format(self._a, spec)

    # -- NumPy protocol: device arrays only
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [_unwrap(x, ufunc.__name__) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o, ufunc.__name__) for o in kwargs["out"])
        return _wrap(getattr(ufunc, method)(*args, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        return _wrap(func(*_unwrap(args, func.__name__),
                          **{k: _unwrap(v, func.__name__) for k, v in kwargs.items()}))

    # -- attributes and methods of ndarray
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: StrictArray(self._a.T))
    real = property(lambda self: StrictArray(self._a.real))
    imag = property(lambda self: StrictArray(self._a.imag))
    device = property(lambda self: _Device(0))

    @property
    def base(self):
        b = self._a.base
        return _wrap(b) if isinstance(b, np.ndarray) else b

    def __getattr__(self, name):
        if name.startswith("__"):      # __array_interface__ & co. would let NumPy read the data
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args, name),
                              **{k: _unwrap(v, name) for k, v in kwargs.items()}))
        return method

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key, "__getitem__")])

    def __setitem__(self, key, value):
        self._a[_unwrap(key, "__setitem__")] = _unwrap(value, "__setitem__")

    def __copy__(self):
        return StrictArray(self._a.copy())

    def __deepcopy__(self, memo):
        return StrictArray(self._a.copy())

    def __getstate__(self):
        raise TypeError("pickling a device array is not allowed: .get() it first")


_OPERATORS = {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
    "floordiv": "floor_divide", "mod": "remainder", "pow": "power", "matmul": "matmul",
    "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor", "lshift": "left_shift",
    "rshift": "right_shift",
}
_UFUNCS = set(_OPERATORS.values())


def _install_operators():
    for short, ufunc in _OPERATORS.items():
        f = getattr(np, ufunc)
        setattr(StrictArray, f"__{short}__", lambda self, o, f=f: f(self, o))
        setattr(StrictArray, f"__r{short}__", lambda self, o, f=f: f(o, self))

        def inplace(self, o, f=f):
            f(self, o, out=(self,))
            return self
        setattr(StrictArray, f"__i{short}__", inplace)
    for short, ufunc in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                         ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)):
        setattr(StrictArray, f"__{short}__", lambda self, o, f=ufunc: f(self, o))
    StrictArray.__neg__ = lambda self: np.negative(self)
    StrictArray.__pos__ = lambda self: np.positive(self)
    StrictArray.__abs__ = lambda self: np.absolute(self)
    StrictArray.__invert__ = lambda self: np.invert(self)
    StrictArray.__hash__ = None


_install_operators()


# ----------------------------------------------------------------------------- the module
ndarray = StrictArray


def asarray(a, dtype=None, order=None):
    """Host → device (explicit, allowed); a device array stays (cast if asked)."""
    if isinstance(a, StrictArray):
        return a if dtype is None or a.dtype == dtype else StrictArray(a._a.astype(dtype))
    return StrictArray(np.array(a, dtype=dtype, order=order or "K", copy=True))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0):
    """``cupy.array``: a device array from host or device data (a copy unless copy=False)."""
    if isinstance(obj, StrictArray):
        a = np.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin)
    else:
        a = np.array(_unwrap(obj, "array") if isinstance(obj, (list, tuple)) else obj,
                     dtype=dtype, copy=True, order=order, ndmin=ndmin)
    return StrictArray(a)


def asnumpy(a, stream=None, order="C", out=None):
    return a.get() if isinstance(a, StrictArray) else np.asarray(a)


def get_array_module(*args):
    return _module if any(isinstance(a, StrictArray) for a in args) else np


def _function(name):
    f = getattr(np, name)

    def call(*args, **kwargs):
        return _wrap(f(*_unwrap(args, name), **{k: _unwrap(v, name) for k, v in kwargs.items()}))
    call.__name__ = name
    return call


class _Random:
    """``cupy.random``: seeded draws made on the host and moved to the device."""

    def __init__(self):
        self._rng = np.random.default_rng()

    def seed(self, s=None):
        self._rng = np.random.default_rng(s)

    def __getattr__(self, name):
        draw = getattr(self._rng, name)

        def call(*args, **kwargs):
            return _wrap(np.asarray(draw(*args, **kwargs)))
        return call


class _Runtime:
    @staticmethod
    def getDeviceCount():
        return 1


class _Cuda(types.SimpleNamespace):
    pass


def _as_strided(x, shape=None, strides=None):
    """``cupy.lib.stride_tricks.as_strided`` (no ``writeable`` argument in CuPy)."""
    return StrictArray(np.lib.stride_tricks.as_strided(_unwrap(x, "as_strided"), shape, strides))


def _scatter_add(a, slices, value):
    """``cupyx.scatter_add``: a[slices] += value with repeated indices accumulated."""
    np.add.at(_unwrap(a, "scatter_add"), _unwrap(slices, "scatter_add"),
              _unwrap(value, "scatter_add"))


class _Special:
    """``cupyx.scipy.special``: SciPy's functions on device arrays."""

    def __getattr__(self, name):
        import scipy.special
        f = getattr(scipy.special, name)
        return lambda *a, **kw: _wrap(f(*_unwrap(a, name), **kw))


cupyx = types.SimpleNamespace(scatter_add=_scatter_add,
                              scipy=types.SimpleNamespace(special=_Special()))
cuda = _Cuda(Device=_Device, runtime=_Runtime())
lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))
random = _Random()
_module = None


class _StrictModule(types.ModuleType):
    """``xp``: attributes as in NumPy, functions wrapped to take and give device arrays."""

    def __getattr__(self, name):
        attr = getattr(np, name)
        if isinstance(attr, (type, np.dtype, numbers.Number)) or name in ("newaxis", "pi",
                                                                         "inf", "nan", "e"):
            return attr
        if isinstance(attr, np.ufunc):
            return attr          # NumPy ufuncs dispatch to StrictArray.__array_ufunc__
        if callable(attr):
            return _function(name)
        if isinstance(attr, types.ModuleType) and name in ("linalg", "fft"):
            sub = types.ModuleType(f"strict.{name}")
            for k in dir(attr):
                if callable(getattr(attr, k)) and not k.startswith("_"):
                    f = getattr(attr, k)
                    setattr(sub, k, (lambda f: lambda *a, **kw: _wrap(f(
                        *_unwrap(a, f.__name__), **{k2: _unwrap(v, f.__name__)
                                                    for k2, v in kw.items()})))(f))
            return sub
        return attr


def module():
    """The strict ``cupy`` stand-in."""
    global _module
    if _module is None:
        _module = _StrictModule("deltagrad.testing.strict_device.xp")
        for name in ("ndarray", "asarray", "array", "asnumpy", "get_array_module", "cuda",
                     "random", "lib", "cupyx"):
            setattr(_module, name, globals()[name])
    return _module


@contextlib.contextmanager
def use_strict_device():
    """Inside the block ``device("cuda")`` is the strict pretend GPU."""
    from .. import backend
    previous = backend._cupy
    backend._cupy = module()
    try:
        yield
    finally:
        backend._cupy = previous
