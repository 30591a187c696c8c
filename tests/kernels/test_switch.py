"""The kernel backend switch: DELTAGRAD_KERNELS, set_backend/use_backend, dg.backends.kernels."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import recurrent


def test_default_is_numba_when_importable(monkeypatch):
    monkeypatch.delenv("DELTAGRAD_KERNELS", raising=False)
    expected = "numba" if kernels.numba_available() else "numpy"
    assert kernels.get_backend() == expected


def test_environment_variable_chooses(monkeypatch):
    monkeypatch.setenv("DELTAGRAD_KERNELS", "numpy")
    assert kernels.get_backend() == "numpy"
    monkeypatch.setenv("DELTAGRAD_KERNELS", " NumPy ")
    assert kernels.get_backend() == "numpy"


def test_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("DELTAGRAD_KERNELS", "cuda")
    with pytest.raises(ValueError, match=r"DELTAGRAD_KERNELS='cuda'.*expected one of"):
        kernels.get_backend()


def test_set_backend_overrides_and_use_backend_restores(monkeypatch):
    monkeypatch.setenv("DELTAGRAD_KERNELS", "numpy")
    with kernels.use_backend("numpy"):
        assert kernels.get_backend() == "numpy"
        with pytest.raises(ValueError, match="unknown kernel backend 'fast'"):
            kernels.set_backend("fast")
    assert kernels.get_backend() == "numpy"


def test_numba_backend_without_numba_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(kernels, "numba_available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install deltagrad\[fast\]"):
        kernels.set_backend("numba")
    monkeypatch.setenv("DELTAGRAD_KERNELS", "numba")
    with pytest.raises(ImportError, match="DELTAGRAD_KERNELS"):
        kernels.get_backend()


def test_backends_namespace_reads_the_switch():
    assert dg.backends.kernels is kernels
    with kernels.use_backend("numpy"):
        assert dg.backends.kernels.get_backend() == "numpy"


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_cell_choice_follows_the_switch(dtype):
    with kernels.use_backend("numpy"):
        assert type(recurrent._make_cell("LSTM", 2, 3, 4, np, dtype)) is recurrent._LSTMCell
    if not kernels.numba_available():
        return
    with kernels.use_backend("numba"):
        cell = recurrent._make_cell("GRU", 2, 3, 4, np, dtype)
        compiled = type(cell).__module__ == "deltagrad.kernels.numba_cells"
        assert compiled == (dtype != np.float16)  # float16 stays on the NumPy cells
        assert isinstance(cell, recurrent._GRUCell)


def test_a_numba_that_fails_to_import_counts_as_absent(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "numba":
            raise AttributeError("module 'numpy' has no attribute 'long'")  # a broken build
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", broken)
    monkeypatch.setattr(kernels, "_numba_imports", [])
    monkeypatch.delenv("DELTAGRAD_KERNELS", raising=False)
    assert not kernels.numba_available()
    assert kernels.get_backend() == "numpy"
