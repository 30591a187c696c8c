"""Issue 20's layers against torch (float64, copied weights, values and gradients): F.unfold /
F.fold and nn.Unfold / nn.Fold for several kernel/stride/padding/dilation, InstanceNorm1d/2d
(affine, running statistics, eval), F.instance_norm, Softmax2d, RMSNorm / F.rms_norm,
LocalResponseNorm, the padding layers, CosineSimilarity, PairwiseDistance."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
import deltagrad.nn as nn
import deltagrad.nn.functional as F
from tests.conftest import requires_torch, values_and_gradients_match

torch = pytest.importorskip("torch")
TF = torch.nn.functional
RNG = np.random.default_rng(2020)


def _compare(dg_fn, torch_fn, *arrays, tol=1e-12):
    values_and_gradients_match(dg_fn, torch_fn, arrays, tol=tol, rng=RNG)


@requires_torch
@settings(max_examples=30, deadline=None)
@given(k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       size=st.tuples(st.integers(5, 8), st.integers(5, 8)), batched=st.booleans())
def test_unfold_and_fold_match_torch(k, d, p, s, size, batched):
    shape = ((2, 3) if batched else (3,)) + size
    a = RNG.standard_normal(shape)
    _compare(lambda x: F.unfold(x, k, d, p, s), lambda x: TF.unfold(x, k, d, p, s), a)
    cols = tuple(TF.unfold(torch.tensor(a), k, d, p, s).shape)
    c = RNG.standard_normal(cols)
    _compare(lambda x: nn.Fold(size, k, d, p, s)(x),
             lambda x: torch.nn.Fold(size, k, d, p, s)(x), c)


def test_unfold_and_fold_reject_bad_input():
    with pytest.raises(RuntimeError, match="Only 3D or 4D input"):
        F.unfold(dg.ones(3, 3), 2)
    with pytest.raises(RuntimeError, match="components must be at least one"):
        F.unfold(dg.ones(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="stride should be greater than zero"):
        nn.Unfold(2, stride=0)(dg.ones(1, 1, 4, 4))
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F.fold(dg.ones(1, 5, 9), (4, 4), 2)
    with pytest.raises(RuntimeError, match="calculated number of sliding blocks 3 \\* 3 = 9"):
        F.fold(dg.ones(1, 4, 8), (4, 4), 2)


def _copy_state(module, tmodule):
    module.load_state_dict({k: dg.tensor(v.detach().numpy())
                            for k, v in tmodule.state_dict().items()})


@requires_torch
@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (4, 3, 7)),
                                       ("InstanceNorm1d", (3, 7)),
                                       ("InstanceNorm2d", (2, 3, 4, 5)),
                                       ("InstanceNorm2d", (3, 4, 5))])
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True),
                                          (False, True)])
def test_instance_norm_matches_torch(cls, shape, affine, track):
    m = getattr(nn, cls)(3, affine=affine, track_running_stats=track).double()
    tm = getattr(torch.nn, cls)(3, affine=affine, track_running_stats=track).double()
    if affine:
        with torch.no_grad():
            tm.weight.copy_(torch.tensor(RNG.standard_normal(3)))
            tm.bias.copy_(torch.tensor(RNG.standard_normal(3)))
    _copy_state(m, tm)
    assert set(m.state_dict()) == set(tm.state_dict())
    for step in range(2):
        a = RNG.standard_normal(shape) * 2 + 1
        _compare(m, tm, a)
        for k, v in tm.state_dict().items():
            np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
    m.eval()
    tm.eval()
    _compare(m, tm, RNG.standard_normal(shape))
    if affine:
        np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-12)
    assert repr(m) == repr(tm)


@requires_torch
def test_instance_norm_errors_and_functional():
    a = RNG.standard_normal((2, 3, 6))
    rm, rv = np.zeros(3), np.ones(3)
    d_rm, d_rv, t_rm, t_rv = dg.tensor(rm), dg.tensor(rv), torch.tensor(rm), torch.tensor(rv)
    _compare(lambda x: F.instance_norm(x, d_rm, d_rv, momentum=0.3),
             lambda x: TF.instance_norm(x, t_rm, t_rv, momentum=0.3), a)
    np.testing.assert_allclose(d_rv.numpy(), t_rv.numpy(), rtol=1e-12)
    np.testing.assert_allclose(d_rm.numpy(), t_rm.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.InstanceNorm1d(3)(dg.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 spatial element"):
        nn.InstanceNorm1d(3)(dg.ones(2, 3, 1))
    with pytest.raises(ValueError, match="to match num_features"):
        nn.InstanceNorm1d(4, affine=True)(dg.ones(2, 3, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(dg.ones(2, 3, 5))
    no_bias = nn.InstanceNorm2d(3, affine=True, bias=False)
    assert no_bias.bias is None
    assert set(no_bias.state_dict()) == set(torch.nn.InstanceNorm2d(3, affine=True,
                                                                    bias=False).state_dict())


@requires_torch
def test_softmax2d_matches_torch():
    for shape in ((2, 3, 4, 5), (3, 4, 5)):
        _compare(nn.Softmax2d(), torch.nn.Softmax2d(), RNG.standard_normal(shape))
    with pytest.raises(ValueError, match="Softmax2d"):
        nn.Softmax2d()(dg.ones(3, 4))


@requires_torch
@pytest.mark.parametrize("shape,normalized", [((4, 6), 6), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_torch(shape, normalized, eps):
    m, tm = nn.RMSNorm(normalized, eps).double(), torch.nn.RMSNorm(normalized, eps).double()
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(RNG.standard_normal(tuple(tm.weight.shape))))
    _copy_state(m, tm)
    assert set(m.state_dict()) == set(tm.state_dict())
    _compare(m, tm, RNG.standard_normal(shape))
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-12)
    _compare(lambda x: F.rms_norm(x, tuple(np.atleast_1d(normalized)), eps=eps),
             lambda x: TF.rms_norm(x, tuple(np.atleast_1d(normalized)), eps=eps),
             RNG.standard_normal(shape))
    with pytest.raises(RuntimeError, match="rms_norm: given normalized_shape"):
        F.rms_norm(dg.ones(3, 5), (4,))


@requires_torch
@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(2, 6, 5), (2, 4, 3, 3), (1, 5, 2, 2, 2)])
def test_local_response_norm_matches_torch(size, shape):
    _compare(nn.LocalResponseNorm(size, alpha=0.3, beta=0.6, k=1.5),
             torch.nn.LocalResponseNorm(size, alpha=0.3, beta=0.6, k=1.5),
             RNG.standard_normal(shape))
    with pytest.raises(ValueError, match="Expected 3D or higher"):
        F.local_response_norm(dg.ones(2, 3), 2)


@requires_torch
@pytest.mark.parametrize("name,padding,shape", [
    ("ZeroPad1d", (1, 2), (2, 3, 5)), ("ZeroPad2d", 1, (2, 3, 4, 5)),
    ("ZeroPad2d", (1, 0, 2, 3), (3, 4, 5)), ("ReflectionPad1d", (2, 1), (2, 3, 5)),
    ("ReflectionPad2d", (1, 2, 2, 0), (2, 3, 4, 5)), ("ReplicationPad1d", 3, (3, 5)),
    ("ReplicationPad2d", (2, 0, 1, 3), (2, 3, 4, 5)), ("CircularPad1d", (1, 2), (2, 3, 5)),
    ("ReflectionPad3d", 1, (1, 2, 3, 3, 3)), ("ReplicationPad3d", (1, 0, 2, 1, 0, 1),
                                             (1, 2, 3, 3, 3))])
def test_padding_layers_match_torch(name, padding, shape):
    m, tm = getattr(nn, name)(padding), getattr(torch.nn, name)(padding)
    _compare(m, tm, RNG.standard_normal(shape))
    assert repr(m) == repr(tm)


@requires_torch
def test_constant_pad_and_bad_padding():
    for name, padding, shape in (("ConstantPad1d", (1, 2), (2, 3, 5)),
                                 ("ConstantPad2d", 2, (3, 4, 5))):
        m, tm = getattr(nn, name)(padding, 3.5), getattr(torch.nn, name)(padding, 3.5)
        _compare(m, tm, RNG.standard_normal(shape))
        assert repr(m) == repr(tm)
    _compare(nn.ConstantPad1d(1, 2.0), torch.nn.ConstantPad1d(1, 2.0), RNG.standard_normal(3))
    _compare(nn.ZeroPad2d(1), torch.nn.ZeroPad2d(1), RNG.standard_normal((1, 2, 2, 3, 3)))
    with pytest.raises(ValueError, match="padding must be an int or a tuple of 4 ints"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(RuntimeError, match="reflect padding"):
        nn.ReflectionPad1d(5)(dg.ones(1, 2, 3))
    with pytest.raises(ValueError, match="ReflectionPad2d: expected 3D or 4D input"):
        nn.ReflectionPad2d(1)(dg.ones(3, 3))


@requires_torch
def test_cosine_similarity_and_pairwise_distance_layers():
    a, b = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    _compare(nn.CosineSimilarity(dim=0), torch.nn.CosineSimilarity(dim=0), a, b)
    _compare(nn.PairwiseDistance(p=3.0, keepdim=True),
             torch.nn.PairwiseDistance(p=3.0, keepdim=True), a, b)
    _compare(nn.PairwiseDistance(), torch.nn.PairwiseDistance(), a, b)


@requires_torch
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, float("inf")])
def test_pdist_matches_torch(p):
    a = RNG.standard_normal((5, 3))
    a[3] = a[1]                                   # a zero distance: gradient 0 there
    _compare(lambda x: F.pdist(x, p), lambda x: TF.pdist(x, p), a)
    counts = F.pdist(dg.tensor(a), 0.0)           # p = 0 counts differing coordinates
    np.testing.assert_array_equal(counts.numpy(), TF.pdist(torch.tensor(a), 0.0).numpy())
    _compare(lambda x: dg.pdist(x, p), lambda x: torch.pdist(x, p), a[:1])
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors"):
        F.pdist(dg.ones(2, 3, 4))
