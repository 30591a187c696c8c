"""dg.utils.safetensors: files cross with the safetensors package's PyTorch API both ways."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from tests.conftest import requires_torch

pytest.importorskip("safetensors")
st = dg.utils.safetensors


def test_round_trip_with_metadata_and_non_contiguous(tmp_path):
    a = dg.randn(3, 4)
    tensors = {"a": a, "t": dg.randn(4, 3).t(), "ids": dg.arange(6).reshape(2, 3),
               "half": dg.ones(2).half(), "scalar": dg.tensor(1.5)}
    st.save_file(tensors, tmp_path / "x.safetensors", metadata={"note": "hi"})
    back = st.load_file(tmp_path / "x.safetensors")
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k].numpy(), v.numpy())
    from safetensors import safe_open
    with safe_open(str(tmp_path / "x.safetensors"), "np") as f:
        assert f.metadata() == {"note": "hi"}
    blob = st.save({"a": a})
    np.testing.assert_array_equal(st.load(blob)["a"].numpy(), a.numpy())


@requires_torch
def test_files_cross_with_the_pytorch_api(tmp_path):
    import torch
    from safetensors.torch import load_file, save_file
    m = nn.Linear(3, 2)
    st.save_file(m.state_dict(), tmp_path / "dg.safetensors")
    got = load_file(str(tmp_path / "dg.safetensors"))
    twin = torch.nn.Linear(3, 2)
    twin.load_state_dict(got)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    with torch.no_grad():
        ref = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(m(dg.from_numpy(x)).detach().numpy(), ref, atol=1e-6)

    twin2 = torch.nn.Conv2d(2, 3, 3)
    save_file(twin2.state_dict(), str(tmp_path / "torch.safetensors"))
    conv = nn.Conv2d(2, 3, 3)
    conv.load_state_dict(st.load_file(tmp_path / "torch.safetensors"))
    for k, v in twin2.state_dict().items():
        np.testing.assert_array_equal(conv.state_dict()[k].numpy(), v.numpy())


def test_shared_tensors_refused_by_save_file_kept_by_save_model(tmp_path):
    model = dg.models.GPTLanguageModel(11, block_size=4, n_layer=1, n_head=2, n_embd=8)
    sd = model.state_dict()
    with pytest.raises(RuntimeError, match="share memory.*tok_emb.weight.*head.weight"):
        st.save_file(sd, tmp_path / "x.safetensors")
    st.save_model(model, tmp_path / "gpt.safetensors")
    kept = st.load_file(tmp_path / "gpt.safetensors")
    assert ("head.weight" in kept) != ("tok_emb.weight" in kept)    # one name per storage
    twin = dg.models.GPTLanguageModel(11, block_size=4, n_layer=1, n_head=2, n_embd=8)
    missing, unexpected = st.load_model(twin, tmp_path / "gpt.safetensors")
    assert missing == [] and unexpected == []
    idx = dg.randint(0, 11, (2, 4))
    model.eval(), twin.eval()
    np.testing.assert_array_equal(model(idx).detach().numpy(), twin(idx).detach().numpy())


def test_bad_inputs_raise_named_errors(tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(RuntimeError, match="load_file.*not a valid safetensors file"):
        st.load_file(tmp_path / "junk.safetensors")
    with pytest.raises(FileNotFoundError, match="load_file"):
        st.load_file(tmp_path / "none.safetensors")
    with pytest.raises(TypeError, match="save_file.*'w' is a list"):
        st.save_file({"w": [1, 2]}, tmp_path / "a.safetensors")
    with pytest.raises(TypeError, match="metadata"):
        st.save_file({"w": dg.ones(1)}, tmp_path / "a.safetensors", metadata={"a": 1})
    m = nn.Linear(3, 2)
    st.save_file({"weight": m.weight}, tmp_path / "partial.safetensors")
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "bias"'):
        nn.Linear(3, 2).load_state_dict(st.load_file(tmp_path / "partial.safetensors"))
    st.save_file({"weight": dg.ones(5, 5), "bias": dg.ones(2)}, tmp_path / "wrong.safetensors")
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        nn.Linear(3, 2).load_state_dict(st.load_file(tmp_path / "wrong.safetensors"))
