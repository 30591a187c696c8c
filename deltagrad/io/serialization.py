"""``dg.save`` / ``dg.load`` in PyTorch's file layout, without importing torch.

A file is an uncompressed zip archive (PyTorch >= 1.6)::

    archive/data.pkl            the object, pickled (protocol 2); each tensor is
                                torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
                                requires_grad, OrderedDict()) and each storage a persistent id
                                ("storage", torch.FloatStorage, key, location, numel)
    archive/data/<key>          the raw bytes of storage <key>, little-endian, 64-byte aligned
    archive/byteorder           "little"
    archive/version             "3"

so files written here load in ``torch.load(weights_only=True)`` and files ``torch.save`` wrote
load here. Loading is ``weights_only=True`` by default, as in PyTorch >= 2.6: the unpickler
only resolves the globals on an allow-list (tensor rebuilders, storage types, dtypes,
``OrderedDict``, ``torch.device``, ``torch.Size`` ...), each mapped to its deltagrad
counterpart, plus what :func:`add_safe_globals` adds. Anything else is refused before it runs.
"""
from __future__ import annotations

import _compat_pickle
import collections
import functools
import contextlib
import io
import os
import pickle
import zipfile

import numpy as np

from .. import backend
from ..tensor import Tensor, Size, _make

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals", "get_unsafe_globals_in_checkpoint", "UnpicklingError"]

UnpicklingError = pickle.UnpicklingError

_ALIGN = 64
_PROTOCOL = 2


def _bfloat16():
    try:
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    except ImportError:  # pragma: no cover - ml_dtypes is optional
        return None


# torch's storage class name, torch's dtype name, NumPy dtype name
_STORAGE_NAMES = [
    ("FloatStorage", "float32", "float32"),
    ("DoubleStorage", "float64", "float64"),
    ("HalfStorage", "float16", "float16"),
    ("BFloat16Storage", "bfloat16", "bfloat16"),
    ("LongStorage", "int64", "int64"),
    ("IntStorage", "int32", "int32"),
    ("ShortStorage", "int16", "int16"),
    ("CharStorage", "int8", "int8"),
    ("ByteStorage", "uint8", "uint8"),
    ("BoolStorage", "bool", "bool"),
    ("ComplexFloatStorage", "complex64", "complex64"),
    ("ComplexDoubleStorage", "complex128", "complex128"),
]


@functools.lru_cache(maxsize=None)
def _storages():
    """(storage name, torch dtype name, NumPy dtype or None if not representable here); the
    bfloat16 row imports ml_dtypes, so the table is made on first use, not at import."""
    return [(s, t, _bfloat16() if d == "bfloat16" else np.dtype(d)) for s, t, d in _STORAGE_NAMES]


@functools.lru_cache(maxsize=None)
def _dtype_to_storage():
    return {d: s for s, _, d in _storages() if d is not None}


@functools.lru_cache(maxsize=None)
def _dtype_to_torch():
    return {d: t for _, t, d in _storages() if d is not None}


_TORCH_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16",
                        "long": "int64", "int": "int32", "short": "int16"}


# ============================================================================ saving
class _TorchGlobal:
    """Stands for a torch global (``torch._utils._rebuild_tensor_v2``) in a pickle we write."""

    _cache: dict = {}

    def __new__(cls, module, name):
        key = (module, name)
        if key not in cls._cache:
            g = object.__new__(cls)
            g.module, g.name = module, name
            cls._cache[key] = g
        return cls._cache[key]

    def __call__(self, *args):  # pickle only accepts callables as reduce functions
        raise RuntimeError(f"{self.module}.{self.name} is a placeholder for pickling")


class _StorageRef:
    __slots__ = ("key", "dtype", "location", "numel")

    def __init__(self, key, dtype, location, numel):
        self.key, self.dtype, self.location, self.numel = key, dtype, location, numel


