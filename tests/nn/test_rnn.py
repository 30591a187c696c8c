"""Recurrent layers against PyTorch (outputs, final states, every parameter gradient),
float64 gradchecks of the fused sequence loop, masks, the notes' Jordan example, errors."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
from deltagrad import nn
from deltagrad.ops.recurrent import recurrent_reference, recurrent_sequence
from tests.conftest import assert_close, requires_torch

torch = pytest.importorskip("torch")
# every test runs once per kernel backend: NumPy cells, and Numba cells when installed
pytestmark = pytest.mark.usefixtures("kernel_backend")

LAYERS = {"RNN": (nn.RNN, "RNN"), "LSTM": (nn.LSTM, "LSTM"), "GRU": (nn.GRU, "GRU")}


def _copy_to_torch(m, tm):
    tm.load_state_dict({k: torch.from_numpy(np.array(v.numpy() if hasattr(v, "numpy") else v))
                        for k, v in m.state_dict().items()})


def _compare(kind, num_layers, bidirectional, batch_first, bias=True, hx=False, T=5, B=3,
             I=4, H=6, nonlinearity="tanh", rtol=1e-5, atol=2e-6):
    cls = getattr(nn, kind)
    tcls = getattr(torch.nn, kind)
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
              bias=bias)
    if kind == "RNN":
        kw["nonlinearity"] = nonlinearity
    m, tm = cls(I, H, **kw), tcls(I, H, **kw)
    assert list(m.state_dict()) == list(tm.state_dict())
    _copy_to_torch(m, tm)
    rng = np.random.default_rng(1)
    shape = (B, T, I) if batch_first else (T, B, I)
    x = dg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    D = 2 if bidirectional else 1
    state = None
    if hx:
        h0 = dg.tensor(rng.standard_normal((num_layers * D, B, H)).astype(np.float32),
                       requires_grad=True)
        c0 = dg.tensor(rng.standard_normal((num_layers * D, B, H)).astype(np.float32),
                       requires_grad=True)
        state = (h0, c0) if kind == "LSTM" else h0
    tx = torch.from_numpy(x.detach().numpy().copy()).requires_grad_()
    tstate = None
    if state is not None:
        tstate = tuple(torch.from_numpy(s.detach().numpy().copy()).requires_grad_()
                       for s in (state if kind == "LSTM" else (state,)))
        tstate = tstate if kind == "LSTM" else tstate[0]
    out, hn = m(x, state)
    tout, thn = tm(tx, tstate)
    assert_close(out, tout, rtol, atol)
    finals = hn if kind == "LSTM" else (hn,)
    tfinals = thn if kind == "LSTM" else (thn,)
    for a, b in zip(finals, tfinals):
        assert_close(a, b, rtol, atol)
    # a random cotangent on every output, so every gradient path is exercised
    gy = rng.standard_normal(tuple(out.shape)).astype(np.float32)
    gh = [rng.standard_normal(tuple(f.shape)).astype(np.float32) for f in finals]
    loss = (out * dg.tensor(gy)).sum()
    tloss = (tout * torch.from_numpy(gy)).sum()
    for f, tf, g in zip(finals, tfinals, gh):
        loss = loss + (f * dg.tensor(g)).sum()
        tloss = tloss + (tf * torch.from_numpy(g)).sum()
    loss.backward()
    tloss.backward()
    for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
        assert name == tname
        assert_close(p.grad, tp.grad, 1e-4, 2e-5)
    assert_close(x.grad, tx.grad, 1e-4, 2e-5)
    if state is not None:
        for s, ts in zip(state if kind == "LSTM" else (state,),
                         tstate if kind == "LSTM" else (tstate,)):
            assert_close(s.grad, ts.grad, 1e-4, 2e-5)


@requires_torch
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first",
                         list(itertools.product([1, 2], [False, True], [False, True])))
def test_layers_match_torch(kind, num_layers, bidirectional, batch_first):
    _compare(kind, num_layers, bidirectional, batch_first)


@requires_torch
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_initial_states_and_no_bias_match_torch(kind):
    _compare(kind, 2, True, False, bias=False, hx=True)
    _compare(kind, 1, False, True, bias=True, hx=True)


@requires_torch
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_sequences_of_several_chunks_match_torch(kind):
    """The backward handles CHUNK steps at a time (factors, δ stored into the gradient
    GEMMs' layout): 2 full chunks and a partial one, in both directions."""
    from deltagrad.ops.recurrent import CHUNK
    _compare(kind, 1, True, False, hx=True, T=2 * CHUNK + 3)


@requires_torch
def test_relu_rnn_matches_torch():
    _compare("RNN", 2, True, True, nonlinearity="relu", hx=True)


@requires_torch
@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["RNN", "LSTM", "GRU"]), T=st.integers(1, 6),
       B=st.integers(1, 4), I=st.integers(1, 5), H=st.integers(1, 7),
       layers=st.integers(1, 3), bi=st.booleans(), bf=st.booleans())
