"""Issue 20's losses against torch (float64, values and gradients, every reduction):
CTCLoss / F.ctc_loss (padded and concatenated targets, blank, zero_infinity, impossible
alignments, unbatched), PoissonNLLLoss, MarginRankingLoss, HingeEmbeddingLoss,
TripletMarginLoss, CosineEmbeddingLoss, SoftMarginLoss, MultiLabelSoftMarginLoss,
MultiMarginLoss."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
import deltagrad.nn as nn
import deltagrad.nn.functional as F
from tests.conftest import requires_torch, values_and_gradients_match

torch = pytest.importorskip("torch")
TF = torch.nn.functional
RNG = np.random.default_rng(1720)
REDUCTIONS = ["mean", "sum", "none"]


def _compare(dg_fn, torch_fn, floats, fixed=(), tol=1e-10):
    """Same value and same gradients for the float arrays; ``fixed`` are passed as is."""
    values_and_gradients_match(dg_fn, torch_fn, floats, fixed, tol=tol, rng=RNG)


def _ctc(lib_ctc, log_softmax, targets, il, tl, **kw):
    return lambda logits: lib_ctc(log_softmax(logits), targets, il, tl, **kw)


@requires_torch
@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 10), N=st.integers(1, 4), C=st.integers(2, 5), data=st.data(),
       reduction=st.sampled_from(REDUCTIONS), zero_infinity=st.booleans(),
       concatenated=st.booleans())
def test_ctc_loss_matches_torch(T, N, C, data, reduction, zero_infinity, concatenated):
    blank = data.draw(st.integers(0, C - 1))
    labels = [c for c in range(C) if c != blank]
    tl = [data.draw(st.integers(0, 5)) for _ in range(N)]
    il = [data.draw(st.integers(0, T)) for _ in range(N)]   # some alignments impossible
    seqs = [[data.draw(st.sampled_from(labels)) for _ in range(n)] for n in tl]
    if concatenated:
        targets = np.array(sum(seqs, []), dtype=np.int64)
    else:
        targets = np.full((N, max(tl) + 1), blank, dtype=np.int64)
        for i, s in enumerate(seqs):
            targets[i, :len(s)] = s
    logits = RNG.standard_normal((T, N, C)) * 2
    kw = dict(blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    d = dg.tensor(logits, requires_grad=True)
    t = torch.tensor(logits, requires_grad=True)
    out = F.ctc_loss(d.log_softmax(2), dg.tensor(targets), il, tl, **kw)
    tout = TF.ctc_loss(t.log_softmax(2), torch.tensor(targets), il, tl, **kw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10)
    if np.isfinite(tout.detach().numpy()).all():
        w = RNG.standard_normal(tuple(tout.shape))
        (out * dg.tensor(w)).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


@requires_torch
def test_ctc_loss_module_tensor_lengths_unbatched_and_long_sequences():
    T, N, C = 200, 2, 6                       # long: probabilities far below float64's range
    logits = RNG.standard_normal((T, N, C)) * 4
    targets = RNG.integers(1, C, (N, 30))
    il, tl = np.array([200, 150]), np.array([30, 17])
    _compare(lambda x, tg, i, l: nn.CTCLoss()(x.log_softmax(2), tg, i, l),
             lambda x, tg, i, l: torch.nn.CTCLoss()(x.log_softmax(2), tg, i, l),
             [logits], [targets, il, tl])
    one = logits[:, 0]
    _compare(lambda x, tg, i, l: F.ctc_loss(x.log_softmax(1), tg, i, l, reduction="none"),
             lambda x, tg, i, l: TF.ctc_loss(x.log_softmax(1), tg, i, l, reduction="none"),
             [one], [targets[0], np.array(200), np.array(30)])


@requires_torch
def test_ctc_loss_takes_float_labels_as_torch_does():
    logits = RNG.standard_normal((5, 2, 3))
    targets = np.array([[1.0, 2.0], [2.0, 2.0]])
    _compare(lambda x, tg: F.ctc_loss(x.log_softmax(2), tg, (5, 5), (2, 2), reduction="none"),
             lambda x, tg: TF.ctc_loss(x.log_softmax(2), tg, (5, 5), (2, 2), reduction="none"),
             [logits], [targets])


def test_ctc_loss_rejects_bad_arguments():
    lp = dg.randn(5, 2, 4).log_softmax(2)
    tg = dg.tensor([[1, 1, 2], [1, 2, 2]])
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most 5"):
        F.ctc_loss(lp, tg, (6, 5), (3, 2))
    with pytest.raises(RuntimeError, match="Expected tensor to have size at least 4"):
        F.ctc_loss(lp, tg, (5, 5), (4, 2))
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(lp, tg, (5, 5), (3, 2), blank=4)
    with pytest.raises(RuntimeError, match="input_lengths must be of size batch_size 2"):
        F.ctc_loss(lp, tg, (5,), (3, 2))
    with pytest.raises(RuntimeError, match=r"target labels must be in \[0, 4\)"):
        F.ctc_loss(lp, dg.tensor([[1, 7, 2], [1, 2, 2]]), (5, 5), (3, 2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.ctc_loss(lp, tg, (5, 5), (3, 2), reduction="avg")


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True),
                                            (False, True)])
def test_poisson_nll_loss_matches_torch(reduction, log_input, full):
    x = RNG.standard_normal((4, 5)) if log_input else RNG.random((4, 5)) + 0.1
    y = RNG.poisson(2.0, (4, 5)).astype(np.float64)
    _compare(lambda a, b: nn.PoissonNLLLoss(log_input, full, reduction=reduction)(a, b),
             lambda a, b: torch.nn.PoissonNLLLoss(log_input, full, reduction=reduction)(a, b),
             [x], [y])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_and_hinge_embedding_match_torch(reduction):
    x1, x2 = RNG.standard_normal(8), RNG.standard_normal(8)
    y = RNG.choice([-1.0, 1.0], 8)
    _compare(lambda a, b, t: nn.MarginRankingLoss(0.3, reduction=reduction)(a, b, t),
             lambda a, b, t: torch.nn.MarginRankingLoss(0.3, reduction=reduction)(a, b, t),
             [x1, x2], [y])
    d = np.abs(RNG.standard_normal((3, 4)))
    y2 = RNG.choice([-1.0, 1.0], (3, 4))
    _compare(lambda a, t: nn.HingeEmbeddingLoss(1.2, reduction=reduction)(a, t),
             lambda a, t: torch.nn.HingeEmbeddingLoss(1.2, reduction=reduction)(a, t),
             [d], [y2])
    with pytest.raises(RuntimeError, match="All input tensors should have same dimension"):
        F.margin_ranking_loss(dg.ones(3), dg.ones(3), dg.ones(1, 3))


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap", [(2, False), (1, True), (3, True)])
def test_triplet_margin_loss_matches_torch(reduction, p, swap):
    a, pos, neg = (RNG.standard_normal((6, 4)) for _ in range(3))
    _compare(lambda x, y, z: nn.TripletMarginLoss(0.7, p, swap=swap, reduction=reduction)(x, y, z),
             lambda x, y, z: torch.nn.TripletMarginLoss(0.7, p, swap=swap,
                                                        reduction=reduction)(x, y, z),
             [a, pos, neg])
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(dg.ones(2, 3), dg.ones(2, 3), dg.ones(3))
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_and_soft_margin_match_torch(reduction):
    x1, x2 = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))
    y = RNG.choice([-1.0, 1.0], 5)
    _compare(lambda a, b, t: nn.CosineEmbeddingLoss(0.2, reduction=reduction)(a, b, t),
             lambda a, b, t: torch.nn.CosineEmbeddingLoss(0.2, reduction=reduction)(a, b, t),
             [x1, x2], [y])
    _compare(lambda a, b, t: F.cosine_embedding_loss(a, b, t, reduction=reduction),
             lambda a, b, t: TF.cosine_embedding_loss(a, b, t, reduction=reduction),
             [x1[0], x2[0]], [np.array(-1.0)])
    with pytest.raises(RuntimeError, match="1D target tensor expects 2D input tensors"):
        F.cosine_embedding_loss(dg.ones(3), dg.ones(3), dg.ones(3))
    x, t = RNG.standard_normal((4, 3)) * 5, RNG.choice([-1.0, 1.0], (4, 3))
    _compare(lambda a, b: nn.SoftMarginLoss(reduction=reduction)(a, b),
             lambda a, b: torch.nn.SoftMarginLoss(reduction=reduction)(a, b), [x], [t])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_and_multi_margin_match_torch(reduction, weighted):
    x = RNG.standard_normal((4, 5)) * 2
    y = RNG.integers(0, 2, (4, 5)).astype(np.float64)
    w = RNG.random(5) + 0.5
    kw_dg = dict(weight=dg.tensor(w)) if weighted else {}
    kw_t = dict(weight=torch.tensor(w)) if weighted else {}
    _compare(lambda a, b: nn.MultiLabelSoftMarginLoss(reduction=reduction, **kw_dg)(a, b),
             lambda a, b: torch.nn.MultiLabelSoftMarginLoss(reduction=reduction, **kw_t)(a, b),
             [x], [y])
    labels = RNG.integers(0, 5, 4)
    for p in (1, 2):
        _compare(lambda a, b: nn.MultiMarginLoss(p, 0.8, reduction=reduction, **kw_dg)(a, b),
                 lambda a, b: torch.nn.MultiMarginLoss(p, 0.8, reduction=reduction,
                                                       **kw_t)(a, b),
                 [x], [labels])
    _compare(lambda a, b: F.multi_margin_loss(a, b, reduction=reduction),
             lambda a, b: TF.multi_margin_loss(a, b, reduction=reduction), [x[0]],
             [np.array(labels[0])])


def test_multi_margin_loss_rejects_bad_arguments():
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(RuntimeError, match="inconsistent target size"):
        F.multi_margin_loss(dg.ones(3, 4), dg.tensor([0, 1]))
    with pytest.raises(IndexError, match="out of bounds for 4 classes"):
        F.multi_margin_loss(dg.ones(2, 4), dg.tensor([0, 4]))


def test_ctc_loss_second_derivative_raises_instead_of_a_silent_zero():
    lp = dg.randn(6, 2, 4, dtype=dg.float64).log_softmax(2).detach().requires_grad_()
    loss = F.ctc_loss(lp, dg.tensor([[1, 2], [3, 3]]), (6, 6), (2, 2))
    g, = dg.autograd.grad(loss, lp, create_graph=True)
    with pytest.raises(RuntimeError, match="second derivative .* not implemented"):
        g.sum().backward()


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_torch(reduction):
    x = RNG.standard_normal((4, 5))
    y = np.array([[3, 0, -1, 1, 2], [4, 4, 1, -1, -1], [-1, 2, 3, 0, 0], [0, 1, 2, 3, 4]])
    _compare(lambda a, b: nn.MultiLabelMarginLoss(reduction=reduction)(a, b),
             lambda a, b: torch.nn.MultiLabelMarginLoss(reduction=reduction)(a, b), [x], [y])
    _compare(lambda a, b: F.multilabel_margin_loss(a, b, reduction=reduction),
             lambda a, b: TF.multilabel_margin_loss(a, b, reduction=reduction), [x[0]], [y[0]])
    with pytest.raises(RuntimeError, match="class indices in \\[0, 5\\) or -1"):
        F.multilabel_margin_loss(dg.tensor(x), dg.tensor(np.full((4, 5), 5)))


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_distance_loss_matches_torch(reduction, swap):
    a, pos, neg = (RNG.standard_normal((6, 4)) for _ in range(3))
    _compare(lambda x, y, z: nn.TripletMarginWithDistanceLoss(swap=swap, reduction=reduction)(
        x, y, z), lambda x, y, z: torch.nn.TripletMarginWithDistanceLoss(
        swap=swap, reduction=reduction)(x, y, z), [a, pos, neg])
    _compare(lambda x, y, z: F.triplet_margin_with_distance_loss(
        x, y, z, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), margin=0.4,
        swap=swap, reduction=reduction),
        lambda x, y, z: TF.triplet_margin_with_distance_loss(
        x, y, z, distance_function=lambda u, v: 1 - TF.cosine_similarity(u, v), margin=0.4,
        swap=swap, reduction=reduction), [a, pos, neg])
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_with_distance_loss(dg.ones(2, 3), dg.ones(2, 3), dg.ones(2, 3),
                                            margin=0.0)
