"""What the official PyTorch beginner tutorials (pytorch/tutorials, beginner_source) needed
from deltagrad, each checked against PyTorch."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.testing import use_strict_device

torch = pytest.importorskip("torch")


@pytest.fixture
def restore_default_device():
    yield
    dg.set_default_device(None)
    torch.set_default_device(None)


def test_default_device_is_the_cpu_as_in_torch(restore_default_device):
    assert str(dg.get_default_device()) == str(torch.get_default_device()) == "cpu"
    dg.set_default_device("cpu")
    torch.set_default_device("cpu")
    assert str(dg.get_default_device()) == str(torch.get_default_device()) == "cpu"
    x, t = dg.linspace(-1, 1, 5), torch.linspace(-1, 1, 5)
    assert str(x.device) == str(t.device) == "cpu"
    np.testing.assert_array_equal(x.numpy(), t.numpy())


def test_factories_follow_the_default_device(restore_default_device):
    with use_strict_device():
        dg.set_default_device("cuda")
        assert dg.get_default_device() == dg.device("cuda:0")
        made = [dg.zeros(2), dg.ones(2, 3), dg.empty(1), dg.full((2,), 1.5), dg.rand(2),
                dg.randn(()), dg.randint(0, 5, (3,)), dg.randperm(4), dg.arange(3),
                dg.linspace(0, 1, 4), dg.eye(2), dg.tensor([1.0, 2.0]),
                dg.tensor(np.ones(2)), dg.as_tensor(np.ones(2)), dg.normal(0.0, 1.0, (2,))]
        assert all(t.device.type == "cuda" for t in made)
        assert dg.zeros(2, device="cpu").device.type == "cpu"   # an explicit device wins
        dg.set_default_device(None)
        assert dg.zeros(2).device.type == "cpu"
        assert dg.tensor([1.0]).device.type == "cpu"


def test_as_tensor_shares_memory_only_on_the_cpu(restore_default_device):
    a = np.ones(3)
    shared = dg.as_tensor(a)
    a[0] = 7.0
    assert shared[0].item() == 7.0


def test_set_default_device_refuses_what_is_not_a_device(restore_default_device):
    with pytest.raises(TypeError, match="set_default_device: expected a device"):
        dg.set_default_device(1.5)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        dg.set_default_device("tpu")
    assert str(dg.get_default_device()) == "cpu"


def test_polynomial_autograd_tutorial_spelling_runs_on_the_cpu(restore_default_device):
    """pytorch/tutorials examples_autograd/polynomial_autograd.py's first lines."""
    device = (dg.accelerator.current_accelerator().type if dg.accelerator.is_available()
              else "cpu")
    dg.set_default_device(device)
    x = dg.linspace(-np.pi, np.pi, 2000, dtype=dg.float)
    assert x.device.type == "cpu" and x.dtype == dg.float32


@pytest.mark.parametrize("values", [
    [[0.2681, 0.6688, 0.5138], [0.6505, 0.92, 0.2255]],   # tensorqs_tutorial's rand(2, 3)
    [0.5, 0.25], [-0.5, 1.25], 0.92, [1.0, 2.0], [0.0, 0.0], [1.0, 5000.0], [1e-5, 0.5],
    [1e9, 2.0], [float("nan"), 0.5, float("inf")], [[1.0, 0.0, 1.0, 1.0]] * 4,
    [True], [True, False], False, [1, 2, 30]])
def test_tensor_prints_as_torch_prints_it(values):
    """Every element with 4 decimals once one is fractional, whole numbers as ``1.``,
    scientific notation on PyTorch's thresholds, booleans padded only when needed."""
    assert str(dg.tensor(values)) == str(torch.tensor(values))


