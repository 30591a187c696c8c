"""The ``nade`` and ``made`` experiments of ``deltagrad train``: binarized images as their own
targets, the ``bernoulli-density`` task's loss = −mean ln p(x) in nats, and a short run on the
bundled digits that beats the independent-pixel model."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.experiments import get_experiment
from deltagrad.experiments.generative import binarized_images
from deltagrad.train.checkpoint import load_checkpoint
from deltagrad.train.tasks import get_task

from ..cli.conftest import _one_blas_thread, cli


@pytest.fixture(autouse=True)
def _blas():
    with _one_blas_thread():
        yield


def test_binarized_digits_are_their_own_targets():
    d = binarized_images("digits")
    assert d.x_train.dtype == np.float32 and set(np.unique(d.x_train)) == {0.0, 1.0}
    np.testing.assert_array_equal(d.x_train, d.y_train)
    assert d.x_train.shape[1] == 64 and d.image_shape == (8, 8)


def test_density_task_loss_is_the_mean_nll_in_nats():
    task = get_task("bernoulli-density")
    assert not task.has_accuracy
    m = dg.models.NADE(6, 3)
    x = dg.tensor((np.random.default_rng(0).random((5, 6)) < 0.5).astype(np.float32))
    np.testing.assert_allclose(task.loss(m(x), x).item(), -m.log_prob(x).mean().item(),
                               rtol=1e-6)
    with pytest.raises(RuntimeError, match="bernoulli-density loss: expected logits"):
        task.loss(m(x), x[:, :3])


def _independent_nll(x_train, x_test):
    p = np.clip(x_train.mean(0), 1e-3, 1 - 1e-3)
    return -(x_test * np.log(p) + (1 - x_test) * np.log1p(-p)).sum(1).mean()


@pytest.mark.parametrize("name", ["nade", "made"])
def test_trains_on_digits_and_beats_the_independent_model(name, tmp_path):
    assert get_experiment(name).task == "bernoulli-density"
    r = cli("train", name, "--dataset", "digits", "--epochs", 3, "--out", tmp_path / name)
    assert r.code == 0, r
    state = load_checkpoint(str(tmp_path / name / "checkpoint.npz"))
    hist = state["history"]
    d = binarized_images("digits")
    baseline = _independent_nll(d.x_train, d.x_test)
    assert hist[-1]["val_loss"] < hist[0]["train_loss"]
    assert hist[-1]["test_loss"] < baseline, (hist[-1]["test_loss"], baseline)
