"""deltagrad export RUN --format safetensors|torch|onnx: the files other tools read."""
import json

import numpy as np
import pytest

import deltagrad as dg
from tests.cli.conftest import FAST, cli

pytestmark = pytest.mark.slow   # one training run (a few seconds, more on a busy machine)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "mlp"
    r = cli("train", "mlp", *FAST, "--epochs", 1, "--out", out)
    assert r.code == 0, r
    return out


def _model_and_x(run):
    from deltagrad.train.trainer import load_run
    setup, _ = load_run(str(run), "best", with_data=False)
    setup.model.eval()
    x = np.random.default_rng(0).random((4, *setup.data.input_shape)).astype(np.float32)
    with dg.no_grad():
        return setup.model, x, setup.model(dg.from_numpy(x)).numpy()


def test_safetensors_with_the_config_in_its_metadata(run, tmp_path):
    pytest.importorskip("safetensors")
    out = tmp_path / "m.safetensors"
    r = cli("export", run, "--format", "safetensors", "--out", out)
    assert r.code == 0 and "wrote" in r.out, r
    from safetensors import safe_open
    with safe_open(str(out), "np") as f:
        config = json.loads(f.metadata()["deltagrad.config"])
    assert config["experiment"] == "mlp" and config["input_shape"] == [64]
    model, x, ref = _model_and_x(run)
    fresh, _, _ = _model_and_x(run)
    for p in fresh.parameters():
        p.data = p.detach() * 0
    fresh.load_state_dict(dg.utils.safetensors.load_file(out))
    with dg.no_grad():
        np.testing.assert_array_equal(fresh(dg.from_numpy(x)).numpy(), ref)


def test_torch_file_loads_in_pytorch(run):
    torch = pytest.importorskip("torch")
    r = cli("export", run, "--format", "torch")
    assert r.code == 0, r
    sd = torch.load(run / "model.pt", weights_only=True)
    model, x, ref = _model_and_x(run)
    assert list(sd) == list(model.state_dict())
    twin = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                               torch.nn.Linear(256, 128), torch.nn.ReLU(),
                               torch.nn.Linear(128, 10))
    twin.load_state_dict(sd)
    twin.eval()
    with torch.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(x)).numpy(), ref, rtol=1e-5,
                                   atol=1e-6)


def test_onnx_runs_in_onnxruntime_at_any_batch_size(run):
    ort = pytest.importorskip("onnxruntime")
    r = cli("export", run, "--format", "onnx")
    assert r.code == 0, r
    sess = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    model, x, ref = _model_and_x(run)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], ref, rtol=1e-5, atol=1e-5)
    assert sess.run(None, {"input": x[:1]})[0].shape == (1, 10)


def test_usage_errors(run, tmp_path):
    r = cli("export", run, "--format", "keras")
    assert r.code == 2 and "invalid choice" in r.err
    r = cli("export", tmp_path / "nothing", "--format", "onnx")
    assert r.code == 2 and "no run folder" in r.err
    r = cli("export", run, "--format", "torch", "--out", tmp_path / "no" / "dir" / "m.pt")
    assert r.code == 2 and "does not exist" in r.err
    r = cli("export", run, "--format", "onnx", "--opset", 9, "--out", tmp_path / "m.onnx")
    assert r.code == 2 and "opset_version must be between 17 and 21" in r.err
    assert r.err.strip().splitlines()[-1].startswith("deltagrad: error: ")