def test_random_shapes_match_torch(kind, T, B, I, H, layers, bi, bf):
    _compare(kind, layers, bi, bf, T=T, B=B, I=I, H=H)


@requires_torch
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_cells_match_torch(kind):
    cell, tcell = getattr(nn, kind + "Cell")(4, 5), getattr(torch.nn, kind + "Cell")(4, 5)
    _copy_to_torch(cell, tcell)
    rng = np.random.default_rng(0)
    x = dg.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    h = dg.tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    c = dg.tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    tx, th, tc = (torch.from_numpy(t.detach().numpy().copy()).requires_grad_()
                  for t in (x, h, c))
    if kind == "LSTM":
        h1, c1 = cell(x, (h, c))
        th1, tc1 = tcell(tx, (th, tc))
        assert_close(c1, tc1)
        (h1.sum() + (c1 * c1).sum()).backward()
        (th1.sum() + (tc1 * tc1).sum()).backward()
        assert_close(c.grad, tc.grad, 1e-5, 1e-5)
    else:
        h1, th1 = cell(x, h), tcell(tx, th)
        (h1 * h1).sum().backward()
        (th1 * th1).sum().backward()
    assert_close(h1, th1)
    assert_close(x.grad, tx.grad, 1e-5, 1e-5)
    assert_close(h.grad, th.grad, 1e-5, 1e-5)
    for p, tp in zip(cell.parameters(), tcell.parameters()):
        assert_close(p.grad, tp.grad, 1e-5, 1e-5)
    # unbatched input and no state
    out = cell(x[0])
    tout = tcell(tx[0].detach())
    if kind == "LSTM":
        out, tout = out[0], tout[0]
    assert_close(out, tout)


@requires_torch
def test_unbatched_input_matches_torch():
    m, tm = nn.GRU(3, 4, num_layers=2, bidirectional=True), \
        torch.nn.GRU(3, 4, num_layers=2, bidirectional=True)
    _copy_to_torch(m, tm)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    out, h = m(dg.tensor(x))
    tout, th = tm(torch.from_numpy(x))
    assert_close(out, tout)
    assert_close(h, th)


@pytest.mark.parametrize("B, H", [(1, 4), (3, 1), (2, 3)])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_backward_leaves_the_given_state_gradients_alone(kind, B, H):
    """The backward loop adds into ∂L/∂h_T (and ∂L/∂c_T): with B = 1 or H = 1 their
    transpose is already contiguous, and an in-place sum once overwrote the caller's arrays."""
    layer = getattr(nn, kind)(3, H)
    x = dg.randn(5, B, 3, requires_grad=True)
    out, state = layer(x)
    states = state if isinstance(state, tuple) else (state,)
    grads = [dg.ones(s.shape) * (i + 1) for i, s in enumerate(states)]
    dg.autograd.backward([out.sum()] + list(states), [dg.tensor(1.0)] + grads)
    for i, g in enumerate(grads):
        np.testing.assert_array_equal(g.numpy(), i + 1)