@pytest.mark.parametrize("name", ["matmul", "mul"])
def test_out_argument_receives_the_result_as_in_torch(name):
    """tensorqs_tutorial.py: ``torch.matmul(tensor, tensor.T, out=y3)``,
    ``torch.mul(tensor, tensor, out=z3)``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((3, 4) if name == "mul" else (4, 2))
    shape = (3, 4) if name == "mul" else (3, 2)
    out, t_out = dg.zeros(shape, dtype=dg.float64), torch.zeros(shape, dtype=torch.float64)
    got = getattr(dg, name)(dg.tensor(a), dg.tensor(b), out=out)
    want = getattr(torch, name)(torch.tensor(a), torch.tensor(b), out=t_out)
    assert got is out
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-12)
    empty = dg.empty(0, dtype=dg.float64)                      # an empty out takes the shape
    assert getattr(dg, name)(dg.tensor(a), dg.tensor(b), out=empty).shape == want.shape
    np.testing.assert_allclose(empty.numpy(), want.numpy(), rtol=1e-12)


def test_out_argument_refuses_what_torch_refuses():
    x, w = dg.ones(2, 2), dg.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        dg.mul(w, x, out=dg.empty(2, 2))
    with dg.no_grad():                                         # allowed when not recording
        assert dg.mul(w, x, out=dg.empty(2, 2)).requires_grad is False
    with pytest.raises(TypeError, match="argument 'out' must be Tensor, not list"):
        dg.mul(x, x, out=[1])
    with pytest.raises(RuntimeError, match="can't be cast"):
        dg.mul(x, x, out=dg.empty(2, 2, dtype=dg.int64))
    with pytest.raises(RuntimeError, match="expected out tensor to have dtype float32"):
        dg.matmul(x, x, out=dg.empty(2, 2, dtype=dg.float64))
    with pytest.raises(RuntimeError, match=r"out has shape \(3,\)"):
        dg.mul(x, x, out=dg.empty(3))
    ints = dg.ones(2, dtype=dg.int64)                          # an int result into a float out
    assert dg.mul(ints, ints, out=dg.empty(2)).dtype == dg.float32
    for fn in (lambda: torch.mul(torch.ones(2, 2, requires_grad=True), torch.ones(2, 2),
                                 out=torch.empty(2, 2)),
               lambda: torch.mul(torch.ones(2, 2), torch.ones(2, 2),
                                 out=torch.empty(2, 2, dtype=torch.long)),
               lambda: torch.matmul(torch.ones(2, 2), torch.ones(2, 2),
                                    out=torch.empty(2, 2, dtype=torch.float64))):
        with pytest.raises(RuntimeError):                      # PyTorch refuses the same
            fn()


def _arrays():
    rng = np.random.default_rng(7)
    yield rng.random((2, 3), dtype=np.float32)                      # tensorqs_tutorial
    yield rng.standard_normal((3, 20)).astype(np.float32) * 0.3     # buildmodel: Before ReLU
    yield np.maximum(rng.standard_normal((3, 20)), 0).astype(np.float32)
    yield (rng.standard_normal((512, 784)) * 0.03).astype(np.float32)   # summarised
    yield (rng.standard_normal((2, 512)) * 0.03).astype(np.float32)
    yield rng.standard_normal(1000).astype(np.float32)
    yield rng.standard_normal(1001).astype(np.float32)
    yield rng.standard_normal((2, 3, 4))
    yield rng.standard_normal((8, 9, 10)).astype(np.float32)
    yield rng.standard_normal(30) * 1e-6
    yield rng.standard_normal(7) * 1e9
    yield rng.integers(-1000, 1000, (5, 30))
    yield rng.integers(0, 3, (4, 40)).astype(np.float32)
    yield rng.random((3, 50)) > 0.5
    yield np.zeros((0, 3), dtype=np.float32)
    yield np.zeros(0, dtype=np.int64)


@pytest.mark.parametrize("a", list(_arrays()), ids=lambda a: f"{a.dtype}{a.shape}")
def test_tensor_layout_equals_torch(a):
    """Rows of ⌊(80 − indent) / (width + 2)⌋ elements, summarised edges, blank lines between
    blocks, suffixes wrapped at column 80; dtypes named deltagrad.<dtype>."""
    want = str(torch.from_numpy(a)).replace("torch.", "deltagrad.")
    assert str(dg.from_numpy(a)) == want
    if a.dtype.kind == "f" and a.size:
        want = str(torch.from_numpy(a).requires_grad_()).replace("torch.", "deltagrad.")
        assert str(dg.from_numpy(a).requires_grad_()) == want


def test_a_zero_dim_index_counts_as_one_element_in_scatter_and_gather():
    """transforms_tutorial.py's one-hot target:
    ``torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)``."""
    for y in (0, 3, 9):
        got = dg.zeros(10, dtype=dg.float).scatter_(0, dg.tensor(y), value=1)
        want = torch.zeros(10, dtype=torch.float).scatter_(dim=0, index=torch.tensor(y), value=1)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    src = np.array([5.0, 6.0])
    np.testing.assert_array_equal(
        dg.zeros(4, dtype=dg.float64).scatter(0, dg.tensor(2), dg.tensor(src)).numpy(),
        torch.zeros(4, dtype=torch.float64).scatter(0, torch.tensor(2), torch.tensor(src)))
    np.testing.assert_array_equal(
        dg.zeros(4).scatter_add(0, dg.tensor(1), dg.ones(3)).numpy(),
        torch.zeros(4).scatter_add(0, torch.tensor(1), torch.ones(3)).numpy())
    x, t = dg.arange(5.0, requires_grad=True), torch.arange(5.0, requires_grad=True)
    g, h = dg.gather(x, 0, dg.tensor(2)), torch.gather(t, 0, torch.tensor(2))
    assert g.shape == h.shape == () and g.item() == h.item()
    g.backward()
    h.backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    with pytest.raises(IndexError, match="index out of range for dimension 0 of size 3"):
        dg.zeros(3).scatter_(0, dg.tensor(7), value=1)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        dg.zeros(2, 3).scatter_(0, dg.tensor(1), value=1)    # only a vector takes a 0-d index
    with pytest.raises(RuntimeError):
        torch.zeros(2, 3).scatter_(0, torch.tensor(1), value=1)
