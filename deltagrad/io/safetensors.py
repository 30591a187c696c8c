"""``dg.utils.safetensors``: state_dicts in the safetensors format, through the ``safetensors``
package's NumPy API (optional extra: ``pip install deltagrad[export]``).

A safetensors file is a JSON header (name -> dtype, shape, byte range) followed by each
tensor's bytes, contiguous and little-endian. It cannot express two names sharing memory, so
:func:`save_file` refuses a state_dict with shared tensors (as the package's PyTorch API does)
and :func:`save_model` / :func:`load_model` keep one name per shared storage (tied weights such
as GPT's embedding and output layer) and tie them again on load.
"""
from __future__ import annotations

import os

import numpy as np

from .. import backend
from ..tensor import Tensor, _make

__all__ = ["save_file", "load_file", "save", "load", "save_model", "load_model"]


def _package():
    try:
        import safetensors.numpy as st
    except ImportError:
        raise ImportError("dg.utils.safetensors needs the 'safetensors' package: "
                          "pip install safetensors (or deltagrad[export])") from None
    return st


def _arrays(tensors: dict, op: str) -> dict:
    if not isinstance(tensors, dict):
        raise TypeError(f"{op}: expected a dict of name -> Tensor, got {type(tensors).__name__}")
    out = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"{op}: tensor names must be strings, got {name!r}")
        if isinstance(value, Tensor):
            arr = backend.to_numpy(value._data)
        elif isinstance(value, np.ndarray):
            arr = value
        else:
            raise TypeError(f"{op}: '{name}' is a {type(value).__name__}, expected a Tensor or "
                            "a NumPy array")
        out[name] = arr
    return out


def _shared_groups(arrays: dict) -> list:
    """Groups of names whose arrays share memory (tied or overlapping views): only arrays
    over the same base buffer can, so they are compared within those groups."""
    by_base = {}
    for name, a in arrays.items():
        base = a
        while isinstance(base.base, np.ndarray):
            base = base.base
        if a.size:
            by_base.setdefault(id(base), []).append(name)
    groups = []
    for names in by_base.values():
        seen = set()
        for i, a in enumerate(names):
            if a in seen:
                continue
            group = [a] + [b for b in names[i + 1:] if b not in seen
                           and np.shares_memory(arrays[a], arrays[b])]
            if len(group) > 1:
                groups.append(group)
                seen.update(group)
    return groups


def _check_metadata(metadata, op):
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise TypeError(f"{op}: metadata must be a dict of str -> str, got {metadata!r}")
    return metadata


def save_file(tensors: dict, filename, metadata: dict | None = None) -> None:
    """Write ``{name: Tensor or array}`` to ``filename`` (contiguous copies where needed)."""
    op = "dg.utils.safetensors.save_file"
    arrays = _arrays(tensors, op)
    shared = _shared_groups(arrays)
    if shared:
        raise RuntimeError(f"{op}: some tensors share memory, which safetensors cannot store: "
                           f"{shared}. Save a model with dg.utils.safetensors.save_model, which "
                           "keeps one name per shared tensor, or clone() the tensors first")
    _package().save_file({k: np.asarray(v, order="C") for k, v in arrays.items()},
                         os.fspath(filename), metadata=_check_metadata(metadata, op))


def load_file(filename, device="cpu") -> dict:
    """``{name: Tensor}`` from a safetensors file, on ``device``."""
    path = os.fspath(filename)
    if not os.path.exists(path):
        raise FileNotFoundError(f"dg.utils.safetensors.load_file: no file {path!r}")
    try:
        arrays = _package().load_file(path)
    except Exception as e:  # the package raises SafetensorError (a bare Exception) on bad files
        raise RuntimeError(f"dg.utils.safetensors.load_file: {path} is not a valid safetensors "
                           f"file ({type(e).__name__}: {e})") from None
    dev = backend.device(device) if not isinstance(device, backend.device) else device
    out = {}
    for k, a in arrays.items():
        t = _make(np.array(a, copy=True))
        out[k] = t if dev.type == "cpu" else t.to(dev)
    return out


def save(tensors: dict, metadata: dict | None = None) -> bytes:
    """The safetensors bytes of ``{name: Tensor}`` (``safetensors.torch.save``)."""
    op = "dg.utils.safetensors.save"
    arrays = _arrays(tensors, op)
    shared = _shared_groups(arrays)
    if shared:
        raise RuntimeError(f"{op}: some tensors share memory, which safetensors cannot store: "
                           f"{shared}")
    return _package().save({k: np.asarray(v, order="C") for k, v in arrays.items()},
                           metadata=_check_metadata(metadata, op))


def load(data: bytes) -> dict:
    """``{name: Tensor}`` from safetensors bytes."""
    try:
        arrays = _package().load(data)
    except Exception as e:
        raise RuntimeError(f"dg.utils.safetensors.load: not valid safetensors bytes "
                           f"({type(e).__name__}: {e})") from None
    return {k: _make(np.array(a, copy=True)) for k, a in arrays.items()}


def save_model(model, filename, metadata: dict | None = None) -> None:
    """Write ``model.state_dict()``, keeping the first name of each group of shared tensors."""
    op = "dg.utils.safetensors.save_model"
    arrays = _arrays(model.state_dict(), op)
    for group in _shared_groups(arrays):
        for name in sorted(group)[1:]:
            del arrays[name]
    _package().save_file({k: np.asarray(v, order="C") for k, v in arrays.items()},
                         os.fspath(filename), metadata=_check_metadata(metadata, op))


def load_model(model, filename, strict: bool = True, device="cpu"):
    """Load a file written by :func:`save_model` (or ``safetensors.torch.save_model``) into
    ``model``; names dropped because they were tied count as present. Returns
    ``(missing, unexpected)`` as PyTorch's ``load_model`` does."""
    state = load_file(filename, device)
    own = model.state_dict()
    own_arrays = _arrays(own, "dg.utils.safetensors.load_model")
    for group in _shared_groups(own_arrays):
        present = [n for n in group if n in state]
        for n in group:
            if n not in state and present:
                state[n] = state[present[0]]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if strict and (missing or unexpected):
        raise RuntimeError(f"dg.utils.safetensors.load_model: error(s) loading into "
                           f"{type(model).__name__}: missing keys {missing}, unexpected keys "
                           f"{unexpected}")
    model.load_state_dict(state, strict=False)
    return missing, unexpected
