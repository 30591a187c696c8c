"""The step-by-step backprop trace (SYLLABUS §5): a 2-2-1 sigmoid network computed by hand
with seed 002 §1.2.4's scalar summary, agreement with dg.optim.SGD after k steps for every
loss, the printed forms and the command line."""
import io
import json
import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.analysis import trace, trace_cli
from deltagrad.models import MLP
from deltagrad.nn import functional as F


def sig(v):
    return 1 / (1 + math.exp(-v))


def net_221():
    m = MLP([2, 2, 1], activation="sigmoid", output_activation="sigmoid", dtype=dg.float64)
    m.load_state_dict({"0.weight": np.array([[0.1, -0.2], [0.4, 0.3]]),
                       "0.bias": np.array([0.1, -0.1]),
                       "2.weight": np.array([[0.5, -0.6]]), "2.bias": np.array([0.2])})
    return m


def test_221_sigmoid_by_hand():
    # seed 002 §1.2.4 summary, with J = ½(d − y)² (seed 000 §3.3), x = (1, 0.5), d = 1, η = 0.5
    x1, x2, d, eta = 1.0, 0.5, 1.0, 0.5
    z11 = 0.1 * x1 - 0.2 * x2 + 0.1                 # = 0.1
    z12 = 0.4 * x1 + 0.3 * x2 - 0.1                 # = 0.45
    h11, h12 = sig(z11), sig(z12)
    z2 = 0.5 * h11 - 0.6 * h12 + 0.2
    y = sig(z2)
    d2 = (y - d) * y * (1 - y)                      # δ⁽²⁾ = ∂J/∂y · σ′(z⁽²⁾)
    d11 = 0.5 * d2 * h11 * (1 - h11)                # δ⁽¹⁾ = w⁽²⁾ δ⁽²⁾ σ′(z⁽¹⁾)
    d12 = -0.6 * d2 * h12 * (1 - h12)
    t = trace(net_221(), [x1, x2], d, loss="half_sse", lr=eta, steps=1)
    r = t[0]
    assert r.loss == pytest.approx(0.5 * (d - y) ** 2, rel=1e-14)
    np.testing.assert_allclose(r.z[0], [z11, z12], rtol=1e-14)
    np.testing.assert_allclose(r.h[0], [h11, h12], rtol=1e-14)
    np.testing.assert_allclose(r.h[1], [y], rtol=1e-14)
    np.testing.assert_allclose(r.delta[1], [d2], rtol=1e-13)
    np.testing.assert_allclose(r.delta[0], [d11, d12], rtol=1e-13)
    np.testing.assert_allclose(r.grads["2.weight"], [[d2 * h11, d2 * h12]], rtol=1e-13)
    np.testing.assert_allclose(r.grads["0.weight"], [[d11 * x1, d11 * x2], [d12 * x1, d12 * x2]],
                               rtol=1e-13)
    np.testing.assert_allclose(r.grads["0.bias"], [d11, d12], rtol=1e-13)
    np.testing.assert_allclose(r.params["2.weight"], [[0.5 - eta * d2 * h11,
                                                       -0.6 - eta * d2 * h12]], rtol=1e-14)
    np.testing.assert_allclose(r.params["0.bias"], [0.1 - eta * d11, -0.1 - eta * d12],
                               rtol=1e-14)
    assert r["params"] is r.params and list(r.params) == ["0.weight", "0.bias", "2.weight",
                                                          "2.bias"]
    # the model itself is left as it was
    assert net_221().state_dict()["2.bias"].tolist() == [0.2]


