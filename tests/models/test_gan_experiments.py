"""The GAN task and experiments (issue 15) through ``deltagrad train``: alternating k-step
updates, the mode-coverage diagnostic, a short 1-D run that ends near D = ½, bit-for-bit
resume with the task's state, and the cGAN's sample grid and report."""
import os

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.experiments import gan as E
from deltagrad.metrics import mode_coverage
from deltagrad.models import ConditionalDiscriminator, ConditionalGenerator, Discriminator, \
    Generator
from deltagrad.train.checkpoint import load_checkpoint
from deltagrad.train.gan_task import GANTask
from deltagrad.train.tasks import NonFiniteLoss

from ..cli.conftest import _one_blas_thread, cli


@pytest.fixture(autouse=True)
def _blas():
    with _one_blas_thread():
        yield


def test_mode_coverage_counts_high_quality_samples_per_mode():
    centers = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    samples = np.array([[0.01, 0.0], [0.0, -0.02], [1.025, 0.0],  # 3σ = 0.03: on modes 0, 0, 1
                        [1.05, 0.0], [0.5, 0.5]])                  # too far from every mode
    r = mode_coverage(samples, centers, std=0.01)
    assert r["modes_covered"] == 2
    assert r["high_quality"] == pytest.approx(3 / 5)
    np.testing.assert_array_equal(r["counts"], [2, 1, 0])
    with pytest.raises(ValueError, match="mode_coverage: samples"):
        mode_coverage(np.zeros((3, 3)), centers, 0.01)


def _step_models():
    dg.manual_seed(0)
    return nn.ModuleDict({"G": Generator(3, 4, hidden=(8,)), "D": Discriminator(4, hidden=(8,))})


def test_k_discriminator_steps_per_generator_step():
    models = _step_models()
    task = GANTask(d_steps=2, fid_samples=0)
    opts = {k: dg.optim.Adam(models[k].parameters(), lr=1e-2, betas=(0.5, 0.999)) for k in "GD"}
    batch = (dg.randn(16, 4), dg.zeros(16, dtype=dg.int64))
    g0 = [p.detach().numpy().copy() for p in models["G"].parameters()]
    d0 = [p.detach().numpy().copy() for p in models["D"].parameters()]
    stats = task.train_step(models, opts, batch)             # D-step 1: G untouched
    assert set(stats) == {"loss", "d_loss", "g_loss", "d_real", "d_fake"}
    assert np.isnan(stats["g_loss"]) and 0 < stats["d_real"] < 1
    assert all(np.array_equal(a, p.detach().numpy()) for a, p in
               zip(g0, models["G"].parameters()))
    assert not all(np.array_equal(a, p.detach().numpy()) for a, p in
                   zip(d0, models["D"].parameters()))
    stats = task.train_step(models, opts, batch)             # D-step 2, then the G-step
    assert np.isfinite(stats["g_loss"])
    assert not all(np.array_equal(a, p.detach().numpy()) for a, p in
                   zip(g0, models["G"].parameters()))
    assert task.steps == 2 and task.noise.shape == (100, 3)
    with pytest.raises(ValueError, match="GANTask: d_steps must be a positive integer"):
        GANTask(d_steps=0)
    with pytest.raises(ValueError, match="GANTask: mode must be one of"):
        GANTask(mode="wasserstein")


def test_a_non_finite_loss_stops_before_any_update():
    models = _step_models()
    task = GANTask(fid_samples=0)
    opts = {k: dg.optim.Adam(models[k].parameters(), lr=1e-2) for k in "GD"}
    before = [p.detach().numpy().copy() for p in models.parameters()]
    x = dg.from_numpy(np.full((4, 4), np.nan, np.float32))
    with pytest.raises(NonFiniteLoss):
        task.train_step(models, opts, (x, dg.zeros(4, dtype=dg.int64)))
    assert all(np.array_equal(a, p.detach().numpy(), equal_nan=True)
               for a, p in zip(before, models.parameters()))