def test_default_init_is_uniform_within_one_over_sqrt_h():
    m = nn.LSTM(10, 25, num_layers=2)
    bound = 1 / np.sqrt(25)
    for name, p in m.named_parameters():
        a = p.detach().numpy()
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.8 * bound, name
    assert tuple(m.weight_ih_l0.shape) == (100, 10)
    assert tuple(m.weight_ih_l1.shape) == (100, 25)
    g = nn.GRU(7, 3, bidirectional=True)
    assert tuple(g.weight_hh_l0_reverse.shape) == (9, 3)
    assert m.weight_ih_l0.dtype == np.float32


@requires_torch
def test_dropout_between_layers_only_in_training():
    m = nn.LSTM(4, 8, num_layers=3, dropout=0.5)
    x = dg.randn(6, 2, 4)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    a, b = a.detach(), b.detach()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    tm = torch.nn.LSTM(4, 8, num_layers=3, dropout=0.5).eval()
    _copy_to_torch(m, tm)
    assert_close(a, tm(torch.from_numpy(x.numpy()))[0])
    m.train()
    c, _ = m(x)
    assert np.abs(c.detach().numpy() - a.numpy()).max() > 1e-4  # dropout changed layer 2/3 input


# ----------------------------------------------------------------------------- gradchecks
@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_sequence_gradcheck_float64(mode, reverse, masked):
    rng = np.random.default_rng(3)
    G = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}[mode]
    T, B, I, H = 4, 3, 2, 3

    def mk(*s):
        return dg.tensor(rng.standard_normal(s) * 0.7, requires_grad=True)
    x, h0, c0 = mk(T, B, I), mk(B, H), mk(B, H)
    w_ih, w_hh, b_ih, b_hh = mk(G * H, I), mk(G * H, H), mk(G * H), mk(G * H)
    mask = dg.tensor(np.array([[1, 1, 1], [1, 0, 1], [1, 0, 1], [1, 0, 0]], np.float64)) \
        if masked else None

    def f(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        hx = (h0, c0) if mode == "LSTM" else h0
        return recurrent_sequence(mode, x, hx, w_ih, w_hh, b_ih, b_hh, reverse=reverse,
                                  mask=mask)
    assert dg.autograd.gradcheck(f, (x, h0, c0, w_ih, w_hh, b_ih, b_hh))


def test_fused_loop_matches_step_by_step_tensor_form():
    rng = np.random.default_rng(0)
    for mode, G in (("LSTM", 4), ("GRU", 3), ("RNN_TANH", 1)):
        x = dg.tensor(rng.standard_normal((7, 2, 3)), requires_grad=True)
        h0 = dg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
        c0 = dg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
        w = [dg.tensor(rng.standard_normal(s), requires_grad=True)
             for s in ((G * 4, 3), (G * 4, 4), (G * 4,), (G * 4,))]
        hx = (h0, c0) if mode == "LSTM" else h0
        fused = recurrent_sequence(mode, x, hx, *w, reverse=True)
        ref = recurrent_reference(mode, x, h0, c0 if mode == "LSTM" else None, *w, reverse=True)
        for a, b in zip(fused, ref):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
        gs = [dg.tensor(rng.standard_normal(tuple(o.shape))) for o in fused]
        params = [x, h0] + w
        g1 = dg.autograd.grad(fused, params, gs, allow_unused=True)
        g2 = dg.autograd.grad(ref, params, gs, allow_unused=True)
        for a, b in zip(g1, g2):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-11)


def test_double_backward_through_fused_lstm():
    rng = np.random.default_rng(1)
    x = dg.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    h0 = dg.tensor(rng.standard_normal((2, 3)))
    c0 = dg.tensor(rng.standard_normal((2, 3)))
    w = [dg.tensor(rng.standard_normal(s) * 0.5, requires_grad=True)
         for s in ((12, 2), (12, 3), (12,), (12,))]

    def f(x, *w):
        return recurrent_sequence("LSTM", x, (h0, c0), *w)[0]
    assert dg.autograd.gradgradcheck(f, (x, *w))


def test_float32_stays_float32():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    out, h = m(dg.randn(5, 2, 3))
    assert out.dtype == np.float32 and h.dtype == np.float32
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in m.parameters())


