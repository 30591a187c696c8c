"""Errors explain themselves: they name the op, the shapes and what was expected."""
from __future__ import annotations

import re

import numpy as np
import pytest

import deltagrad as dg


def shapes_named(msg, *shapes):
    for s in shapes:
        assert str(tuple(s)) in msg or str(list(s)) in msg, f"{s} not named in: {msg}"


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "pow"])
def test_broadcast_mismatch_names_op_and_shapes(op):
    a, b = dg.ones(2, 3), dg.ones(4)
    with pytest.raises(RuntimeError) as e:
        getattr(dg, op)(a, b)
    msg = str(e.value)
    assert op in msg
    shapes_named(msg, (2, 3), (4,))


def test_operator_mismatch_names_shapes():
    with pytest.raises(RuntimeError) as e:
        dg.ones(2, 3) + dg.ones(2, 4)
    shapes_named(str(e.value), (2, 3), (2, 4))


@pytest.mark.parametrize("a,b", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 2, 3), (5, 3, 2))])
def test_matmul_mismatch(a, b):
    with pytest.raises(RuntimeError) as e:
        dg.ones(*a) @ dg.ones(*b)
    msg = str(e.value)
    assert "matmul" in msg
    shapes_named(msg, a, b)


def test_shape_op_errors_name_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"reshape.*\[4, 4\].*6"):
        dg.ones(2, 3).reshape(4, 4)
    with pytest.raises(RuntimeError) as e:
        dg.cat([dg.ones(2, 3), dg.ones(2, 4)], 0)
    assert "cat" in str(e.value)
    shapes_named(str(e.value), (2, 3), (2, 4))
    with pytest.raises(RuntimeError, match="expand"):
        dg.ones(2, 3).expand(4, 3)
    with pytest.raises(RuntimeError, match="stack"):
        dg.stack([dg.ones(2), dg.ones(3)])
    with pytest.raises(IndexError, match="dimension out of range"):
        dg.ones(2, 3).sum(2)
    with pytest.raises(RuntimeError, match="permute"):
        dg.ones(2, 3).permute(0)


def test_backward_through_freed_graph():
    x = dg.ones(3, requires_grad=True)
    y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError) as e:
        y.backward()
    assert "second time" in str(e.value) and "retain_graph=True" in str(e.value)


def test_non_scalar_backward_without_gradient():
    with pytest.raises(RuntimeError) as e:
        (dg.ones(2, 2, requires_grad=True) * 2).backward()
    msg = str(e.value)
    assert "scalar" in msg and "(2, 2)" in msg and "gradient" in msg


def test_int_tensor_asked_for_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        dg.arange(3).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        dg.zeros(3, dtype=dg.int64, requires_grad=True)


def test_mixing_devices_raises():
    a = dg.ones(3)
    b = dg.ones(3)
    b._device = dg.device("cuda:0")  # a tensor claiming to live elsewhere
    with pytest.raises(RuntimeError) as e:
        a * b
    msg = str(e.value)
    assert "device" in msg and "cpu" in msg and "cuda:0" in msg


def test_cuda_without_cupy_is_explained():
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match="CuPy"):
        dg.ones(2).to("cuda")


def test_index_errors():
    with pytest.raises(IndexError, match=re.escape("(3,)")):
        dg.ones(3)[5]
    with pytest.raises(IndexError):
        dg.ones(3)[dg.tensor([0.5])]
    with pytest.raises(RuntimeError, match="gather"):
        dg.ones(2, 3).gather(1, dg.tensor([0, 1]))


def test_numpy_of_grad_tensor_and_item_errors():
    with pytest.raises(RuntimeError, match="detach"):
        dg.ones(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError, match="2 elements"):
        dg.ones(2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(dg.ones(2))


def test_bad_creation_arguments():
    with pytest.raises(TypeError):
        dg.tensor(["a", "b"])
    with pytest.raises(RuntimeError, match="negative"):
        dg.zeros(-1, 2)
    with pytest.raises(ValueError):
        dg.tensor([[1, 2], [3]])
    assert np.isnan(dg.tensor([1.0]).var().item())
