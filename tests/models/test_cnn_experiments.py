"""The convolutional experiments of ``deltagrad train``: each is registered and trains an
epoch on the bundled digits; augmentation is seeded by the global generator, so a resumed
run is bit-for-bit identical to an uninterrupted one; the transfer flow freezes and
replaces what it should; the classic kernels form a frozen first layer."""
from dataclasses import replace

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.experiments import cnn as C
from deltagrad.experiments import get_experiment
from deltagrad.experiments.data import image_classification
from deltagrad.nn.kernels import CLASSIC_KERNELS
from deltagrad.train.checkpoint import load_checkpoint
from deltagrad.train.trainer import train

from ..cli.conftest import FAST, _one_blas_thread, cli
from ..cli.test_resume import _arrays

EXPERIMENTS = ("lenet", "cnn", "resnet", "mobilenet", "conv-kernels", "transfer",
               "transfer-scratch")


@pytest.fixture(autouse=True)
def _blas():
    with _one_blas_thread():
        yield


def _checkpoint(run):
    return load_checkpoint(str(run / "checkpoint.npz"))


# ----------------------------------------------------------------------------- data
def test_channels_layout_and_digits_enlarged():
    flat = image_classification("digits")
    d = image_classification("digits", flatten=False, channels=True)
    assert d.x_train.shape == (len(flat.x_train), 1, 8, 8) and d.x_train.dtype == np.float32
    np.testing.assert_array_equal(d.x_train.reshape(len(d.x_train), -1), flat.x_train)
    big = C.image_channels("digits")
    assert big.x_train.shape[1:] == (1, 16, 16) and big.image_shape == (16, 16)
    np.testing.assert_array_equal(big.x_test[:, :, ::2, ::2], d.x_test)
    np.testing.assert_array_equal(big.x_test[:, :, 1::2, 1::2], d.x_test)


# ----------------------------------------------------------------------------- registry
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_registered_and_trains_one_epoch_on_digits(name, tmp_path):
    exp = get_experiment(name)
    assert exp.data in (C.image_channels, C.few_labels)
    r = cli("train", name, *FAST, "--epochs", 1, "--out", tmp_path / name)
    assert r.code == 0, r
    state = _checkpoint(tmp_path / name)
    assert state["epoch"] == 1
    acc = state["history"][0]["test_accuracy"]
    assert 0.0 <= acc <= 1.0 and np.isfinite(state["history"][0]["train_loss"])
    r = cli("list")
    assert name in r.out


def test_conv_experiments_augment_and_lenet_does_not():
    for name in ("cnn", "resnet", "mobilenet"):
        assert isinstance(get_experiment(name).augment, C.FlipAndShift)
    assert get_experiment("lenet").augment is None


# ----------------------------------------------------------------------------- augmentation
def _all_views(img, pad, fill):
    """Every flip × shift of one (C, H, W) image with the border filled with ``fill``."""
    h, w = img.shape[-2:]
    views = []
    for im in (img, img[..., ::-1]):
        padded = np.pad(im, ((0, 0), (pad, pad), (pad, pad)), constant_values=fill)
        views += [padded[:, i:i + h, j:j + w] for i in range(2 * pad + 1)
                  for j in range(2 * pad + 1)]
    return views


def test_flip_and_shift_is_a_flip_and_shift_of_each_image():
    x = np.random.default_rng(0).standard_normal((16, 1, 28, 28)).astype(np.float32)
    dg.manual_seed(1)
    out = C.FlipAndShift()(dg.from_numpy(x))
    assert isinstance(out, dg.Tensor) and out.shape == x.shape and out.dtype == dg.float32
    y = out.numpy()
    fill = x.min()
    for n in range(len(x)):
        assert any(np.array_equal(y[n], v) for v in _all_views(x[n], 2, fill)), n
    assert not np.array_equal(y, x)
    flipped = sum(np.array_equal(y[n], x[n]) for n in range(len(x)))
    assert flipped < len(x)


