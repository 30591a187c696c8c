"""IDX reader, Fashion-MNIST / MNIST lookup and download, digits, synthetic sets."""
import copy
import gzip
import hashlib
import os
import struct

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.datasets as DS
import deltagrad.utils.data as D
from deltagrad.utils.data import transforms as T

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
have_fmnist = pytest.mark.skipif(
    not os.path.isfile(os.path.join(FMNIST_DIR, "train-images-idx3-ubyte.gz")),
    reason="needs Debian's dataset-fashion-mnist package")


# ----------------------------------------------------------------------------- IDX
def _idx_bytes(code, shape, payload):
    return bytes([0, 0, code, len(shape)]) + struct.pack(">" + "I" * len(shape), *shape) + payload


def test_read_idx_hand_built_files(tmp_path):
    p = tmp_path / "u8"
    p.write_bytes(_idx_bytes(0x08, (2, 3), bytes([1, 2, 3, 250, 251, 252])))
    a = DS.read_idx(p)
    assert a.dtype == np.uint8 and a.tolist() == [[1, 2, 3], [250, 251, 252]]
    p = tmp_path / "i32.gz"                        # big-endian int32, gzip-compressed
    p.write_bytes(gzip.compress(_idx_bytes(0x0C, (3,), struct.pack(">iii", -1, 7, 65536))))
    a = DS.read_idx(p)
    assert a.dtype == np.int32 and a.dtype.isnative and a.tolist() == [-1, 7, 65536]
    p = tmp_path / "f32"
    p.write_bytes(_idx_bytes(0x0D, (2,), struct.pack(">ff", 1.5, -2.25)))
    assert DS.read_idx(p).tolist() == [1.5, -2.25]


