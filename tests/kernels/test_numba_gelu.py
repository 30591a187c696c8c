"""The compiled GELU (kernels/numba_gelu.py) and its exp (kernels/numba_exp.py): float32
accuracy on a dense grid against float64 SciPy, the NumPy references, and F.gelu through
it against PyTorch."""
import numpy as np
import pytest
import torch
from scipy.special import ndtr

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad import kernels

pytest.importorskip("numba")
from deltagrad.kernels import numba_exp, numba_gelu  # noqa: E402
from numba import njit  # noqa: E402


def _float32_ulp(t):
    """The float32 spacing at |t| (of the binade t lies in), from float64 values."""
    _, e = np.frexp(np.abs(t))
    return np.maximum(np.ldexp(1.0, e - 24), 2.0 ** -149)


def _dense_float32_grid():
    """Every 613th float32 from 0 to the largest finite one, both signs (7·10⁶ values, about
    3,000 in every binade), plus the points where the formulas change."""
    bits = np.arange(0, np.float32(np.inf).view(np.int32), 613, dtype=np.int32)
    pos = np.concatenate([bits.view(np.float32),
                          np.float32([0.0, 1e-45, 1.0, 1.4142135, 1.4142137, 14.4, 14.85,
                                      14.9, 3.4e38])])
    return np.concatenate([pos, -pos])


def test_gelu_forward_is_within_one_float32_ulp_of_float64_scipy():
    x = _dense_float32_grid()
    y, _ = numba_gelu.gelu_forward(x)
    xd = x.astype(np.float64)
    exact = xd * ndtr(xd)  # Φ by SciPy's float64 erf/erfc, accurate also in the far tail
    ulps = np.abs(y.astype(np.float64) - exact) / _float32_ulp(exact)
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= 1.0, f"{ulps[worst]:.3f} ulp at x = {x[worst]!r}"
    assert np.signbit(y[x == 0]).tolist() == np.signbit(x[x == 0]).tolist()


def _derivative_ulps(slope, g, gx, x, exact, terms):
    """The errors of f′ and of g·f′ in ulps of the larger of the terms of f′ and f′ itself
    (f′ = Φ + x·φ crosses 0 near x = −0.75, where the two terms cancel)."""
    scale = np.maximum(np.maximum(terms[0], np.abs(terms[1])), np.abs(exact))
    slope_ulps = np.abs(slope - exact) / _float32_ulp(scale)
    gx_ulps = np.abs(gx - g.astype(np.float64) * exact) / (_float32_ulp(scale) * np.abs(g)
                                                           + 1e-300)
    return slope_ulps, gx_ulps


def test_gelu_derivative_is_within_one_ulp_of_its_larger_term():
    """The saved f′ within 1 ulp, and the backward's g·f′ (one more rounding) within 1.5."""
    x = np.linspace(-16, 16, 2_000_001, dtype=np.float32)
    _, slope = numba_gelu.gelu_forward(x)
    g = np.linspace(-3, 3, x.size, dtype=np.float32)
    xd = x.astype(np.float64)
    x_phi = xd * np.exp(-xd * xd / 2) / np.sqrt(2 * np.pi)
    exact = ndtr(xd) + x_phi
    slope_ulps, gx_ulps = _derivative_ulps(slope, g, g * slope, x, exact, (ndtr(xd), x_phi))
    assert slope_ulps.max() <= 1.0, f"{slope_ulps.max():.3f} ulp at x = {x[slope_ulps.argmax()]!r}"
    worst = int(np.argmax(gx_ulps))
    assert gx_ulps[worst] <= 1.5, f"{gx_ulps[worst]:.3f} ulp at x = {x[worst]!r}"