def test_flip_and_shift_follows_the_global_seed():
    x = dg.from_numpy(np.random.default_rng(0).standard_normal((32, 1, 16, 16))
                      .astype(np.float32))
    aug = C.FlipAndShift()
    dg.manual_seed(5)
    a = aug(x).numpy()
    dg.manual_seed(5)
    b = aug(x).numpy()
    dg.manual_seed(6)
    c = aug(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_trainer_applies_the_experiment_augment(tmp_path):
    seen = []

    def spy(x):
        seen.append(tuple(x.shape))
        return x * 0  # erases the inputs: the model can learn nothing from them

    exp = replace(get_experiment("lenet"), augment=spy)
    rows = train(exp, str(tmp_path / "run"), {"dataset": "digits", "epochs": 1,
                                              "batch_size": 64}, stream=open("/dev/null", "w"))
    from deltagrad.experiments.data import with_validation  # 10% held out for validation
    n_train = len(with_validation(C.image_channels("digits"), exp.val_fraction, 0).x_train)
    assert sum(s[0] for s in seen) == n_train and all(s[1:] == (1, 16, 16) for s in seen)
    assert rows[0]["train_accuracy"] < 0.3   # inputs zeroed: chance level, ~0.1


class _Crash(Exception):
    pass


class _CrashingAugment(C.FlipAndShift):
    """FlipAndShift that dies (like a killed process) at its ``at``-th batch."""

    def __init__(self, at):
        super().__init__()
        self.at, self.calls = at, 0

    def __call__(self, x):
        self.calls += 1
        if self.calls == self.at:
            raise _Crash
        return super().__call__(x)


@pytest.mark.slow
def test_resume_with_augmentation_is_bit_for_bit(tmp_path):
    settings = {"dataset": "digits", "epochs": 2, "batch_size": 64, "seed": 2}
    split, whole = tmp_path / "split", tmp_path / "whole"
    batches = -(-len(C.image_channels("digits").x_train) // 64)
    crashing = replace(get_experiment("cnn"), augment=_CrashingAugment(batches + 5))
    with pytest.raises(_Crash):   # dies in epoch 2, after epoch 1's checkpoint
        train(crashing, str(split), settings, stream=open("/dev/null", "w"))
    assert _checkpoint(split)["epoch"] == 1
    r = cli("train", "cnn", *FAST, "--seed", 2, "--epochs", 2, "--out", split, "--resume")
    assert r.code == 0 and "resuming cnn" in r.out, r
    assert cli("train", "cnn", *FAST, "--seed", 2, "--epochs", 2, "--out", whole).code == 0
    a, b = _checkpoint(split), _checkpoint(whole)
    for part in ("model", "optimizer", "rng"):
        fa, fb = _arrays(a[part]), _arrays(b[part])
        assert fa.keys() == fb.keys()
        for k in fa:
            if isinstance(fa[k], np.ndarray):
                assert np.array_equal(fa[k], fb[k]), (part, k)
            else:
                assert fa[k] == fb[k], (part, k)
    # and the augmentation mattered: without it the same run ends elsewhere
    plain = replace(get_experiment("cnn"), augment=None)
    train(plain, str(tmp_path / "plain"), {"dataset": "digits", "epochs": 2, "batch_size": 64,
                                           "seed": 2}, stream=open("/dev/null", "w"))
    c = _checkpoint(tmp_path / "plain")
    assert any(not np.array_equal(x, y) for x, y in
               zip(_arrays(b["model"]).values(), _arrays(c["model"]).values())
               if isinstance(x, np.ndarray))


# ----------------------------------------------------------------------------- transfer
def test_few_labels_keeps_classes_5_to_9_with_n_labels_each():
    d = C.few_labels("digits", labels_per_class=7)
    assert d.classes == tuple(str(k) for k in range(5, 10)) or len(d.classes) == 5
    assert np.bincount(d.y_train).tolist() == [7] * 5
    full = C.image_channels("digits")
    assert len(d.x_test) == np.isin(full.y_test, C.FINETUNE_CLASSES).sum()
    assert set(np.unique(d.y_test)) == set(range(5))


def test_pretraining_leaves_the_global_stream_alone():
    C._pretrained_state.cache_clear()
    dg.manual_seed(0)
    C.pretrain_lenet("digits", epochs=5)             # trains (not cached yet)
    after_training = dg.rand(3).numpy()
    dg.manual_seed(0)
    model, acc = C.pretrain_lenet("digits", epochs=5)  # cached
    np.testing.assert_array_equal(dg.rand(3).numpy(), after_training)
    assert acc > 0.8   # five digit classes, chance 0.2
    assert model.classifier[-1].out_features == 5


def test_transfer_model_freezes_features_and_replaces_the_head(tmp_path):
    data = C.few_labels("digits")
    pre, _ = C.pretrain_lenet("digits")
    model = C.transfer(data)
    assert model.classifier[-1].out_features == data.num_classes
    assert all(not p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.classifier.parameters())
    for (k, a), b in zip(model.features.state_dict().items(),
                         pre.features.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    # train it through the CLI: the frozen features do not move, the classifier does
    r = cli("train", "transfer", *FAST, "--epochs", 2, "--out", tmp_path / "t")
    assert r.code == 0, r
    state = _checkpoint(tmp_path / "t")["model"]
    for k, v in pre.features.state_dict().items():
        np.testing.assert_array_equal(np.asarray(state["features." + k]), v.numpy())
    w0 = pre.classifier[1].weight.detach().numpy()
    assert not np.array_equal(np.asarray(state["classifier.1.weight"]), w0)


def test_transfer_experiment_compares_with_scratch():
    r = C.transfer_experiment("digits", labels_per_class=10, epochs=10, pretrain_epochs=5)
    assert r["train_samples"] == 50
    for k in ("frozen", "finetune", "scratch", "pretrain"):
        assert 0.0 <= r[k] <= 1.0
    # all three learn digits 5-9 from ten labels each well above chance (0.2); which wins
    # is measured on Fashion-MNIST by benchmarks/train_cnn.py
    assert min(r["frozen"], r["finetune"], r["scratch"]) > 0.4
    assert r["pretrain"] > 0.8


# ----------------------------------------------------------------------------- kernels
def test_kernel_features_are_the_frozen_classic_kernels(tmp_path):
    feats = C.KernelFeatures()
    w = feats.conv.weight.numpy()
    for i, name in enumerate(CLASSIC_KERNELS):
        np.testing.assert_array_equal(w[i, 0], CLASSIC_KERNELS[name]().numpy())
    assert not feats.conv.weight.requires_grad
    img = np.random.default_rng(0).standard_normal((9, 11)).astype(np.float32)
    out = feats(dg.from_numpy(img[None, None])).numpy()[0]
    for i, (name, resp) in enumerate(C.kernel_responses(img).items()):
        np.testing.assert_allclose(out[i], resp.numpy(), rtol=1e-6, atol=1e-6)
    # shift moves the image one pixel right; identity keeps it
    resp = C.kernel_responses(img)
    np.testing.assert_array_equal(resp["identity"].numpy(), img)
    np.testing.assert_array_equal(resp["shift"].numpy()[:, 1:], img[:, :-1])


def test_conv_kernels_report_has_the_kernel_figure(tmp_path):
    pytest.importorskip("matplotlib")
    png = C.kernel_figure(np.zeros((28, 28), np.float32))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out = tmp_path / "k"
    assert cli("train", "conv-kernels", *FAST, "--epochs", 1, "--out", out).code == 0
    state = _checkpoint(out)["model"]
    np.testing.assert_array_equal(np.asarray(state["0.conv.weight"])[:, 0],
                                  np.stack([k().numpy() for k in CLASSIC_KERNELS.values()]))
    r = cli("report", out)
    assert r.code == 0, r
    assert (out / "plots" / "classic_kernels.png").exists()
