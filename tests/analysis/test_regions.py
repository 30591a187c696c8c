"""Linear regions of 1-D ReLU networks (seed 004 §1.6–1.7) and the universal-approximation
experiment (seed 002 §1.7.2, seed 003: one hidden layer fits a continuous function)."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.analysis import count_linear_regions, linear_region_breakpoints
from deltagrad.models import MLP


def relu_net(w, b, v, c=0.0):
    m = MLP([1, len(w), 1], activation="relu", dtype=dg.float64)
    m.load_state_dict({"0.weight": np.asarray(w, float)[:, None], "0.bias": np.asarray(b, float),
                       "2.weight": np.asarray(v, float)[None, :], "2.bias": np.array([c])})
    return m


def test_one_hidden_layer_has_d_plus_one_regions():
    # seed 004 §1.6: "number of linear regions for 1 input and D neurons = D + 1"
    for D in (1, 2, 3, 7):
        joints = np.linspace(-2, 2, D)
        w = np.where(np.arange(D) % 2, 1.0, -2.0)
        m = relu_net(w, -w * joints, np.arange(1, D + 1, dtype=float))
        assert count_linear_regions(m, (-3, 3)) == D + 1
        np.testing.assert_allclose(linear_region_breakpoints(m, (-3, 3)), joints, atol=1e-12)
    # joints outside the interval do not count
    assert count_linear_regions(relu_net([1.0, 1.0], [-5.0, 0.0], [1.0, 1.0]), (-1, 1)) == 2


def test_joint_without_effect_is_merged():
    # a unit whose output weight is 0 switches without bending f
    m = relu_net([1.0, 1.0], [0.0, -1.0], [1.0, 0.0])
    assert count_linear_regions(m, (-2, 2)) == 2
    assert count_linear_regions(m, (-2, 2), merge=False) == 3


def brute_force_regions(m, lo, hi, n=400001):
    x = np.linspace(lo, hi, n)
    with dg.no_grad():
        f = m(dg.tensor(x[:, None])).numpy()[:, 0]
    slope = np.diff(f) / np.diff(x)
    bends = np.abs(np.diff(slope)) > 1e-6 * max(1.0, np.abs(slope).max())
    # a joint between two grid points shows as one or two neighbouring bends
    idx = np.flatnonzero(bends)
    return 1 + int(len(idx) and 1 + np.sum(np.diff(idx) > 2))


@pytest.mark.parametrize("sizes", [[1, 6, 1], [1, 5, 5, 1], [1, 4, 4, 4, 2]])
def test_deep_nets_against_dense_sampling(sizes):
    dg.manual_seed(len(sizes))
    m = MLP(sizes, dtype=dg.float64)
    assert count_linear_regions(m, (-3, 3)) == brute_force_regions(m, -3, 3)
    # and never more than (D + 1)^K (seed 004 §1.7)
    D, K = max(sizes[1:-1]), len(sizes) - 2
    assert count_linear_regions(m, (-3, 3)) <= (D + 1) ** K


def test_other_piecewise_linear_units():
    m = dg.nn.Sequential(dg.nn.Linear(1, 1), dg.nn.Hardtanh(), dg.nn.Linear(1, 1))
    m[0].weight._data[...] = 1.0
    m[0].bias._data[...] = 0.0
    m[2].weight._data[...] = 1.0
    assert count_linear_regions(m, (-5, 5)) == 3                   # kinks at −1 and 1
    assert count_linear_regions(dg.nn.Linear(1, 3), (-1, 1)) == 1


def test_bad_input():
    with pytest.raises(TypeError, match="piecewise-linear"):
        count_linear_regions(MLP([1, 3, 1], activation="sigmoid"), (-1, 1))
    with pytest.raises(ValueError, match="one input"):
        count_linear_regions(MLP([2, 3, 1]), (-1, 1))
    with pytest.raises(ValueError, match="low < high"):
        count_linear_regions(MLP([1, 3, 1]), (1, -1))


def test_universal_approximation_error_falls_with_width():
    from deltagrad.experiments.universal import universal_approximation
    r = universal_approximation(widths=(1, 4, 16), steps=700)
    mse, sup = r["mse"], r["sup"]
    assert mse[1] > 10 * mse[4] and mse[4] > mse[16] and mse[16] < 1e-3
    assert sup[16] < 0.1 < sup[1]


def test_classic_experiments_are_registered():
    from deltagrad.experiments import get_experiment
    for name, task in [("perceptron-and", "perceptron"), ("perceptron-xor", "perceptron"),
                       ("adaline", "adaline"), ("xor-mlp", "binary"),
                       ("universal-approximation", "regression")]:
        e = get_experiment(name)
        assert e.task == task and callable(e.model.figures)
        data = e.data(e.dataset)
        assert len(data.x_train) and data.x_train.dtype == np.float32


def test_perceptron_experiments_train(tmp_path):
    from deltagrad.experiments import get_experiment
    from deltagrad.train.trainer import train
    import io
    rows = train(get_experiment("perceptron-and"), str(tmp_path / "and"), stream=io.StringIO())
    assert rows[-1]["train_accuracy"] == 1.0
    rows = train(get_experiment("perceptron-xor"), str(tmp_path / "xor"), stream=io.StringIO())
    assert max(r["train_accuracy"] for r in rows) <= 0.75
