"""Numba's on-disk cache of this package's kernels, keyed by all of the package's sources.

Numba keys a cached function by the contents of its own file only. But a compiled function
carries the compiled functions it calls from other files inside it (``numba_sequence``'s time
loop holds ``mkl_gemm``'s products and ``numba_cells``' cells): after an edit, or an upgrade
that leaves ``__pycache__`` behind, that changes only a callee's file, the caller's stale
code would still be loaded and run the old callee -- a silent wrong answer when the callee's
formula changed. So every cached kernel of ``deltagrad/kernels`` is keyed by one hash of all
the package's ``.py`` files instead: any change there recompiles them all (once).

Importing this module installs the key into Numba's cache locators; each kernel module
imports it before its first ``@njit(cache=True)``.
"""
from __future__ import annotations

import functools
import hashlib
import os
import warnings

import numba
from numba.core import caching

__all__ = ["kernels_stamp"]

KERNELS_DIR = os.path.dirname(os.path.abspath(__file__))


@functools.lru_cache(maxsize=None)
def kernels_stamp() -> str:
    """SHA-256 of the names and contents of every ``.py`` file of ``deltagrad/kernels``."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(KERNELS_DIR)):
        if name.endswith(".py"):
            digest.update(name.encode() + b"\0")
            with open(os.path.join(KERNELS_DIR, name), "rb") as f:
                digest.update(f.read() + b"\0")
    return digest.hexdigest()


class _KernelsStamp:
    """A cache locator for the functions of this package only, stamped by ``kernels_stamp``
    (mixed into each of Numba's locators of ordinary source files)."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.dirname(os.path.abspath(py_file)) != KERNELS_DIR:
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return kernels_stamp()


def _install():
    try:
        locators = caching.CacheImpl._locator_classes
        source_backed = caching._SourceFileBackedLocatorMixin
    except AttributeError:  # another Numba than the pinned one (pyproject.toml)
        warnings.warn(f"numba {numba.__version__}: deltagrad cannot key its kernels' disk cache "
                      "by the whole package; each is keyed by its own file only, so delete "
                      f"{os.path.join(KERNELS_DIR, '__pycache__')} after changing deltagrad",
                      RuntimeWarning, stacklevel=2)
        return
    if any(issubclass(c, _KernelsStamp) for c in locators):
        return
    zipped = getattr(caching, "ZipCacheLocator", ())  # (a zipped install: Numba's own key)
    ours = [type("Kernels" + c.__name__, (_KernelsStamp, c), {}) for c in locators
            if issubclass(c, source_backed) and not issubclass(c, zipped)]
    locators[:0] = ours  # tried first, in Numba's own order


_install()
