"""nn.PixelShuffle/PixelUnshuffle against torch with gradients, and channel dropout's shapes
and warnings as PyTorch has them (Dropout2d on 2-D and 3-D input)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

from ..conftest import requires_torch

torch = pytest.importorskip("torch")


@requires_torch
@pytest.mark.parametrize("cls, shape, r", [("PixelShuffle", (2, 18, 2, 3), 3),
                                           ("PixelShuffle", (8, 1, 1), 2),
                                           ("PixelUnshuffle", (2, 3, 4, 6), 2)])
def test_pixel_shuffle_modules_match_torch(cls, shape, r):
    x = np.random.default_rng(0).standard_normal(shape)
    a, t = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    m, tm = getattr(dg.nn, cls)(r), getattr(torch.nn, cls)(r)
    assert repr(m) == repr(tm)
    out, ref = m(a), tm(t)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    w = np.random.default_rng(1).standard_normal(tuple(ref.shape))
    (out * dg.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), t.grad.numpy())


def test_pixel_shuffle_worked_example():
    # channel c·r² + i·r + j goes to pixel (h·r + i, w·r + j)
    x = dg.arange(4.0).reshape(1, 4, 1, 1)
    np.testing.assert_array_equal(dg.nn.PixelShuffle(2)(x).numpy(), [[[[0, 1], [2, 3]]]])
    with pytest.raises(RuntimeError, match=r"PixelShuffle\(\): upscale_factor must be greater"):
        dg.nn.PixelShuffle(0)


def test_dropout2d_on_2d_input_is_elementwise_and_warns():
    m = dg.nn.Dropout2d(0.5)
    with pytest.warns(UserWarning, match="received a 2-D input to dropout2d"):
        out = m(dg.ones(50, 40))
    zeros = out.numpy() == 0
    # elementwise: rows are not all-or-nothing (as PyTorch's feature dropout on (N, C))
    assert 0.4 < zeros.mean() < 0.6 and np.unique(out.numpy()).tolist() == [0.0, 2.0]
    assert not np.all(zeros.all(1) | (~zeros).all(1))


def test_dropout2d_on_3d_input_drops_n_c_channels_and_warns():
    m = dg.nn.Dropout2d(0.5)
    with pytest.warns(UserWarning, match="assuming channel-wise 1D dropout"):
        out = m(dg.ones(30, 20, 5)).numpy()
    # one draw per (n, c), shared along the last axis
    assert np.all((out == 0).all(-1) | (out == 2).all(-1))
    assert 0.35 < (out[..., 0] == 0).mean() < 0.65


def test_dropout2d_on_4d_input_is_silent_and_per_channel():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = dg.nn.Dropout2d(0.5)(dg.ones(10, 8, 3, 3)).numpy()
    flat = out.reshape(10, 8, -1)
    assert np.all((flat == 0).all(-1) | (flat == 2).all(-1))
    with pytest.raises(RuntimeError, match="dropout2d: feature dropout requires at least 2"), \
            pytest.warns(UserWarning, match="received a 1-D input"):
        dg.nn.functional.dropout2d(dg.ones(5), 0.5)


def test_dropout3d_unbatched_and_dropout1d_errors():
    out = dg.nn.Dropout3d(0.5)(dg.ones(6, 2, 2, 2)).numpy().reshape(6, -1)
    assert np.all((out == 0).all(-1) | (out == 2).all(-1))
    with pytest.raises(RuntimeError, match=r"dropout1d: expected a 2-D \(C, L\) or 3-D"):
        dg.nn.Dropout1d(0.5)(dg.ones(2, 3, 4, 5))


def test_random_sampler_with_replacement_draws_lazily():
    import itertools
    import tracemalloc
    import deltagrad.utils.data as D
    tracemalloc.start()
    s = D.RandomSampler(range(10), replacement=True, num_samples=10 ** 10,
                        generator=dg.Generator().manual_seed(0))
    first = list(itertools.islice(iter(s), 100))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(s) == 10 ** 10 and peak < 10 ** 6
    assert all(0 <= i < 10 for i in first) and len(set(first)) > 5
    again = list(itertools.islice(iter(D.RandomSampler(
        range(10), replacement=True, num_samples=10 ** 10,
        generator=dg.Generator().manual_seed(0))), 100))
    assert first == again
    chained = list(D.RandomSampler(range(4), num_samples=10))
    assert sorted(chained[:4]) == [0, 1, 2, 3] and sorted(chained[4:8]) == [0, 1, 2, 3]