# ----------------------------------------------------------------------------- masks
@requires_torch
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_lengths_match_packed_sequences(kind):
    lengths = [5, 2, 4]
    m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    tm = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    _copy_to_torch(m, tm)
    x = np.random.default_rng(0).standard_normal((3, 5, 3)).astype(np.float32)
    xd = dg.tensor(x, requires_grad=True)
    out, h = m(xd, lengths=lengths)
    tx = torch.from_numpy(x).requires_grad_()
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first=True,
                                                     enforce_sorted=False)
    tout, th = tm(packed)
    tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=True, total_length=5)
    assert_close(out, tout)
    hn, thn = (h[0], th[0]) if kind == "LSTM" else (h, th)
    assert_close(hn, thn)
    (out.sum() + hn.sum()).backward()
    (tout.sum() + thn.sum()).backward()
    assert_close(xd.grad, tx.grad, 1e-5, 1e-5)
    for p, tp in zip(m.parameters(), tm.parameters()):
        assert_close(p.grad, tp.grad, 1e-4, 1e-5)


def test_last_time_step_and_mask_helpers():
    m = nn.lengths_to_mask([3, 1], 4)
    np.testing.assert_array_equal(m.numpy(), [[1, 1], [1, 0], [1, 0], [0, 0]])
    assert nn.lengths_to_mask([3, 1], batch_first=True).shape == (2, 3)
    out = dg.arange(2 * 4 * 1, dtype=dg.float32).reshape(2, 4, 1)  # (B, T, H)
    last = nn.last_time_step(out, [3, 1], batch_first=True)
    np.testing.assert_array_equal(last.numpy().ravel(), [2, 4])
    with pytest.raises(ValueError, match="lengths"):
        nn.lengths_to_mask([0, 2])


# ----------------------------------------------------------------------------- truncated BPTT
def test_detach_state_cuts_the_graph_but_keeps_values():
    lstm = nn.LSTM(2, 3)
    x = dg.randn(4, 1, 2)
    _, state = lstm(x[:2])
    carried = nn.detach_state(state)
    assert all(not s.requires_grad for s in carried)
    np.testing.assert_array_equal(carried[0].numpy(), state[0].detach().numpy())
    out_trunc, _ = lstm(x[2:], carried)
    out_full, _ = lstm(x)
    np.testing.assert_allclose(out_trunc.detach().numpy(), out_full[2:].detach().numpy(),
                               atol=1e-6)
    # the truncated chunk's loss has no gradient path into the first chunk's input
    xg = x.detach().requires_grad_()
    _, s1 = lstm(xg[:2])
    o2, _ = lstm(xg[2:], nn.detach_state(s1))
    o2.sum().backward()
    assert np.all(xg.grad.numpy()[:2] == 0) and np.any(xg.grad.numpy()[2:] != 0)


def test_bptt_batches_rows_continue_across_chunks():
    tokens = np.arange(101)
    chunks = list(nn.bptt_batches(tokens, batch_size=4, seq_len=10))
    x0, y0 = chunks[0]
    x1, _ = chunks[1]
    assert x0.shape == (4, 10)
    np.testing.assert_array_equal(y0.numpy(), x0.numpy() + 1)
    np.testing.assert_array_equal(x1.numpy()[:, 0], x0.numpy()[:, -1] + 1)
    assert x0.numpy()[1, 0] == 25


