"""dg.save / dg.load: PyTorch's zip layout both ways, weights_only's allow-list, bad files."""
import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from tests.conftest import requires_torch


def _roundtrip(obj):
    buf = io.BytesIO()
    dg.save(obj, buf)
    buf.seek(0)
    return dg.load(buf)


def _same(a, b):
    assert isinstance(b, dg.Tensor)
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_plain_containers_round_trip():
    obj = {"epoch": 3, "lr": 0.5, "name": "run", "flags": [True, None], "pair": (1, 2.5),
           "nested": {"a": [1, {"b": "c"}]}, "bytes": b"\x00\x01", "set": {1, 2},
           "dtype": dg.float64, "device": dg.device("cpu"), "size": dg.Size([2, 3]),
           "np_scalar": np.float32(1.5)}
    back = _roundtrip(obj)
    for k in ("epoch", "lr", "name", "flags", "pair", "nested", "bytes", "set"):
        assert back[k] == obj[k]
    assert back["dtype"] == dg.float64 and back["device"] == dg.device("cpu")
    assert tuple(back["size"]) == (2, 3) and isinstance(back["size"], dg.Size)
    assert back["np_scalar"] == 1.5 and type(back["np_scalar"]) is float


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16",
                                   "int8", "uint8", "bool"])
def test_tensors_of_every_dtype_round_trip(dtype):
    t = dg.tensor(np.arange(-3, 9).reshape(3, 4) % 7).to(getattr(dg, dtype))
    _same(t, _roundtrip(t))


def test_views_parameters_and_shared_storage():
    lin = nn.Linear(3, 4)
    wt = lin.weight.detach().t()                      # non-contiguous view
    back = _roundtrip({"p": lin.weight, "t": wt, "again": lin.weight, "empty": dg.zeros(0, 3),
                       "scalar": dg.tensor(2.5)})
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    _same(wt, back["t"])
    assert back["again"] is back["p"]                 # one object in, one object out
    assert tuple(back["empty"].shape) == (0, 3) and back["scalar"].item() == 2.5
    assert tuple(back["scalar"].shape) == ()


def test_model_and_optimizer_state_resume_exactly():
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = dg.optim.Adam(model.parameters(), lr=0.01)
    x, y = dg.randn(16, 4), dg.randn(16, 2)

    def step(m, o):
        o.zero_grad()
        loss = ((m(x) - y) ** 2).mean()
        loss.backward()
        o.step()
        return loss.item()

    step(model, opt)
    ckpt = _roundtrip({"model": model.state_dict(), "opt": opt.state_dict()})
    twin = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    twin.load_state_dict(ckpt["model"])
    topt = dg.optim.Adam(twin.parameters(), lr=0.01)
    topt.load_state_dict(ckpt["opt"])
    assert step(model, opt) == step(twin, topt)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_the_file_is_pytorchs_zip_layout(tmp_path):
    path = tmp_path / "w.pt"
    dg.save({"w": dg.ones(2, 3)}, path)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert names[0] == "archive/data.pkl"
        assert {"archive/byteorder", "archive/version", "archive/data/0"} <= set(names)
        assert z.read("archive/byteorder") == b"little"
        info = z.getinfo("archive/data/0")
        assert info.compress_type == zipfile.ZIP_STORED
        with open(path, "rb") as f:   # storages start on 64-byte boundaries (mmap-able)
            f.seek(info.header_offset + 26)
            n, m = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
        assert (info.header_offset + 30 + n + m) % 64 == 0
        assert np.frombuffer(z.read("archive/data/0"), "<f4").tolist() == [1.0] * 6


# ----------------------------------------------------------------------------- torch both ways
@requires_torch
def test_dg_file_loads_in_torch_weights_only(tmp_path):
    import torch
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt = dg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(dg.randn(5, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    dg.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 7,
             "ids": dg.arange(5), "half": dg.ones(2, dtype=dg.float16)}, path)
    got = torch.load(path, weights_only=True)
    assert got["epoch"] == 7 and got["ids"].dtype == torch.int64
    assert got["half"].dtype == torch.float16
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(got["model"][k].numpy(), v.numpy())
    assert got["opt"]["param_groups"][0]["lr"] == 0.1
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    twin.load_state_dict(got["model"])


@requires_torch
def test_numpy_arrays_stay_numpy_arrays_as_in_torch(tmp_path):
    """torch.save pickles an ndarray as NumPy does: weights_only=True refuses it (NumPy's
    globals are not on the allow-list), weights_only=False gives the ndarray back (the
    time_sequence_prediction example saves its data this way)."""
    import torch
    arrays = {"sine": np.sin(np.arange(12.0)).reshape(3, 4),
              "ids": np.arange(5, dtype=np.uint32), "fortran": np.asfortranarray(np.eye(3))}
    for writer, name in ((dg.save, "dg.pt"), (torch.save, "torch.pt")):
        writer(arrays, tmp_path / name)
        for reader, refused in ((dg.load, dg.serialization.UnpicklingError),
                                (torch.load, pickle.UnpicklingError)):
            with pytest.raises(refused, match="_reconstruct"):
                reader(tmp_path / name)
            got = reader(tmp_path / name, weights_only=False)
            for key, arr in arrays.items():
                assert type(got[key]) is np.ndarray and got[key].dtype == arr.dtype
                np.testing.assert_array_equal(got[key], arr)


