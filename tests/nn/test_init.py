"""dg.nn.init and every layer's default initialisation: the same distributions as PyTorch's
(Kolmogorov–Smirnov tests on ~10k draws against the exact law and against torch's own
draws), gains and fans as torch computes them, repeatability under dg.manual_seed."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import deltagrad as dg
import deltagrad.nn as nn
from deltagrad.nn import init

torch = pytest.importorskip("torch")

P_MIN = 1e-3  # reject "same distribution" below this KS p-value (seeds are fixed)


def _draws(fn, shape, lib=dg, repeats=1, **kw):
    """Samples of an init function, pooled over ``repeats`` tensors of ``shape``."""
    out = []
    for _ in range(repeats):
        t = lib.empty(*shape, dtype=lib.float64)
        fn(t, **kw)
        out.append(np.asarray(t.detach().numpy()).ravel())
    return np.concatenate(out)


def _same_law(ours, law, theirs=None):
    assert stats.kstest(ours, law).pvalue > P_MIN
    if theirs is not None:
        assert stats.ks_2samp(ours, theirs).pvalue > P_MIN


def test_ks_test_has_power():
    """The KS checks below can fail: a 10% wider uniform is rejected at this sample size."""
    a = _draws(init.uniform_, (100, 100), a=-1.1, b=1.1)
    assert stats.kstest(a, stats.uniform(-1, 2).cdf).pvalue < P_MIN
    b = _draws(init.normal_, (100, 100), std=1.1)
    assert stats.kstest(b, stats.norm(0, 1).cdf).pvalue < P_MIN


# ----------------------------------------------------------------------------- init functions
SHAPE = (100, 50, 2)  # fan_in = 100, fan_out = 200 (receptive field 2), 10k draws
FAN_IN, FAN_OUT = 100, 200

CASES = [
    ("uniform_", dict(a=-2.0, b=3.0), stats.uniform(-2, 5)),
    ("normal_", dict(mean=1.0, std=0.5), stats.norm(1, 0.5)),
    ("trunc_normal_", dict(mean=0.5, std=1.0, a=-1.0, b=1.5),
     stats.truncnorm(-1.5, 1.0, loc=0.5, scale=1.0)),
    ("xavier_uniform_", dict(gain=2.0),
     stats.uniform(-2 * math.sqrt(6 / (FAN_IN + FAN_OUT)), 4 * math.sqrt(6 / (FAN_IN + FAN_OUT)))),
    ("xavier_normal_", dict(gain=0.5), stats.norm(0, 0.5 * math.sqrt(2 / (FAN_IN + FAN_OUT)))),
    ("kaiming_uniform_", dict(a=math.sqrt(5)),
     stats.uniform(-1 / math.sqrt(FAN_IN), 2 / math.sqrt(FAN_IN))),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu"),
     stats.uniform(-math.sqrt(6 / FAN_OUT), 2 * math.sqrt(6 / FAN_OUT))),
    ("kaiming_normal_", dict(nonlinearity="relu"), stats.norm(0, math.sqrt(2 / FAN_IN))),
    ("kaiming_normal_", dict(a=0.2, mode="fan_out"),
     stats.norm(0, math.sqrt(2 / (1 + 0.04)) / math.sqrt(FAN_OUT))),
]


@pytest.mark.parametrize("name,kw,law", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_init_function_matches_law_and_torch(name, kw, law):
    ours = _draws(getattr(init, name), SHAPE, **kw)
    torch.manual_seed(0)
    theirs = _draws(getattr(torch.nn.init, name), SHAPE, lib=torch, **kw)
    _same_law(ours, law.cdf, theirs)


def test_lecun_is_the_notes_xavier():
    """Notes 002 §1.9.1: W = N(0, 1)·√(1/n⁽ˡ⁻¹⁾), i.e. N(0, 1/fan_in) (LeCun); §1.9.2 He:
    N(0, 2/n⁽ˡ⁻¹⁾) = kaiming_normal_(relu)."""
    _same_law(_draws(init.lecun_normal_, SHAPE), stats.norm(0, 1 / math.sqrt(FAN_IN)).cdf)
    _same_law(_draws(init.lecun_uniform_, SHAPE),
              stats.uniform(-math.sqrt(3 / FAN_IN), 2 * math.sqrt(3 / FAN_IN)).cdf)
    _same_law(_draws(init.he_normal_, SHAPE, nonlinearity="relu"),
              stats.norm(0, math.sqrt(2 / FAN_IN)).cdf)
    assert init.he_uniform_ is init.kaiming_uniform_


def test_trunc_normal_bounds_and_default():
    x = _draws(init.trunc_normal_, (100, 100))
    assert x.min() >= -2 and x.max() <= 2
    _same_law(x, stats.truncnorm(-2, 2).cdf)
    y = _draws(init.trunc_normal_, (100, 100), mean=0.0, std=0.02, a=-0.04, b=0.04)
    _same_law(y, stats.truncnorm(-2, 2, scale=0.02).cdf)


def test_constant_ones_zeros_eye():
    t = dg.empty(3, 4)
    assert init.constant_(t, 0.25) is t and (t.numpy() == 0.25).all()
    assert (init.ones_(t).numpy() == 1).all() and (init.zeros_(t).numpy() == 0).all()
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))
    assert t.dtype == np.float32
    p = nn.Parameter(dg.ones(2, 2))  # works on parameters without recording
    init.zeros_(p)
    assert p.grad_fn is None and p.requires_grad and (p.detach().numpy() == 0).all()


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (5, 2, 3)])
def test_orthogonal(shape):
    t = init.orthogonal_(dg.empty(*shape, dtype=dg.float64), gain=2.0)
    q = t.numpy().reshape(shape[0], -1)
    if q.shape[0] <= q.shape[1]:
        np.testing.assert_allclose(q @ q.T, 4 * np.eye(q.shape[0]), atol=1e-12)
    else:
        np.testing.assert_allclose(q.T @ q, 4 * np.eye(q.shape[1]), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(dg.empty(3))


def test_orthogonal_entries_distribution_matches_torch():
    ours = _draws(init.orthogonal_, (100, 100))
    torch.manual_seed(0)
    theirs = _draws(torch.nn.init.orthogonal_, (100, 100), lib=torch)
    assert stats.ks_2samp(ours, theirs).pvalue > P_MIN


def test_calculate_gain_matches_torch():
    for name in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                 "leaky_relu", "selu"]:
        assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name), name
    assert init.calculate_gain("selu") == 0.75 and init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain(
        "leaky_relu", 0.2)
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5), (16, 3, 3, 3), (2, 4, 3, 5, 7)])
def test_fans_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(dg.empty(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fan_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(dg.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(dg.empty(3, 3), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(dg.empty(0, 3))


def test_seeded_init_is_repeatable():
    dg.manual_seed(5)
    a = nn.Linear(4, 3).weight.detach().numpy().copy()
    dg.manual_seed(5)
    b = nn.Linear(4, 3).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)
    g = dg.Generator().manual_seed(1)
    c = init.normal_(dg.empty(5), generator=g).numpy().copy()
    g.manual_seed(1)
    np.testing.assert_array_equal(c, init.normal_(dg.empty(5), generator=g).numpy())


# ----------------------------------------------------------------------------- layer defaults
def _pooled(make, names, n):
    """Parameters ``names`` of ``n`` fresh layers from ``make(lib)``, per name."""
    return {name: np.concatenate([
        np.asarray(getattr(make(), name).detach().numpy()).ravel() for _ in range(n)])
        for name in names}


LAYERS = [
    # (name, dg factory, torch factory, {param: law}, copies for ~10k weight draws)
    ("Linear", lambda L: L.Linear(40, 25),
     {"weight": stats.uniform(-1 / math.sqrt(40), 2 / math.sqrt(40)),
      "bias": stats.uniform(-1 / math.sqrt(40), 2 / math.sqrt(40))}, 10),
    ("Bilinear", lambda L: L.Bilinear(16, 5, 25),
     {"weight": stats.uniform(-1 / 4, 2 / 4), "bias": stats.uniform(-1 / 4, 2 / 4)}, 5),
    ("Embedding", lambda L: L.Embedding(500, 20), {"weight": stats.norm(0, 1)}, 1),
]


@pytest.mark.parametrize("name,make,laws,n", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_default_init_matches_torch(name, make, laws, n):
    ours = _pooled(lambda: make(nn), laws, n)
    torch.manual_seed(0)
    theirs = _pooled(lambda: make(torch.nn), laws, n)
    for pname, law in laws.items():
        _same_law(ours[pname], law.cdf, theirs[pname] if ours[pname].size > 500 else None)


def test_norm_layers_default_init():
    for m in (nn.BatchNorm1d(7), nn.LayerNorm((2, 7)), nn.GroupNorm(7, 7)):
        np.testing.assert_array_equal(m.weight.detach().numpy(), 1)
        np.testing.assert_array_equal(m.bias.detach().numpy(), 0)
    bn = nn.BatchNorm1d(7)
    np.testing.assert_array_equal(bn.running_mean.numpy(), 0)
    np.testing.assert_array_equal(bn.running_var.numpy(), 1)
    assert bn.num_batches_tracked.item() == 0


def test_embedding_padding_default_init():
    m = nn.Embedding(10, 4, padding_idx=3)
    w = m.weight.detach().numpy()
    np.testing.assert_array_equal(w[3], 0)
    assert (w[np.arange(10) != 3] != 0).all()
