"""Convolution and pooling against PyTorch on random configurations, plus gradchecks."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
import deltagrad.nn as nn
import deltagrad.nn.functional as F
from deltagrad.nn import kernels
from deltagrad.ops.conv import conv_output_size, conv_transpose_output_size

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture(autouse=True, params=["batch-outer", "batch-inner"])
def column_order(request, monkeypatch):
    """Every test runs with both column orders of im2col/col2im (ops.conv.batch_inner)."""
    from deltagrad.ops import conv
    below = 0 if request.param == "batch-outer" else 10 ** 9
    monkeypatch.setattr(conv, "BATCH_INNER_BELOW", below)
    return request.param


def _compare(fn_dg, fn_t, arrays, rtol=1e-9, atol=1e-9):
    """Same outputs and the same gradients for every float input (float64)."""
    dgs = [dg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    yd, yt = fn_dg(*dgs), fn_t(*ts)
    assert tuple(yd.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yd.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(0).standard_normal(tuple(yd.shape))
    (yd * dg.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    for a, b in zip(dgs, ts):
        if a.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


@st.composite
def conv_configs(draw, transposed=False):
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    size_max = 6 if nd == 3 else 9
    size = tuple(draw(st.integers(max(1, dd * (kk - 1) + 1 - 2 * pp), size_max))
                 for kk, dd, pp in zip(k, d, p))
    op = tuple(draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d))
    bias = draw(st.booleans())
    n = draw(st.integers(1, 2))
    return nd, n, cin, cout, size, k, s, d, p, groups, op, bias


@settings(max_examples=40, deadline=None)
@given(conv_configs())
def test_conv_matches_torch(cfg):
    nd, n, cin, cout, size, k, s, d, p, g, _, bias = cfg
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, cin) + size), rng.standard_normal((cout, cin // g) + k)]
    if bias:
        arrays.append(rng.standard_normal(cout))
    f_dg = getattr(F, f"conv{nd}d")
    f_t = getattr(TF, f"conv{nd}d")
    _compare(lambda x, w, *b: f_dg(x, w, b[0] if b else None, s, p, d, g),
             lambda x, w, *b: f_t(x, w, b[0] if b else None, s, p, d, g), arrays)


@settings(max_examples=40, deadline=None)
@given(conv_configs(transposed=True))
def test_conv_transpose_matches_torch(cfg):
    nd, n, cin, cout, size, k, s, d, p, g, op, bias = cfg
    p = tuple(min(pp, dd * (kk - 1) // 2) for pp, dd, kk in zip(p, d, k))  # outputs > 0
    size = tuple(min(ss, 5) for ss in size)
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((n, cin) + size), rng.standard_normal((cin, cout // g) + k)]
    if bias:
        arrays.append(rng.standard_normal(cout))
    f_dg = getattr(F, f"conv_transpose{nd}d")
    f_t = getattr(TF, f"conv_transpose{nd}d")
    _compare(lambda x, w, *b: f_dg(x, w, b[0] if b else None, s, p, op, g, d),
             lambda x, w, *b: f_t(x, w, b[0] if b else None, s, p, op, g, d), arrays)


@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_conv_matches_torch(multiplier):
    """groups = in_channels (MobileNet's depthwise layer): the input gradient with one output
    channel per group is an outer product per group (ops.conv._group_product)."""
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((4 * multiplier, 1, 3, 3)),
              rng.standard_normal(4 * multiplier)]
    _compare(lambda x, w, b: F.conv2d(x, w, b, 1, 1, 1, 4),
             lambda x, w, b: TF.conv2d(x, w, b, 1, 1, 1, 4), arrays)


def test_conv_same_and_valid_padding():
    rng = np.random.default_rng(3)
    for k in (3, 4):
        arrays = [rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, k, k))]
        _compare(lambda x, w: F.conv2d(x, w, padding="same", dilation=2),
                 lambda x, w: TF.conv2d(x, w, padding="same", dilation=2), arrays)
        _compare(lambda x, w: F.conv2d(x, w, padding="valid"),
                 lambda x, w: TF.conv2d(x, w, padding="valid"), arrays)


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_whose_one_window_is_the_whole_input(groups):
    """DCGAN's first generator layer (1×1 -> 7×7) and last discriminator layer (7×7 -> 1×1):
    one output position, where col2im is a pure transpose; also 1-D and 3-D."""
    rng = np.random.default_rng(4)
    for size in ((7, 7), (5,), (3, 2, 4)):
        nd = len(size)
        conv, tconv = getattr(F, f"conv{nd}d"), getattr(TF, f"conv{nd}d")
        up, tup = getattr(F, f"conv_transpose{nd}d"), getattr(TF, f"conv_transpose{nd}d")
        arrays = [rng.standard_normal((3, 4) + size), rng.standard_normal((6, 4 // groups) + size)]
        _compare(lambda x, w: conv(x, w, groups=groups), lambda x, w: tconv(x, w, groups=groups),
                 arrays)
        arrays = [rng.standard_normal((3, 4) + (1,) * nd),
                  rng.standard_normal((4, 6 // groups) + size)]
        _compare(lambda x, w: up(x, w, groups=groups), lambda x, w: tup(x, w, groups=groups),
                 arrays)


def test_whole_window_conv_as_a_dense_layer_with_bias_strides_and_views():
    """The whole-window path (ops.conv.whole_window: y = x·Wᵀ batch first) with a bias, a
    stride (irrelevant for one window), a non-contiguous input, float32, and its double
    backward, against PyTorch and by gradgradcheck."""
    from deltagrad.ops import conv as conv_ops
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 6, 5)).transpose(0, 1, 3, 2)  # (4, 3, 5, 6), a view
    w, b = rng.standard_normal((7, 3, 5, 6)), rng.standard_normal(7)
    geo = conv_ops.make_geometry((5, 6), (5, 6), (2, 3), (1, 1), ((0, 0), (0, 0)), 1)
    assert conv_ops.whole_window(geo)
    _compare(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 3)),
             lambda x, w, b: TF.conv2d(x, w, b, stride=(2, 3)), [x, w, b])
    y, wt, bt = rng.standard_normal((4, 7, 1, 1)), rng.standard_normal((7, 3, 5, 6)), \
        rng.standard_normal(3)
    _compare(lambda y, w, b: F.conv_transpose2d(y, w, b, stride=2),
             lambda y, w, b: TF.conv_transpose2d(y, w, b, stride=2), [y, wt, bt])
    # one channel on the short side: the adjoint is an outer product (DCGAN's last layer)
    _compare(lambda y, w: F.conv_transpose2d(y, w), lambda y, w: TF.conv_transpose2d(y, w),
             [y[:, :1], wt[:1]])
    _compare(lambda x, w: F.conv2d(x, w), lambda x, w: TF.conv2d(x, w), [x, w[:1]])
    x32 = rng.standard_normal((4, 3, 5, 6)).astype(np.float32)
    w32 = rng.standard_normal((7, 3, 5, 6)).astype(np.float32)
    out = F.conv2d(dg.tensor(x32), dg.tensor(w32))
    assert out.dtype == dg.float32 and tuple(out.shape) == (4, 7, 1, 1)
    np.testing.assert_allclose(out.numpy(), TF.conv2d(torch.tensor(x32), torch.tensor(w32)).numpy(),
                               rtol=1e-5, atol=1e-4)
    xs = dg.tensor(x, requires_grad=True)
    ws = dg.tensor(w, requires_grad=True)
    assert dg.autograd.gradgradcheck(lambda a, c: F.conv2d(a, c), (xs, ws))
    ys = dg.tensor(y, requires_grad=True)
    wts = dg.tensor(wt, requires_grad=True)
    assert dg.autograd.gradgradcheck(lambda a, c: F.conv_transpose2d(a, c), (ys, wts))


@pytest.mark.parametrize("transposed", [False, True])
def test_weight_gradient_written_in_the_weights_shape_is_the_leafs_own(transposed):
    """The weight gradient with O as the product's rows is written straight into an array
    of the weight's shape (no view for the engine to copy); two backward passes accumulate
    to twice PyTorch's gradient, and the first .grad is not changed by the second."""
    rng = np.random.default_rng(6)
    if transposed:  # DCGAN's first generator layer: one whole window
        x, w = rng.standard_normal((5, 4, 1, 1)), rng.standard_normal((4, 6, 3, 3))
        f, tf = F.conv_transpose2d, TF.conv_transpose2d
    else:  # C·K = 4 < O = 8
        x, w = rng.standard_normal((5, 1, 6, 6)), rng.standard_normal((8, 1, 2, 2))
        f, tf = (lambda a, b: F.conv2d(a, b, stride=2)), (lambda a, b: TF.conv2d(a, b, stride=2))
    from deltagrad.ops import conv as conv_ops
    seen = []
    real = conv_ops._conv_weight_grad
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(conv_ops, "_conv_weight_grad", lambda *a, **k: seen.append(real(*a, **k))
                   or seen[-1])
        wd = dg.tensor(w, requires_grad=True)
        y = f(dg.tensor(x), wd)
        gy = rng.standard_normal(tuple(y.shape))  # a contiguous output gradient
        (y * dg.tensor(gy)).sum().backward()
    assert len(seen) == 1 and seen[0].base is None and seen[0].flags.c_contiguous
    first = wd.grad
    kept = first.numpy().copy()
    (f(dg.tensor(x), wd) * dg.tensor(gy)).sum().backward()
    wt = torch.tensor(w, requires_grad=True)
    (tf(torch.tensor(x), wt) * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(kept, wt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(first.numpy(), kept)
    np.testing.assert_allclose(wd.grad.numpy(), 2 * wt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("transposed", [False, True])
def test_conv_double_backward(transposed):
    x = dg.randn(2, 2, 5, 5, dtype=dg.float64, requires_grad=True)
    w = dg.randn(2, 1, 3, 3, dtype=dg.float64, requires_grad=True)
    if transposed:
        fn = lambda a, b: F.conv_transpose2d(a, b, stride=2, padding=1, output_padding=1, groups=2)
    else:
        fn = lambda a, b: F.conv2d(a, b, stride=2, padding=1, groups=2)
    assert dg.autograd.gradcheck(fn, (x, w))
    assert dg.autograd.gradgradcheck(fn, (x, w))


@pytest.mark.parametrize("cls,nd", [(nn.Conv1d, 1), (nn.Conv2d, 2), (nn.Conv3d, 3),
                                    (nn.ConvTranspose1d, 1), (nn.ConvTranspose2d, 2),
                                    (nn.ConvTranspose3d, 3)])
def test_conv_modules_match_torch_after_state_dict_copy(cls, nd):
    kwargs = dict(kernel_size=3, stride=2, padding=1, groups=2, bias=True)
    tm = getattr(torch.nn, cls.__name__)(4, 6, **kwargs).double()
    m = cls(4, 6, **kwargs).double()
    assert [k for k in m.state_dict()] == [k for k in tm.state_dict()]
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    assert repr(m) == repr(tm)
    x = np.random.default_rng(4).standard_normal((2, 4) + (5,) * nd)
    xd, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yd, yt = m(xd), tm(xt)
    np.testing.assert_allclose(yd.detach().numpy(), yt.detach().numpy(), atol=1e-10)
    yd.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(m.bias.grad.numpy(), tm.bias.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv_padding_modes(mode):
    tm = torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode).double()
    m = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode).double()
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((1, 2, 5, 6))
    np.testing.assert_allclose(m(dg.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                               atol=1e-10)


def test_conv_default_init_is_torchs_distribution():
    from scipy.stats import ks_2samp
    dg.manual_seed(0)
    torch.manual_seed(0)
    ours = np.concatenate([nn.Conv2d(16, 8, 5).weight.detach().numpy().ravel() for _ in range(5)])
    theirs = np.concatenate([torch.nn.Conv2d(16, 8, 5).weight.detach().numpy().ravel()
                             for _ in range(5)])
    assert ks_2samp(ours, theirs).pvalue > 1e-3
    bound = 1 / np.sqrt(16 * 25)
    assert np.abs(ours).max() <= bound


def test_conv_float32_stays_float32():
    m = nn.Conv2d(1, 2, 3)
    y = m(dg.randn(1, 1, 5, 5))
    y.sum().backward()
    assert y.dtype == dg.float32 and m.weight.grad.dtype == dg.float32


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=2, stride=1, dilation=2),
                                dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_max_pool2d_matches_torch_with_indices(kw):
    x = np.random.default_rng(6).standard_normal((2, 3, 9, 8))
    _compare(lambda a: F.max_pool2d(a, **kw), lambda a: TF.max_pool2d(a, **kw), [x])
    _, i_dg = F.max_pool2d(dg.tensor(x), return_indices=True, **kw)
    _, i_t = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    assert (i_dg.numpy() == i_t.numpy()).all()


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=(2, 3), stride=(2, 1)),
                                dict(kernel_size=12, stride=1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_max_pool2d_ties_pick_the_first_position_like_torch(kw, dtype):
    """Many equal values (ReLU zeros, small integers): the index and the gradient go to the
    first maximal position of each window, as in PyTorch, for any dtype's index path."""
    x = np.random.default_rng(9).integers(0, 3, (2, 2, 12, 12)).astype(dtype)
    y, i_dg = F.max_pool2d(dg.tensor(x), return_indices=True, **kw)
    ty, i_t = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i_dg.numpy(), i_t.numpy())
    if dtype == np.float64:  # (float32 overlapping windows add in another order)
        _compare(lambda a: F.max_pool2d(a, **kw), lambda a: TF.max_pool2d(a, **kw), [x])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1,
                                     count_include_pad=False),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False),
                                dict(kernel_size=2, divisor_override=3)])