def test_special_values():
    x = np.float32([np.nan, np.inf, -np.inf, 3.4e38, -3.4e38, 1e-30, -1e-30])
    y, slope = numba_gelu.gelu_forward(x)
    with np.errstate(invalid="ignore"):
        expected = x.astype(np.float64) * ndtr(x.astype(np.float64))
    np.testing.assert_array_equal(y, expected.astype(np.float32))  # inf·1, −inf·0 = NaN
    # NaN, and ±∞·φ(±∞) = ±∞·0; Φ alone for the huge finite ones and ½ around 0
    np.testing.assert_array_equal(slope, [np.nan, np.nan, np.nan, 1, 0, 0.5, 0.5])
    with kernels.use_backend("numpy"):  # the reference path gives the same everywhere
        a = dg.tensor(x, requires_grad=True)
        F.gelu(a).backward(dg.ones(x.shape))
    np.testing.assert_array_equal(y, F.gelu(dg.tensor(x)).numpy())
    np.testing.assert_array_equal(slope, a.grad.numpy())


def test_numpy_reference_formulas_give_the_compiled_numbers():
    x = np.linspace(-14.8, 14.8, 300_001, dtype=np.float32)  # e^(−x²/2) is 0 from |x| = 14.85
    y, slope = numba_gelu.gelu_forward(x)
    ref_cdf, gauss = numba_gelu.gelu_cdf(x)
    xd = x.astype(np.float64)
    np.testing.assert_allclose(y, (xd * ref_cdf).astype(np.float32), rtol=2e-7, atol=0)
    np.testing.assert_allclose(slope, ref_cdf + xd * gauss / np.sqrt(2 * np.pi), rtol=0,
                               atol=1.2e-7)
    np.testing.assert_allclose(gauss, np.exp(-(xd ** 2) / 2), rtol=2e-9, atol=1e-300)


def test_derived_coefficients_reach_the_stated_accuracy():
    n, d, worst = numba_gelu.derive_coefficients(iterations=300)
    assert worst < 3.4e-9, worst
    np.testing.assert_allclose(n, numba_gelu.ERFCX_N, rtol=1e-6)
    np.testing.assert_allclose(d, numba_gelu.ERFCX_D, rtol=1e-6)
    e, worst = numba_exp.derive_coefficients(iterations=300)
    assert worst < 6.5e-12, worst
    np.testing.assert_allclose(e, numba_exp.EXP_E, rtol=1e-6)


def test_exp_nonpositive_against_float64_exp():
    t = np.concatenate([-np.geomspace(1e-30, 120, 400_001), [0.0, -0.0, -np.inf, np.nan]])
    got = np.empty_like(t)
    _exp_loop(t, got)
    ref = numba_exp.exp_nonpositive_reference(t)
    with np.errstate(under="ignore"):
        exact = np.exp(t)
    inside = t >= numba_exp.T_MIN
    np.testing.assert_allclose(got[inside], exact[inside], rtol=1e-9, atol=0)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)
    assert (got[t < numba_exp.T_MIN] == 0).all() and np.isnan(got[-1])


@njit
def _exp_loop(t, out):
    for k in range(t.size):
        out[k] = numba_exp.exp_nonpositive(t[k])


def _tanh_gelu_exact(x):
    """x·σ(2u), u = √(2/π)(x + 0.044715x³), in float64 (= ½x(1 + tanh u) without the
    cancellation of 1 + tanh u), with σ(2u) and the derivative."""
    from scipy.special import expit
    x = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        u = np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)
        s = expit(2 * u)
        ds = x * 2 * s * (1 - s) * np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x * x)
    return x * s, s, s + ds, np.maximum(np.maximum(s, np.abs(ds)), np.abs(s + ds))


