"""nn.utils.rnn (pad_sequence, pack_padded_sequence, pad_packed_sequence, pack_sequence) and
RNN/LSTM/GRU on a PackedSequence, against torch.nn.utils.rnn with copied weights: outputs,
final states per sequence length and every gradient."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
from deltagrad.nn.utils import rnn

from ..conftest import requires_torch

torch = pytest.importorskip("torch")
# every test runs once per kernel backend: NumPy cells, and Numba cells when installed
pytestmark = pytest.mark.usefixtures("kernel_backend")
trnn = torch.nn.utils.rnn

SETTINGS = settings(max_examples=15, deadline=None, database=None)


def _np(t):
    return t.detach().numpy()


@requires_torch
@SETTINGS
@given(lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4), batch_first=st.booleans(),
       sort=st.booleans(), extra=st.integers(0, 2), seed=st.integers(0, 99))
def test_pack_and_pad_match_torch_with_gradients(lengths, batch_first, sort, extra, seed):
    if sort:
        lengths = sorted(lengths, reverse=True)
    T, B = max(lengths) + extra, len(lengths)
    x = np.random.default_rng(seed).standard_normal((B, T, 2) if batch_first else (T, B, 2))
    a, t = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    p = rnn.pack_padded_sequence(a, lengths, batch_first, enforce_sorted=sort)
    tp = trnn.pack_padded_sequence(t, lengths, batch_first, enforce_sorted=sort)
    np.testing.assert_allclose(_np(p.data), _np(tp.data))
    assert p.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for mine, ref in [(p.sorted_indices, tp.sorted_indices),
                      (p.unsorted_indices, tp.unsorted_indices)]:
        assert (mine is None) == (ref is None)
        if mine is not None:
            assert mine.dtype == dg.int64 and mine.tolist() == ref.tolist()
    u, ln = rnn.pad_packed_sequence(p, batch_first, padding_value=-2.0, total_length=T)
    tu, tln = trnn.pad_packed_sequence(tp, batch_first, padding_value=-2.0, total_length=T)
    np.testing.assert_allclose(_np(u), _np(tu))
    assert ln.dtype == dg.int64 and ln.tolist() == tln.tolist()
    w = np.random.default_rng(seed + 1).standard_normal(tuple(tu.shape))
    (u * dg.tensor(w)).sum().backward()
    (tu * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(_np(a.grad), _np(t.grad))


@requires_torch
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch_with_gradients(side):
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 3)) for n in (2, 4, 1)]
    xs = [dg.tensor(s, requires_grad=True) for s in seqs]
    ts = [torch.tensor(s, requires_grad=True) for s in seqs]
    out = rnn.pad_sequence(xs, batch_first=True, padding_value=-1.0, padding_side=side)
    ref = trnn.pad_sequence(ts, batch_first=True, padding_value=-1.0, padding_side=side)
    np.testing.assert_allclose(_np(out), _np(ref))
    w = rng.standard_normal(tuple(ref.shape))
    (out * dg.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(_np(x.grad), _np(t.grad))


@requires_torch
def test_pack_sequence_and_unpack_sequence_round_trip():
    seqs = [dg.randn(n, 2) for n in (2, 4, 1)]
    p = rnn.pack_sequence(seqs, enforce_sorted=False)
    tp = trnn.pack_sequence([torch.tensor(s.numpy()) for s in seqs], enforce_sorted=False)
    np.testing.assert_allclose(_np(p.data), _np(tp.data))
    for s, back in zip(seqs, rnn.unpack_sequence(p)):
        np.testing.assert_array_equal(s.numpy(), back.numpy())


@requires_torch
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_recurrent_layers_on_packed_sequences_match_torch(mode, bidirectional, batch_first):
    m = getattr(dg.nn, mode)(3, 4, num_layers=2, bidirectional=bidirectional,
                             batch_first=batch_first).double()
    tm = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=bidirectional,
                                 batch_first=batch_first).double()
    tm.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in m.state_dict().items()})
    m.flatten_parameters()
    tm.flatten_parameters()
    lengths = [3, 5, 1, 4]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5, 3) if batch_first else (5, 4, 3))
    h0 = rng.standard_normal((4 if bidirectional else 2, 4, 4))
    hx = (dg.tensor(h0), dg.tensor(h0 * 0.5)) if mode == "LSTM" else dg.tensor(h0)
    thx = (torch.tensor(h0), torch.tensor(h0 * 0.5)) if mode == "LSTM" else torch.tensor(h0)
    a, t = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, h = m(rnn.pack_padded_sequence(a, lengths, batch_first, enforce_sorted=False), hx)
    tout, th = tm(trnn.pack_padded_sequence(t, lengths, batch_first, enforce_sorted=False), thx)
    assert isinstance(out, rnn.PackedSequence)
    assert out.batch_sizes.tolist() == tout.batch_sizes.tolist()
    np.testing.assert_allclose(_np(out.data), _np(tout.data), rtol=1e-9, atol=1e-12)
    states = h if mode == "LSTM" else (h,)
    tstates = th if mode == "LSTM" else (th,)
    for s, ts in zip(states, tstates):  # each sequence's own last state, in the batch's order
        np.testing.assert_allclose(_np(s), _np(ts), rtol=1e-9, atol=1e-12)
    u, _ = rnn.pad_packed_sequence(out, batch_first)
    tu, _ = trnn.pad_packed_sequence(tout, batch_first)
    w = rng.standard_normal(tuple(tu.shape))
    ((u * dg.tensor(w)).sum() + states[0].sum()).backward()
    ((tu * torch.tensor(w)).sum() + tstates[0].sum()).backward()
    np.testing.assert_allclose(_np(a.grad), _np(t.grad), rtol=1e-8, atol=1e-10)
    for (k, v), (_, tv) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(_np(v.grad), _np(tv.grad), rtol=1e-8, atol=1e-10, err_msg=k)


def test_packing_bad_inputs_raise_named_errors():
    x = dg.randn(4, 3, 2)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn.pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(RuntimeError, match="greater than 0"):
        rnn.pack_padded_sequence(x, [2, 0, 1], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="a length 5 exceeds the padded length 4"):
        rnn.pack_padded_sequence(x, [5, 4, 1])
    with pytest.raises(RuntimeError, match="expected 3 lengths"):
        rnn.pack_padded_sequence(x, [4, 1])
    with pytest.raises(RuntimeError, match="empty list of sequences"):
        rnn.pad_sequence([])
    with pytest.raises(RuntimeError, match=r"sequence 1 has shape \(2, 4\)"):
        rnn.pad_sequence([dg.ones(2, 3), dg.ones(2, 4)])
    p = rnn.pack_padded_sequence(x, [4, 2, 1])
    with pytest.raises(ValueError, match="total_length to be at least"):
        rnn.pad_packed_sequence(p, total_length=3)
    with pytest.raises(TypeError, match="expected a PackedSequence"):
        rnn.pad_packed_sequence(x)