def test_avg_pool2d_matches_torch(kw):
    x = np.random.default_rng(7).standard_normal((2, 3, 9, 8))
    _compare(lambda a: F.avg_pool2d(a, **kw), lambda a: TF.avg_pool2d(a, **kw), [x])


def test_pool_1d_3d_match_torch():
    rng = np.random.default_rng(8)
    _compare(lambda a: F.max_pool1d(a, 3, 2, 1), lambda a: TF.max_pool1d(a, 3, 2, 1),
             [rng.standard_normal((2, 3, 11))])
    _compare(lambda a: F.max_pool3d(a, 2, 2, ceil_mode=True),
             lambda a: TF.max_pool3d(a, 2, 2, ceil_mode=True), [rng.standard_normal((1, 2, 5, 6, 7))])
    _compare(lambda a: F.avg_pool1d(a, 3, 2, 1), lambda a: TF.avg_pool1d(a, 3, 2, 1),
             [rng.standard_normal((2, 3, 10))])
    _compare(lambda a: F.avg_pool3d(a, 2), lambda a: TF.avg_pool3d(a, 2),
             [rng.standard_normal((1, 2, 4, 6, 6))])


@pytest.mark.parametrize("size", [(1, 1), (3, 3), (4, 5), (2, 7), 5, (None, 3)])
def test_adaptive_pools_match_torch(size):
    x = np.random.default_rng(9).standard_normal((2, 3, 9, 8))
    _compare(lambda a: F.adaptive_avg_pool2d(a, size), lambda a: TF.adaptive_avg_pool2d(a, size),
             [x])
    _compare(lambda a: F.adaptive_max_pool2d(a, size), lambda a: TF.adaptive_max_pool2d(a, size),
             [x])


