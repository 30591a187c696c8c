"""The synthetic torchvision of benchmarks/upstream and the helpers of
benchmarks/upstream_programs.py: the same pixels and transforms under real torch and under
deltagrad-as-torch, the shapes and types torchvision gives, and the loss comparison."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from deltagrad.torch_compat import torch_is_deltagrad

torch = pytest.importorskip("torch")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAND_IN = os.path.join(ROOT, "benchmarks", "upstream", "torchvision_synthetic")


def _fresh_torchvision():
    """Import the stand-in anew, so that its ``import torch`` binds to the current torch."""
    for name in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
        del sys.modules[name]
    sys.path.insert(0, STAND_IN)
    try:
        import torchvision
        return torchvision
    finally:
        sys.path.remove(STAND_IN)


def _items(monkeypatch):
    monkeypatch.setenv("SYNTHETIC_TRAIN_SIZE", "12")
    monkeypatch.setenv("SYNTHETIC_TEST_SIZE", "5")
    tv = _fresh_torchvision()
    T = tv.transforms
    mnist = tv.datasets.MNIST("unused", train=True, transform=T.Compose(
        [T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
    cifar = tv.datasets.CIFAR10("unused", train=False, transform=T.Compose(
        [T.Resize(40), T.CenterCrop(36), T.ToTensor(), T.Lambda(lambda x: x.mul(255))]))
    fake = tv.datasets.FakeData(image_size=(3, 16, 16), transform=T.ToTensor())
    return {"mnist": (len(mnist), mnist[3], mnist.data, mnist.targets),
            "cifar": (len(cifar), cifar[4], cifar.data, cifar.targets),
            "fake": (len(fake), fake[0])}


def test_the_same_items_under_torch_and_deltagrad(monkeypatch):
    theirs = _items(monkeypatch)
    with torch_is_deltagrad():
        import torch as dg_torch
        ours = _items(monkeypatch)
    assert theirs["mnist"][0] == ours["mnist"][0] == 12
    assert theirs["cifar"][0] == ours["cifar"][0] == 5 and theirs["fake"][0] == 12
    for key in ("mnist", "cifar", "fake"):
        (x_t, y_t), (x_d, y_d) = theirs[key][1], ours[key][1]
        assert isinstance(x_t, torch.Tensor) and isinstance(x_d, dg_torch.Tensor)
        assert str(x_t.dtype) == "torch.float32" and x_d.dtype == dg_torch.float32
        assert type(y_t) is int and y_t == y_d
        np.testing.assert_allclose(x_d.numpy(), x_t.numpy(), rtol=1e-6, atol=1e-6)
    assert tuple(theirs["mnist"][1][0].shape) == (1, 28, 28)
    assert tuple(theirs["cifar"][1][0].shape) == (3, 36, 36)
    assert float(theirs["cifar"][1][0].max()) > 1.0  # Lambda(x * 255) applied
    # MNIST keeps uint8 images and int64 targets as tensors, CIFAR10 an array and a list
    assert theirs["mnist"][2].dtype == torch.uint8 and tuple(theirs["mnist"][2].shape) == \
        (12, 28, 28) and theirs["mnist"][3].dtype == torch.int64
    assert ours["mnist"][2].dtype == dg_torch.uint8 and ours["mnist"][3].dtype == dg_torch.int64
    assert theirs["cifar"][2].shape == (5, 32, 32, 3) and isinstance(theirs["cifar"][3], list)


def test_classes_are_learnable_and_splits_differ(monkeypatch):
    monkeypatch.setenv("SYNTHETIC_TRAIN_SIZE", "400")
    tv = _fresh_torchvision()
    train = tv.datasets.MNIST("unused", train=True)
    test = tv.datasets.MNIST("unused", train=False)
    assert not np.array_equal(train.data[:5].numpy(), test.data[:5].numpy())
    images = train.data.numpy().reshape(400, -1).astype(float)
    labels = train.targets.numpy()
    means = np.stack([images[labels == c].mean(0) for c in range(10)])
    nearest = np.argmin(((images[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == labels).mean() > 0.9  # a nearest-class-mean rule separates them


def test_resnet18_and_save_image(tmp_path):
    tv = _fresh_torchvision()
    model = tv.models.resnet18(weights=None)
    assert sum(p.numel() for p in model.parameters()) == 11689512  # torchvision's count
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 1000)
    with pytest.raises(ValueError, match="weights=None"):
        tv.models.resnet18(weights="IMAGENET1K_V1")
    from PIL import Image
    tv.utils.save_image(torch.rand(10, 1, 8, 8), tmp_path / "grid.png", nrow=4)
    assert Image.open(tmp_path / "grid.png").size == (4 * 10 + 2, 3 * 10 + 2)


def test_the_runner_compares_first_losses_and_direction():
    sys.path.insert(0, ROOT)
    from benchmarks.upstream_programs import FLOAT, compare
    import re
    line = "Train Epoch: 1 [0/640 (0%)]\tLoss: 2.302585 then Loss: 1e-3"
    assert [float(m) for m in re.findall(r"Loss: " + FLOAT, line)] == [2.302585, 1e-3]
    out = compare({"losses": [2.0, 1.0]}, {"losses": [2.2, 1.5, 1.2]})
    assert out["losses_printed"] == [2, 3] and out["both_improved"] is True
    assert out["first_loss_relative_difference"] == pytest.approx(0.1)
    assert compare({"losses": [10.0, 20.0]}, {"losses": [11.0, 30.0]},
                   higher_is_better=True)["both_improved"] is True
    assert compare({"losses": [2.0, 1.0]}, {"losses": [2.0, 3.0]})["both_improved"] is False
    assert compare({"losses": []}, {"losses": [1.0]}) == {}


def test_read_image_gives_uint8_channels_first(tmp_path):
    """data_tutorial.py's ``from torchvision.io import read_image``."""
    from PIL import Image
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "grey.png")
    for lib in ("torch", "deltagrad"):
        if lib == "torch":
            tv = _fresh_torchvision()
            image, grey = tv.io.read_image(tmp_path / "rgb.png"), \
                tv.io.read_image(str(tmp_path / "grey.png"))
        else:
            with torch_is_deltagrad():
                tv = _fresh_torchvision()
                image, grey = tv.io.read_image(tmp_path / "rgb.png"), \
                    tv.io.read_image(str(tmp_path / "grey.png"))
        assert str(image.dtype).endswith("uint8") and tuple(image.shape) == (3, 5, 7)
        np.testing.assert_array_equal(image.numpy(), rgb.transpose(2, 0, 1))
        np.testing.assert_array_equal(grey.numpy(), rgb[None, :, :, 0])
        as_grey = tv.io.read_image(tmp_path / "rgb.png", tv.io.ImageReadMode.GRAY)
        assert tuple(as_grey.shape) == (1, 5, 7)
        as_rgb = tv.io.read_image(tmp_path / "grey.png", tv.io.ImageReadMode.RGB)
        np.testing.assert_array_equal(as_rgb.numpy(), np.repeat(grey.numpy(), 3, axis=0))
        with pytest.raises(TypeError, match="mode must be an ImageReadMode"):
            tv.io.read_image(tmp_path / "rgb.png", "RGB")