class _Pickler(pickle._Pickler):
    """Protocol-2 pickler that writes deltagrad objects as the torch objects they mirror."""

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file):
        super().__init__(file, protocol=_PROTOCOL)
        self.storages = {}    # id(array) -> (_StorageRef, contiguous little-endian array)
        self._keep = []       # keeps arrays alive so their ids stay unique while pickling

    def _save_torch_global(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[_TorchGlobal] = _save_torch_global

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            return ("storage", _TorchGlobal("torch", _dtype_to_storage()[obj.dtype]), obj.key,
                    obj.location, obj.numel)
        return None

    def save(self, obj, save_persistent_id=True):
        super().save(_translate(obj), save_persistent_id)

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if isinstance(obj, np.ndarray):  # pickled as NumPy pickles it, as torch.save does
            func, args, (version, shape, dtype, fortran, raw) = obj.__reduce__()
            return func, args, (version, shape, _Reduced(*dtype.__reduce__()), fortran, raw)
        return NotImplemented

    def _reduce_tensor(self, t):
        from ..nn.module import Parameter
        location = "cpu" if t.device.type == "cpu" else str(t.device)
        if isinstance(t, Parameter):
            inner = _make(t._data)
            return (_TorchGlobal("torch._utils", "_rebuild_parameter"),
                    (inner, bool(t.requires_grad), collections.OrderedDict()))
        return self._reduce_array(t._data, bool(t.requires_grad), location)

    def _reduce_array(self, data, requires_grad, location):
        key = id(data)
        if key not in self.storages:
            arr = np.asarray(backend.to_numpy(data), order="C")
            dtype = arr.dtype.newbyteorder("=") if arr.dtype.byteorder not in "=|" else arr.dtype
            if dtype not in _dtype_to_storage():
                raise pickle.PicklingError(f"dg.save: arrays of dtype {arr.dtype} have no "
                                           "PyTorch storage type")
            arr = arr.astype(dtype.newbyteorder("<"), copy=False)
            ref = _StorageRef(str(len(self.storages)), dtype, location, int(arr.size))
            self.storages[key] = (ref, arr)
            self._keep.append(data)
        ref, arr = self.storages[key]
        stride = tuple(s // max(arr.itemsize, 1) for s in arr.strides) if arr.size else \
            _contiguous_strides(arr.shape)
        return (_TorchGlobal("torch._utils", "_rebuild_tensor_v2"),
                (ref, 0, tuple(arr.shape), stride, requires_grad, collections.OrderedDict()))


def _contiguous_strides(shape):
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(int(n), 1)
    return tuple(reversed(strides))


def _translate(obj):
    """NumPy scalars, dtypes, devices and Sizes as the plain or torch objects torch expects."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.dtype):
        if obj not in _dtype_to_torch():
            raise pickle.PicklingError(f"dg.save: dtype {obj} has no PyTorch counterpart")
        return _TorchGlobal("torch", _dtype_to_torch()[obj])
    if isinstance(obj, backend.device):
        return _Reduced(_TorchGlobal("torch", "device"), (str(obj),))
    if isinstance(obj, Size):
        return _Reduced(_TorchGlobal("torch", "Size"), (tuple(int(n) for n in obj),))
    return obj


class _Reduced:
    """An object that pickles as ``func(*args)`` (then ``__setstate__(state)``, if given)."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else \
            (self.func, self.args, self.state)


def _aligned_info(zf, name):
    """A ZipInfo whose data starts on a 64-byte boundary (padding in the extra field), as
    PyTorch writes it so storages can be memory-mapped."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    start = zf.fp.tell() + 30 + len(name.encode("utf-8"))
    pad = (-(start + 4)) % _ALIGN
    info.extra = b"FB" + pad.to_bytes(2, "little") + b"Z" * pad
    return info


def save(obj, f, pickle_protocol=_PROTOCOL, _use_new_zipfile_serialization=True) -> None:
    """Write ``obj`` (tensors, state_dicts, optimizer states, numbers, strings, lists, dicts)
    to the path or binary file ``f`` in PyTorch's zip layout (``torch.save``)."""
    if not _use_new_zipfile_serialization:
        raise ValueError("dg.save: only the zip file layout (_use_new_zipfile_serialization=True) "
                         "is supported")
    if pickle_protocol != _PROTOCOL:
        raise ValueError(f"dg.save: pickle_protocol must be {_PROTOCOL} (PyTorch's default), "
                         f"got {pickle_protocol}")
    buf = io.BytesIO()
    pickler = _Pickler(buf)
    pickler.dump(obj)
    records = [("data.pkl", buf.getvalue()), (".format_version", b"1"),
               (".storage_alignment", str(_ALIGN).encode()), ("byteorder", b"little")]
    records += [(f"data/{ref.key}", arr) for ref, arr in pickler.storages.values()]
    records.append(("version", b"3\n"))
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        tmp = path + ".tmp"
        with open(tmp, "wb") as fh:
            _write_zip(fh, records)
        os.replace(tmp, path)
    else:
        _write_zip(f, records)


def _write_zip(fh, records):
    """The records, uncompressed; arrays are streamed from their memory (no bytes copy)."""
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        for name, data in records:
            info = _aligned_info(zf, "archive/" + name)
            view = memoryview(data.reshape(-1).view(np.uint8)) if isinstance(data, np.ndarray) \
                else data
            info.file_size = len(view)
            with zf.open(info, "w") as out:
                out.write(view)


# ============================================================================ loading
_safe_globals: dict = {}


def _qualified(obj):
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj)}"


