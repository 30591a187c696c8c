"""Fixtures shared by the compiled-kernel tests."""
import pytest

import deltagrad as dg


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request, monkeypatch):
    """The user's thread count, with every kernel split however small its work."""
    from deltagrad.kernels import numba_parallel
    monkeypatch.setattr(numba_parallel, "MIN_SPLIT_ELEMENTS", 1)
    before = dg.get_num_threads()
    dg.set_num_threads(request.param)
    yield request.param
    dg.set_num_threads(before)