# ----------------------------------------------------------------------------- notes' forms
def test_jordan_batched_example_seed_000():
    """Seed 000 §9.3: two sequences of three 2-D vectors, Y(0) = 0, tanh then sigmoid:
    H(t) = tanh(X(t)U + Y(t−1)W + B), Y(t) = σ(H(t)V + C), for the weights below."""
    net = nn.JordanRNN(2, 2, 2, dtype=dg.float64)
    with dg.no_grad():
        net.U.copy_(dg.tensor([[0.5, -0.3], [0.2, 0.4]], dtype=dg.float64))
        net.W.copy_(dg.tensor([[0.1, 0.2], [-0.2, 0.3]], dtype=dg.float64))
        net.V.copy_(dg.tensor([[1.0, -1.0], [0.5, 0.5]], dtype=dg.float64))
        net.b.copy_(dg.tensor([0.1, -0.1], dtype=dg.float64))
        net.c.copy_(dg.tensor([0.0, 0.2], dtype=dg.float64))
    X = dg.tensor([[[1, 2], [-1, 0]], [[-1, 1], [2, -1]], [[0, 3], [3, -1]]], dtype=dg.float64)
    Y, H = net(X)
    np.testing.assert_allclose(H.detach().numpy(), [
        [[0.7615941560, 0.3799489623], [-0.3799489623, 0.1973753202]],
        [[-0.2064753152, 0.6997094350], [0.6697709348, -0.6723068277]],
        [[0.5493619973, 0.8877748830], [0.8845953754, -0.8308405152]]], atol=1e-9)
    np.testing.assert_allclose(Y.detach().numpy(), [
        [[0.7214305342, 0.4081497091], [0.4301445782, 0.6634343377]],
        [[0.5357835694, 0.6805564144], [0.5826393142, 0.3087596716]],
        [[0.7297292694, 0.5236137811], [0.6151884993, 0.2497369653]]], atol=1e-9)


def test_jordan_and_elman_gradcheck():
    rng = np.random.default_rng(0)
    x = dg.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    for cls in (nn.JordanRNN, nn.ElmanRNN):
        net = cls(3, 5, 2, dtype=dg.float64)
        names = [n for n, _ in net.named_parameters()]
        params = [p for _, p in net.named_parameters()]

        def f(x, *ps):
            net._parameters.update(zip(names, ps))  # the perturbed copies gradcheck passes
            return net(x)[0]
        assert dg.autograd.gradcheck(f, (x, *params))


def test_elman_matches_rnn_layer_with_notes_orientation():
    net = nn.ElmanRNN(3, 4, 2, batch_first=True)
    rnn = nn.RNN(3, 4, batch_first=True)
    with dg.no_grad():
        rnn.weight_ih_l0.copy_(net.U.t())
        rnn.weight_hh_l0.copy_(net.W.t())
        rnn.bias_ih_l0.copy_(net.b)
        rnn.bias_hh_l0.zero_()
    x = dg.randn(2, 6, 3)
    Y, H = net(x)
    out, _ = rnn(x)
    np.testing.assert_allclose(H.detach().numpy(), out.detach().numpy(), atol=1e-6)
    expected = 1 / (1 + np.exp(-(out.detach().numpy() @ net.V.detach().numpy()
                                 + net.c.detach().numpy())))
    np.testing.assert_allclose(Y.detach().numpy(), expected, atol=1e-6)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_names_the_layer_and_expected_shape():
    lstm = nn.LSTM(4, 6, num_layers=2)
    with pytest.raises(RuntimeError, match=r"LSTM\(4, 6, num_layers=2\).*rank 3.*got shape"):
        lstm(dg.randn(2, 3, 4, 1))
    with pytest.raises(RuntimeError, match=r"LSTM\(4, 6, num_layers=2\).*4 features"):
        lstm(dg.randn(5, 3, 7))
    with pytest.raises(RuntimeError, match=r"h_0 of shape \(2, 3, 6\)"):
        lstm(dg.randn(5, 3, 4), (dg.zeros(1, 3, 6), dg.zeros(2, 3, 6)))
    with pytest.raises(RuntimeError, match=r"c_0 of shape \(2, 3, 6\)"):
        lstm(dg.randn(5, 3, 4), (dg.zeros(2, 3, 6), dg.zeros(2, 3, 5)))
    gru = nn.GRU(4, 6, bidirectional=True)
    with pytest.raises(RuntimeError, match=r"GRU\(4, 6\).*hx of shape \(2, 3, 6\)"):
        gru(dg.randn(5, 3, 4), dg.zeros(1, 3, 6))
    with pytest.raises(RuntimeError, match=r"GRUCell\(4, 6\).*\(batch, 4\)"):
        nn.GRUCell(4, 6)(dg.randn(3, 5))
    with pytest.raises(RuntimeError, match=r"LSTMCell\(4, 6\).*state c of shape \(3, 6\)"):
        nn.LSTMCell(4, 6)(dg.randn(3, 4), (dg.zeros(3, 6), dg.zeros(2, 6)))
    with pytest.raises(RuntimeError, match=r"JordanRNN\(2, 3, 1\).*\(seq_len, batch, 2\)"):
        nn.JordanRNN(2, 3, 1)(dg.randn(4, 2))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(2, 3, nonlinearity="sigmoid")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("lengths", [False, True])
