"""holdout_split, kfold, leave_one_out: disjoint covers, sizes, stratification, seeds."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
import deltagrad.utils.data as D


def _check_partition(train, test, n):
    assert train.dtype == np.int64 and test.dtype == np.int64
    assert len(np.intersect1d(train, test)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(n))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 60), frac=st.floats(0.05, 0.95), seed=st.integers(0, 100))
def test_holdout_partitions_with_rounded_up_test_size(n, frac, seed):
    n_test = int(np.ceil(frac * n))
    if not 0 < n_test < n:
        with pytest.raises(ValueError, match="non-empty"):
            D.holdout_split(n, frac)
        return
    train, test = D.holdout_split(n, frac, generator=seed)
    _check_partition(train, test, n)
    assert len(test) == n_test
    again = D.holdout_split(n, frac, generator=seed)
    np.testing.assert_array_equal(again[1], test)


def test_holdout_without_shuffle_holds_out_the_tail_and_int_size():
    train, test = D.holdout_split(10, 3, shuffle=False)
    assert test.tolist() == [7, 8, 9] and train.tolist() == list(range(7))


def test_holdout_stratified_keeps_class_proportions():
    y = np.repeat(np.arange(4), [40, 20, 20, 20])
    train, test = D.holdout_split(len(y), 0.25, stratify=y, generator=0)
    _check_partition(train, test, len(y))
    assert np.bincount(y[test]).tolist() == [10, 5, 5, 5]
    _, test2 = D.holdout_split(len(y), 0.25, stratify=y, generator=1)
    assert set(test.tolist()) != set(test2.tolist())


def test_holdout_on_dataset_returns_subsets_and_stratify_true_uses_targets():
    ds = D.TensorDataset(dg.arange(12))
    ds.targets = np.array([0] * 6 + [1] * 6)
    tr, te = D.holdout_split(ds, 0.5, stratify=True, generator=3)
    assert isinstance(tr, D.Subset) and len(tr) == 6 and len(te) == 6
    assert sorted(ds.targets[te.indices].tolist()) == [0, 0, 0, 1, 1, 1]
    assert sorted(int(s[0]) for s in te) == sorted(te.indices)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 50), k=st.integers(2, 10), shuffle=st.booleans())
def test_kfold_folds_cover_once_with_sizes_like_sklearn(n, k, shuffle):
    if k > n:
        with pytest.raises(ValueError, match="folds"):
            D.kfold(n, k)
        return
    folds = list(D.kfold(n, k, shuffle=shuffle, generator=0))
    assert len(folds) == k
    for train, val in folds:
        _check_partition(train, val, n)
    vals = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(vals), np.arange(n))
    sizes = [len(v) for _, v in folds]
    assert sizes == [n // k + 1] * (n % k) + [n // k] * (k - n % k)   # sklearn's KFold sizes
    if not shuffle:
        assert folds[0][1].tolist() == list(range(sizes[0]))


def test_kfold_matches_sklearn_without_shuffle():
    sk = pytest.importorskip("sklearn.model_selection")
    for (tr, va), (tr2, va2) in zip(D.kfold(23, 4), sk.KFold(4).split(np.zeros(23))):
        np.testing.assert_array_equal(tr, tr2)
        np.testing.assert_array_equal(va, va2)


def test_stratified_kfold_balances_classes():
    y = np.repeat([0, 1, 2], [30, 15, 15])
    for _, val in D.kfold(len(y), 5, shuffle=True, stratify=y, generator=0):
        assert np.bincount(y[val], minlength=3).tolist() == [6, 3, 3]


def test_leave_one_out_and_dataset_input():
    pairs = list(D.leave_one_out(4))
    assert [v.tolist() for _, v in pairs] == [[0], [1], [2], [3]]
    assert pairs[2][0].tolist() == [0, 1, 3]
    ds = D.TensorDataset(dg.arange(3) * 10)
    (tr, va), *_ = D.leave_one_out(ds)
    assert [int(s[0]) for s in va] == [0] and [int(s[0]) for s in tr] == [10, 20]
    with pytest.raises(ValueError, match="at least 2"):
        D.leave_one_out(1)


@pytest.mark.parametrize("call, err, match", [
    (lambda: D.holdout_split(10, 1.5), ValueError, "test_size"),
    (lambda: D.holdout_split(10, 10), ValueError, "non-empty"),
    (lambda: D.holdout_split("abc"), TypeError, "expected an int"),
    (lambda: D.kfold(10, 1), ValueError, "k must be"),
    (lambda: D.kfold(10, 2, stratify=[0, 1]), ValueError, "2 labels but there are 10"),
    (lambda: D.holdout_split(D.TensorDataset(dg.arange(4)), stratify=True), ValueError,
     "targets"),
])
def test_split_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()