def add_safe_globals(safe_globals) -> None:
    """Allow these classes/functions in ``dg.load(weights_only=True)``: a list of objects, or of
    ``(object, "module.name")`` pairs (``torch.serialization.add_safe_globals``)."""
    for g in safe_globals:
        if isinstance(g, tuple):
            if len(g) != 2 or not isinstance(g[1], str):
                raise TypeError("add_safe_globals: expected objects or (object, 'module.name') "
                                f"pairs, got {g!r}")
            _safe_globals[g[1]] = g[0]
        else:
            _safe_globals[_qualified(g)] = g


def get_safe_globals() -> list:
    return [obj if _qualified(obj) == name else (obj, name) for name, obj in _safe_globals.items()]


def clear_safe_globals() -> None:
    _safe_globals.clear()


@contextlib.contextmanager
def safe_globals(globals_list):
    """Context manager: the globals are allowed inside the ``with`` block only."""
    saved = dict(_safe_globals)
    add_safe_globals(globals_list)
    try:
        yield
    finally:
        _safe_globals.clear()
        _safe_globals.update(saved)


def get_unsafe_globals_in_checkpoint(f) -> list:
    """The ``module.name`` globals of a checkpoint that ``weights_only=True`` would refuse
    (neither on the allow-list nor added as safe globals), read from the pickle's opcodes
    without running it (``torch.serialization.get_unsafe_globals_in_checkpoint``)."""
    import pickletools
    with _open_archive(f) as (zf, prefix, name):
        data = zf.read(prefix + "data.pkl")
    allowed = set(_allowed_globals()) | set(_safe_globals)
    found, strings = [], []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(arg)
            elif op.name == "GLOBAL":
                found.append(_fixed_name(*arg.split(" ", 1)))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(_fixed_name(strings[-2], strings[-1]))
    except (ValueError, EOFError) as e:
        raise RuntimeError(f"dg.serialization: corrupted file {name}: {e}") from None
    return sorted({g for g in found if g not in allowed})