def test_batch_first_output_is_contiguous_and_equals_the_time_first_layout(kind, lengths,
                                                                          kernel_backend):
    """A one-direction batch-first layer lays its outputs out (B, T, H) in memory, so the
    output a Linear head reads is contiguous; the numbers (outputs, states, every gradient)
    equal, bit for bit, the same layer run time-first on the transposed input."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 7, 4)).astype(np.float32)  # (B, T, I)
    g = rng.standard_normal((3, 7, 5)).astype(np.float32)
    lens = dg.tensor([7, 4, 6]) if lengths else None
    results = []
    for batch_first in (True, False):
        dg.manual_seed(0)
        layer = getattr(nn, kind)(4, 5, num_layers=2, batch_first=batch_first)
        xt = dg.tensor(x if batch_first else x.transpose(1, 0, 2).copy(), requires_grad=True)
        out, state = layer(xt, lengths=lens) if lengths else layer(xt)
        if batch_first:
            assert out.detach().numpy().flags.c_contiguous
        else:
            out = out.transpose(0, 1)
        states = state if isinstance(state, tuple) else (state,)
        loss = (out * dg.tensor(g)).sum() + sum((s * s).sum() for s in states)
        loss.backward()
        grad_x = xt.grad.numpy() if batch_first else xt.grad.numpy().transpose(1, 0, 2)
        results.append([out.detach().numpy(), *(s.detach().numpy() for s in states), grad_x] +
                       [p.grad.numpy() for p in layer.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("lengths", [None, [5, 3, 2]])
def test_batch_first_layer_equals_the_time_major_one(kind, bidirectional, lengths):
    """A batch-first layer reads (B, T, I) and writes (B, T, H) where they lie (no
    transposing node in the graph) and gives the time-major layer's outputs, gradients and
    second derivatives (create_graph: the Tensor-op form)."""
    layers = []
    for batch_first in (True, False):
        dg.manual_seed(0)
        layers.append(LAYERS[kind][0](4, 3, num_layers=2, bidirectional=bidirectional,
                                      batch_first=batch_first))
    x = np.random.default_rng(0).standard_normal((3, 5, 4)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((3, 5, 6 if bidirectional else 3))
    kw = {} if lengths is None else {"lengths": lengths}
    results = []
    for layer, xs, ws in ((layers[0], x, w), (layers[1], x.transpose(1, 0, 2), w.transpose(1, 0, 2))):
        xt = dg.from_numpy(np.ascontiguousarray(xs)).requires_grad_()
        out = layer(xt, **kw)[0]
        if lengths is None and layer.batch_first and not bidirectional:
            assert type(out.grad_fn).__name__ == "RecurrentSequence"
        loss = (out * dg.from_numpy(np.ascontiguousarray(ws, dtype=np.float32))).sum()
        params = list(layer.parameters())
        grads = dg.autograd.grad(loss, [xt] + params, create_graph=True)
        second = dg.autograd.grad(sum((g * g).sum() for g in grads), params)
        results.append([out.detach().numpy(), grads[0].detach().numpy()] +
                       [g.detach().numpy() for g in grads[1:]] + [g.numpy() for g in second])
    batch_first, time_major = results
    for i, (a, b) in enumerate(zip(batch_first, time_major)):
        if i < 2:  # the output and the input gradient: (B, T, ·) against (T, B, ·)
            b = b.transpose(1, 0, 2)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
