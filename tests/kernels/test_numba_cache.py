"""kernels/numba_cache.py: every cached kernel is keyed by all of the package's sources, so an
edit to a callee's file recompiles the callers that carry it inside them."""
import importlib
import importlib.util
import os
import pkgutil

import pytest

pytest.importorskip("numba")
from numba.core.registry import CPUDispatcher  # noqa: E402

import deltagrad.kernels as kernels  # noqa: E402
from deltagrad.kernels import numba_cache  # noqa: E402


def _cached_kernels():
    """(module, name, dispatcher) of every ``cache=True`` function of deltagrad/kernels."""
    found = []
    for info in pkgutil.iter_modules(kernels.__path__):
        if info.name == "mkl_gemm":
            from deltagrad.kernels import blas
            if not blas.mkl_available():
                continue
        module = importlib.import_module(f"deltagrad.kernels.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.__module__ == module.__name__ \
                    and value._cache.__class__.__name__ != "NullCache":
                found.append((info.name, name, value))
    return found


def test_every_cached_kernel_is_keyed_by_the_whole_package():
    found = _cached_kernels()
    assert len(found) > 30  # the cells, the sequence loop, the optimisers, ...
    for module, name, dispatcher in found:
        locator = dispatcher._cache._impl._locator
        assert isinstance(locator, numba_cache._KernelsStamp), f"{module}.{name}"
        assert locator.get_source_stamp() == numba_cache.kernels_stamp()


def test_the_stamp_changes_with_any_file_of_the_package(tmp_path, monkeypatch):
    for name, text in (("a.py", "x = 1\n"), ("b.py", "y = 2\n"), ("notes.txt", "")):
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(numba_cache, "KERNELS_DIR", str(tmp_path))
    stamp = numba_cache.kernels_stamp.__wrapped__
    before = stamp()
    (tmp_path / "notes.txt").write_text("not a source file")
    assert stamp() == before
    (tmp_path / "b.py").write_text("y = 3\n")  # a callee's file
    assert stamp() != before
    os.rename(tmp_path / "b.py", tmp_path / "c.py")
    assert stamp() != before


def test_functions_outside_the_package_keep_numbas_own_key(tmp_path):
    from numba import njit
    path = tmp_path / "user_kernel.py"
    path.write_text("def double(x):\n    return 2 * x\n")
    spec = importlib.util.spec_from_file_location("user_kernel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    jitted = njit(cache=True)(module.double)
    assert not isinstance(jitted._cache._impl._locator, numba_cache._KernelsStamp)
    assert jitted(21) == 42