def test_tanh_gelu_forward_and_derivative_within_one_ulp():
    x = _dense_float32_grid()
    y, _ = numba_gelu.gelu_tanh_forward(x)
    exact, _, _, _ = _tanh_gelu_exact(x)
    ulps = np.abs(y - exact) / _float32_ulp(exact)
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= 1.0, f"{ulps[worst]:.3f} ulp at x = {x[worst]!r}"
    x = np.linspace(-12, 12, 1_000_001, dtype=np.float32)
    _, slope = numba_gelu.gelu_tanh_forward(x)
    g = np.linspace(-3, 3, x.size, dtype=np.float32)
    _, s, d, scale = _tanh_gelu_exact(x)
    slope_ulps, gx_ulps = _derivative_ulps(slope, g, g * slope, x, d, (s, scale))
    assert slope_ulps.max() <= 1.0, f"{slope_ulps.max():.3f} ulp at x = {x[slope_ulps.argmax()]!r}"
    worst = int(np.argmax(gx_ulps))
    assert gx_ulps[worst] <= 1.5, f"{gx_ulps[worst]:.3f} ulp at x = {x[worst]!r}"


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_F_gelu_matches_pytorch(backend, approximate):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((96, 130)) * 4).astype(np.float32)
    x[0, :6] = [0.0, -0.0, -14.0, 14.0, 1e-40, -9.0]
    g = rng.standard_normal(x.shape).astype(np.float32)
    with kernels.use_backend(backend):
        a = dg.tensor(x, requires_grad=True)
        y = F.gelu(a, approximate=approximate)
        y.backward(dg.tensor(g))
    # PyTorch's float32 1 + erf(x/√2) cancels for negative x (relative error 2e-4 at x = −3.5,
    # 0 below −5.5), as does the NumPy path's: it is compared with PyTorch in float32; the
    # compiled path (accurate tails) with PyTorch in float64 (whose own 1 + erf cancels below
    # x ≈ −8: |error| < 1e-14 there; the dense-grid test above is the strict one)
    dtype = torch.float64 if backend == "numba" else torch.float32
    t = torch.tensor(x, dtype=dtype, requires_grad=True)
    ty = torch.nn.functional.gelu(t, approximate=approximate)
    ty.backward(torch.tensor(g, dtype=dtype))
    tol = dict(rtol=2e-7, atol=1e-14) if backend == "numba" else dict(rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **tol)
    grad_atol = 1e-6 if backend == "numba" else 5e-6  # float32 1 − tanh² near saturation
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=grad_atol)
    if backend == "numba":  # it ran the compiled loops
        name = "gelu" if approximate == "none" else "gelu_tanh"
        yc, slope = getattr(numba_gelu, name + "_forward")(x)
        np.testing.assert_array_equal(y.detach().numpy(), yc)
        np.testing.assert_array_equal(a.grad.numpy(), g * slope)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_other_inputs_take_the_numpy_path_and_double_backward_works(approximate):
    rng = np.random.default_rng(1)
    x64 = rng.standard_normal((7, 5)) * 3
    with kernels.use_backend("numba"):
        for x in (x64, x64.astype(np.float32).T):  # float64; a non-contiguous view
            a = dg.tensor(x, requires_grad=True)
            t = torch.tensor(x, requires_grad=True)
            (ga,) = dg.autograd.grad(F.gelu(a, approximate=approximate).sum(), a,
                                     create_graph=True)
            (gt,) = torch.autograd.grad(
                torch.nn.functional.gelu(t, approximate=approximate).sum(), t, create_graph=True)
            np.testing.assert_allclose(ga.detach().numpy(), gt.detach().numpy(), rtol=1e-6,
                                       atol=1e-6)  # float32: both round 1 − tanh² their way
            (gga,) = dg.autograd.grad(ga.sum(), a)
            (ggt,) = torch.autograd.grad(gt.sum(), t)
            np.testing.assert_allclose(gga.numpy(), ggt.numpy(), rtol=1e-5, atol=5e-6)
        a = dg.tensor(x64.astype(np.float32), requires_grad=True)
        (ga,) = dg.autograd.grad(F.gelu(a, approximate=approximate).sum(), a,
                                 create_graph=True)  # compiled forward, graph of backward
        t = torch.tensor(x64.astype(np.float32), requires_grad=True)
        (gt,) = torch.autograd.grad(torch.nn.functional.gelu(t, approximate=approximate).sum(),
                                    t, create_graph=True)
        (gga,) = dg.autograd.grad(ga.sum(), a)
        (ggt,) = torch.autograd.grad(gt.sum(), t)
        np.testing.assert_allclose(gga.numpy(), ggt.numpy(), rtol=1e-5, atol=5e-6)
