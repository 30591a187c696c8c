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
