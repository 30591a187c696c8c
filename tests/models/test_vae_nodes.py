"""The VAE's one-node terms (ops/variational.py and the row-summed BCE of logits) against
PyTorch's composed formulas in float64, finite differences, double backward, the float32
dtype and bad shapes."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ops.loss import bce_with_logits_per_example
from deltagrad.ops.variational import kl_to_standard_normal, reparameterize
from tests.conftest import requires_torch

F64 = dg.float64


def _draws(shape=(5, 3), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape), rng.standard_normal(shape) * 1.5,
            rng.standard_normal(shape))


def _leaf(a, requires_grad=True):
    return dg.tensor(a, dtype=F64, requires_grad=requires_grad)


@requires_torch
def test_reparameterize_and_kl_equal_torch_with_gradients():
    import torch
    mu, logvar, eps = _draws()
    m, lv, e = _leaf(mu), _leaf(logvar), _leaf(eps)
    tm, tlv, te = (torch.tensor(a, requires_grad=True) for a in (mu, logvar, eps))
    z, kl = reparameterize(m, lv, e), kl_to_standard_normal(m, lv)
    tz = tm + torch.exp(0.5 * tlv) * te
    tkl = -0.5 * (1 + tlv - tm ** 2 - tlv.exp()).sum(-1)
    np.testing.assert_allclose(z.detach().numpy(), tz.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(kl.detach().numpy(), tkl.detach().numpy(), rtol=1e-14)
    w = np.random.default_rng(1).standard_normal(z.shape)
    v = np.array([0.5, -2.0, 1.0, 3.0, -0.25])
    ((z * dg.tensor(w)).sum() + (kl * dg.tensor(v)).sum()).backward()
    ((tz * torch.tensor(w)).sum() + (tkl * torch.tensor(v)).sum()).backward()
    for a, t in ((m, tm), (lv, tlv), (e, te)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_worked_example_pinned():
    # μ = 0.5, ln σ² = ln 4 (σ = 2), ε = 1: z = 2.5; KL = −½(1 + ln 4 − 0.25 − 4)
    z = reparameterize(_leaf([[0.5]]), _leaf([[np.log(4.0)]]), _leaf([[1.0]], False))
    kl = kl_to_standard_normal(_leaf([[0.5]]), _leaf([[np.log(4.0)]]))
    np.testing.assert_allclose(z.detach().numpy(), [[2.5]])
    np.testing.assert_allclose(kl.detach().numpy(), [-0.5 * (1 + np.log(4.0) - 0.25 - 4.0)])
    kl_zero = kl_to_standard_normal(_leaf(np.zeros((2, 3))), _leaf(np.zeros((2, 3))))
    np.testing.assert_array_equal(kl_zero.detach().numpy(), [0.0, 0.0])   # q = p


def test_finite_differences_and_double_backward():
    mu, logvar, eps = _draws((3, 4), seed=2)
    args = (_leaf(mu), _leaf(logvar), _leaf(eps))
    assert dg.autograd.gradcheck(lambda m, lv, e: reparameterize(m, lv, e), args)
    assert dg.autograd.gradgradcheck(lambda m, lv, e: reparameterize(m, lv, e), args)
    assert dg.autograd.gradcheck(kl_to_standard_normal, args[:2])
    assert dg.autograd.gradgradcheck(kl_to_standard_normal, args[:2])
    x = _leaf(np.random.default_rng(3).standard_normal((3, 2, 4)) * 3)
    y = _leaf(np.random.default_rng(4).random((3, 2, 4)))
    assert dg.autograd.gradcheck(bce_with_logits_per_example, (x, y))
    assert dg.autograd.gradgradcheck(bce_with_logits_per_example, (x, y))


@requires_torch
@pytest.mark.parametrize("shape", [(4, 7), (3, 2, 5), (6,)])
def test_bce_per_example_equals_torch_row_sums(shape):
    import torch
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * 4
    x.flat[0] = 1e4                                   # saturated logits stay finite
    y = (rng.random(shape) < 0.4).astype(np.float64)
    a, b = _leaf(x), _leaf(y)
    ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    out = bce_with_logits_per_example(a, b)
    tout = torch.nn.functional.binary_cross_entropy_with_logits(ta, tb, reduction="none")
    if len(shape) > 1:                     # (a 1-d input: one number per example, no sum)
        tout = tout.sum(tuple(range(1, len(shape))))
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-13)
    w = rng.standard_normal(tuple(tout.shape))
    (out * dg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_float32_stays_float32():
    mu, logvar, eps = (a.astype(np.float32) for a in _draws())
    m = dg.tensor(mu, requires_grad=True)
    lv = dg.tensor(logvar, requires_grad=True)
    z = reparameterize(m, lv, dg.tensor(eps))
    kl = kl_to_standard_normal(m, lv)
    rec = bce_with_logits_per_example(z, dg.tensor((eps > 0).astype(np.float32)))
    assert z.dtype == kl.dtype == rec.dtype == dg.float32
    (rec + kl).sum().backward()
    assert m.grad.dtype == lv.grad.dtype == dg.float32


def test_bad_shapes_and_dtypes_raise_named_errors():
    m, lv = _leaf(np.zeros((2, 3))), _leaf(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"reparameterize: eps must have mu's shape \(2, 3\)"):
        reparameterize(m, lv, _leaf(np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"kl_to_standard_normal: logvar must have mu's shape"):
        kl_to_standard_normal(m, _leaf(np.zeros((3,))))
    with pytest.raises(ValueError, match=r"kl_to_standard_normal: logvar .* dtype float64"):
        kl_to_standard_normal(m, dg.zeros(2, 3))
    with pytest.raises(TypeError, match=r"reparameterize: eps must be a floating point tensor"):
        reparameterize(m, lv, dg.zeros(2, 3, dtype=dg.int64))
    with pytest.raises(ValueError, match=r"kl_to_standard_normal: .* 0-d"):
        kl_to_standard_normal(_leaf(0.0), _leaf(0.0))
    with pytest.raises(ValueError, match=r"bce_with_logits_per_example: target shape \(2, 4\)"):
        bce_with_logits_per_example(m, _leaf(np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"bce_with_logits_per_example: .* 0-d"):
        bce_with_logits_per_example(_leaf(0.0), _leaf(1.0))