def test_max_unpool_inverts_max_pool_like_torch():
    x = np.random.default_rng(10).standard_normal((2, 3, 8, 7))
    y, i = F.max_pool2d(dg.tensor(x), 2, return_indices=True)
    yt, it = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_allclose(nn.MaxUnpool2d(2)(y, i, output_size=(8, 7)).numpy(),
                               TF.max_unpool2d(yt, it, 2, output_size=(8, 7)).numpy())


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(size=(5, 7)), dict(size=(13, 11))])
def test_upsample_nearest_matches_torch(kw):
    x = np.random.default_rng(11).standard_normal((2, 3, 6, 5))
    _compare(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [x])


def test_pool_double_backward():
    x = dg.randn(2, 2, 6, 6, dtype=dg.float64, requires_grad=True)
    assert dg.autograd.gradgradcheck(lambda a: F.max_pool2d(a, 3, 2, 1) ** 2, (x,))
    assert dg.autograd.gradgradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True) ** 2, (x,))


def test_module_reprs_match_torch():
    pairs = [(nn.MaxPool2d(2), torch.nn.MaxPool2d(2)), (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
             (nn.AdaptiveAvgPool2d((1, 1)), torch.nn.AdaptiveAvgPool2d((1, 1))),
             (nn.Conv2d(3, 8, 3, padding="same", bias=False), torch.nn.Conv2d(3, 8, 3, padding="same", bias=False)),
             (nn.ConvTranspose2d(8, 4, 4, 2, 1, output_padding=1), torch.nn.ConvTranspose2d(8, 4, 4, 2, 1, output_padding=1)),
             (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


# ----------------------------------------------------------------------------- the notes' view
def test_correlate_and_convolve_match_scipy():
    signal = pytest.importorskip("scipy.signal")
    img = dg.randn(6, 7, dtype=dg.float64)
    k = dg.randn(3, 3, dtype=dg.float64)
    np.testing.assert_allclose(F.correlate2d(img, k).numpy(),
                               signal.correlate2d(img.numpy(), k.numpy(), "valid"))
    np.testing.assert_allclose(F.convolve2d(img, k).numpy(),
                               signal.convolve2d(img.numpy(), k.numpy(), "valid"))


def test_classic_kernels_do_what_the_notes_say():
    img = dg.arange(25.0).reshape(5, 5)
    same = dict(padding=1)
    assert dg.equal(F.correlate2d(img, kernels.identity(), **same), img)
    shifted = F.correlate2d(img, kernels.shift(), **same)
    assert dg.equal(shifted[:, 1:], img[:, :-1])  # one pixel to the right
    flat = dg.ones(5, 5)
    assert dg.allclose(F.correlate2d(flat, kernels.blur()), dg.ones(3, 3))
    assert dg.allclose(F.correlate2d(flat, kernels.sharpen()), dg.ones(3, 3))
    assert dg.allclose(F.correlate2d(flat, kernels.edge_vertical()), dg.zeros(3, 3))
    ramp = dg.arange(5.0).reshape(1, 5).expand(5, 5)  # intensity rises left to right
    assert dg.allclose(F.correlate2d(ramp, kernels.edge_vertical()), dg.full((3, 3), -6.0))
    assert dg.allclose(F.correlate2d(ramp, kernels.edge_horizontal()), dg.zeros(3, 3))


def test_output_size_formulas_of_the_notes():
    assert conv_output_size(32, 5) == 28                   # LeNet-5's first layer (seed 002)
    assert conv_output_size(28, 2, stride=2) == 14
    assert conv_output_size(7, 3, stride=2, padding=1) == 4
    assert conv_output_size(7, 3, stride=3) == 2           # floors like the notes' ⌊·⌋
    with pytest.raises(ValueError, match="not an integer"):
        conv_output_size(7, 3, stride=3, exact=True)
    assert conv_transpose_output_size(4, 4, stride=2, padding=1) == 8   # s(n − 1) + f − 2p
    assert conv_transpose_output_size(3, 3, stride=2) == 7


# ----------------------------------------------------------------------------- errors
def test_bad_inputs_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(RuntimeError, match=r"Conv2d: expected input with 3 channels"):
        nn.Conv2d(3, 6, 3)(dg.randn(1, 4, 8, 8))
    with pytest.raises(RuntimeError, match=r"Conv2d: expected a 3-D \(unbatched\) or 4-D"):
        nn.Conv2d(3, 6, 3)(dg.randn(8, 8))
    with pytest.raises(RuntimeError, match="larger than the padded input"):
        nn.Conv2d(1, 1, 5)(dg.randn(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="kernel size"):
        F.max_pool2d(dg.randn(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="padding='same'"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_channel_dropout_zeroes_whole_channels_and_rescales(nd):
    m = getattr(nn, f"Dropout{nd}d")(p=0.5)
    x = dg.ones(64, 8, *(3,) * nd, requires_grad=True)
    y = m(x)
    per_channel = y.detach().numpy().reshape(64, 8, -1)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()   # a channel is all kept or all dropped
    assert 0.35 < (per_channel[..., 0] > 0).mean() < 0.65
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # ∂y/∂x = mask / (1 − p)
    m.eval()
    assert m(x) is x
    assert repr(m) == repr(getattr(torch.nn, f"Dropout{nd}d")(p=0.5))
    # one dimension too many: Dropout1d raises; Dropout2d/3d warn that it is deprecated and
    # still drop channels (PyTorch 2.13's behaviour)
    if nd == 1:
        with pytest.raises(RuntimeError, match="dropout1d: expected"):
            m.train()(dg.ones(2, 2, 2, 2))
    else:
        with pytest.warns(UserWarning, match=f"dropout{nd}d: received a {nd + 3}-D input"):
            m.train()(dg.ones(*(2,) * (nd + 3)))


def test_classic_dropout_scales_at_test_time():
    m = nn.ClassicDropout(p=0.25)
    x = dg.ones(20000)
    kept = m(x).numpy()
    assert set(np.unique(kept)) <= {0.0, 1.0} and abs(kept.mean() - 0.75) < 0.02
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), 0.75)   # E[train output] = test output


@pytest.mark.parametrize("shape, crop", [((300, 64), False), ((128, 7, 7, 64), False),
                                         ((1, 30, 30, 5), True), ((3, 4, 10, 12, 7), True),
                                         ((2, 1), False), ((0, 3, 4), False)])
def test_blocked_batch_to_front_equals_moveaxis(shape, crop):
    """batch_to_front (the blocked transpose of the batch-inner column order) moves exactly
    what np.moveaxis moves, for whole arrays, views and empty ones."""
    from deltagrad.ops.conv import batch_to_front
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if crop:  # the interior of a padded buffer
        a = a[(slice(None),) + tuple(slice(1, s - 1) for s in shape[1:-1]) + (slice(None),)]
    front = batch_to_front(np, a)
    assert front.flags.c_contiguous and front.dtype == a.dtype
    np.testing.assert_array_equal(front, np.moveaxis(a, -1, 0))


@pytest.mark.parametrize("positions", [8 * 1024, 8 * 1024 + 300])
def test_first_layer_weight_gradient_as_summed_partial_products(positions, monkeypatch):
    """A small weight gradient over many positions (O·C·K < 1,024, N·P ≥ 8,192: a first
    layer) is summed from partial products of 1,024 positions: the same gradient as
    PyTorch's (float64), with a remainder block when N·P is not a multiple, and the path is
    the one taken."""
    from deltagrad.ops import conv as conv_ops
    rng = np.random.default_rng(7)
    n, side = positions // 64, 8  # N·P = n·8·8 output positions (3×3 kernel, padding 1)
    x, w = rng.standard_normal((n, 2, side, side)), rng.standard_normal((6, 2, 3, 3))
    taken = []
    real = conv_ops._chunked_product
    monkeypatch.setattr(conv_ops, "_chunked_product",
                        lambda r, c: taken.append(r.shape) or real(r, c))
    wd = dg.tensor(w, requires_grad=True)
    y = F.conv2d(dg.tensor(x), wd, padding=1)
    gy = rng.standard_normal(tuple(y.shape))
    (y * dg.tensor(gy)).sum().backward()
    wt = torch.tensor(w, requires_grad=True)
    (TF.conv2d(torch.tensor(x), wt, padding=1) * torch.tensor(gy)).sum().backward()
    assert taken == [(6, n * side * side)]
    np.testing.assert_allclose(wd.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("input_grad", [False, True])
def test_first_layer_bias_and_weight_gradients_share_one_layout_of_g(input_grad, kernel_backend,
                                                                   monkeypatch):
    """A first layer (its input needs no gradient): ∂L/∂W and ∂L/∂b equal PyTorch's, and g
    is laid out as (O, N·P) rows once for both (the bias sums those rows), under either
    kernel backend (the fixture runs both column orders) -- except where the single-channel
    layer runs directly (kernels/numba_conv_direct.py), which reads g as it lies."""
    from deltagrad.ops import conv as conv_ops
    made = []
    real = conv_ops._channels_first
    monkeypatch.setattr(conv_ops, "_channels_first",
                        lambda *a, **k: made.append(k.get("sums", False)) or real(*a, **k))
    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in
               ((4, 1, 12, 12), (6, 1, 5, 5), (6,)))
    gy = rng.standard_normal((4, 6, 12, 12)).astype(np.float32)
    xd = dg.tensor(x, requires_grad=input_grad)
    wd, bd = dg.tensor(w, requires_grad=True), dg.tensor(b, requires_grad=True)
    F.conv2d(xd, wd, bd, padding=2).backward(dg.tensor(gy))
    if conv_ops.compiled_copy(x, 2):  # direct: only the input gradient's product lays g out
        assert made == ([False] if input_grad else [])
    else:
        assert made == [True]  # one layout of g, which also gives the bias gradient
    xt = torch.tensor(x, requires_grad=input_grad)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    TF.conv2d(xt, wt, bt, padding=2).backward(torch.tensor(gy))
    np.testing.assert_allclose(wd.grad.numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bd.grad.numpy(), bt.grad.numpy(), rtol=1e-5, atol=1e-4)
    if input_grad:
        np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