@requires_torch
def test_tied_weights_stay_tied_in_torch(tmp_path):
    import torch
    emb = nn.Embedding(5, 3)
    head = nn.Linear(3, 5, bias=False)
    head.weight = emb.weight
    path = tmp_path / "tied.pt"
    dg.save({"emb.weight": emb.weight, "head.weight": head.weight}, path)
    got = torch.load(path, weights_only=True)
    assert got["emb.weight"].data_ptr() == got["head.weight"].data_ptr()


@requires_torch
def test_torch_file_loads_without_running_torch_code(tmp_path):
    import torch
    torch.manual_seed(0)
    sd = collections.OrderedDict(
        w=torch.randn(2, 3), ids=torch.arange(4), t=torch.randn(4, 3).t(),
        p=torch.nn.Parameter(torch.randn(2)), mask=torch.tensor([True, False]),
        sliced=torch.arange(10.0)[3:7], d=torch.randn(2, dtype=torch.float64))
    # an optimizer state_dict as torch.optim.Adam writes it (built by hand: a first
    # optimizer step costs torch seconds of imports)
    opt = {"state": {0: {"step": torch.tensor(1.0), "exp_avg": torch.randn(2),
                         "exp_avg_sq": torch.rand(2)}},
           "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "foreach": None,
                             "params": [0]}]}
    obj = {"model": sd, "opt": opt, "device": torch.device("cpu"),
           "dtype": torch.float32, "size": torch.Size([2, 3]), "epoch": 4}
    path = tmp_path / "torch.pt"
    torch.save(obj, path)
    got = dg.load(path)
    for k, v in sd.items():
        assert isinstance(got["model"][k], dg.Tensor)
        np.testing.assert_array_equal(got["model"][k].detach().numpy(), v.detach().numpy())
        assert got["model"][k].dtype == np.dtype(str(v.dtype).replace("torch.", ""))
    assert isinstance(got["model"]["p"], nn.Parameter)
    assert got["device"] == dg.device("cpu") and got["dtype"] == dg.float32
    assert tuple(got["size"]) == (2, 3) and got["epoch"] == 4
    state = got["opt"]["state"][0]
    np.testing.assert_array_equal(state["exp_avg"].numpy(), opt["state"][0]["exp_avg"].numpy())
    assert got["opt"]["param_groups"][0]["betas"] == (0.9, 0.999)
    model = nn.Linear(1, 2)     # bias of shape (2,) takes state 0
    adam = dg.optim.Adam([model.bias, model.weight])
    adam.load_state_dict({"state": {0: dict(got["opt"]["state"][0])},
                          "param_groups": [dict(got["opt"]["param_groups"][0], params=[0, 1])]})
    np.testing.assert_array_equal(adam.state[model.bias]["exp_avg"].numpy(),
                                  opt["state"][0]["exp_avg"].numpy())


@requires_torch
def test_torch_files_load_where_torch_cannot_be_imported(tmp_path):
    import subprocess
    import sys

    import torch
    torch.save({"w": torch.arange(6.0).reshape(2, 3)}, tmp_path / "w.pt")
    code = ("import sys; sys.modules['torch'] = None\n"     # import torch now fails
            "import deltagrad as dg\n"
            f"print(dg.load({str(tmp_path / 'w.pt')!r})['w'].sum().item())")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         env=dict(os.environ, PYTHONPATH=root), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "15.0"


def test_big_endian_files(tmp_path):
    buf = io.BytesIO()
    dg.save({"w": dg.tensor([[1.5, -2.0], [3.0, 4.25]])}, buf)
    path = tmp_path / "big.pt"
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("byteorder"):
                data = b"big"
            elif info.filename.endswith("data/0"):
                data = np.frombuffer(data, "<f4").astype(">f4").tobytes()
            dst.writestr(info.filename, data)
    w = dg.load(path)["w"]
    assert w.dtype == dg.float32
    assert w.numpy().tolist() == [[1.5, -2.0], [3.0, 4.25]]


