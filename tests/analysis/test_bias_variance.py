"""Bias–variance decomposition by bootstrap retraining (seed 004 §4.2)."""
import numpy as np
import pytest

from deltagrad.analysis.bias_variance import (bootstrap_predictions,
                                              squared_loss_decomposition,
                                              zero_one_decomposition)
from deltagrad.experiments.generalization import (bias_variance_regression,
                                                  symmetric_init_study)


def test_squared_loss_worked_example():
    # two models at two test points; ȳ = (0, 1), y = (0.5, 1), f̄ = (1, 1)
    p = np.array([[0.0, 2.0], [2.0, 0.0]])
    r = squared_loss_decomposition(p, y_test=[0.5, 1.0], y_mean=[0.0, 1.0])
    assert r["bias2"] == pytest.approx((1 + 0) / 2)
    assert r["variance"] == pytest.approx((1 + 1) / 2)
    assert r["noise"] == pytest.approx(0.25 / 2)
    assert r["cross"] == pytest.approx(2 * (0.5 * -1 + 0) / 2)
    # (1/BN) Σ (y − f)²: (0.25 + 1 + 2.25 + 1) / 4
    assert r["expected_error"] == pytest.approx(4.5 / 4)
    assert r["bias2"] + r["variance"] + r["noise"] + r["cross"] == \
        pytest.approx(r["expected_error"], rel=1e-12)


def test_synthetic_regression_noise_and_sum():
    rows = bias_variance_regression(degrees=(1, 3, 9), n_train=30, n_test=20000,
                                    noise_std=0.3, rounds=30, seed=0)
    for r in rows:
        assert r["noise"] == pytest.approx(0.09, rel=0.10)  # true Var[y(x)] = 0.3²
        total = r["bias2"] + r["variance"] + r["noise"]
        assert total == pytest.approx(r["expected_error"], rel=0.02)
        assert total + r["cross"] == pytest.approx(r["expected_error"], rel=1e-10)
    by = {r["degree"]: r for r in rows}
    assert by[1]["bias2"] > by[3]["bias2"]         # an underfitting line is biased
    assert by[9]["variance"] > by[3]["variance"]   # a degree-9 fit to 30 points varies


def test_zero_one_worked_example():
    # 4 models, 3 points; y* = (0, 1, 1)
    p = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 0], [0, 0, 2]])
    r = zero_one_decomposition(p, [0, 1, 1], y_test=[0, 0, 1])
    # main predictions (0, 0, 1): point 1 biased; V = (1/4, 1/4, 2/4)
    assert r["bias"] == pytest.approx(1 / 3)
    assert r["variance"] == pytest.approx((0.25 + 0.25 + 0.5) / 3)
    # net variance: +V where unbiased, −P(ŷ = y*) where biased: (0.25 − 0.25 + 0.5) / 3
    assert r["net_variance"] == pytest.approx(0.5 / 3)
    assert r["expected_error"] == pytest.approx((1 + 3 + 2) / 12)
    assert r["expected_error"] == pytest.approx(r["bias"] + r["net_variance"])
    assert r["noise"] == pytest.approx(1 / 3)
    assert r["expected_error_observed"] == pytest.approx((1 + 1 + 2) / 12)


def test_bootstrap_predictions_and_bad_inputs():
    x, y = np.arange(10.0), np.arange(10.0)
    p = bootstrap_predictions(lambda xb, yb, xt, b: np.full(len(xt), yb.mean()), x, y,
                              np.zeros(3), rounds=4)
    assert p.shape == (4, 3) and len(np.unique(p[:, 0])) > 1
    with pytest.raises(ValueError, match="rounds must be an int >= 2"):
        bootstrap_predictions(lambda *a: 0, x, y, x, rounds=1)
    with pytest.raises(ValueError, match=r"shape \(B, N\) with B >= 2"):
        squared_loss_decomposition(np.zeros((1, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="cover 3 test points but the targets have 2"):
        squared_loss_decomposition(np.zeros((2, 3)), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="y_test has 2 labels but y_optimal has 3"):
        zero_one_decomposition(np.zeros((2, 3)), np.zeros(3), np.zeros(2))


def test_symmetric_initialisation_never_breaks_symmetry():
    from deltagrad.experiments.data import image_classification
    rows = {r["init"]: r for r in symmetric_init_study(image_classification("digits"),
                                                       width=16, epochs=2)}
    assert rows["zeros"]["distinct_hidden_units"] == 1
    assert rows["constant 0.1"]["distinct_hidden_units"] == 1
    assert rows["random"]["distinct_hidden_units"] == 16
    assert rows["random"]["test_accuracy"] > rows["constant 0.1"]["test_accuracy"] + 0.2
