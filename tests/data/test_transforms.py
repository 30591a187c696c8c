"""Transforms: single images and batches, reference values, seeds, errors."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.utils.data import transforms as T
from tests.conftest import requires_torch


def _imgs(n=6, c=1, h=9, w=7, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


# ----------------------------------------------------------------------------- ToTensor
def test_to_tensor_layouts_and_scaling():
    rng = np.random.default_rng(0)
    hw = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    out = T.ToTensor()(hw)
    assert isinstance(out, dg.Tensor) and out.dtype == dg.float32 and tuple(out.shape) == (1, 5, 4)
    np.testing.assert_allclose(out.numpy()[0], hw / np.float32(255), rtol=0, atol=0)
    hwc = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(T.ToTensor()(hwc).numpy(),
                                  hwc.transpose(2, 0, 1) / np.float32(255))
    nhwc = rng.integers(0, 256, (2, 5, 4, 3), dtype=np.uint8)
    batch = T.ToTensor()(nhwc)
    assert tuple(batch.shape) == (2, 3, 5, 4)
    np.testing.assert_array_equal(batch.numpy()[1], T.ToTensor()(nhwc[1]).numpy())
    f = rng.random((5, 4)).astype(np.float64)          # non-uint8: values kept (torchvision)
    np.testing.assert_array_equal(T.ToTensor()(f).numpy()[0], f)
    with pytest.raises(ValueError, match="ToTensor"):
        T.ToTensor()(np.zeros(3, np.uint8))


# ----------------------------------------------------------------------------- Normalize
@requires_torch
def test_normalize_matches_torch_formula_and_is_differentiable():
    import torch
    x = _imgs(4, 3)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    xt = dg.tensor(x, requires_grad=True)
    out = T.Normalize(mean, std)(xt)
    ref = (torch.tensor(x) - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)
    assert out.dtype == dg.float32
    out.sum().backward()
    np.testing.assert_allclose(xt.grad.numpy()[0, :, 0, 0], 1 / np.array(std, np.float32),
                               rtol=1e-6)
    single = T.Normalize(mean, std)(x[0])                 # numpy in, numpy out, (C, H, W)
    assert isinstance(single, np.ndarray)
    np.testing.assert_allclose(single, ref.numpy()[0], rtol=1e-6, atol=1e-6)


def test_normalize_errors():
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize(0.5, 0.5)(np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="division by zero"):
        T.Normalize(0.5, 0.0)(np.zeros((1, 2, 2), np.float32))
    with pytest.raises(ValueError, match="3 channels"):
        T.Normalize((0.5, 0.5), (1, 1))(np.zeros((3, 2, 2), np.float32))


# ----------------------------------------------------------------------------- geometry
def test_horizontal_flip_per_image_in_a_batch():
    x = _imgs(64)
    out = T.RandomHorizontalFlip(0.5, generator=0)(x)
    flipped = np.array([np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert (flipped ^ kept).all() and 10 < flipped.sum() < 54
    assert np.array_equal(T.RandomHorizontalFlip(1.0)(x[0]), x[0][..., ::-1])
    assert np.array_equal(T.RandomVerticalFlip(1.0)(x[0, 0]), x[0, 0][::-1])


def test_random_crop_windows_of_padded_image():
    x = _imgs(32, c=2)
    out = T.RandomCrop((9, 7), padding=2, generator=1)(dg.tensor(x))
    assert isinstance(out, dg.Tensor) and tuple(out.shape) == x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = set()
    for o, p in zip(out.numpy(), padded):
        hits = [(i, j) for i in range(5) for j in range(5)
                if np.array_equal(o, p[:, i:i + 9, j:j + 7])]
        assert hits, "each output must be a window of the padded image"
        offsets.add(hits[0])
    assert len(offsets) > 5                                  # independent per image
    small = T.RandomCrop(4, generator=0)(x[0, 0])
    assert small.shape == (4, 4)


def test_random_crop_padding_modes_and_errors():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    out = T.RandomCrop(6, padding=1, padding_mode="edge", generator=0)(x)
    np.testing.assert_array_equal(out, np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge"))
    out = T.RandomCrop(6, pad_if_needed=True, fill=-1, generator=0)(x)
    assert out.shape == (1, 6, 6) and (out == -1).sum() == 20
    with pytest.raises(ValueError, match="larger than input"):
        T.RandomCrop(5)(x)
    with pytest.raises(ValueError, match="padding_mode"):
        T.RandomCrop(2, padding_mode="wrap")


def test_random_shift_moves_content_by_at_most_max_shift():
    x = np.zeros((40, 1, 9, 9), np.float32)
    x[:, 0, 4, 4] = 1.0
    out = T.RandomShift(2, generator=0)(x)
    pos = np.array([np.argwhere(o[0] == 1)[0] for o in out])
    assert (np.abs(pos - 4) <= 2).all() and len({tuple(p) for p in pos}) > 8
    assert out.sum() == 40                                    # pixel moved, not lost
    np.testing.assert_array_equal(T.RandomShift(0)(x), x)


def test_rotation_matches_rot90_and_identity():
    a = np.arange(5 * 5 * 2, dtype=np.float32).reshape(1, 2, 5, 5)
    for interp in ("nearest", "bilinear"):
        r = T.RandomRotation((90, 90), interpolation=interp)(a)
        np.testing.assert_allclose(r[0], np.rot90(a[0], axes=(1, 2)), atol=1e-4)
        np.testing.assert_allclose(T.RandomRotation(0, interpolation=interp)(a), a, atol=1e-6)
    r180 = T.RandomRotation((180, 180))(dg.tensor(a[0, 0]))
    np.testing.assert_array_equal(r180.numpy(), a[0, 0, ::-1, ::-1])


def test_rotation_fill_and_batch_independence():
    x = np.ones((16, 1, 8, 8), np.float32)
    out = T.RandomRotation(45, fill=0, generator=3)(x)
    assert (out[:, 0, 0, 0] == 0).any()                      # corners come from outside
    zeros = (out == 0).reshape(16, -1).sum(1)
    assert len(set(zeros.tolist())) > 3                       # different angle per image
    with pytest.raises(ValueError, match="positive"):
        T.RandomRotation(-5)


# ----------------------------------------------------------------------------- noise
def test_gaussian_noise_statistics_clip_and_grad():
    x = np.full((200, 1, 10, 10), 0.5, np.float32)
    out = T.GaussianNoise(sigma=0.1, clip=False, generator=0)(x)
    assert out.dtype == np.float32
    assert abs(float(out.mean()) - 0.5) < 0.005 and abs(float(out.std()) - 0.1) < 0.005
    clipped = T.GaussianNoise(sigma=2.0, generator=0)(x)
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    xt = dg.tensor(x[:2], requires_grad=True)
    T.GaussianNoise(sigma=0.1, clip=False)(xt).sum().backward()
    np.testing.assert_array_equal(xt.grad.numpy(), 1.0)
    with pytest.raises(TypeError, match="float"):
        T.GaussianNoise()(np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="negative"):
        T.GaussianNoise(sigma=-1)


def test_bernoulli_mask_rate_and_scale():
    x = np.ones((100, 1, 10, 10), np.float32)
    out = T.BernoulliMask(0.3, generator=0)(x)
    assert set(np.unique(out).tolist()) == {0.0, 1.0}
    assert abs((out == 0).mean() - 0.3) < 0.02
    scaled = T.BernoulliMask(0.3, scale=True, generator=0)(x)
    np.testing.assert_allclose(scaled, out / np.float32(0.7))
    assert abs(float(scaled.mean()) - 1.0) < 0.03
    xt = dg.tensor(x[:1], requires_grad=True)
    y = T.BernoulliMask(0.5, generator=1)(xt)
    y.sum().backward()
    np.testing.assert_array_equal(xt.grad.numpy(), y.detach().numpy())  # d(x*m)/dx = m
    with pytest.raises(ValueError, match="p must be"):
        T.BernoulliMask(1.0, scale=True)


def test_binarize_threshold_and_stochastic():
    x = np.array([[[0.2, 0.5, 0.7]]], np.float32)
    np.testing.assert_array_equal(T.Binarize()(x), [[[0, 0, 1]]])
    probs = np.full((1, 100, 100), 0.25, np.float32)
    s = T.Binarize(stochastic=True, generator=0)(probs)
    assert set(np.unique(s).tolist()) == {0.0, 1.0} and abs(s.mean() - 0.25) < 0.02


# ----------------------------------------------------------------------------- seeds, compose
@pytest.mark.parametrize("make", [
    lambda g: T.RandomCrop((9, 7), padding=2, generator=g), lambda g: T.RandomShift(2, generator=g),
    lambda g: T.RandomRotation(30, generator=g), lambda g: T.RandomHorizontalFlip(generator=g),
    lambda g: T.GaussianNoise(generator=g), lambda g: T.BernoulliMask(generator=g),
])
def test_random_transforms_reproducible_under_seed(make):
    x = _imgs(8)
    a, b = make(5)(x), make(5)(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(make(6)(x), a)
    dg.manual_seed(11)
    c = make(None)(x)
    dg.manual_seed(11)
    np.testing.assert_array_equal(make(None)(x), c)
    g = dg.Generator().manual_seed(2)
    assert make(g)(x).shape == x.shape


def test_compose_and_batched_flag():
    pipe = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    out = pipe(np.full((3, 3), 255, np.uint8))
    np.testing.assert_allclose(out.numpy(), 1.0)
    assert pipe.batched and not T.Compose([T.ToTensor(), T.Lambda(lambda z: z)]).batched
    assert "Normalize" in repr(pipe)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        T.RandomShift(1)(np.zeros((1, 1, 1, 2, 2), np.float32))
