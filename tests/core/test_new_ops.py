"""The functions a PyTorch user types in the first hour (issues 13 and 20): results, dtypes and
named errors against PyTorch. The differentiable ones (sort, topk, einsum, diag, normalize,
cosine_similarity, pixel_shuffle) are also in the op registry (opinfo.py), which checks their
values and gradients against torch on hypothesis-drawn inputs and by float64 gradcheck."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import deltagrad as dg
import deltagrad.nn.functional as F

from ..conftest import assert_close, requires_torch, to_torch

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=25, deadline=None, database=None)


# ----------------------------------------------------------------------------- sort / topk
def test_sort_returns_named_values_and_int64_indices():
    x = dg.tensor([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    out = dg.sort(x, dim=1, descending=True)
    assert type(out).__name__ == "sort" and out._fields == ("values", "indices")
    np.testing.assert_array_equal(out.values.numpy(), [[3, 2, 1], [5, 0, -1]])
    assert out.indices.dtype == dg.int64
    np.testing.assert_array_equal(out.indices.numpy(), [[0, 2, 1], [2, 0, 1]])


@requires_torch
@SETTINGS
@given(a=hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                    elements=st.integers(0, 3)),
       descending=st.booleans(), data=st.data())
def test_stable_sort_of_ties_matches_torch(a, descending, data):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    v, i = dg.sort(dg.tensor(a), dim=dim, descending=descending, stable=True)
    tv, ti = torch.sort(torch.tensor(a), dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(dg.argsort(dg.tensor(a), dim, descending, stable=True).numpy(),
                                  ti.numpy())


@requires_torch
def test_sort_puts_nan_last_like_torch():
    a = np.array([1.0, np.nan, -2.0, np.inf, np.nan], np.float32)
    for descending in (False, True):
        v, i = dg.sort(dg.tensor(a), descending=descending)
        tv, ti = torch.sort(torch.tensor(a), descending=descending, stable=True)
        np.testing.assert_array_equal(v.numpy(), tv.numpy())
        np.testing.assert_array_equal(i.numpy(), ti.numpy())


@requires_torch
@SETTINGS
@given(rows=st.integers(1, 3), n=st.integers(65, 300), k=st.integers(1, 8),
       largest=st.booleans(), ties=st.booleans(), nans=st.integers(0, 3),
       seed=st.integers(0, 2 ** 16))
def test_topk_of_long_rows_is_the_head_of_the_stable_sort(rows, n, k, largest, ties, nans,
                                                          seed):
    """Long rows take the partition path: the same values and indices as the first k of a
    stable sort (ties and NaN included) and torch's values."""
    rng = np.random.default_rng(seed)
    a = (rng.integers(0, 4, (rows, n)) if ties else rng.standard_normal((rows, n)))
    a = a.astype(np.float32)
    a[rng.integers(0, rows, nans), rng.integers(0, n, nans)] = np.nan
    v, i = dg.topk(dg.tensor(a), k, largest=largest)
    sv, si = torch.sort(torch.tensor(a), descending=largest, stable=True)
    np.testing.assert_array_equal(i.numpy(), si[:, :k].numpy())
    np.testing.assert_array_equal(v.numpy(), torch.topk(torch.tensor(a), k,
                                                        largest=largest).values.numpy())


def test_topk_gradient_goes_to_the_picked_positions():
    x = dg.tensor([[1.0, 5.0, 3.0], [4.0, 0.0, 2.0]], requires_grad=True)
    v, i = x.topk(2, dim=1)
    np.testing.assert_array_equal(i.numpy(), [[1, 2], [0, 2]])
    (v * dg.tensor([[10.0, 1.0], [10.0, 1.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 10, 1], [10, 0, 1]])


def test_sort_and_topk_of_a_0d_tensor():
    x = dg.tensor(2.5, requires_grad=True)
    v, i = dg.topk(x, 1)
    assert v.shape == () and i.shape == () and i.item() == 0
    v.backward()
    assert x.grad.item() == 1.0
    assert dg.sort(x).values.item() == 2.5


def test_sort_topk_bad_inputs_raise_named_errors():
    x = dg.randn(3, 4)
    with pytest.raises(RuntimeError, match=r"topk\(\).*k=5 is out of range"):
        dg.topk(x, 5)
    with pytest.raises(RuntimeError, match=r"topk\(\).*k=-1"):
        x.topk(-1)
    with pytest.raises(TypeError, match=r"topk\(\): argument 'k' must be an int"):
        x.topk(1.5)
    with pytest.raises(IndexError, match="sort: dimension out of range"):
        dg.sort(x, dim=2)
    with pytest.raises(TypeError, match=r"sort\(\): argument 'input' must be a Tensor"):
        dg.sort([3, 1, 2])


# ----------------------------------------------------------------------------- unique
@requires_torch
@SETTINGS
@given(a=hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
                    elements=st.integers(-2, 2)),
       inverse=st.booleans(), counts=st.booleans())