def test_mazur_2_2_2_worked_example():
    # the widely used worked example (M. Mazur, "A Step by Step Backpropagation Example"):
    # E_total = 0.298371109, w5 → 0.35891648, w1 → 0.149780716 after one step with η = 0.5
    m = MLP([2, 2, 2], activation="sigmoid", output_activation="sigmoid", dtype=dg.float64)
    m.load_state_dict({"0.weight": np.array([[.15, .20], [.25, .30]]),
                       "0.bias": np.array([.35, .35]),
                       "2.weight": np.array([[.40, .45], [.50, .55]]),
                       "2.bias": np.array([.6, .6])})
    r = trace(m, [0.05, 0.10], [0.01, 0.99], loss="half_sse", lr=0.5)[0]
    assert r.loss == pytest.approx(0.298371109, abs=1e-9)
    np.testing.assert_allclose(r.params["2.weight"], [[0.35891648, 0.408666186],
                                                      [0.511301270, 0.561370121]], atol=1e-8)
    np.testing.assert_allclose(r.params["0.weight"], [[0.149780716, 0.19956143],
                                                      [0.24975114, 0.29950229]], atol=1e-8)


CASES = [  # (sizes, activation, output activation, loss, target maker)
    ([3, 4, 2], "tanh", None, "mse", lambda n, rng: rng.standard_normal((n, 2))),
    ([3, 4, 3, 1], "sigmoid", "sigmoid", "half_sse", lambda n, rng: rng.random((n, 1))),
    ([3, 5, 1], "relu", "sigmoid", "bce", lambda n, rng: rng.integers(0, 2, (n, 1)) * 1.0),
    ([3, 5, 1], "leaky_relu", None, "bce", lambda n, rng: rng.integers(0, 2, (n, 1)) * 1.0),
    ([3, 4, 3], "elu", None, "cross_entropy", lambda n, rng: rng.integers(0, 3, n)),
    ([3, 4, 3], "arctan", "softmax", "cross_entropy", lambda n, rng: rng.integers(0, 3, n)),
]


def _torch_style_loss(name, out, d, last_act):
    if name == "mse":
        return F.mse_loss(out, d)
    if name == "half_sse":
        return ((d - out) ** 2).sum() * 0.5
    if name == "bce":
        return F.binary_cross_entropy(out, d) if last_act else \
            F.binary_cross_entropy_with_logits(out, d)
    if last_act:
        return F.nll_loss(out.log(), d)
    return F.cross_entropy(out, d)


@pytest.mark.parametrize("sizes,act,out_act,loss,make", CASES)
@pytest.mark.parametrize("batch", [1, 5])
def test_trace_equals_sgd_after_k_steps(sizes, act, out_act, loss, make, batch):
    rng = np.random.default_rng(len(sizes) + batch)
    m = MLP(sizes, activation=act, output_activation=out_act, dtype=dg.float64)
    x = rng.standard_normal((batch, sizes[0]))
    d = make(batch, rng)
    k, lr = 4, 0.3
    t = trace(m, x, d, loss=loss, lr=lr, steps=k)
    assert len(t) == k and [r.step for r in t] == [1, 2, 3, 4]
    opt = dg.optim.SGD(m.parameters(), lr=lr)
    target = dg.tensor(d) if loss != "cross_entropy" else dg.tensor(d.astype(np.int64))
    losses = []
    for _ in range(k):
        opt.zero_grad()
        value = _torch_style_loss(loss, m(dg.tensor(x)), target, out_act)
        losses.append(value.item())
        value.backward()
        opt.step()
    for name, p in m.named_parameters():
        np.testing.assert_allclose(t[-1].params[name], p.detach().numpy(), rtol=1e-11,
                                   atol=1e-13, err_msg=name)
    np.testing.assert_allclose([r.loss for r in t], losses, rtol=1e-11)
    assert len(t[0].z) == len(t[0].h) == len(t[0].delta) == len(sizes) - 1


def test_single_sample_records_are_vectors_and_batch_grads_sum():
    m = net_221()
    r = trace(m, [1.0, 0.5], [1.0], loss="half_sse", lr=0.1)[0]
    assert r.z[0].shape == (2,) and r.delta[1].shape == (1,) and r.x.shape == (2,)
    # ∂L/∂W = Σₙ δₙ hₙᵀ over a batch: two copies of the sample double the half_sse gradient
    r2 = trace(m, [[1.0, 0.5], [1.0, 0.5]], [[1.0], [1.0]], loss="half_sse", lr=0.1)[0]
    assert r2.z[0].shape == (2, 2)
    np.testing.assert_allclose(r2.grads["0.weight"], 2 * r.grads["0.weight"], rtol=1e-14)


