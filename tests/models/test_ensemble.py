"""dg.models.Ensemble, bagging and dropout as an implicit ensemble."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.models import (Ensemble, bagging, bootstrap_indices, mc_dropout_probs,
                              weight_scaling_probs)
from tests.conftest import requires_torch, to_torch


@requires_torch
def test_ensemble_averages_member_probabilities_like_torch():
    import torch
    dg.manual_seed(0)
    members = [nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)) for _ in range(4)]
    x = dg.randn(6, 5)
    p = Ensemble(members)(x).detach().numpy()
    ref = []
    for m in members:
        t = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
        t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
        ref.append(torch.softmax(t(to_torch(x)), dim=1).detach().numpy())
    np.testing.assert_allclose(p, np.mean(ref, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    assert p.dtype == np.float32
    assert Ensemble(members).predict(x).tolist() == np.mean(ref, axis=0).argmax(1).tolist()
    assert "members.3.2.weight" in Ensemble(members).state_dict()


def test_ensemble_of_one_logit_members_gives_two_columns():
    lin = nn.Linear(2, 1)
    with dg.no_grad():
        lin.weight.fill_(0.0)
        lin.bias.fill_(np.log(3.0))  # σ(z) = 0.75
    p = Ensemble([lin, lin])(dg.zeros(3, 2)).detach().numpy()
    np.testing.assert_allclose(p, [[0.25, 0.75]] * 3, rtol=1e-6)


def test_ensemble_bad_members():
    with pytest.raises(ValueError, match="Ensemble: needs at least one member"):
        Ensemble([])
    with pytest.raises(TypeError, match=r"members must be nn.Module instances; members \[1\]"):
        Ensemble([nn.Linear(2, 2), "linear"])
    with pytest.raises(ValueError, match="different shapes"):
        Ensemble([nn.Linear(2, 2), nn.Linear(2, 3)])(dg.zeros(1, 2))


def test_bootstrap_indices_draw_with_replacement():
    idx = bootstrap_indices(10_000, np.random.default_rng(0))
    assert idx.min() >= 0 and idx.max() < 10_000
    # a bootstrap sample holds 1 − (1 − 1/n)^n ≈ 63.2 % of the distinct samples
    assert len(np.unique(idx)) / 10_000 == pytest.approx(1 - np.exp(-1), abs=0.01)
    with pytest.raises(ValueError, match="n >= 1"):
        bootstrap_indices(0, np.random.default_rng(0))


def test_bagging_trains_each_member_on_its_bootstrap_sample():
    x = np.arange(50, dtype=np.float32)[:, None]
    y = np.arange(50)
    seen = []
    ens = bagging(lambda m: nn.Linear(1, 2), lambda model, xb, yb, m: seen.append((m, xb, yb)),
                  x, y, members=3, seed=4)
    assert len(ens.members) == 3 and [s[0] for s in seen] == [0, 1, 2]
    rng = np.random.default_rng(4)
    for m, xb, yb in seen:
        idx = bootstrap_indices(50, rng)
        assert np.array_equal(yb, idx) and np.array_equal(xb[:, 0], idx)
    with pytest.raises(ValueError, match="members must be an int >= 1"):
        bagging(lambda m: nn.Linear(1, 2), lambda *a: None, x, y, members=0)
    with pytest.raises(ValueError, match="x has 50 samples but y has 3"):
        bagging(lambda m: nn.Linear(1, 2), lambda *a: None, x, y[:3])


def test_bagged_mlps_beat_their_mean_member_on_digits():
    from deltagrad.experiments.data import image_classification
    from deltagrad.experiments.generalization import bagging_study
    r = bagging_study(image_classification("digits"), members=5, width=32, epochs=3)
    assert r["mean_member"] == pytest.approx(np.mean(r["members"]))
    assert r["ensemble"] > r["mean_member"]


def test_mc_dropout_averages_masks_and_weight_scaling_is_eval_mode():
    dg.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    dg.manual_seed(7)
    mc = mc_dropout_probs(model, x, samples=4)
    dg.manual_seed(7)
    model.train()
    with dg.no_grad():
        manual = np.mean([dg.softmax(model(dg.from_numpy(x)), dim=1).numpy()
                          for _ in range(4)], axis=0)
    np.testing.assert_allclose(mc, manual, rtol=1e-6)
    assert model.training  # the mode is restored
    model.eval()
    with dg.no_grad():
        ws = dg.softmax(model(dg.from_numpy(x)), dim=1).numpy()
    model.train()
    np.testing.assert_allclose(weight_scaling_probs(model, x), ws, rtol=1e-6)
    assert not np.allclose(mc, ws)
    with pytest.raises(ValueError, match="has no dropout layer"):
        mc_dropout_probs(nn.Linear(4, 3), x)
    with pytest.raises(ValueError, match="samples must be an int >= 1"):
        mc_dropout_probs(model, x, samples=0)