def test_unique_matches_torch(a, inverse, counts):
    out = dg.unique(dg.tensor(a), return_inverse=inverse, return_counts=counts)
    ref = torch.unique(torch.tensor(a), return_inverse=inverse, return_counts=counts)
    out, ref = (out, ref) if isinstance(out, tuple) else ((out,), (ref,))
    assert len(out) == len(ref)
    for o, r in zip(out, ref):
        assert_close(o, r)


@requires_torch
@SETTINGS
@given(a=hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
                    elements=st.integers(0, 1)), data=st.data())
def test_unique_along_a_dim_matches_torch(a, data):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    out = dg.unique(dg.tensor(a), dim=dim, return_inverse=True, return_counts=True)
    ref = torch.unique(torch.tensor(a), dim=dim, return_inverse=True, return_counts=True)
    for o, r in zip(out, ref):
        assert_close(o, r)


# ----------------------------------------------------------------------------- einsum / diag
@requires_torch
def test_einsum_accepts_a_list_of_operands_and_refuses_mixed_dtypes():
    a, b = dg.randn(2, 3), dg.randn(3, 4)
    assert_close(dg.einsum("ij,jk->ik", [a, b]),
                 torch.einsum("ij,jk->ik", [to_torch(a), to_torch(b)]), rtol=1e-6)
    with pytest.raises(RuntimeError, match=r"einsum\(\): all operands must have the same dtype"):
        dg.einsum("ij,jk->ik", a, b.double())


def test_einsum_bad_equations_raise_named_errors():
    a = dg.randn(2, 3)
    with pytest.raises(RuntimeError, match=r"einsum\(\).*2 operand\(s\) but 1"):
        dg.einsum("ij,jk->ik", a)
    with pytest.raises(RuntimeError, match=r"einsum\(\): subscript 'ijk' does not match"):
        dg.einsum("ijk->i", a)
    with pytest.raises(RuntimeError, match=r"einsum\(\): subscript 'j' has size 2"):
        dg.einsum("ij,jk->ik", a, dg.randn(2, 3))
    with pytest.raises(RuntimeError, match=r"einsum\(\): output subscript 'z'"):
        dg.einsum("ij->z", a)
    with pytest.raises(RuntimeError, match=r"einsum\(\): subscript 'i' is repeated"):
        dg.einsum("ii->i", a)
    with pytest.raises(TypeError, match=r"einsum\(\): operand 1 must be a Tensor"):
        dg.einsum("i,i", dg.ones(2), [1.0, 2.0])


def test_diag_worked_example_and_errors():
    v = dg.tensor([1.0, 2.0])
    np.testing.assert_array_equal(dg.diag(v, 1).numpy(), [[0, 1, 0], [0, 0, 2], [0, 0, 0]])
    np.testing.assert_array_equal(dg.arange(6).reshape(2, 3).diag(-1).numpy(), [3])
    with pytest.raises(RuntimeError, match=r"diag\(\): expected a 1-D or 2-D tensor"):
        dg.diag(dg.ones(2, 2, 2))


# ----------------------------------------------------------------------------- normalize / cos
@requires_torch
def test_cosine_similarity_of_a_zero_vector_matches_torch_including_gradient():
    a = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    b = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 0.5]])
    x, y = dg.tensor(a, requires_grad=True), dg.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, ref = F.cosine_similarity(x, y), torch.nn.functional.cosine_similarity(tx, ty)
    assert_close(out, ref, rtol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy()[1], tx.grad.numpy()[1], rtol=1e-12)


