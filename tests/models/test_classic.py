"""Classic neurons (SYLLABUS §1): worked examples of the notes pinned to exact numbers,
closed-form gradients against autograd, the boolean network on every function of 2 and 3
inputs, and the MLP's parameter count."""
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
from deltagrad.models import (MLP, Adaline, BooleanNetwork, LinearNeuron, LogisticRegression,
                              McCullochPitts, Perceptron, SoftmaxRegression, boolean_network)
from deltagrad.models.classic import ConvergenceWarning
from tests.conftest import requires_torch

X2 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


def rows(n):
    return np.array(list(itertools.product((0, 1), repeat=n)))


# ----------------------------------------------------------------------------- McCulloch–Pitts
def test_mcculloch_pitts_gates_by_threshold():
    # seed 001 "McCulloch & Pitts Neuron Model": binary inputs, no weights, a threshold
    assert McCullochPitts(2).predict(X2).tolist() == [0, 0, 0, 1]           # AND: θ = 2
    assert McCullochPitts(1).predict(X2).tolist() == [0, 1, 1, 1]           # OR: θ = 1
    assert McCullochPitts.NOT().predict([[0], [1]]).tolist() == [1, 0]
    assert McCullochPitts.AND(3).predict(rows(3)).tolist() == [0] * 7 + [1]
    assert McCullochPitts.OR(3).predict(rows(3)).tolist() == [0] + [1] * 7
    out = McCullochPitts(2)(dg.tensor(X2.astype(np.float32)))
    assert out.dtype == dg.float32 and out.tolist() == [0, 0, 0, 1]
    # x1 AND NOT x2 with x2 inhibitory
    assert McCullochPitts(1, inhibitory=(1,)).predict(X2).tolist() == [0, 0, 1, 0]


@pytest.mark.parametrize("bad", [[[0, 2]], [[0.5, 1]], [[-1, 0]]])
def test_mcculloch_pitts_rejects_non_binary(bad):
    with pytest.raises(ValueError, match="binary"):
        McCullochPitts(1).predict(bad)


# ----------------------------------------------------------------------------- perceptron
def test_perceptron_and_by_hand():
    # seed 002 §1.3.2: W = 0, ŷ = g(xW) with g(z) = [z >= 0], W ← W + η(y − ŷ)x, η = 1.
    # Epoch 1 by hand over (0,0),(0,1),(1,0),(1,1) → 0,0,0,1:
    #   (0,0): z = 0 → ŷ = 1, e = −1: b = −1;  (0,1), (1,0): z = −1 → 0, right;
    #   (1,1): z = −1 → 0, e = +1: w = (1, 1), b = 0.  Two mistakes.
    p = Perceptron(2, lr=1.0)
    p.partial_fit(X2, [0, 0, 0, 1])
    assert p.coef_.tolist() == [1.0, 1.0] and p.intercept_ == 0.0
    p = Perceptron(2).fit(X2, [0, 0, 0, 1], epochs=20)
    assert p.errors_ == [2, 3, 3, 2, 1, 0] and p.converged_
    assert p.coef_.tolist() == [2.0, 1.0] and p.intercept_ == -3.0
    assert p.predict(X2).tolist() == [0, 0, 0, 1]


def test_perceptron_learns_or():
    p = Perceptron(2, lr=0.5).fit(X2, [0, 1, 1, 1])
    assert p.converged_ and p.errors_[-1] == 0
    assert p.predict(X2).tolist() == [0, 1, 1, 1]


def test_perceptron_reports_non_convergence_on_xor():
    # seed 002 §1.3.3 (3): no convergence possible if the classes are not linearly separable
    with pytest.warns(ConvergenceWarning, match="linearly separable"):
        p = Perceptron(2).fit(X2, [0, 1, 1, 0], epochs=30)
    assert not p.converged_ and len(p.errors_) == 30 and min(p.errors_) > 0
    assert (p.predict(X2) == [0, 1, 1, 0]).sum() <= 3


def test_perceptron_bad_input():
    with pytest.raises(ValueError, match="n_inputs"):
        Perceptron(0)
    with pytest.raises(ValueError, match="targets must be 0 or 1"):
        Perceptron(2).fit(X2, [0, 2, 1, 0])
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        Perceptron(2).fit(np.zeros((4, 3)), [0, 1, 1, 0])


