"""dg.metrics against hand counts, scikit-learn and torch."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
import deltagrad.metrics as M


def test_accuracy_from_logits_labels_and_threshold():
    logits = dg.tensor([[2.0, 1.0, 0.1], [0.1, 3.0, 0.2], [0.0, 0.1, 5.0], [1.0, 0.0, 0.0]])
    target = dg.tensor([0, 1, 1, 0])
    assert M.accuracy(logits, target) == 0.75
    assert M.error_rate(logits, target) == 0.25
    assert M.accuracy(np.array([0, 1, 2, 0]), [0, 1, 1, 0]) == 0.75      # labels, arrays
    scores = dg.tensor([0.3, -1.2, 2.0, 0.1])                             # binary logits
    assert M.accuracy(scores, dg.tensor([1.0, 0.0, 1.0, 0.0]), threshold=0) == 0.75
    assert M.accuracy(scores.reshape(4, 1), [1, 0, 1, 0], threshold=0.0) == 0.75
    w = dg.ones(2, 3, requires_grad=True)
    assert M.accuracy(w * 2, [0, 0]) == 1.0                                # detached inside


def test_accuracy_top_k_and_spatial_scores():
    scores = np.array([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1]])
    assert M.accuracy(scores, [2, 1], top_k=2) == 1.0
    assert M.accuracy(scores, [2, 1]) == 0.0
    seg = np.zeros((2, 3, 4, 4))
    seg[:, 1] = 1.0                                                        # (N, C, H, W)
    assert M.accuracy(seg, np.ones((2, 4, 4), np.int64)) == 1.0


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.zeros((4, 3)), [0, 1]), {}, "don't match"),
    ((np.array([0.2, 0.7]), [0, 1]), {}, "threshold"),
    ((np.zeros((2, 1)), [0, 1]), {}, "single score"),
    ((np.zeros((2, 3)), [0.5, 1]), {}, "class indices"),
    ((np.zeros((2, 3)), [0, 1]), {"top_k": 4}, "top_k"),
    ((np.zeros((0, 3)), np.zeros(0, np.int64)), {}, "empty"),
])
def test_accuracy_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        M.accuracy(*args, **kwargs)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 50), c=st.integers(2, 6), seed=st.integers(0, 1000))
def test_confusion_matrix_matches_sklearn(n, c, seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c)).astype(np.float32)
    y = rng.integers(0, c, n)
    m = M.confusion_matrix(dg.tensor(logits), dg.tensor(y))
    ref = skm.confusion_matrix(y, logits.argmax(1), labels=range(c))
    assert m.dtype == np.int64 and m.shape == (c, c)
    np.testing.assert_array_equal(m, ref)                 # rows true, columns predicted
    np.testing.assert_allclose(M.confusion_matrix(logits, y, normalize="true"),
                               skm.confusion_matrix(y, logits.argmax(1), labels=range(c),
                                                    normalize="true"))
    assert np.trace(m) / n == pytest.approx(M.accuracy(logits, y))


def test_confusion_matrix_orientation_and_errors():
    m = M.confusion_matrix([1, 1, 0], [0, 0, 0], num_classes=2)  # all class 0, two called 1
    assert m.tolist() == [[1, 2], [0, 0]]
    assert M.confusion_matrix([0.9, 0.2], [1, 1], threshold=0.5).tolist() == [[0, 0], [1, 1]]
    with pytest.raises(ValueError, match="must be in \\[0, 2\\)"):
        M.confusion_matrix([0, 3], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match="normalize"):
        M.confusion_matrix([0], [0], normalize="rows")


def test_mse_matches_torch_and_checks_shapes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 3))
    ref = torch.nn.functional.mse_loss(torch.tensor(a, dtype=torch.float64), torch.tensor(b))
    assert M.mse(dg.tensor(a), b) == pytest.approx(ref.item(), rel=1e-12)
    with pytest.raises(ValueError, match="shape"):
        M.mse(np.zeros(3), np.zeros((3, 1)))
