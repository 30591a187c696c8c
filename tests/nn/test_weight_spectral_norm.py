"""nn.utils.weight_norm / spectral_norm (forward pre-hooks) and their parametrization forms
(nn.utils.parametrizations, nn.utils.parametrize) against torch: the same state_dict keys,
and from the same weights and the same u, v vectors the same outputs, gradients and power
iterations for several training steps, then in eval mode."""
import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn as nn
from tests.conftest import requires_torch

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(42)


def _layers(kind):
    """A deltagrad layer holding a copy of a torch layer's weights, and the input shape."""
    if kind == "linear":
        m, tm, shape = nn.Linear(5, 4), torch.nn.Linear(5, 4), (3, 5)
    elif kind == "conv":
        m, tm, shape = nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)
    else:
        m, tm, shape = nn.ConvTranspose2d(2, 3, 3), torch.nn.ConvTranspose2d(2, 3, 3), (2, 2, 4, 4)
    m, tm = m.double(), tm.double()
    _load_from_torch(m, tm)
    return m, tm, shape


def _load_from_torch(m, tm):
    m.load_state_dict({k: dg.tensor(v.detach().numpy().copy())
                       for k, v in tm.state_dict().items()})


def _run_and_compare(m, tm, shape, steps=3):
    for _ in range(steps):
        x = RNG.standard_normal(shape)
        out, tout = m(dg.tensor(x)), tm(torch.tensor(x))
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        w = RNG.standard_normal(tuple(tout.shape))
        m.zero_grad()
        tm.zero_grad()
        (out * dg.tensor(w)).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        tparams = dict(tm.named_parameters())
        for name, p in m.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-9,
                                       atol=1e-12, err_msg=name)
        tstate = tm.state_dict()
        for k, v in m.state_dict().items():       # the power-iteration vectors too
            np.testing.assert_allclose(v.numpy(), tstate[k].numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=k)


@requires_torch
@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_hook_matches_torch(kind, dim):
    m, tm, shape = _layers(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        nn.utils.weight_norm(m, dim=dim)
        torch.nn.utils.weight_norm(tm, dim=dim)
    assert list(m.state_dict()) == list(tm.state_dict())
    np.testing.assert_allclose(m.weight_g.detach().numpy(), tm.weight_g.detach().numpy())
    _load_from_torch(m, tm)
    _run_and_compare(m, tm, shape)
    nn.utils.remove_weight_norm(m)
    torch.nn.utils.remove_weight_norm(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    _run_and_compare(m, tm, shape, steps=1)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(m)


def _same_state_training_and_eval(m, tm, shape):
    """Same state_dict keys; from torch's u, v the same training steps, then one eval step."""
    assert list(m.state_dict()) == list(tm.state_dict())
    _load_from_torch(m, tm)
    _run_and_compare(m, tm, shape)
    m.eval()
    tm.eval()
    _run_and_compare(m, tm, shape, steps=1)


@requires_torch
@pytest.mark.parametrize("kind", ["linear", "conv", "transposed"])
@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_spectral_norm_hook_matches_torch_from_the_same_u(kind, n_power_iterations):
    m, tm, shape = _layers(kind)
    nn.utils.spectral_norm(m, n_power_iterations=n_power_iterations)
    torch.nn.utils.spectral_norm(tm, n_power_iterations=n_power_iterations)
    _same_state_training_and_eval(m, tm, shape)
    nn.utils.remove_spectral_norm(m)
    torch.nn.utils.remove_spectral_norm(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    _run_and_compare(m, tm, shape, steps=1)


@requires_torch
def test_spectral_norm_divides_by_the_largest_singular_value():
    m = nn.Linear(6, 4).double()
    nn.utils.parametrizations.spectral_norm(m)            # 15 power iterations at registration
    for _ in range(30):
        m(dg.zeros(1, 6, dtype=dg.float64))
    sigma = np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)[0]
    assert abs(sigma - 1.0) < 1e-6


@requires_torch
@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrized_weight_norm_matches_torch(kind, dim):
    m, tm, shape = _layers(kind)
    nn.utils.parametrizations.weight_norm(m, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(tm, dim=dim)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert type(m).__name__ == type(tm).__name__
    assert repr(m) == repr(tm)
    _load_from_torch(m, tm)
    _run_and_compare(m, tm, shape)
    nn.utils.parametrize.remove_parametrizations(m, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(tm, "weight")
    assert type(m).__name__ == type(tm).__name__
    assert list(m.state_dict()) == list(tm.state_dict())
    _run_and_compare(m, tm, shape, steps=1)


@requires_torch
@pytest.mark.parametrize("kind", ["linear", "conv", "transposed"])
def test_parametrized_spectral_norm_matches_torch_from_the_same_u(kind):
    m, tm, shape = _layers(kind)
    nn.utils.parametrizations.spectral_norm(m, n_power_iterations=2)
    torch.nn.utils.parametrizations.spectral_norm(tm, n_power_iterations=2)
    _same_state_training_and_eval(m, tm, shape)


@requires_torch
def test_parametrize_assignment_chain_and_errors():
    class Symmetric(nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

    class Scale(nn.Module):
        def forward(self, x):
            return 2 * x

        def right_inverse(self, x):
            return x / 2

    m = nn.Linear(3, 3).double()
    nn.utils.parametrize.register_parametrization(m, "weight", Symmetric())
    nn.utils.parametrize.register_parametrization(m, "weight", Scale())
    assert nn.utils.parametrize.is_parametrized(m, "weight")
    assert not nn.utils.parametrize.is_parametrized(m, "bias")
    w = m.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)
    target = np.arange(9.0).reshape(3, 3)
    m.weight = dg.tensor(target + target.T)
    np.testing.assert_allclose(m.parametrizations.weight.original.detach().numpy(),
                               (target + target.T) / 2)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.weight = nn.Parameter(dg.zeros(3, 3, dtype=dg.float64))

    class Flatten(nn.Module):
        def forward(self, x):
            return x.reshape(-1)

    with pytest.raises(ValueError, match="may not change the shape"):
        nn.utils.parametrize.register_parametrization(nn.Linear(2, 2), "weight", Flatten())
    flat = nn.utils.parametrize.register_parametrization(nn.Linear(2, 2), "weight", Flatten(),
                                                         unsafe=True)
    assert tuple(flat.weight.shape) == (4,)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        nn.utils.parametrize.register_parametrization(m, "nothing", Scale())
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        k = nn.utils.parametrizations.weight_norm(nn.Linear(2, 2))
        nn.utils.parametrize.remove_parametrizations(k, "weight", leave_parametrized=False)
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        nn.utils.spectral_norm(nn.utils.spectral_norm(nn.Linear(2, 2)))
