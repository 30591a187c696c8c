"""EarlyStopping (seed 003, "v) Early Stopping"): patience, min_delta, mode, best weights."""
import numpy as np
import pytest

import deltagrad as dg
import deltagrad.optim as optim
from deltagrad.train import EarlyStopping


def test_stops_after_patience_checks_without_improvement():
    es = EarlyStopping(patience=3)
    losses = [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.72, 0.71, 0.69]
    stops = [es.step(v) for v in losses]
    assert stops[:8] == [False] * 7 + [True]
    assert es.best == 0.69 and es.best_epoch == 9 and es.num_bad_epochs == 0
    assert stops[8] is False


def test_min_delta_and_max_mode():
    es = EarlyStopping(patience=2, min_delta=0.1, mode="max")
    assert not es.step(0.5)
    assert not es.step(0.55)          # +0.05 < min_delta: not an improvement
    assert es.step(0.58)
    assert es.best == 0.5
    es = EarlyStopping(patience=0)
    assert not es.step(1.0) and es.step(1.0)
    es = EarlyStopping(patience=1)
    assert not es.step(1.0) and es.step(float("nan"))   # NaN never improves


def test_restores_best_weights_from_state_dict():
    model = dg.nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.5)
    x, y = dg.randn(16, 3), dg.randn(16, 1)
    es = EarlyStopping(patience=2, restore_best_weights=True)
    best = None
    for val in [1.0, 0.5, 0.6, 0.7]:
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        if val == 0.5:
            best = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
        stop = es.step(val, model)
    assert stop
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.detach().numpy(), best[k])
    assert es.state_dict()["best"] == 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=-0.1)
    with pytest.raises(ValueError, match="needs the model"):
        EarlyStopping(restore_best_weights=True).step(1.0)
    with pytest.raises(RuntimeError, match="no improvement"):
        EarlyStopping().restore(dg.nn.Linear(1, 1))