def test_conditional_fixed_noise_has_one_row_per_class():
    dg.manual_seed(0)
    models = nn.ModuleDict({"G": ConditionalGenerator(4, 3, 6, hidden=(8,)),
                            "D": ConditionalDiscriminator(4, 6, hidden=(8,))})
    task = GANTask(fid_samples=0)
    opts = {k: dg.optim.Adam(models[k].parameters()) for k in "GD"}
    task.train_step(models, opts, (dg.randn(5, 6), dg.tensor([0, 1, 2, 3, 0])))
    np.testing.assert_array_equal(task.labels.numpy(), np.repeat(np.arange(4), 10))
    r = task.evaluate(models, [(dg.randn(8, 6), dg.tensor([0, 1, 2, 3] * 2))])
    assert {"loss", "g_loss", "d_real", "d_fake"} <= set(r) and "fid" not in r
    assert task.snapshots[-1]["grid"].shape == (40, 6)


@pytest.mark.slow
def test_gan_1d_ends_with_d_near_one_half_and_draws_the_picture(tmp_path):
    out = tmp_path / "g1"
    r = cli("train", "gan-1d", "--epochs", 8, "--out", out)
    assert r.code == 0, r
    state = load_checkpoint(str(out / "checkpoint.npz"))
    last = state["history"][-1]
    assert abs(last["test_d_support_min"] - 0.5) <= 0.1, last
    assert abs(last["test_d_support_max"] - 0.5) <= 0.1, last
    snaps = state["task"]["snapshots"]
    assert len(snaps) == 8 and set(snaps[0]) >= {"grid", "d", "edges", "p_g", "step"}
    assert cli("report", out).code == 0
    assert os.path.exists(out / "plots" / "gan_1d.png")


@pytest.mark.slow
def test_gan_ring_resumes_bit_for_bit_with_its_task_state(tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert cli("train", "gan-ring", "--epochs", 2, "--out", whole).code == 0
    assert cli("train", "gan-ring", "--epochs", 1, "--out", parts).code == 0
    assert cli("train", "gan-ring", "--out", parts, "--resume", "--epochs", 2).code == 0
    a = load_checkpoint(str(whole / "checkpoint.npz"))
    b = load_checkpoint(str(parts / "checkpoint.npz"))
    assert set(a["optimizers"]) == {"G", "D"}
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k
    assert a["task"]["steps"] == b["task"]["steps"] > 0
    np.testing.assert_array_equal(a["task"]["noise"], b["task"]["noise"])
    for sa, sb in zip(a["task"]["snapshots"], b["task"]["snapshots"]):
        np.testing.assert_array_equal(sa["samples"], sb["samples"])
    rows = a["history"]
    assert [r["train_g_loss"] for r in rows] == [r["train_g_loss"] for r in b["history"]]
    assert {"test_modes_covered", "test_high_quality", "val_d_real"} <= set(rows[-1])


@pytest.mark.slow
def test_cgan_on_digits_samples_one_row_per_class(tmp_path):
    out = tmp_path / "c"
    r = cli("train", "cgan", "--dataset", "digits", "--epochs", 1, "--batch-size", 64,
            "--out", out)
    assert r.code == 0, r
    png = tmp_path / "grid.png"
    r = cli("sample", out, "--n", 20, "--out", png)
    assert r.code == 0, r
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert E.cgan.sample_images.ncol(E.gan_images("digits"), 20) == 2     # 10 rows of 2
    assert cli("report", out).code == 0
    names = os.listdir(out / "plots")
    assert "gan_curves.png" in names and "gan_interpolation.png" in names
    assert any(n.startswith("gan_samples_epoch") for n in names)


def test_sample_images_are_ordered_by_class():
    dg.manual_seed(0)
    models = nn.ModuleDict({"G": ConditionalGenerator(3, 4, 6, hidden=(8,)),
                            "D": ConditionalDiscriminator(3, 6, hidden=(8,))})
    data = E.gaussian_ring()                         # only num_classes is read
    x = E.cgan.sample_images(models, data, 5, seed=0)
    assert x.shape == (6, 6) and 0 <= x.min() and x.max() <= 1     # ⌈5/3⌉ = 2 per class
    rng = dg.Generator().manual_seed(0)
    z = models["G"].noise(6, generator=rng)
    with dg.no_grad():
        models["G"].eval()
        want = (models["G"](z, dg.tensor([0, 0, 1, 1, 2, 2])).numpy() + 1) / 2
    np.testing.assert_allclose(x, want, rtol=1e-6)
