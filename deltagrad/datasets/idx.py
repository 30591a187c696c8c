"""The IDX file format of (Fashion-)MNIST, read and written with NumPy.

Layout (big-endian): two zero bytes, a type code, the number of dimensions ``d``, then ``d``
uint32 sizes, then the values in C order. Type codes: 0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64. Files may be gzip-compressed (detected by content).
"""
from __future__ import annotations

import gzip
import os

import numpy as np

IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"read_idx: {path} looks gzip-compressed but can't be "
                             f"decompressed ({e}); the file is probably truncated") from None
    return raw


def read_idx(path) -> np.ndarray:
    """The array stored in IDX file ``path`` (``.gz`` or not), in native byte order."""
    raw = _read_bytes(os.fspath(path))
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file: bad magic number "
                         f"{raw[:4].hex() or 'empty'} (expected 0x0000TTDD: two zero bytes, "
                         f"a type code, the number of dimensions)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise ValueError(f"read_idx: {path} has unknown IDX type code 0x{code:02X}; expected "
                         f"one of {', '.join(f'0x{c:02X}' for c in IDX_TYPES)}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated inside its header ({len(raw)} bytes, "
                         f"{header} needed for {ndim} dimensions)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"read_idx: {path} holds {len(raw) - header} data bytes but its header "
                         f"says shape {shape} of {dtype.newbyteorder('=')} ({expected} bytes)")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``)."""
    a = np.asarray(array)
    native = a.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"write_idx: dtype {a.dtype} has no IDX type code; use uint8, int8, "
                        "int16, int32, float32 or float64")
    code = _CODES[native]
    if a.ndim > 255:
        raise ValueError(f"write_idx: at most 255 dimensions, got {a.ndim}")
    body = (bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
            + np.ascontiguousarray(a, dtype=IDX_TYPES[code]).tobytes())
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(body)