def _python3_name(module, name):
    """Python 2 spellings of protocol 2 (``__builtin__.set``) as Python 3's."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _fixed_name(module, name):
    return "%s.%s" % _python3_name(module, name)


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False,
                    backward_hooks=None, metadata=None):
    """``torch._utils._rebuild_tensor_v2``: a strided view of a storage, as a deltagrad Tensor."""
    arr, location = storage
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or storage_offset < 0 or any(n < 0 for n in size):
        raise RuntimeError(f"dg.load: corrupted file: tensor of size {size} with stride {stride}")
    if all(n > 0 for n in size):
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= arr.size or min(stride, default=0) < 0:
            raise RuntimeError(f"dg.load: corrupted file: tensor of size {size}, stride {stride}, "
                               f"offset {storage_offset} reaches past its storage of "
                               f"{arr.size} elements")
        view = np.lib.stride_tricks.as_strided(
            arr[storage_offset:], size, tuple(s * arr.itemsize for s in stride))
    else:
        view = np.empty(size, arr.dtype)
    t = _make(view)
    t = _place(t, location)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    from ..nn.module import Parameter
    return Parameter(data, requires_grad=requires_grad)


def _rebuild_from_type(func, new_type, args, state):
    """``torch._tensor._rebuild_from_type_v2``: rebuild, then set the tensor's attributes."""
    t = func(*args)
    if new_type not in (Tensor, _Parameter()):
        raise UnpicklingError(f"dg.load: tensor subclass {new_type} is not supported")
    if isinstance(state, dict):
        for k, v in state.items():
            setattr(t, k, v)
    return t


def _Parameter():
    from ..nn.module import Parameter
    return Parameter


def _get_layout(name):
    if name != "torch.strided":
        raise UnpicklingError(f"dg.load: tensor layout {name} (sparse/quantized) is not supported")
    return name


class _StorageType:
    """``torch.FloatStorage`` and friends: only their dtype matters when loading."""

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


def _torch_dtype(name):
    return backend.as_dtype(name) if name != "bfloat16" else _bfloat16()


def _allowed_globals():
    rc = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "builtins.set": set, "builtins.bytearray": bytearray, "builtins.complex": complex,
        "_codecs.encode": _codecs_encode,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type,
        "torch.serialization._get_layout": _get_layout,
        "torch.nn.parameter.Parameter": _Parameter(),
        "torch.Tensor": Tensor, "torch.Size": Size, "torch.device": backend.device,
    }
    for storage, torch_name, dtype in _storages():
        rc[f"torch.{storage}"] = _StorageType(storage, dtype)
        if dtype is not None:
            rc[f"torch.{torch_name}"] = dtype
    for alias, name in _TORCH_DTYPE_ALIASES.items():
        rc[f"torch.{alias}"] = rc[f"torch.{name}"]
    return rc