def test_normalize_and_cosine_errors_name_the_argument():
    with pytest.raises(TypeError, match=r"normalize\(\): argument 'input' must be a Tensor"):
        F.normalize([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"cosine_similarity\(\).*x1.*int64"):
        F.cosine_similarity(dg.tensor([1, 2]), dg.tensor([1.0, 2.0]), dim=0)
    with pytest.raises(RuntimeError, match=r"cosine_similarity\(\): x1 of shape \(3, 2\) and x2 "
                                           r"of shape \(3,\) do not broadcast"):
        F.cosine_similarity(dg.ones(3, 2), dg.ones(3), dim=-1)


def test_normalize_worked_example():
    x = dg.tensor([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(F.normalize(x).numpy(), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(F.normalize(x, p=1, dim=1).numpy(), [[3 / 7, 4 / 7], [0, 0]],
                               rtol=1e-6)


def test_pixel_shuffle_errors():
    with pytest.raises(RuntimeError, match=r"pixel_shuffle\(\).*divisible by upscale_factor"):
        F.pixel_shuffle(dg.ones(1, 5, 2, 2), 2)
    with pytest.raises(RuntimeError, match=r"pixel_unshuffle\(\).*divisible by downscale"):
        F.pixel_unshuffle(dg.ones(1, 1, 3, 4), 2)
    with pytest.raises(RuntimeError, match=r"at least 3 dimensions"):
        F.pixel_shuffle(dg.ones(4, 4), 2)


# ----------------------------------------------------------------------------- multinomial
def test_multinomial_frequencies_follow_the_weights():
    w = dg.tensor([1.0, 0.0, 6.0, 3.0])
    s = dg.multinomial(w, 40000, replacement=True)
    assert s.dtype == dg.int64 and s.shape == (40000,)
    freq = np.bincount(s.numpy(), minlength=4) / 40000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.01)


def test_multinomial_without_replacement_first_draw_and_distinctness():
    w = dg.tensor([[1.0, 0.0, 6.0, 3.0]] * 20000)
    s = w.multinomial(3).numpy()
    assert s.shape == (20000, 3)
    assert all(len(set(r)) == 3 for r in s[:500]) and not (s == 1).any()
    np.testing.assert_allclose(np.bincount(s[:, 0], minlength=4) / 20000, [0.1, 0, 0.6, 0.3],
                               atol=0.015)
    # the second draw, given the first was category 2: weights (1, 0, -, 3) / 4
    second = s[s[:, 0] == 2, 1]
    np.testing.assert_allclose(np.bincount(second, minlength=4)[[0, 3]] / len(second),
                               [0.25, 0.75], atol=0.02)


def test_multinomial_is_repeatable_with_a_seed_and_a_generator():
    w = dg.rand(5, 7)
    dg.manual_seed(3)
    a = dg.multinomial(w, 4, True)
    dg.manual_seed(3)
    assert dg.equal(a, dg.multinomial(w, 4, True))
    g = dg.Generator().manual_seed(1)
    b = dg.multinomial(w, 4, generator=g)
    assert dg.equal(b, dg.multinomial(w, 4, generator=dg.Generator().manual_seed(1)))


@pytest.mark.parametrize("w, n, repl, msg", [
    ([0.5, -0.1], 1, True, "element < 0"),
    ([0.0, 0.0], 1, True, "sum of probabilities <= 0"),
    ([0.5, 0.5], 3, False, "n_sample=3 > prob_dist.size"),
    ([0.5, float("nan")], 1, True, "inf, nan"),
    ([0.5, 0.5], 0, True, "n_sample <= 0"),
])
def test_multinomial_bad_inputs_raise_like_torch(w, n, repl, msg):
    with pytest.raises(RuntimeError, match=msg):
        dg.multinomial(dg.tensor(w), n, repl)
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(w), n, repl)


@requires_torch
def test_multinomial_without_replacement_fills_with_zero_weight_categories_like_torch():
    out = dg.multinomial(dg.tensor([[0.5, 0.3, 0.0, 0.0]] * 50), 4).numpy()
    assert set(map(tuple, out[:, :2])) <= {(0, 1), (1, 0)}
    np.testing.assert_array_equal(out[:, 2:], [[3, 2]] * 50)
    ref = torch.multinomial(torch.tensor([0.5, 0.3, 0.0, 0.0]), 4)
    assert ref[2:].tolist() == [3, 2]


def test_multinomial_needs_1d_or_2d_float_weights():
    with pytest.raises(RuntimeError, match="prob_dist must be 1 or 2 dim"):
        dg.multinomial(dg.ones(2, 2, 2), 1)
    with pytest.raises(RuntimeError, match="floating point tensor of weights"):
        dg.multinomial(dg.tensor([1, 2]), 1)


# ----------------------------------------------------------------------------- small helpers
@requires_torch
def test_where_with_two_python_scalars_matches_torch():
    c = dg.tensor([True, False, True])
    for a, b in [(1.0, 0.0), (1, 0), (True, False), (1, 0.5)]:
        assert_close(dg.where(c, a, b), torch.where(torch.tensor(c.numpy()), a, b))
    with pytest.raises(TypeError, match=r"where\(\): argument 'input' must be a Tensor or a"):
        dg.where(c, "a", 0)


def test_is_tensor_and_numel():
    assert dg.is_tensor(dg.ones(2)) and not dg.is_tensor(np.ones(2)) and not dg.is_tensor([1])
    assert dg.numel(dg.ones(2, 3)) == 6 and dg.numel(dg.tensor(1.0)) == 1
    with pytest.raises(TypeError, match=r"numel\(\): argument 'input' must be a Tensor"):
        dg.numel([1, 2])


def test_set_and_get_num_threads():
    before = dg.get_num_threads()
    try:
        dg.set_num_threads(1)
        assert dg.get_num_threads() == 1
        threadpoolctl = pytest.importorskip("threadpoolctl")
        blas = [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]
        assert all(n == 1 for n in blas)
    finally:
        dg.set_num_threads(before)
    with pytest.raises(RuntimeError, match="set_num_threads expects a positive integer"):
        dg.set_num_threads(0)
    with pytest.raises(RuntimeError, match="set_num_threads expects an int, but got float"):
        dg.set_num_threads(1.5)


# ----------------------------------------------------------------------------- more ordering
@requires_torch
def test_median_propagates_nan_and_picks_the_lower_middle():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 2.0, 5.0]], np.float32)
    out, ref = dg.median(dg.tensor(x), 1), torch.median(torch.tensor(x), 1)
    assert type(out).__name__ == "median"
    np.testing.assert_array_equal(out.values.numpy(), ref.values.numpy())
    np.testing.assert_array_equal(out.indices.numpy(), ref.indices.numpy())
    assert np.isnan(dg.median(dg.tensor(x)).item())
    assert dg.median(dg.tensor([1.0, 2.0, 3.0, 4.0])).item() == 2.0  # the lower of the two
    with pytest.raises(RuntimeError, match=r"kthvalue\(\): selected index k=4 is out of range"):
        dg.kthvalue(dg.ones(3), 4)