def test_perceptron_rule_equals_sgd_on_the_perceptron_criterion():
    # the generic training loop's "perceptron" task: SGD with batch 1 is the perceptron rule
    from deltagrad.experiments.universal import PerceptronTask
    task, y = PerceptronTask(), np.array([0, 1, 1, 1])
    m = Perceptron(2, dtype=dg.float64)
    opt = dg.optim.SGD(m.parameters(), lr=1.0)
    ref = Perceptron(2)
    for _ in range(3):
        for xi, yi in zip(X2, y):
            opt.zero_grad()
            task.loss(m(dg.tensor(xi[None])), dg.tensor([float(yi)], dtype=dg.float64)).backward()
            opt.step()
        ref.partial_fit(X2, y)
        np.testing.assert_array_equal(m.coef_, ref.coef_)
        assert m.intercept_ == ref.intercept_


# ----------------------------------------------------------------------------- ADALINE
@pytest.mark.parametrize("rule,scale", [("original", 1.0), ("unit_norm", 1 / math.sqrt(6)),
                                        ("normalized", 1 / 6)])
def test_adaline_one_delta_rule_step(rule, scale):
    # seed 002 §1.4.2, from W = 0: z = 0, e = y − z = 1, x = (1, 2), η = 0.1;
    # ‖[1, x]‖² = 1 + 1 + 4 = 6
    a = Adaline(2, lr=0.1, rule=rule, dtype=dg.float64)
    assert a.coef_.tolist() == [0.0, 0.0] and a.intercept_ == 0.0
    a.partial_fit([1.0, 2.0], 1)
    np.testing.assert_allclose(a.coef_, [0.1 * scale, 0.2 * scale], rtol=1e-15)
    assert a.intercept_ == pytest.approx(0.1 * scale, rel=1e-15)
    # second step on the same sample: e = 1 − z
    z = a.coef_ @ [1.0, 2.0] + a.intercept_
    w_before, b_before = a.coef_, a.intercept_
    a.partial_fit([[1.0, 2.0]], [1])
    np.testing.assert_allclose(a.coef_, w_before + 0.1 * (1 - z) * scale * np.array([1, 2.0]),
                               rtol=1e-14)
    assert a.intercept_ == pytest.approx(b_before + 0.1 * (1 - z) * scale, rel=1e-14)


def test_adaline_converges_to_least_squares_on_and():
    # LMS fits z ≈ y: on AND the least-squares solution is w = (½, ½), b = −¼; z ≥ ½ → AND
    a = Adaline(2, lr=0.05, tol=1e-10, dtype=dg.float64).fit(X2, [0, 0, 0, 1], epochs=5000)
    assert a.converged_
    np.testing.assert_allclose(a.coef_, [0.5, 0.5], atol=0.03)
    assert a.intercept_ == pytest.approx(-0.25, abs=0.03)
    assert a.predict(X2).tolist() == [0, 0, 0, 1]
    assert a.errors_[-1] == 0 and a.cost_[-1] < a.cost_[0]


def test_adaline_bad_rule_and_divergence():
    with pytest.raises(ValueError, match="rule"):
        Adaline(2, rule="fast")
    with pytest.raises(FloatingPointError, match="lr"):
        Adaline(2, lr=50.0).fit(X2 * 100, [0, 0, 0, 1], epochs=200)


# ----------------------------------------------------------------------------- gradient neurons
def test_linear_neuron_exam_updates():
    # seed 000 §3.4: w ← w + α(d − y)x, b ← b + α(d − y); two steps by hand, α = 0.1
    #   w = (0.5, −0.2), b = 0.1; x = (1, 2), d = 1: y = 0.2, d − y = 0.8
    #     → w = (0.58, −0.04), b = 0.18
    #   x = (−1, 0.5), d = 0: y = −0.42, d − y = 0.42 → w = (0.538, −0.019), b = 0.222
    m = LinearNeuron(2, dtype=dg.float64)
    m.load_state_dict({"weight": np.array([[0.5, -0.2]]), "bias": np.array([0.1])})
    for method in ("closed_form", "autograd"):
        m.load_state_dict({"weight": np.array([[0.5, -0.2]]), "bias": np.array([0.1])})
        J1 = m.sgd_step([1.0, 2.0], 1.0, lr=0.1, method=method)
        assert J1 == pytest.approx(0.5 * 0.8 ** 2, rel=1e-14)               # J = ½(d − y)²
        np.testing.assert_allclose(m.weight.detach().numpy(), [[0.58, -0.04]], rtol=1e-14,
                                   atol=1e-16)
        assert m.bias.item() == pytest.approx(0.18, rel=1e-14)
        m.sgd_step([-1.0, 0.5], 0.0, lr=0.1, method=method)
        np.testing.assert_allclose(m.weight.detach().numpy(), [[0.538, -0.019]], rtol=1e-13)
        assert m.bias.item() == pytest.approx(0.222, rel=1e-14)
    # fit with batch_size=1 is the same pair of exam updates
    m.load_state_dict({"weight": np.array([[0.5, -0.2]]), "bias": np.array([0.1])})
    m.fit([[1.0, 2.0], [-1.0, 0.5]], [1.0, 0.0], epochs=1, lr=0.1)
    np.testing.assert_allclose(m.weight.detach().numpy(), [[0.538, -0.019]], rtol=1e-13)


