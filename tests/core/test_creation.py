"""Creating tensors, dtypes, conversion to NumPy/Python and seeding, against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def same(d, t):
    """Same values, shape and dtype as the torch tensor ``t``."""
    a = d.detach().numpy()
    b = t.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


DATA = [
    1.5, 3, True, [1.0, 2.0], [1, 2], [True, False], [[1, 2.5]], [[1, 2], [3, 4]],
    np.array([1.0, 2.0]), np.array([1.0, 2.0], np.float32), np.array([1, 2]),
    np.array([1, 2], np.int32), np.array(2.5), np.float64(2.5), np.array([True]), [],
    [[]], np.zeros((0, 3)),
]


@pytest.mark.parametrize("data", DATA, ids=[repr(d)[:30] for d in DATA])
def test_tensor_infers_dtype_like_torch(data):
    same(dg.tensor(data), torch.tensor(data))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "int32"])
def test_tensor_with_dtype(dtype):
    same(dg.tensor([0, 1.7, 2], dtype=getattr(dg, dtype)),
         torch.tensor([0, 1.7, 2], dtype=getattr(torch, dtype)))


def test_tensor_copies_and_from_numpy_shares():
    a = np.arange(4.0)
    t, f = dg.tensor(a), dg.from_numpy(a)
    a[0] = 9.0
    assert t[0].item() == 0.0 and f[0].item() == 9.0
    assert f.dtype == dg.float64
    f.numpy()[1] = 7.0
    assert a[1] == 7.0


CREATORS = [
    ("zeros", lambda m: m.zeros(2, 3)), ("zeros_tuple", lambda m: m.zeros((2, 3))),
    ("zeros_0d", lambda m: m.zeros(())), ("ones_int", lambda m: m.ones(2, dtype=m.int64)),
    ("ones_empty", lambda m: m.ones(0, 4)), ("full_int", lambda m: m.full((2,), 3)),
    ("full_float", lambda m: m.full((2, 2), 1.5)), ("full_bool", lambda m: m.full((2,), True)),
    ("full_dtype", lambda m: m.full((2,), 2, dtype=m.float64)),
    ("arange_int", lambda m: m.arange(5)), ("arange_start", lambda m: m.arange(2, 9, 3)),
    ("arange_float", lambda m: m.arange(0, 1, 0.1)), ("arange_neg", lambda m: m.arange(5, 0, -1.5)),
    ("arange_float_end", lambda m: m.arange(4.0)),
    ("arange_dtype", lambda m: m.arange(3, dtype=m.float32)),
    ("linspace", lambda m: m.linspace(-1, 1, 7)), ("linspace_1", lambda m: m.linspace(0, 1, 1)),
    ("linspace_f64", lambda m: m.linspace(0, 1, 5, dtype=m.float64)),
    ("eye", lambda m: m.eye(3)), ("eye_rect", lambda m: m.eye(2, 4)),
    ("eye_int", lambda m: m.eye(2, dtype=m.int64)),
    ("zeros_like", lambda m: m.zeros_like(m.ones(2, 3, dtype=m.float64))),
    ("ones_like_int", lambda m: m.ones_like(m.tensor([1, 2]))),
    ("full_like", lambda m: m.full_like(m.ones(2), 7)),
    ("zeros_like_dtype", lambda m: m.zeros_like(m.ones(2), dtype=m.int64)),
    ("empty_shape", lambda m: m.empty(2, 5).zero_()),
    ("empty_like", lambda m: m.empty_like(m.ones(3, dtype=m.float64)).zero_()),
]


@pytest.mark.parametrize("make", [c[1] for c in CREATORS], ids=[c[0] for c in CREATORS])
def test_creation_like_torch(make):
    same(make(dg), make(torch))


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_random_shapes_dtypes_and_seed(name):
    fn = getattr(dg, name)
    dg.manual_seed(3)
    a = fn(4, 5)
    dg.manual_seed(3)
    b = fn((4, 5))
    assert a.shape == (4, 5) and a.dtype == dg.float32
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert fn(2, dtype=dg.float64).dtype == dg.float64
    assert fn(3, requires_grad=True).requires_grad
    like = getattr(dg, name + "_like")(dg.ones(2, 2, dtype=dg.float64))
    assert like.shape == (2, 2) and like.dtype == dg.float64
    if name == "rand":
        x = fn(10000)
        assert 0 <= x.min().item() and x.max().item() < 1
        assert abs(x.mean().item() - 0.5) < 0.02
    else:
        x = fn(10000)
        assert abs(x.mean().item()) < 0.05 and abs(x.std().item() - 1) < 0.05


def test_randint():
    dg.manual_seed(0)
    x = dg.randint(2, 5, (1000,))
    assert x.dtype == dg.int64 and x.shape == (1000,)
    assert set(np.unique(x.numpy())) == {2, 3, 4}
    y = dg.randint(3, (2, 2))
    assert y.shape == (2, 2) and y.max().item() < 3
    assert dg.randint(0, 4, (3,), dtype=dg.int32).dtype == dg.int32
    dg.manual_seed(7)
    a = dg.randint(0, 100, (5,))
    dg.manual_seed(7)
    assert dg.equal(a, dg.randint(0, 100, (5,)))


def test_manual_seed_makes_runs_repeatable_and_differs_by_seed():
    dg.manual_seed(1)
    a = dg.randn(8)
    dg.manual_seed(2)
    b = dg.randn(8)
    dg.manual_seed(1)
    c = dg.randn(8)
    assert dg.equal(a, c) and not dg.equal(a, b)


def test_numpy_item_tolist():
    t = dg.tensor([[1.5, 2.0]])
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().dtype == np.float32
    assert dg.tensor([2.5]).item() == 2.5 and isinstance(dg.tensor([2.5]).item(), float)
    assert isinstance(dg.tensor(3).item(), int) and dg.tensor(3).item() == 3
    assert dg.tensor(True).item() is True
    assert t.tolist() == torch.tensor([[1.5, 2.0]]).tolist()
    assert dg.tensor(4).tolist() == 4
    with pytest.raises(RuntimeError, match="requires grad"):
        dg.ones(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError):
        dg.ones(2).item()
    assert float(dg.tensor(2.5)) == 2.5 and int(dg.tensor(3.7)) == 3


def test_dtype_objects_and_conversion():
    assert dg.float32 != dg.float64 and dg.float is dg.float32 and dg.long is dg.int64
    x = dg.tensor([1.7, -2.2])
    same(x.long(), torch.tensor([1.7, -2.2]).long())
    same(x.double(), torch.tensor([1.7, -2.2]).double())
    same(x.to(dg.int32), torch.tensor([1.7, -2.2]).to(torch.int32))
    same(x.bool(), torch.tensor([1.7, -2.2]).bool())
    assert x.is_floating_point() and not x.long().is_floating_point()
    assert x.to("cpu").device == dg.device("cpu")
    assert dg.get_default_dtype() == dg.float32


def test_shape_and_metadata():
    x = dg.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and len(x) == 2
    assert isinstance(x.shape, dg.Size) and x.shape.numel() == 24
    assert dg.tensor(1.0).shape == () and dg.tensor(1.0).numel() == 1


def test_import_stays_light():
    # ml_dtypes (0.6 s), SciPy (0.13 s for scipy.special, 0.2 s for scipy.linalg), numba
    # (0.3 s), urllib.request and the metrics/datasets/models/analysis/ONNX subpackages load on
    # first use only: a short script, the whole-process epoch benchmark, does not pay for them
    import subprocess
    import sys
    code = ("import sys, deltagrad as dg\n"
            "heavy = [m for m in ('ml_dtypes', 'scipy', 'numba', 'urllib.request',\n"
            "                     'deltagrad.metrics', 'deltagrad.datasets', 'deltagrad.models',\n"
            "                     'deltagrad.analysis', 'deltagrad.io.onnx') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "assert {'datasets', 'metrics', 'models', 'analysis', 'onnx'} <= set(dir(dg))\n"
            "assert dg.onnx.export and dg.metrics.accuracy and 'scipy' not in sys.modules\n"
            "assert dg.datasets.FashionMNIST and dg.models.MLP and dg.analysis\n"
            "assert dg.bfloat16.name == 'bfloat16' and 'ml_dtypes' in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