@pytest.mark.parametrize("blob, match", [
    (b"\x08\x03\x00\x00" + b"\x00" * 8, "bad magic number"),
    (bytes([0, 0, 0x07, 1]) + struct.pack(">I", 1) + b"\x00", "unknown IDX type code 0x07"),
    (_idx_bytes(0x08, (2, 2), bytes(3)), "header says shape"),
    (bytes([0, 0, 0x08, 3, 0, 0]), "truncated inside its header"),
    (b"", "bad magic"),
])
def test_read_idx_rejects_bad_files(tmp_path, blob, match):
    p = tmp_path / "bad"
    p.write_bytes(blob)
    with pytest.raises(ValueError, match=match):
        DS.read_idx(p)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_write_idx_round_trip(tmp_path, dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    DS.write_idx(tmp_path / "a.gz", a)
    with gzip.open(tmp_path / "a.gz") as f:
        assert f.read(4)[2] == {"uint8": 8, "int8": 9, "int16": 11, "int32": 12,
                                "float32": 13, "float64": 14}[dtype]
    np.testing.assert_array_equal(DS.read_idx(tmp_path / "a.gz"), a)
    with pytest.raises(TypeError, match="IDX type code"):
        DS.write_idx(tmp_path / "b", a.astype(np.int64))


# ----------------------------------------------------------------------------- Fashion-MNIST
@pytest.fixture(scope="module")
def fmnist_train():
    return DS.FashionMNIST(train=True)


@have_fmnist
def test_fashion_mnist_train_and_test(fmnist_train, monkeypatch):
    ds = fmnist_train
    assert len(ds) == 60000 and ds.data.shape == (60000, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.dtype == np.int64 and np.bincount(ds.targets).tolist() == [6000] * 10
    assert ds.classes[0] == "T-shirt/top" and ds.class_to_idx["Ankle boot"] == 9
    img, label = ds[0]
    assert img.shape == (28, 28) and img.dtype == np.uint8 and label == int(ds.targets[0])
    monkeypatch.delenv("DELTAGRAD_DATA", raising=False)
    test = DS.FashionMNIST(train=False)
    assert test.data.shape == (10000, 28, 28) and np.bincount(test.targets).tolist() == [1000] * 10


@have_fmnist
def test_fashion_mnist_as_tensors(fmnist_train):
    x, y = fmnist_train.as_tensors()
    assert tuple(x.shape) == (60000, 1, 28, 28) and x.dtype == dg.float32
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    np.testing.assert_array_equal(x.numpy()[5, 0], fmnist_train.data[5] / np.float32(255))
    assert y.dtype == dg.int64 and tuple(y.shape) == (60000,)
    xf, _ = fmnist_train.as_tensors(flatten=True)
    assert tuple(xf.shape) == (60000, 784)


@have_fmnist
def test_fashion_mnist_loader_batch_path_equals_per_sample_path(fmnist_train):
    ds = copy.copy(fmnist_train)                         # shares the arrays, own transform
    ds.transform = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    idx = [3, 59999, 0, 17]
    xb, yb = D.default_collate(ds.__getitems__(idx))      # one vectorised call
    assert tuple(xb.shape) == (4, 1, 28, 28) and xb.dtype == dg.float32 and yb.dtype == dg.int64
    for j, i in enumerate(idx):
        img, label = ds[i]                                # the single-image path
        np.testing.assert_allclose(xb.numpy()[j], img.numpy(), rtol=0, atol=1e-7)
        assert yb.numpy()[j] == label
    xr, yr = next(iter(D.DataLoader(fmnist_train, batch_size=5)))   # raw, no transform
    assert xr.dtype == dg.uint8 and tuple(xr.shape) == (5, 28, 28)
    np.testing.assert_array_equal(yr.numpy(), fmnist_train.targets[:5])


@have_fmnist
def test_fashion_mnist_lookup_via_env_and_root(tmp_path, monkeypatch):
    imgs = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    sub = tmp_path / "fashion-mnist"
    sub.mkdir()
    DS.write_idx(sub / "train-images-idx3-ubyte", imgs)          # uncompressed is fine too
    DS.write_idx(sub / "train-labels-idx1-ubyte.gz", np.array([3, 4], np.uint8))
    monkeypatch.setenv("DELTAGRAD_DATA", str(tmp_path))
    ds = DS.FashionMNIST(train=True)
    assert len(ds) == 2 and ds.targets.tolist() == [3, 4] and ds.raw_folder == str(sub)
    np.testing.assert_array_equal(ds.data, imgs)
    assert DS.FashionMNIST(root=sub).data.shape == (2, 28, 28)
    test = DS.FashionMNIST(train=False)              # not under DELTAGRAD_DATA: system dir
    assert len(test) == 10000 and test.raw_folder == FMNIST_DIR


def test_missing_data_error_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        DS.FashionMNIST(root=tmp_path)
    msg = str(e.value)
    for hint in ("apt-get install dataset-fashion-mnist", "DELTAGRAD_DATA", "download=True",
                 str(tmp_path)):
        assert hint in msg


def _fake_mirror(tmp_path, n=3):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    rng = np.random.default_rng(0)
    resources = []
    for split, m in (("train", n), ("t10k", 2)):
        DS.write_idx(mirror / f"{split}-images-idx3-ubyte.gz",
                     rng.integers(0, 256, (m, 28, 28), dtype=np.uint8))
        DS.write_idx(mirror / f"{split}-labels-idx1-ubyte.gz", np.arange(m, dtype=np.uint8))
    for name in sorted(os.listdir(mirror)):
        resources.append((name, hashlib.md5((mirror / name).read_bytes()).hexdigest()))
    return mirror.as_uri() + "/", tuple(resources)


def test_download_verifies_md5(tmp_path):
    url, resources = _fake_mirror(tmp_path)

    class Local(DS.FashionMNIST):
        mirrors = (url,)
        system_dirs = ()

    Local.resources = resources
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError):
        Local(root=root)                                # nothing fetched unless asked
    ds = Local(root=root, download=True)
    assert len(ds) == 3 and (root / "fashion-mnist" / "train-labels-idx1-ubyte.gz").exists()
    Local.resources = tuple((n, "0" * 32) for n, _ in resources)
    with pytest.raises(RuntimeError, match="MD5 mismatch"):
        Local(root=tmp_path / "other", download=True)
    assert not any(p.suffix == ".part" for p in (tmp_path / "other").rglob("*"))


def test_mnist_reads_same_format_from_root(tmp_path):
    url, resources = _fake_mirror(tmp_path, n=4)
    src = tmp_path / "mirror"
    ds = DS.MNIST(root=src, train=True)
    assert len(ds) == 4 and ds.classes[3] == "3 - three"
    x, y = DS.MNIST.load(root=src, train=False)
    assert tuple(x.shape) == (2, 1, 28, 28) and y.tolist() == [0, 1]
    with pytest.raises(FileNotFoundError, match="DELTAGRAD_DATA"):
        DS.MNIST(root=tmp_path / "nothing")


# ----------------------------------------------------------------------------- digits
def test_digits():
    pytest.importorskip("sklearn")
    d = DS.Digits()
    assert len(d) == 1797 and d.data.shape == (1797, 8, 8) and d.data.max() == 16
    img, label = d[0]
    assert img.dtype == np.float32 and img.shape == (8, 8) and label == 0
    np.testing.assert_allclose(img, d.data[0] / 16)
    tr, te = DS.Digits(train=True), DS.Digits(train=False)
    assert len(tr) + len(te) == 1797 and len(te) == 360
    assert np.array_equal(DS.Digits(train=False).targets, te.targets)   # fixed split
    x, y = tr.as_tensors()
    assert tuple(x.shape) == (len(tr), 1, 8, 8) and float(x.max()) == 1.0
    xb, yb = next(iter(D.DataLoader(DS.Digits(transform=T.ToTensor()), batch_size=4)))
    assert tuple(xb.shape) == (4, 1, 8, 8) and xb.dtype == dg.float32
    np.testing.assert_allclose(xb.numpy()[0, 0], d.data[0] / 16)


def test_digits_without_sklearn_gives_clear_error(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_sklearn(name, *a, **k):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real_import(name, *a, **k)

    from deltagrad.datasets import digits
    digits._load_sklearn_digits.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        DS.Digits()


# ----------------------------------------------------------------------------- synthetic
def test_boolean_functions():
    x, y = DS.boolean_function([0, 0, 0, 1])
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 0, 0, 1]
    assert x.dtype == dg.float32 and y.dtype == dg.int64
    assert DS.boolean_function("nand")[1].tolist() == [1, 1, 1, 0]
    x3, y3 = DS.boolean_function(lambda a, b, c: a ^ b ^ c, n_inputs=3)
    assert tuple(x3.shape) == (8, 3) and y3.tolist() == [0, 1, 1, 0, 1, 0, 0, 1]
    assert DS.xor()[1].tolist() == [0, 1, 1, 0]
    with pytest.raises(ValueError, match="2\\*\\*k"):
        DS.boolean_function([0, 1, 1])
    with pytest.raises(ValueError, match="0 or 1"):
        DS.boolean_function([0, 2])


@pytest.mark.parametrize("make", [
    lambda g: DS.xor(40, noise=0.1, generator=g), lambda g: DS.spirals(60, 3, generator=g),
    lambda g: DS.blobs(50, centers=4, generator=g), lambda g: DS.sine_regression(30, generator=g),
])
def test_synthetic_sets_are_seeded(make):
    (x1, y1), (x2, y2), (x3, _) = make(0), make(0), make(1)
    np.testing.assert_array_equal(x1.numpy(), x2.numpy())
    np.testing.assert_array_equal(y1.numpy(), y2.numpy())
    assert not np.array_equal(x1.numpy(), x3.numpy())
    assert x1.dtype == dg.float32 and len(x1) == len(y1)


def test_synthetic_shapes_and_labels():
    x, y = DS.spirals(90, n_classes=3, noise=0.0, generator=0)
    assert tuple(x.shape) == (90, 2) and np.bincount(y.numpy()).tolist() == [30, 30, 30]
    assert float(np.linalg.norm(x.numpy(), axis=1).max()) <= 1.0
    centers = np.array([[0.0, 0.0], [10.0, 10.0]])
    x, y = DS.blobs(200, centers=centers, cluster_std=0.5, generator=0)
    means = np.stack([x.numpy()[y.numpy() == k].mean(0) for k in range(2)])
    np.testing.assert_allclose(means, centers, atol=0.15)
    x, y = DS.sine_regression(500, noise=0.0, generator=0)
    assert tuple(y.shape) == (500, 1) and y.dtype == dg.float32
    np.testing.assert_allclose(y.numpy(), np.sin(x.numpy()), atol=1e-6)
    with pytest.raises(ValueError, match="n_samples"):
        DS.blobs(0)