def test_logistic_regression_exam_update():
    # seed 002 §1.5.3: ∂L/∂w = (ŷ − y)x; from 0: ŷ = σ(0) = ½, x = (1, 2), y = 1, η = 0.5
    m = LogisticRegression(2, dtype=dg.float64)
    m.load_state_dict({"weight": np.zeros((1, 2)), "bias": np.zeros(1)})
    g = m.closed_form_grad([1.0, 2.0], [1])
    np.testing.assert_array_equal(g["weight"], [[-0.5, -1.0]])
    np.testing.assert_array_equal(g["bias"], [-0.5])
    loss = m.sgd_step([1.0, 2.0], [1], lr=0.5)
    assert loss == pytest.approx(math.log(2), rel=1e-15)
    np.testing.assert_array_equal(m.weight.detach().numpy(), [[0.25, 0.5]])
    assert m.bias.item() == 0.25
    assert m.predict([[1.0, 2.0], [-3.0, -3.0]]).tolist() == [1, 0]


def test_softmax_regression_gradient_is_minus_et_minus_yhat():
    # seed 003: ∇_{a_L} L = −(e_t − ŷ); with W = 0, ŷ = (⅓, ⅓, ⅓), t = 2, x = (1, 2)
    m = SoftmaxRegression(2, 3, dtype=dg.float64)
    m.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(3)})
    g = m.closed_form_grad([[1.0, 2.0]], [2])
    third = 1 / 3
    np.testing.assert_allclose(g["bias"], [third, third, -2 * third], rtol=1e-15)
    np.testing.assert_allclose(g["weight"], [[third, 2 * third], [third, 2 * third],
                                             [-2 * third, -4 * third]], rtol=1e-15)
    # one-hot targets give the same gradient
    g1 = m.closed_form_grad([[1.0, 2.0]], np.array([[0.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(g1["weight"], g["weight"])
    assert m.loss([[1.0, 2.0]], [2]).item() == pytest.approx(math.log(3), rel=1e-15)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 5), k=st.integers(2, 4),
       reduction=st.sampled_from(["mean", "sum"]), seed=st.integers(0, 2 ** 31 - 1))
def test_closed_form_gradients_match_autograd_float64(n, d, k, reduction, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 2
    models = [
        (LinearNeuron(d, k, dtype=dg.float64), rng.standard_normal((n, k))),
        (LogisticRegression(d, dtype=dg.float64), rng.integers(0, 2, n)),
        (SoftmaxRegression(d, k, dtype=dg.float64), rng.integers(0, k, n)),
    ]
    for m, y in models:
        closed, auto = m.closed_form_grad(X, y, reduction), m.autograd_grad(X, y, reduction)
        assert set(closed) == set(auto) == {"weight", "bias"}
        for key in closed:
            assert closed[key].dtype == np.float64
            np.testing.assert_allclose(closed[key], auto[key], rtol=1e-12, atol=1e-12,
                                       err_msg=f"{type(m).__name__}.{key}")


def test_training_two_ways_gives_the_same_weights():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((12, 3)), rng.integers(0, 3, 12)
    a, b = SoftmaxRegression(3, 3, dtype=dg.float64), SoftmaxRegression(3, 3, dtype=dg.float64)
    b.load_state_dict(a.state_dict())
    a.fit(X, y, epochs=3, lr=0.3, batch_size=4, method="closed_form")
    b.fit(X, y, epochs=3, lr=0.3, batch_size=4, method="autograd")
    np.testing.assert_allclose(a.weight.detach().numpy(), b.weight.detach().numpy(),
                               rtol=1e-12, atol=1e-13)
    assert a.loss_[-1] < a.loss_[0]


def test_logistic_regression_learns_blobs():
    from deltagrad.datasets.synthetic import blobs
    X, y = blobs(200, centers=[[-2.0, -2.0], [2.0, 2.0]], generator=0)
    m = LogisticRegression(2).fit(X, y.numpy(), epochs=5, lr=0.1, batch_size=10)
    assert (m.predict(X) == y.numpy()).mean() > 0.95


def test_gradient_neuron_bad_input():
    with pytest.raises(ValueError, match="class indices"):
        SoftmaxRegression(2, 3).closed_form_grad([[1.0, 2.0]], [3])
    with pytest.raises(ValueError, match="targets must be 0 or 1"):
        LogisticRegression(2).loss([[1.0, 2.0]], [0.5])
    with pytest.raises(ValueError, match="method"):
        LinearNeuron(2).sgd_step([1.0, 2.0], 1.0, lr=0.1, method="magic")
    with pytest.raises(ValueError, match="reduction"):
        LinearNeuron(2).loss([1.0, 2.0], 1.0, reduction="none")


# ----------------------------------------------------------------------------- boolean network
@pytest.mark.parametrize("n", [2, 3])
def test_boolean_network_computes_every_function(n):
    # seed 003: 2^n hidden perceptrons, one per input pattern, represent any boolean function
    X = rows(n)
    for table in itertools.product((0, 1), repeat=2 ** n):
        net = boolean_network(list(table))
        assert net.predict(X).tolist() == list(table), table
    assert len(net.hidden.bias.tolist()) == 2 ** n


def test_boolean_network_weights_are_seed_003s():
    # inputs as ±1; pattern (−1, −1) fires only its own neuron: (−1)(−1) + (−1)(−1) − 2 = 0 ≥ 0
    net = boolean_network("xor")
    assert isinstance(net, BooleanNetwork) and net.n_inputs == 2
    assert net.hidden.weight.tolist() == [[-1, -1], [-1, 1], [1, -1], [1, 1]]
    assert net.hidden.bias.tolist() == [-2, -2, -2, -2]                 # bias = −n (n = 2)
    assert boolean_network([0] * 8).hidden.bias.tolist() == [-3] * 8    # "bias = −3" for n = 3
    assert net.output.weight.tolist() == [[-1, 1, 1, -1]]
    assert net(dg.tensor(X2.astype(np.float32))).tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("table", [[0, 1, 1], [0] * 6, [1], []])
def test_boolean_network_wrong_length(table):
    with pytest.raises(ValueError, match="2\\*\\*n entries"):
        boolean_network(table)


def test_boolean_network_bad_values():
    with pytest.raises(ValueError, match="0 or 1"):
        boolean_network([0, 2, 1, 0])
    with pytest.raises(ValueError, match="inputs must be 0 or 1"):
        boolean_network("and").predict([[0, 3]])


# ----------------------------------------------------------------------------- MLP
def test_mlp_parameter_count_seed_001():
    # seed 001 "Parameter Count": f_w: R² → R with layers 4, 3, 1 has 23 weights + 8 biases
    m = MLP([2, 4, 3, 1])
    assert m.num_weights() == 23 and m.num_biases() == 8
    assert sum(p.numel() for n, p in m.named_parameters() if n.endswith("weight")) == 23
    assert sum(p.numel() for n, p in m.named_parameters() if n.endswith("bias")) == 8
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight",
                                    "4.bias"]
    assert dg.analysis.mlp_param_count([2, 4, 3, 1]) == 31


def test_mlp_activations():
    m = MLP([2, 3, 2], activation="tanh", output_activation="softmax")
    assert isinstance(m[1], dg.nn.Tanh) and isinstance(m[3], dg.nn.Softmax)
    out = m(dg.randn(5, 2))
    np.testing.assert_allclose(out.sum(1).detach().numpy(), np.ones(5), rtol=1e-6)
    leaky = dg.nn.LeakyReLU(0.2)
    m = MLP([1, 2, 2, 1], activation=leaky)
    assert m[1] is not m[3] and m[1].negative_slope == 0.2
    assert isinstance(MLP([1, 1], activation=dg.nn.Sigmoid, output_activation=dg.nn.Sigmoid)[1],
                      dg.nn.Sigmoid)
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([2, 2], output_activation="swoosh")
    with pytest.raises(ValueError, match="sizes"):
        MLP([3])
    with pytest.raises(ValueError, match="every size"):
        MLP([2, 2.5, 1])


@requires_torch
def test_mlp_matches_torch_sequential():
    import torch
    m = MLP([3, 5, 2], activation="sigmoid")
    t = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 2))
    t.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(m(dg.tensor(x)).detach().numpy(),
                               t(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_classic_models_state_dict_is_linear():
    assert list(Perceptron(3).state_dict()) == ["weight", "bias"]
    assert LogisticRegression(3).weight.shape == (1, 3)
    assert SoftmaxRegression(3, 4).weight.shape == (4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Perceptron(2).fit(X2, [0, 0, 0, 1])          # converges: no warning
