"""DataLoader, datasets, samplers, collate and random_split, against torch.utils.data."""
import collections

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
import deltagrad.utils.data as D
from tests.conftest import requires_torch

torch = pytest.importorskip("torch")
import torch.utils.data as TD  # noqa: E402


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def _same_structure(a, b):
    """Same nesting (list/dict/namedtuple), shapes, dtypes and values as torch's batch."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, dg.Tensor), f"{type(a)} vs torch.Tensor"
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(b, dict):
        assert type(a) is type(b) and a.keys() == b.keys()
        for k in b:
            _same_structure(a[k], b[k])
    elif isinstance(b, (list, tuple)):
        assert type(a) is type(b), f"{type(a)} vs {type(b)}"
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same_structure(x, y)
    else:
        assert a == b


# ----------------------------------------------------------------------------- batching
@requires_torch
@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), bs=st.integers(1, 12), drop_last=st.booleans())
def test_sequential_batches_match_torch(n, bs, drop_last):
    x = np.random.default_rng(n).standard_normal((n, 3)).astype(np.float32)
    y = np.arange(n)
    ours = D.DataLoader(D.TensorDataset(dg.tensor(x), dg.tensor(y)), batch_size=bs,
                        drop_last=drop_last)
    ref = TD.DataLoader(TD.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=bs,
                        drop_last=drop_last)
    assert len(ours) == len(ref)
    got, want = list(ours), list(ref)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        _same_structure(a, b)


Point = collections.namedtuple("Point", "x y")


class _Samples:
    """A plain map-style dataset (no __getitems__) returning a given kind of sample."""

    def __init__(self, make, n=7):
        self.make, self.n = make, n

    def __getitem__(self, i):
        return self.make(i)

    def __len__(self):
        return self.n


_SAMPLE_KINDS = {
    "tuple": lambda i: (np.full((2, 2), i, np.float32), i),
    "list": lambda i: [float(i), i, np.int16(i)],
    "dict": lambda i: {"img": np.full(3, i, np.uint8), "label": i, "name": f"s{i}"},
    "namedtuple": lambda i: Point(np.float64(i), np.arange(i, i + 2)),
    "nested": lambda i: ({"a": (i, float(i))}, [np.full(1, i, np.int32)]),
    "bool": lambda i: (i % 2 == 0, np.bool_(i % 3 == 0)),
}


@requires_torch
@pytest.mark.parametrize("kind", sorted(_SAMPLE_KINDS))
def test_default_collate_structure_matches_torch(kind):
    make = _SAMPLE_KINDS[kind]
    got = list(D.DataLoader(_Samples(make), batch_size=3))
    want = list(TD.DataLoader(_Samples(make), batch_size=3))  # same NumPy/Python samples
    for a, b in zip(got, want):
        _same_structure(a, b)


def test_default_collate_python_floats_are_float64_and_tensors_stack():
    out = D.default_collate([0.5, 1.5])
    assert out.dtype == dg.float64
    t = D.default_collate([dg.ones(2, 3), dg.zeros(2, 3)])
    assert tuple(t.shape) == (2, 2, 3) and t.dtype == dg.float32
    np.testing.assert_array_equal(t.numpy()[0], 1)


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="equal size"):
        D.default_collate([dg.ones(2), dg.ones(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        D.default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="found"):
        D.default_collate([object(), object()])
    with pytest.raises(TypeError, match="found"):
        D.default_collate([np.array(["a"]), np.array(["b"])])


def test_collate_keeps_autograd_of_samples():
    w = dg.ones(3, requires_grad=True)
    batch = D.default_collate([w * 2, w * 3])
    batch.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 5.0)


# ----------------------------------------------------------------------------- shuffling
def _epoch_order(loader):
    return np.concatenate([b[0].numpy() for b in loader])


def test_shuffle_is_a_new_permutation_each_epoch_and_reproducible():
    n = 103
    ds = D.TensorDataset(dg.arange(n))
    loader = D.DataLoader(ds, batch_size=10, shuffle=True,
                          generator=dg.Generator().manual_seed(7))
    epochs = [_epoch_order(loader) for _ in range(3)]
    for e in epochs:
        assert sorted(e.tolist()) == list(range(n))         # every index exactly once
    assert not np.array_equal(epochs[0], epochs[1])         # reshuffled
    assert not np.array_equal(epochs[0], np.arange(n))
    again = D.DataLoader(ds, batch_size=10, shuffle=True, generator=dg.Generator().manual_seed(7))
    for e in epochs:
        np.testing.assert_array_equal(_epoch_order(again), e)  # same seed, same epochs
    other = D.DataLoader(ds, batch_size=10, shuffle=True, generator=dg.Generator().manual_seed(8))
    assert not np.array_equal(_epoch_order(other), epochs[0])


def test_shuffle_follows_global_manual_seed():
    ds = D.TensorDataset(dg.arange(50))
    dg.manual_seed(3)
    a = _epoch_order(D.DataLoader(ds, batch_size=8, shuffle=True))
    dg.manual_seed(3)
    b = _epoch_order(D.DataLoader(ds, batch_size=8, shuffle=True))
    np.testing.assert_array_equal(a, b)


def test_int_seed_generator_is_accepted():
    ds = D.TensorDataset(dg.arange(30))
    a = _epoch_order(D.DataLoader(ds, batch_size=4, shuffle=True, generator=5))
    b = _epoch_order(D.DataLoader(ds, batch_size=4, shuffle=True, generator=5))
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- fast path
class _CountingTensorDataset(D.TensorDataset):
    calls = 0

    def __getitem__(self, index):
        type(self).calls += 1
        return super().__getitem__(index)


def test_tensor_dataset_batches_without_per_sample_getitem():
    x, y = dg.randn(257, 1, 4, 4), dg.randint(0, 10, (257,))
    ds = _CountingTensorDataset(x, y)
    loader = D.DataLoader(ds, batch_size=32, shuffle=True, generator=dg.Generator().manual_seed(0))
    fast = list(loader)
    assert _CountingTensorDataset.calls == 0
    slow = list(D.DataLoader(ds, batch_size=32, shuffle=True,
                             generator=dg.Generator().manual_seed(0),
                             collate_fn=lambda samples: D.default_collate(list(samples))))
    for (xf, yf), (xs, ys) in zip(fast, slow):  # same batches as sample-by-sample collation
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())
        assert xf.dtype == xs.dtype and yf.dtype == ys.dtype


def test_subset_uses_fast_path_and_custom_collate_sees_samples():
    ds = D.TensorDataset(dg.arange(20) * 10, dg.arange(20))
    sub = D.Subset(ds, [5, 3, 9, 1])
    xb, yb = next(iter(D.DataLoader(sub, batch_size=4)))
    assert xb.tolist() == [50, 30, 90, 10] and yb.tolist() == [5, 3, 9, 1]
    seen = []
    out = list(D.DataLoader(sub, batch_size=2, collate_fn=lambda s: seen.append(list(s)) or 0))
    assert out == [0, 0]
    assert [tuple(int(v) for v in sample) for sample in seen[0]] == [(50, 5), (30, 3)]


# ----------------------------------------------------------------------------- options
def test_sampler_and_batch_sampler_options():
    ds = D.TensorDataset(dg.arange(10))
    got = [b[0].tolist() for b in D.DataLoader(ds, batch_size=3, sampler=[9, 8, 7, 6, 5])]
    assert got == [[9, 8, 7], [6, 5]]
    bs = [[0, 1], [7], [2, 3, 4]]
    got = [b[0].tolist() for b in D.DataLoader(ds, batch_sampler=bs)]
    assert got == bs
    sub = D.SubsetRandomSampler([1, 4, 6], generator=dg.Generator().manual_seed(0))
    assert sorted(b[0].item() for b in D.DataLoader(ds, sampler=sub)) == [1, 4, 6]


def test_batch_size_none_returns_converted_samples():
    ds = _Samples(lambda i: (np.full(2, i, np.float32), i), n=3)
    out = list(D.DataLoader(ds, batch_size=None))
    assert len(out) == 3 and isinstance(out[1], list)
    assert isinstance(out[1][0], dg.Tensor) and out[1][0].tolist() == [1.0, 1.0]
    assert out[1][1] == 1


class _Stream(D.IterableDataset):
    def __iter__(self):
        return iter(range(11))


def test_iterable_dataset_batches_and_drop_last():
    assert [b.tolist() for b in D.DataLoader(_Stream(), batch_size=4)] == \
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    assert len(list(D.DataLoader(_Stream(), batch_size=4, drop_last=True))) == 2
    with pytest.raises(ValueError, match="shuffle"):
        D.DataLoader(_Stream(), shuffle=True)


@pytest.mark.parametrize("kwargs, match", [
    (dict(sampler=[0, 1], shuffle=True), "mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "disables auto-batching"),
    (dict(batch_size=0), "positive integer"),
    (dict(num_workers=-1), "non-negative"),
])
def test_bad_options_raise_like_torch(kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.DataLoader(D.TensorDataset(dg.arange(4)), **kwargs)


def test_num_workers_accepted_and_loads_in_process():
    ds = D.TensorDataset(dg.arange(6))
    assert [b[0].tolist() for b in D.DataLoader(ds, batch_size=4, num_workers=4,
                                                pin_memory=True)] == [[0, 1, 2, 3], [4, 5]]


def test_empty_dataset_raises_clear_error():
    with pytest.raises(ValueError, match="empty"):
        D.DataLoader(D.TensorDataset(dg.zeros(0, 3)), batch_size=4)
    with pytest.raises(ValueError, match="num_samples"):
        D.RandomSampler(D.TensorDataset(dg.zeros(0, 3)))


def test_tensor_dataset_errors_and_numpy_input():
    with pytest.raises(ValueError, match="Size mismatch"):
        D.TensorDataset(dg.zeros(3), dg.zeros(4))
    with pytest.raises(TypeError, match="Tensors"):
        D.TensorDataset([1, 2, 3])
    ds = D.TensorDataset(np.arange(5), np.ones((5, 2), np.float32))
    x, y = ds[2]
    assert x.item() == 2 and y.tolist() == [1.0, 1.0]
    with pytest.raises(IndexError, match="out of range"):
        ds.__getitems__([0, 5])


# ----------------------------------------------------------------------------- samplers
@requires_torch
@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), bs=st.integers(1, 8), drop_last=st.booleans())
def test_batch_sampler_matches_torch(n, bs, drop_last):
    ours = list(D.BatchSampler(D.SequentialSampler(range(n)), bs, drop_last))
    ref = list(TD.BatchSampler(TD.SequentialSampler(range(n)), bs, drop_last))
    assert ours == ref
    assert len(D.BatchSampler(range(n), bs, drop_last)) == len(ref)


def test_random_sampler_replacement_and_num_samples():
    g = dg.Generator().manual_seed(0)
    s = D.RandomSampler(range(5), num_samples=12, generator=g)
    order = list(s)
    assert len(order) == 12 == len(s)
    assert sorted(order[:5]) == list(range(5)) and sorted(order[5:10]) == list(range(5))
    r = list(D.RandomSampler(range(3), replacement=True, num_samples=50, generator=g))
    assert len(r) == 50 and set(r) <= {0, 1, 2}
    w = list(D.WeightedRandomSampler([0, 0, 1.0], 10, generator=g))
    assert w == [2] * 10


# ----------------------------------------------------------------------------- random_split
@requires_torch
@pytest.mark.parametrize("n, lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]),
                                        (7, [0.2, 0.2, 0.6]), (100, [0.1] * 10)])
def test_random_split_sizes_match_torch(n, lengths):
    ours = D.random_split(D.TensorDataset(dg.arange(n)), lengths,
                          generator=dg.Generator().manual_seed(0))
    ref = TD.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in ref]
    idx = sorted(i for s in ours for i in s.indices)
    assert idx == list(range(n))                                   # disjoint cover


def test_random_split_reproducible_and_errors():
    ds = D.TensorDataset(dg.arange(20))
    a = D.random_split(ds, [5, 15], generator=dg.Generator().manual_seed(1))
    b = D.random_split(ds, [5, 15], generator=dg.Generator().manual_seed(1))
    assert a[0].indices == b[0].indices
    assert a[0][0][0].item() == a[0].indices[0]
    with pytest.raises(ValueError, match="does not equal"):
        D.random_split(ds, [5, 5])
    with pytest.raises(ValueError, match="between 0 and 1"):
        D.random_split(ds, [1.5, -0.5])


def test_concat_dataset():
    c = D.TensorDataset(dg.arange(3)) + D.TensorDataset(dg.arange(10, 12))
    assert len(c) == 5 and c[3][0].item() == 10 and c[-1][0].item() == 11
    assert [b[0].tolist() for b in D.DataLoader(c, batch_size=5)] == [[0, 1, 2, 10, 11]]