@requires_torch
def test_torch_module_state_dict_into_dg_module(tmp_path):
    import torch
    twin = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True)
    torch.save(twin.state_dict(), tmp_path / "lstm.pt")
    lstm = nn.LSTM(3, 5, num_layers=2, batch_first=True)
    lstm.load_state_dict(dg.load(tmp_path / "lstm.pt"))
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    with torch.no_grad():
        ref = twin(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(lstm(dg.from_numpy(x))[0].detach().numpy(), ref, atol=1e-6)


@requires_torch
def test_map_location(tmp_path):
    import torch
    torch.save({"w": torch.ones(2)}, tmp_path / "a.pt")
    for ml in ("cpu", dg.device("cpu"), {"cpu": "cpu"}, lambda storage, loc: storage):
        assert dg.load(tmp_path / "a.pt", map_location=ml)["w"].device == dg.device("cpu")
    seen = []
    dg.load(tmp_path / "a.pt", map_location=lambda storage, loc: seen.append(loc))
    assert seen == ["cpu"]


# ----------------------------------------------------------------------------- weights_only
class Payload:
    """Pickling this runs ``_touch(path)`` on load: an arbitrary object with a side effect."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (_touch, (self.path,))


def _touch(path):
    with open(path, "w") as f:
        f.write("ran")
    return "ran"


def _write_payload_file(path, marker):
    """A torch-layout zip whose data.pkl holds a Payload (what torch.save would write)."""
    buf = io.BytesIO()
    dg.save({"w": dg.ones(2), "x": "placeholder"}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                obj = {"payload": Payload(str(marker))}
                data = pickle.dumps(obj, protocol=2)
            dst.writestr(info.filename, data)


def test_weights_only_refuses_an_arbitrary_object_without_running_it(tmp_path):
    path, marker = tmp_path / "evil.pt", tmp_path / "ran.txt"
    _write_payload_file(path, marker)
    with pytest.raises(pickle.UnpicklingError, match=r"weights_only.*_touch"):
        dg.load(path)
    assert not marker.exists()


def test_unsafe_globals_are_listed_without_loading(tmp_path):
    path, marker = tmp_path / "evil.pt", tmp_path / "ran.txt"
    _write_payload_file(path, marker)
    assert dg.serialization.get_unsafe_globals_in_checkpoint(path) == [
        f"{__name__}._touch"]
    assert not marker.exists()
    buf = io.BytesIO()
    dg.save({"w": dg.ones(2), "s": {1, 2}, "o": collections.OrderedDict()}, buf)
    buf.seek(0)
    assert dg.serialization.get_unsafe_globals_in_checkpoint(buf) == []


def test_safe_globals_allow_what_the_user_trusts(tmp_path):
    path, marker = tmp_path / "evil.pt", tmp_path / "ran.txt"
    _write_payload_file(path, marker)
    with dg.serialization.safe_globals([_touch]):
        assert dg.load(path) == {"payload": "ran"}
    assert marker.exists()
    marker.unlink()
    with pytest.raises(pickle.UnpicklingError):         # the context ended
        dg.load(path)
    assert dg.load(path, weights_only=False) == {"payload": "ran"}
    dg.serialization.add_safe_globals([_touch])
    try:
        assert _touch in dg.serialization.get_safe_globals()
        assert dg.load(path) == {"payload": "ran"}
    finally:
        dg.serialization.clear_safe_globals()


@requires_torch
def test_torch_also_refuses_the_payload(tmp_path):
    import torch
    path, marker = tmp_path / "evil.pt", tmp_path / "ran.txt"
    _write_payload_file(path, marker)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    assert not marker.exists()


# ----------------------------------------------------------------------------- bad files
def test_corrupted_files_raise_named_errors(tmp_path):
    good = io.BytesIO()
    dg.save({"w": dg.ones(3, 2)}, good)
    data = good.getvalue()
    (tmp_path / "junk.pt").write_bytes(b"not a zip file at all")
    with pytest.raises(RuntimeError, match="dg.load.*not a PyTorch zip archive"):
        dg.load(tmp_path / "junk.pt")
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="dg.load"):
        dg.load(tmp_path / "cut.pt")
    # a storage record missing, or shorter than the tensor needs
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        for name, edit in (("missing", lambda n, d: None),
                           ("short", lambda n, d: d[:8] if n.endswith("data/0") else d)):
            path = tmp_path / f"{name}.pt"
            with zipfile.ZipFile(path, "w") as dst:
                for info in src.infolist():
                    d = src.read(info.filename)
                    d = d if not info.filename.endswith("data/0") else edit(info.filename, d)
                    if d is not None:
                        dst.writestr(info.filename, d)
            with pytest.raises(RuntimeError, match="dg.load: corrupted file"):
                dg.load(path)


def test_save_refuses_what_torch_cannot_read():
    with pytest.raises(ValueError, match="pickle_protocol"):
        dg.save({}, io.BytesIO(), pickle_protocol=4)
    with pytest.raises(pickle.PicklingError, match="dtype"):
        dg.save({"dtype": np.dtype(np.uint32)}, io.BytesIO())


def test_save_to_a_path_is_atomic(tmp_path):
    path = tmp_path / "a.pt"
    dg.save({"w": dg.ones(1)}, path)
    assert os.listdir(tmp_path) == ["a.pt"]


def test_a_whole_module_needs_weights_only_false():
    model = dg.models.MLP([3, 4, 2])
    buf = io.BytesIO()
    dg.save(model, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="deltagrad.models.classic.MLP"):
        dg.load(buf)
    buf.seek(0)
    back = dg.load(buf, weights_only=False)
    assert type(back) is type(model)
    x = dg.randn(2, 3)
    np.testing.assert_array_equal(back(x).detach().numpy(), model(x).detach().numpy())