def _codecs_encode(obj, encoding="latin1"):
    import codecs
    return codecs.encode(obj, encoding)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, zf, prefix, map_location, weights_only):
        super().__init__(file, encoding="utf-8")
        self._zf, self._prefix = zf, prefix
        self._map_location = map_location
        self._weights_only = weights_only
        self._allowed = _allowed_globals()
        self._loaded = {}
        self._byteorder = "little"
        name = prefix + "byteorder"
        if name in zf.namelist():
            self._byteorder = zf.read(name).decode("ascii").strip()
            if self._byteorder not in ("little", "big"):
                raise RuntimeError(f"dg.load: corrupted file: byteorder {self._byteorder!r}")

    def find_class(self, module, name):
        module, name = _python3_name(module, name)
        full = f"{module}.{name}"
        if full in self._allowed:
            return self._allowed[full]
        if full in _safe_globals:
            return _safe_globals[full]
        if self._weights_only:
            raise UnpicklingError(
                f"dg.load: weights_only load refused the global {full!r}: it is not on the "
                "allow-list of tensors, storages, dtypes and plain containers. If you trust the "
                f"file, allow it with dg.serialization.add_safe_globals([{name}]) or the "
                "dg.serialization.safe_globals([...]) context, or pass weights_only=False.")
        if module.split(".")[0] == "torch":
            raise UnpicklingError(f"dg.load: the file needs {full!r}, which deltagrad does not "
                                  "provide")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage":
            raise UnpicklingError(f"dg.load: corrupted file: unknown persistent id {pid!r}")
        _, storage_type, key, location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise UnpicklingError(f"dg.load: unsupported storage type {storage_type!r}")
        if storage_type.dtype is None:
            raise UnpicklingError(f"dg.load: {storage_type!r} needs the ml_dtypes package "
                                  "(pip install ml_dtypes)")
        key = str(key)
        if key not in self._loaded:
            record = f"{self._prefix}data/{key}"
            try:
                raw = self._zf.read(record)
            except KeyError:
                raise RuntimeError(f"dg.load: corrupted file: storage record {record!r} is "
                                   "missing") from None
            dtype = storage_type.dtype.newbyteorder("<" if self._byteorder == "little" else ">")
            if len(raw) != int(numel) * dtype.itemsize:
                raise RuntimeError(f"dg.load: corrupted file: storage {key} holds {len(raw)} "
                                   f"bytes, expected {numel} x {dtype.itemsize}")
            arr = np.frombuffer(bytearray(raw), dtype)
            if dtype.byteorder == ">":
                arr = arr.astype(storage_type.dtype)
            ml = self._map_location
            if callable(ml) and not isinstance(ml, (str, backend.device, dict)):
                # torch's callable form: map_location(storage, location) -> storage
                moved = ml(_make(arr), str(location))
                if moved is not None:
                    if not isinstance(moved, Tensor):
                        raise TypeError("dg.load: map_location(storage, location) must return "
                                        f"a Tensor or None, got {type(moved).__name__}")
                    arr = backend.to_numpy(moved._data).reshape(-1)
                self._loaded[key] = (arr, str(location) if moved is None else str(moved.device))
            else:
                self._loaded[key] = (arr, self._location(str(location)))
        return self._loaded[key]

    def _location(self, location):
        ml = self._map_location
        if ml is None:
            return location
        if isinstance(ml, dict):
            return str(ml.get(location, location))
        return str(ml)


def _place(t, location):
    if location == "cpu" or location.startswith("cpu"):
        return t
    dev = backend.device(location)
    if dev.type == "cuda" and not backend.cuda_is_available():
        raise RuntimeError("dg.load: attempting to deserialize a tensor on a CUDA device but "
                           "CUDA is not available; pass map_location='cpu' to load it on the CPU")
    return t.to(dev)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Read an object written by :func:`save` or by ``torch.save`` (``torch.load``).

    ``weights_only=True`` (the default) refuses any global outside the allow-list, so a file
    holding an arbitrary pickled object fails without running it.
    """
    if pickle_module is not None:
        raise TypeError("dg.load: pickle_module is not supported")
    unknown = set(pickle_load_args) - {"encoding"}
    if unknown:
        raise TypeError(f"dg.load: unexpected arguments {sorted(unknown)}")
    if weights_only is None:
        weights_only = True
    with _open_archive(f) as (zf, prefix, name):
        try:
            data = zf.read(prefix + "data.pkl")
        except (zipfile.BadZipFile, OSError) as e:
            raise RuntimeError(f"dg.load: corrupted file {name}: {e}") from None
        unpickler = _Unpickler(io.BytesIO(data), zf, prefix, map_location, weights_only)
        try:
            return unpickler.load()
        except (UnpicklingError, RuntimeError, TypeError):
            raise
        except (EOFError, ValueError, KeyError, IndexError, AttributeError) as e:
            raise RuntimeError(f"dg.load: corrupted file {name}: {type(e).__name__}: {e}") \
                from None


@contextlib.contextmanager
def _open_archive(f):
    """``(zip file, record prefix, display name)`` of a PyTorch zip archive."""
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
    try:
        zf = zipfile.ZipFile(f)
    except zipfile.BadZipFile:
        raise RuntimeError(f"dg.load: {name} is not a PyTorch zip archive (corrupted, truncated, "
                           "or the legacy pre-1.6 torch.save format, which is not supported)") \
            from None
    with zf:
        pkl = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise RuntimeError(f"dg.load: corrupted file {name}: expected one '<archive>/data.pkl' "
                               f"record, found {len(pkl)}")
        yield zf, pkl[0][:-len("data.pkl")], name
