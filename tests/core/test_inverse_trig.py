"""tan, arcsin (asin), arccos (acos) beyond their OpInfo entries (tests/core/opinfo.py:
values, gradients, second derivatives, float32 against PyTorch): the aliases and Tensor
methods, NaN outside the domain as in PyTorch, integers computed in the default dtype."""
import numpy as np
import pytest

import deltagrad as dg
from tests.conftest import requires_torch, values_and_gradients_match


@requires_torch
@pytest.mark.parametrize("name", ["tan", "arcsin", "arccos", "asin", "acos"])
def test_tensor_methods_and_aliases_match_torch(name):
    rng = np.random.default_rng(3)
    x = rng.uniform(-0.95, 0.95, size=(4, 5))  # inside arcsin/arccos's domain, tan's branch
    values_and_gradients_match(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x])
    assert dg.asin is dg.arcsin and dg.acos is dg.arccos


@requires_torch
def test_outside_the_domain_is_nan_as_in_torch():
    import torch
    x = np.array([-2.0, 1.0, 2.0])
    for name in ("arcsin", "arccos"):
        np.testing.assert_array_equal(getattr(dg, name)(dg.tensor(x)).numpy(),
                                      getattr(torch, name)(torch.tensor(x)).numpy())


def test_inverses_round_trip_and_keep_float32():
    x = dg.tensor([0.1, 0.5, 0.7], dtype=dg.float32)  # in [0, π/2): every pair inverts
    for f, g in ((dg.tan, dg.arctan), (dg.sin, dg.arcsin), (dg.cos, dg.arccos)):
        y = g(f(x))
        assert y.dtype == dg.float32
        np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-5)  # arccos near 1: ~1 ulp
    assert dg.tan(dg.tensor([0, 1])).dtype == dg.get_default_dtype()


def test_a_non_tensor_is_refused():
    with pytest.raises(TypeError, match="tan: expected a Tensor, got list"):
        dg.tan([0.5])


@requires_torch
def test_float32_rounded_once_as_pytorch():
    """tan(arctan(ln x)) returns ln x in float32 as in PyTorch (NumPy's float32 kernels are a
    few ulp off; deltagrad evaluates in float64 and rounds once)."""
    import torch
    x = np.arange(1, 200, dtype=np.float32)
    for f in ("tan", "arctan", "arcsin", "arccos"):
        a = np.clip(np.log(x) / 6, -1, 1) if f in ("arcsin", "arccos") else np.log(x)
        ours = getattr(dg, f)(dg.tensor(a)).numpy()
        ref = getattr(torch, f)(torch.tensor(a)).numpy()
        assert np.abs(ours.view(np.int32) - ref.view(np.int32)).max() <= 1, f
    log = dg.log(dg.arange(5) + 1)
    assert dg.tan(dg.arctan(log)).numpy().tolist() == log.numpy().tolist()