@requires_torch
@SETTINGS
@given(seq=st.lists(st.integers(-5, 5), min_size=1, max_size=8).map(sorted),
       vals=hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=4),
                       elements=st.integers(-7, 7)),
       right=st.booleans())
def test_searchsorted_and_bucketize_match_torch(seq, vals, right):
    s, ts = dg.tensor(seq), torch.tensor(seq)
    out = dg.searchsorted(s, dg.tensor(vals), right=right)
    assert_close(out, torch.searchsorted(ts, torch.tensor(vals), right=right))
    assert_close(dg.bucketize(dg.tensor(vals), s, right=right),
                 torch.bucketize(torch.tensor(vals), ts, right=right))
    assert dg.searchsorted(s, dg.tensor(vals), out_int32=True).dtype == dg.int32


@requires_torch
def test_searchsorted_row_by_row_and_errors():
    seq = torch.tensor([[1, 3, 5], [2, 4, 6]])
    v = torch.tensor([[3, 6], [3, 0]])
    assert_close(dg.searchsorted(dg.tensor(seq.numpy()), dg.tensor(v.numpy()), side="right"),
                 torch.searchsorted(seq, v, side="right"))
    with pytest.raises(RuntimeError, match="first N-1 dimensions"):
        dg.searchsorted(dg.tensor(seq.numpy()), dg.tensor([[1], [2], [3]]))
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        dg.searchsorted(dg.tensor([1, 2]), dg.tensor([1]), right=True, side="left")


# ----------------------------------------------------------------------------- random draws
def test_normal_and_bernoulli_draws_have_torch_shapes_dtypes_and_zero_gradients():
    mean = dg.zeros(20000, 2, requires_grad=True)
    std = dg.tensor([1.0, 3.0], requires_grad=True)
    x = dg.normal(mean, std)
    assert tuple(x.shape) == (20000, 2) and x.dtype == dg.float32 and x.requires_grad
    np.testing.assert_allclose(x.detach().numpy().std(0), [1.0, 3.0], rtol=0.03)
    x.sum().backward()
    assert not mean.grad.numpy().any() and not std.grad.numpy().any()
    assert dg.normal(0.0, 1.0, (3,)).dtype == dg.float32
    assert dg.normal(dg.zeros(2, dtype=dg.float64), 1.0).dtype == dg.float64
    b = dg.bernoulli(dg.full((10000,), 0.25))
    assert b.dtype == dg.float32 and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs(b.numpy().mean() - 0.25) < 0.02
    assert dg.full((4,), 0.5).bernoulli(0.0).sum().item() == 0.0


def test_normal_and_bernoulli_bad_inputs_raise_like_torch():
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
        dg.normal(dg.zeros(2), -1.0)
    with pytest.raises(RuntimeError):
        torch.normal(torch.zeros(2), -1.0)
    with pytest.raises(RuntimeError, match=r"bernoulli\(\): expected all probabilities in"):
        dg.bernoulli(dg.tensor([1.5]))
    with pytest.raises(TypeError, match="size is required"):
        dg.normal(0.0, 1.0)