def test_trace_of_single_linear_layer_is_the_exam_update():
    # seed 000 §3.4 through the trace: a Linear layer with J = ½(d − y)²
    lin = dg.nn.Linear(2, 1, dtype=dg.float64)
    lin.load_state_dict({"weight": np.array([[0.5, -0.2]]), "bias": np.array([0.1])})
    r = trace(lin, [1.0, 2.0], 1.0, loss="half_sse", lr=0.1)[0]
    np.testing.assert_allclose(r.params["weight"], [[0.58, -0.04]], rtol=1e-14)
    np.testing.assert_allclose(r.params["bias"], [0.18], rtol=1e-14)


def test_formats():
    t = trace(net_221(), [1.0, 0.5], 1.0, loss="half_sse", lr=0.5, steps=2)
    text = str(t)
    for s in ("δ⁽¹⁾ = (W⁽²⁾ᵀ δ⁽²⁾) ⊙ σ′(z⁽¹⁾)", "∂L/∂W⁽²⁾", "step 2", "J = ½ Σ (d − y)²",
              "(0.weight)"):
        assert s in text, s
    md = t.format("markdown", precision=4)
    assert "| l | σ | z⁽ˡ⁾ | h⁽ˡ⁾ | δ⁽ˡ⁾ |" in md and "### step 2" in md
    tex = t.format("latex")
    assert r"\begin{align*}" in tex and r"\odot\sigma'(\mathbf{z}^{(1)})" in tex
    assert r"\begin{bmatrix}" in tex
    with pytest.raises(ValueError, match="style"):
        t.format("html")


def test_bad_input():
    m = net_221()
    with pytest.raises(ValueError, match="unknown loss"):
        trace(m, [1.0, 0.5], 1.0, loss="hinge")
    with pytest.raises(ValueError, match="x must have shape"):
        trace(m, [1.0, 0.5, 2.0], 1.0)
    with pytest.raises(ValueError, match="steps"):
        trace(m, [1.0, 0.5], 1.0, steps=0)
    with pytest.raises(TypeError, match="unsupported layer"):
        trace(dg.nn.Sequential(dg.nn.Linear(2, 2), dg.nn.Dropout(0.5)), [1.0, 0.5], [1.0, 0.0])
    with pytest.raises(TypeError, match="Softmax is supported only"):
        trace(dg.nn.Sequential(dg.nn.Linear(2, 2), dg.nn.Softmax(dim=-1), dg.nn.Linear(2, 1)),
              [1.0, 0.5], 1.0)
    with pytest.raises(ValueError, match="class indices"):
        trace(MLP([2, 3]), [1.0, 0.5], 5, loss="cross_entropy")


def test_cli_flags_and_spec(tmp_path):
    out = io.StringIO()
    code = trace_cli(["--sizes", "2,2,1", "--activation", "sigmoid", "--output-activation",
                      "sigmoid", "--params", json.dumps({k: np.asarray(v).tolist() for k, v in
                                                         net_221().state_dict().items()}),
                      "--x", "1,0.5", "--target", "1", "--loss", "half_sse", "--lr", "0.5",
                      "--steps", "2"], stream=out)
    assert code == 0
    expected = trace(net_221(), [1.0, 0.5], 1.0, loss="half_sse", lr=0.5, steps=2)
    assert out.getvalue().strip() == str(expected).strip()
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"sizes": [2, 2, 1], "activation": "sigmoid", "x": [1, 0.5],
                                "target": [1], "loss": "half_sse", "lr": 0.5}))
    out = io.StringIO()
    assert trace_cli([str(spec), "--format", "latex"], stream=out) == 0
    assert r"\begin{align*}" in out.getvalue()
    assert trace_cli(["--sizes", "2,2,1"], stream=io.StringIO()) == 2          # no x/target
    assert trace_cli(["--sizes", "2,2,1", "--x", "1,2", "--target", "1", "--params",
                      '{"9.weight": [1]}'], stream=io.StringIO()) == 2
