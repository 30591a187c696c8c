"""The run commands on the generative families (issue 15): ``summary``, ``report``,
``sample``, ``export`` and ``--resume`` on runs of a GAN (two networks, G and D), a
conditional GAN (G(z, y), D(x, y)), a VAE and an RBM (no forward pass) either work or say
clearly why not."""
import json

import numpy as np
import pytest

from deltagrad.experiments import get_experiment
from deltagrad.io.safetensors import load_file

from .conftest import FAST, cli


def _train(out, name, *extra):
    r = cli("train", name, *extra, "--epochs", 1, "--out", out)
    assert r.code == 0, r
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One-epoch runs of gan-1d, cgan, vae and rbm (the last three on digits)."""
    root = tmp_path_factory.mktemp("generative")
    return {"gan-1d": _train(root / "gan-1d", "gan-1d", "--batch-size", 256),
            "cgan": _train(root / "cgan", "cgan", *FAST),
            "vae": _train(root / "vae", "vae", *FAST),
            "rbm": _train(root / "rbm", "rbm", *FAST)}


def _numel(module):
    return sum(int(np.prod(p.shape)) for p in module.parameters())


# ----------------------------------------------------------------------------- summary
def test_summary_of_a_gan_run_tables_both_networks(runs):
    r = cli("summary", runs["gan-1d"])
    assert r.code == 0, r
    assert "G (Generator):" in r.out and "D (Discriminator):" in r.out
    # gan-1d: G 1 → 32 → 32 → 1 and D 1 → 32 → 32 → 1: 2·32 + 33·32 + 33 = 1,153 each
    assert "2 networks, params G 1,153, D 1,153; total 2,306" in r.out
    assert r.out.count("Input size (per sample): 1\n") == 2   # z of 1 number, x of 1 number


def test_summary_json_of_a_gan_has_each_network(runs):
    r = cli("summary", runs["cgan"], "--json")
    assert r.code == 0, r
    got = json.loads(r.out)
    exp = get_experiment("cgan")
    model = exp.model(exp.data("digits"))
    assert set(got["networks"]) == {"G", "D"}
    for name in ("G", "D"):
        net = got["networks"][name]
        assert net["total_params"] == _numel(model[name])
        assert sum(row["params"] for row in net["layers"]) == _numel(model[name])
        assert "label_embedding" in [row["name"] for row in net["layers"]]  # y goes in too
    assert got["networks"]["G"]["input_size"] == [100]       # the latent z
    assert got["networks"]["D"]["input_size"] == [64]        # an 8×8 digit, flattened
    assert got["total_params"] == _numel(model)


def test_summary_of_a_gan_experiment_by_name():
    r = cli("summary", "gan", "--dataset", "digits")
    assert r.code == 0, r
    assert "G (Generator):" in r.out and "D (Discriminator):" in r.out


def test_summary_of_an_rbm_lists_its_parameters(runs):
    r = cli("summary", runs["rbm"])
    assert r.code == 0, r
    lines = r.out.splitlines()
    # rbm on digits: 64 visible, 20 hidden units; W is n_hidden × n_visible
    assert any(line.split() == ["W", "RBM", "20×64", "1,280"] for line in lines), r.out
    assert any(line.split() == ["b", "RBM", "64", "64"] for line in lines), r.out
    assert any(line.split() == ["c", "RBM", "20", "20"] for line in lines), r.out
    assert "Total params: 1,364" in r.out and "No forward pass" in r.out


def test_summary_of_a_vae_run(runs):
    r = cli("summary", runs["vae"])
    assert r.code == 0, r
    assert "fc_mu" in r.out and "fc_logvar" in r.out and "Input size (per sample): 64" in r.out


def test_summary_refuses_a_dataset_the_experiment_does_not_train_on():
    r = cli("summary", "dcgan", "--dataset", "digits")
    assert r.code == 2
    assert "experiment 'dcgan' trains on fashion-mnist, not --dataset 'digits'" in r.err


# ----------------------------------------------------------------------------- report, sample
@pytest.mark.parametrize("name", ["gan-1d", "cgan", "vae", "rbm"])
def test_report_of_every_family(runs, name):
    r = cli("report", runs[name])
    assert r.code == 0, r
    assert (runs[name] / "report.html").exists()


@pytest.mark.parametrize("name", ["cgan", "vae", "rbm"])
def test_sample_of_an_image_generative_run_writes_a_grid(runs, name, tmp_path):
    png = tmp_path / "grid.png"
    r = cli("sample", runs[name], "--n", 10, "--out", png)
    assert r.code == 0, r
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_of_a_toy_gan_says_why_not(runs):
    r = cli("sample", runs["gan-1d"])
    assert r.code == 2
    assert "'gan-1d', which is neither a language model" in r.err
    assert "nor an image generative model (" in r.err and "deltagrad report" in r.err
    assert "Traceback" not in r.err


# ----------------------------------------------------------------------------- export
def test_export_of_a_gan_holds_both_networks_or_the_one_chosen(runs, tmp_path):
    pytest.importorskip("safetensors")
    both, g = tmp_path / "both.safetensors", tmp_path / "g.safetensors"
    assert cli("export", runs["cgan"], "--format", "safetensors", "--out", both).code == 0
    r = cli("export", runs["cgan"], "--format", "safetensors", "--network", "generator",
            "--out", g)
    assert r.code == 0, r
    assert "cgan network G" in r.out
    whole, generator = load_file(str(both)), load_file(str(g))
    assert {k.split(".")[0] for k in whole} == {"G", "D"}
    assert set(generator) == {k[2:] for k in whole if k.startswith("G.")}
    for k, v in generator.items():
        np.testing.assert_array_equal(v, whole["G." + k])


def test_onnx_export_of_a_gan_needs_a_network(runs, tmp_path):
    r = cli("export", runs["gan-1d"], "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert r.code == 2
    assert "gan-1d has 2 networks (G, D) and ONNX traces one: choose it with --network G " \
           "or D (or generator, discriminator)" in r.err
    r = cli("export", runs["gan-1d"], "--format", "onnx", "--network", "E")
    assert r.code == 2 and "--network E: gan-1d has no such network; expected G or D" in r.err
    r = cli("export", runs["vae"], "--format", "torch", "--network", "G")
    assert r.code == 2 and "vae has one network (a VAE)" in r.err


@pytest.mark.parametrize("network", ["G", "D"])
def test_onnx_export_of_one_conditional_gan_network_runs_like_deltagrad(runs, network,
                                                                         tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from deltagrad import from_numpy, no_grad
    from deltagrad.train.trainer import load_run
    path = tmp_path / f"{network}.onnx"
    r = cli("export", runs["cgan"], "--format", "onnx", "--network", network, "--out", path)
    assert r.code == 0, r
    model = load_run(str(runs["cgan"]), "best", with_data=False)[0].model[network]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 100 if network == "G" else 64)).astype(np.float32)
    labels = np.array([0, 4, 9])
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["input", "labels"]
    got = session.run(None, {"input": x, "labels": labels})[0]
    with no_grad():
        want = model(from_numpy(x), from_numpy(labels)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_onnx_export_of_an_rbm_says_why_not(runs, tmp_path):
    r = cli("export", runs["rbm"], "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert r.code == 2
    assert "cannot export rbm to ONNX: RBM has no forward pass to trace" in r.err
    assert "--format safetensors or torch" in r.err and "Traceback" not in r.err
    assert cli("export", runs["rbm"], "--format", "torch", "--out", tmp_path / "m.pt").code == 0


# ----------------------------------------------------------------------------- resume
@pytest.mark.parametrize("name", ["gan-1d", "vae", "rbm"])
def test_resume_continues_every_family(runs, name, tmp_path):
    import shutil
    copy = tmp_path / name
    shutil.copytree(runs[name], copy)
    r = cli("train", name, "--out", copy, "--resume", "--epochs", 2)
    assert r.code == 0, r
    epochs = [json.loads(line)["epoch"] for line in (copy / "metrics.jsonl").read_text()
              .splitlines() if line.strip() and "epoch" in json.loads(line)]
    assert epochs[-1] == 2, epochs


# ----------------------------------------------------------------------------- interpret
def test_interpret_of_a_generative_image_run_says_why_not(runs, tmp_path):
    conv_vae = _train(tmp_path / "conv-vae", "conv-vae", *FAST)   # (N, 1, 16, 16) images
    for run, name, task in ((conv_vae, "conv-vae", "vae"), (runs["cgan"], "cgan", "gan")):
        r = cli("interpret", run, "--method", "saliency")
        assert r.code == 2, r
        assert f"interpret needs an image classifier; this is a run of '{name}', whose task " \
               f"is '{task}', not classification" in r.err
        assert "Traceback" not in r.err
