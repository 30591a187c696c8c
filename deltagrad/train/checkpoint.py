"""Crash-safe checkpoints: one ``.npz`` file per snapshot, written atomically.

A checkpoint holds nested state (model ``state_dict``, optimizer and scheduler
``state_dict``, RNG states, epoch, metrics history) as

- every array (NumPy array or deltagrad Tensor) stored as its own ``.npz`` entry, and
- everything else as one JSON skeleton (``__meta__``) in which each array is replaced by
  ``{"__array__": "a17"}``; dicts with non-string keys, tuples and Tensors keep their type.

Nothing is pickled: ``np.load(..., allow_pickle=False)`` reads it, so a foreign file cannot
run code. Writing goes to a temp file in the same folder, is fsync'ed, then ``os.replace``'d
over the old one, so a crash at any moment leaves either the old or the new checkpoint.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .. import backend
from ..tensor import Tensor, _make

FORMAT = "deltagrad-checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable, corrupted, or not one of ours."""


# ----------------------------------------------------------------------------- encoding
def _encode(obj, arrays: dict):
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = backend.to_numpy(obj.detach()._data)
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray) or (hasattr(obj, "__array__") and hasattr(obj, "dtype")
                                       and not isinstance(obj, np.generic)):
        key = f"a{len(arrays)}"
        arrays[key] = backend.to_numpy(obj)
        return {"__array__": key}
    if isinstance(obj, np.generic):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj)
        return {"__scalar__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k.startswith("__") and k.endswith("__")
                                                            for k in obj):
            return {k: _encode(v, arrays) for k, v in obj.items()}
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"checkpoint: cannot store a value of type {type(obj).__name__} "
                    f"({obj!r:.60}); only arrays, Tensors, numbers, strings, lists, tuples "
                    "and dicts are allowed")


def _decode(obj, arrays):
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return _make(np.array(arrays[obj["__tensor__"]]))
    if "__array__" in obj:
        return np.array(arrays[obj["__array__"]])
    if "__scalar__" in obj:
        return arrays[obj["__scalar__"]][()]
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in obj["__dict__"]}
    return {k: _decode(v, arrays) for k, v in obj.items()}


# ----------------------------------------------------------------------------- files
def atomic_write(path: str, write) -> None:
    """Call ``write(fileobj)`` on a temp file next to ``path``, fsync it, then rename it over
    ``path``: readers see the old file or the complete new one, never a partial one."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the run from other users
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save_checkpoint(path: str, state: dict, kind: str = "checkpoint") -> None:
    """Write ``state`` (nested dicts/lists of arrays, Tensors and JSON values) to ``path``."""
    arrays: dict = {}
    skeleton = _encode(state, arrays)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "kind": kind, "state": skeleton})
    arrays["__meta__"] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path: str, kind: str | None = None) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; raise :class:`CheckpointError`
    with the reason when the file is missing, corrupted or not a deltagrad checkpoint."""
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "__meta__" not in z.files:
                raise CheckpointError(f"{path} is not a deltagrad checkpoint (no __meta__ entry; "
                                      "it was written by another program)")
            meta = json.loads(z["__meta__"].tobytes().decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                found = meta.get("format") if isinstance(meta, dict) else meta
                raise CheckpointError(f"{path} is not a deltagrad checkpoint (format {found!r})")
            if meta.get("version") != VERSION:
                raise CheckpointError(f"{path} has checkpoint version {meta.get('version')}; "
                                      f"this deltagrad reads version {VERSION}")
            if kind is not None and meta.get("kind") != kind:
                raise CheckpointError(f"{path} holds a {meta.get('kind')!r}, expected a {kind!r}")
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
            return _decode(meta["state"], arrays)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, EOFError, UnicodeDecodeError,
            json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is corrupted or unreadable "
                              f"({type(e).__name__}: {e})") from None
