"""The Tensor API old and new PyTorch programs type (issue 20's list), against torch: new_*,
__format__, range indexing, in-place shape methods, legacy constructors and type strings,
Variable, autograd.grad(only_inputs=), add_(number, tensor), device flags."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

from ..conftest import assert_close, requires_torch

torch = pytest.importorskip("torch")


@requires_torch
@pytest.mark.parametrize("method, args", [("new_zeros", ((2, 3),)), ("new_zeros", (2, 3)),
                                          ("new_ones", ((4,),)), ("new_empty", (0, 2)),
                                          ("new_full", ((2, 2), 1.5)),
                                          ("new_tensor", ([1, 2, 3],))])
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_new_methods_take_dtype_and_device_from_self(method, args, dtype):
    x, t = dg.ones(2, dtype=getattr(dg, dtype)), torch.ones(2, dtype=getattr(torch, dtype))
    out, ref = getattr(x, method)(*args), getattr(t, method)(*args)
    assert tuple(out.shape) == tuple(ref.shape) and str(out.dtype) == str(ref.dtype)[6:]
    if method != "new_empty":
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
    f = x.new_zeros(3, dtype=dg.float32, requires_grad=True)
    assert f.dtype == dg.float32 and f.requires_grad


@requires_torch
def test_format_of_a_0d_tensor_and_refusal_otherwise():
    loss = dg.tensor(1.234567)
    assert f"{loss:.4f}" == f"{torch.tensor(1.234567):.4f}" == "1.2346"
    assert f"{dg.tensor(3):>4d}" == "   3"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{dg.tensor([1.2]):.3f}"
    with pytest.raises(TypeError):
        f"{torch.tensor([1.2]):.3f}"
    assert f"{dg.tensor([1.5])}" == str(dg.tensor([1.5]))


@requires_torch
def test_indexing_and_setitem_with_a_range():
    a = np.arange(12.0).reshape(4, 3)
    x, t = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert_close(x[range(1, 4, 2)], t[range(1, 4, 2)])
    assert_close(x[range(3), 1], t[range(3), 1])
    (x[range(2)] * 2).sum().backward()
    (t[range(2)] * 2).sum().backward()
    assert_close(x.grad, t.grad)
    y, u = dg.tensor(a), torch.tensor(a)
    y[range(2)] = -1.0
    u[range(2)] = -1.0
    assert_close(y, u)


@requires_torch
@pytest.mark.parametrize("op, args", [("unsqueeze_", (0,)), ("unsqueeze_", (-1,)),
                                      ("squeeze_", ()), ("squeeze_", (1,)), ("t_", ()),
                                      ("transpose_", (0, 1)), ("swapdims_", (1, 0))])
def test_inplace_shape_methods_match_torch_with_gradients(op, args):
    a = np.random.default_rng(0).standard_normal((3, 1))
    x, t = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, u = x * 2, t * 2
    assert getattr(y, op)(*args) is y
    getattr(u, op)(*args)
    assert tuple(y.shape) == tuple(u.shape)
    w = np.random.default_rng(1).standard_normal(tuple(u.shape))
    (y * dg.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    assert_close(x.grad, t.grad)
    with pytest.raises(RuntimeError, match="leaf .* that requires grad"):
        getattr(dg.ones(2, 1, requires_grad=True), op)(*args)


@requires_torch
def test_inplace_shape_method_on_a_plain_tensor_keeps_its_memory():
    x = dg.zeros(3)
    x.unsqueeze_(1)
    assert tuple(x.shape) == (3, 1)
    x[0, 0] = 5.0
    assert x.squeeze_().tolist() == [5.0, 0.0, 0.0]


@requires_torch
@pytest.mark.parametrize("args", [(3,), (2, 3), ([1, 2],), ((1.5, 2),), (dg.Size([2, 2]),), (),
                                  (0,)])
def test_legacy_constructor_matches_torch(args):
    targs = tuple(torch.Size(a) if isinstance(a, dg.Size) else a for a in args)
    out, ref = dg.Tensor(*args), torch.Tensor(*targs)
    assert tuple(out.shape) == tuple(ref.shape) and out.dtype == dg.float32
    assert isinstance(out, dg.Tensor) and out.is_leaf and not out.requires_grad
    if args and isinstance(args[0], (list, tuple)) and not isinstance(args[0], dg.Size):
        np.testing.assert_array_equal(out.numpy(), ref.numpy())


@requires_torch
def test_legacy_constructor_bad_inputs_raise_like_torch():
    with pytest.raises(TypeError, match=r"Tensor\(\): data must be a sequence \(got float\)"):
        dg.Tensor(3.5)
    with pytest.raises(TypeError):
        torch.Tensor(3.5)
    with pytest.raises(RuntimeError, match="negative dimension"):
        dg.Tensor(2, -1)
    with pytest.raises(TypeError, match="expected a tensor of dtype float32, got int64"):
        dg.Tensor(dg.tensor([1, 2]))
    with pytest.raises(TypeError):
        dg.Tensor([1.0], dtype=dg.float64)


@requires_torch
@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "ByteTensor", "BoolTensor", "HalfTensor", "ShortTensor",
                                  "CharTensor"])
def test_typed_legacy_classes_match_torch(name):
    cls, tcls = getattr(dg, name), getattr(torch, name)
    out, ref = cls([1, 0, 1]), tcls([1, 0, 1])
    assert str(out.dtype) == str(ref.dtype)[6:]
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert tuple(cls(2, 3).shape) == (2, 3)
    assert isinstance(out, cls) and isinstance(out, dg.Tensor)
    assert not isinstance(dg.ones(1, dtype=dg.float64 if name != "DoubleTensor" else dg.int64),
                          cls)
    assert out.type() == "deltagrad." + name and ref.type() == "torch." + name


@requires_torch
@pytest.mark.parametrize("spec", ["torch.LongTensor", "torch.DoubleTensor", "deltagrad.IntTensor",
                                  "float64", "int32"])
def test_type_with_a_string_class_or_dtype(spec):
    x, t = dg.tensor([1.5, -2.0]), torch.tensor([1.5, -2.0])
    assert_close(x.type(spec), t.type(spec.replace("deltagrad.", "torch.")
                                      if "Tensor" in spec else getattr(torch, spec)))
    assert x.type(dg.LongTensor).dtype == dg.int64
    assert x.type(dg.float32) is x
    with pytest.raises(ValueError, match="invalid type 'torch.FooTensor'"):
        x.type("torch.FooTensor")


def test_variable_is_a_new_leaf_sharing_memory():
    from deltagrad.autograd import Variable
    t = dg.zeros(2)
    v = Variable(t, requires_grad=True)
    assert v is not t and v.requires_grad and v.is_leaf and not t.requires_grad
    assert isinstance(t, Variable) and not isinstance(np.zeros(2), Variable)
    t[0] = 3.0
    assert v[0].item() == 3.0
    (v * 2).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0]
    assert not Variable(t).requires_grad
    with pytest.raises(TypeError, match="Variable"):
        Variable([1.0])


def test_grad_accepts_only_inputs():
    x = dg.ones(3, requires_grad=True)
    g, = dg.autograd.grad((x * 3).sum(), x, only_inputs=True)
    assert g.tolist() == [3.0] * 3
    with pytest.warns(UserWarning, match="only_inputs argument is deprecated"):
        dg.autograd.grad((x * 3).sum(), [x], only_inputs=False)


@requires_torch
@pytest.mark.parametrize("op", ["add", "add_", "sub", "sub_"])
def test_legacy_number_tensor_overloads(op):
    x, t = dg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    with pytest.warns(UserWarning, match="deprecated"):
        out = getattr(x, op)(3, dg.tensor([0.5, 1.0]))
    with warnings.catch_warnings():  # torch warns once per process
        warnings.simplefilter("ignore")
        ref = getattr(t, op)(3, torch.tensor([0.5, 1.0]))
    assert_close(out, ref)
    if op.endswith("_"):
        assert_close(x, t)


def test_device_flags():
    x = dg.ones(2)
    assert x.is_cpu and not x.is_cuda and not x.is_xpu and not x.is_mps and not x.is_meta


@requires_torch
@pytest.mark.parametrize("args", [(2, 3), ([1, 2],), (), (dg.Size([1, 2]),)])
def test_legacy_new_takes_dtype_from_self(args):
    x, t = dg.ones(2, dtype=dg.float64), torch.ones(2, dtype=torch.float64)
    targs = tuple(torch.Size(a) if isinstance(a, dg.Size) else a for a in args)
    out, ref = x.new(*args), t.new(*targs)
    assert tuple(out.shape) == tuple(ref.shape) and out.dtype == dg.float64
    if args and isinstance(args[0], list):
        np.testing.assert_array_equal(out.numpy(), ref.numpy())


@requires_torch
@pytest.mark.parametrize("op", ["addcmul_", "addcdiv_"])
def test_addcmul_addcdiv_in_place_and_legacy_value_first(op):
    x, t = dg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    a, b = dg.tensor([3.0, -1.0]), dg.tensor([2.0, 4.0])
    ta, tb = torch.tensor([3.0, -1.0]), torch.tensor([2.0, 4.0])
    assert getattr(x, op)(a, b, value=0.5) is x
    getattr(t, op)(ta, tb, value=0.5)
    assert_close(x, t)
    with pytest.warns(UserWarning, match="deprecated"):
        getattr(x, op)(2, a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(t, op)(2, ta, tb)
    assert_close(x, t)
    with pytest.raises(TypeError, match="value must be a number"):
        getattr(x, op)(a, b, value=dg.tensor(1.0))
