"""Shared test helpers: PyTorch is the oracle (test-only), seeds are fixed."""
import os

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")

import deltagrad as dg  # noqa: E402

try:
    import torch  # noqa: F401
    torch.set_num_threads(1)
    HAVE_TORCH = True
except ImportError:  # pragma: no cover
    HAVE_TORCH = False

requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch==2.13.0 is the test oracle")


@pytest.fixture(autouse=True)
def _seed():
    dg.manual_seed(0)
    np.random.seed(0)
    yield


def to_torch(t, requires_grad=None):
    """A torch tensor with the same values (and requires_grad) as a deltagrad tensor."""
    import torch
    a = torch.from_numpy(np.array(t.detach().numpy(), copy=True))
    rg = t.requires_grad if requires_grad is None else requires_grad
    return a.requires_grad_(rg) if a.is_floating_point() else a


def assert_close(dg_value, torch_value, rtol=1e-5, atol=1e-6):
    a = dg_value.detach().numpy() if isinstance(dg_value, dg.Tensor) else np.asarray(dg_value)
    b = torch_value.detach().numpy() if hasattr(torch_value, "detach") else np.asarray(torch_value)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    assert a.dtype == b.dtype, f"dtype {a.dtype} != {b.dtype}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def values_and_gradients_match(dg_fn, torch_fn, floats, fixed=(), tol=1e-12, rng=None):
    """deltagrad and torch give the same value and the same gradients of Σ w·out (w random
    from ``rng``) for the float arrays ``floats``; the arrays ``fixed`` are passed as they are
    (targets, labels)."""
    import torch
    rng = np.random.default_rng(0) if rng is None else rng
    ds = [dg.tensor(a, requires_grad=True) for a in floats]
    ts = [torch.tensor(a, requires_grad=True) for a in floats]
    out = dg_fn(*ds, *[dg.tensor(a) for a in fixed])
    tout = torch_fn(*ts, *[torch.tensor(a) for a in fixed])
    assert tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    w = rng.standard_normal(tuple(tout.shape))
    (out * dg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for d, t in zip(ds, ts):
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)
