"""Image transforms and augmentation (``torchvision.transforms``'s names and arguments).

Layouts: ``ToTensor`` takes images as stored, channels last: uint8 ``(H, W)``, ``(H, W, C)``
or a batch ``(N, H, W, C)``, and returns channels first. Every other transform takes a
``Tensor`` or NumPy/CuPy array as one image ``(H, W)`` / ``(C, H, W)`` or a batch
``(N, C, H, W)``, returns the same kind of object, and on a batch is vectorised with
independent randomness per image (one draw per image, never a Python loop over images).

Random transforms take ``generator``: a ``dg.Generator``, an int seed, or ``None`` for the
global generator (``dg.manual_seed``). ``Normalize``, ``GaussianNoise`` and
``BernoulliMask`` are built from tensor ops, so gradients flow through them; the geometric
ones (flip, crop, shift, rotation) return detached data.

Also re-exported as ``dg.datasets.transforms``.
"""
from __future__ import annotations

import numbers

import numpy as np

from ... import backend
from ...tensor import Tensor, _make
from ._random import as_generator, numpy_rng

__all__ = ["Compose", "Lambda", "ToTensor", "Normalize", "RandomHorizontalFlip",
           "RandomVerticalFlip", "RandomCrop", "RandomShift", "RandomRotation", "GaussianNoise",
           "BernoulliMask", "Binarize"]


def _array(x, op):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray) or backend.array_module(x) is not np:
        return x
    raise TypeError(f"{op}: expected a Tensor or an array, got {type(x).__name__}")


def _like(x, a):
    """``a`` as the same kind of object as the input ``x``."""
    return _make(a) if isinstance(x, Tensor) else a


def _as_batch(a, op):
    """View an image (H, W) / (C, H, W) or a batch (N, C, H, W) as (N, C, H, W)."""
    if a.ndim == 2:
        return a[None, None]
    if a.ndim == 3:
        return a[None]
    if a.ndim == 4:
        return a
    raise ValueError(f"{op}: expected an image (H, W) or (C, H, W) or a batch (N, C, H, W), "
                     f"got shape {tuple(a.shape)}")


def _on_device(a, like):
    return backend.to_device(a, backend.device_of(like))


class _Transform:
    """Base: ``batched`` says the transform accepts a whole batch (N, C, H, W)."""

    batched = True

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                         if not k.startswith("_") and k != "generator")
        return f"{type(self).__name__}({args})"


class _RandomTransform(_Transform):
    def __init__(self, generator):
        self.generator = as_generator(generator, type(self).__name__)

    @property
    def _rng(self):
        return numpy_rng(self.generator)


class Compose(_Transform):
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    @property
    def batched(self):
        return all(getattr(t, "batched", False) for t in self.transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose(\n" + "".join(f"    {t!r}\n" for t in self.transforms) + ")"


class Lambda(_Transform):
    """Apply a user function (assumed to handle single images only)."""

    batched = False

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x):
        return self.lambd(x)


class ToTensor(_Transform):
    """Channels-last image(s) -> float Tensor, channels first. uint8 is scaled: x / 255 in [0, 1];
    other dtypes keep their values (as torchvision)."""

    def __call__(self, pic):
        a = pic._data if isinstance(pic, Tensor) else pic
        if not hasattr(a, "ndim"):
            a = np.asarray(a)
        if a.ndim == 2:
            a = a[None]
        elif a.ndim == 3:
            a = a.transpose(2, 0, 1)
        elif a.ndim == 4:
            a = a.transpose(0, 3, 1, 2)
        else:
            raise ValueError(f"ToTensor: expected an image (H, W) or (H, W, C) or a batch "
                             f"(N, H, W, C), got shape {tuple(a.shape)}")
        xp = backend.array_module(a)
        if a.dtype == np.uint8:
            f = backend.get_default_dtype()
            return _make(a.astype(f) / f.type(255))
        return _make(xp.ascontiguousarray(a))


class Normalize(_Transform):
    """Per channel: ``(x - mean[c]) / std[c]`` on (..., C, H, W) float input."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, x):
        a = _array(x, "Normalize")
        if a.dtype.kind != "f":
            raise TypeError(f"Normalize: Input tensor should be a float tensor. Got {a.dtype}.")
        if a.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor image of size (..., C, H, W), got "
                             f"shape {tuple(a.shape)}")
        xp = backend.array_module(a)
        mean = xp.asarray(np.asarray(self.mean, dtype=a.dtype).reshape(-1, 1, 1))
        std = xp.asarray(np.asarray(self.std, dtype=a.dtype).reshape(-1, 1, 1))
        c = a.shape[-3]
        for name, v in (("mean", mean), ("std", std)):
            if v.shape[0] not in (1, c):
                raise ValueError(f"Normalize: {name} has {v.shape[0]} values but the input has "
                                 f"{c} channels (shape {tuple(a.shape)})")
        if (std == 0).any():
            raise ValueError(f"Normalize: std evaluated to zero after conversion to {a.dtype}, "
                             "leading to division by zero.")
        if isinstance(x, Tensor) and (x.requires_grad or not self.inplace):
            return (x - _make(mean)) / _make(std)
        if self.inplace:
            a -= mean
            a /= std
            return x
        return (a - mean) / std


class _Flip(_RandomTransform):
    axis = -1

    def __init__(self, p=0.5, generator=None):
        super().__init__(generator)
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, x):
        a = _array(x, type(self).__name__)
        b = _as_batch(a, type(self).__name__)
        xp = backend.array_module(a)
        flip = _on_device(self._rng.random(b.shape[0]) < self.p, a)
        out = xp.where(flip[:, None, None, None], xp.flip(b, axis=self.axis), b)
        return _like(x, out.reshape(a.shape))


class RandomHorizontalFlip(_Flip):
    """Mirror left-right with probability ``p`` (per image)."""

    axis = -1


class RandomVerticalFlip(_Flip):
    """Mirror top-bottom with probability ``p`` (per image)."""

    axis = -2


def _pad(b, left, top, right, bottom, fill, mode):
    """Pad the last two dims of (N, C, H, W)."""
    xp = backend.array_module(b)
    width = ((0, 0), (0, 0), (top, bottom), (left, right))
    if mode == "constant":
        return xp.pad(b, width, mode="constant", constant_values=fill)
    return xp.pad(b, width, mode=mode)


def _crop_windows(b, tops, lefts, h, w):
    """``out[n] = b[n, :, tops[n]:tops[n]+h, lefts[n]:lefts[n]+w]`` in one gather."""
    xp = backend.array_module(b)
    n, c = b.shape[:2]
    tops, lefts = _on_device(tops, b), _on_device(lefts, b)
    rows = (tops[:, None] + xp.arange(h))[:, None, :, None]
    cols = (lefts[:, None] + xp.arange(w))[:, None, None, :]
    return b[xp.arange(n)[:, None, None, None], xp.arange(c)[None, :, None, None], rows, cols]


def _pair(size, op):
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{op}: size must be an int or a (h, w) pair, got {size!r}")


class RandomCrop(_RandomTransform):
    """A random ``size`` window, after optional ``padding`` (int: all sides; (lr, tb); or
    (left, top, right, bottom)) in ``padding_mode`` constant/edge/reflect/symmetric."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant",
                 generator=None):
        super().__init__(generator)
        self.size = _pair(size, "RandomCrop")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode should be constant, edge, reflect or "
                             f"symmetric, got {padding_mode!r}")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode
        self._pads = self._parse_padding(padding)

    @staticmethod
    def _parse_padding(padding):
        if padding is None:
            return (0, 0, 0, 0)
        if isinstance(padding, numbers.Integral):
            return (int(padding),) * 4
        padding = tuple(int(p) for p in padding)
        if len(padding) == 1:
            return padding * 4
        if len(padding) == 2:
            return (padding[0], padding[1], padding[0], padding[1])
        if len(padding) == 4:
            return padding
        raise ValueError(f"RandomCrop: padding must be an int or a sequence of 1, 2 or 4 ints, "
                         f"got {padding!r}")

    def __call__(self, x):
        a = _array(x, "RandomCrop")
        b = _as_batch(a, "RandomCrop")
        left, top, right, bottom = self._pads
        th, tw = self.size
        if self.pad_if_needed:
            grow_h = max(0, th - (b.shape[2] + top + bottom))
            grow_w = max(0, tw - (b.shape[3] + left + right))
            left, right, top, bottom = left + grow_w, right + grow_w, top + grow_h, bottom + grow_h
        if any(self._pads) or self.pad_if_needed:
            b = _pad(b, left, top, right, bottom, self.fill, self.padding_mode)
        h, w = b.shape[2:]
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: Required crop size {(th, tw)} is larger than input "
                             f"image size {(h, w)}")
        rng = self._rng
        tops = rng.integers(0, h - th + 1, size=b.shape[0])
        lefts = rng.integers(0, w - tw + 1, size=b.shape[0])
        out = _crop_windows(b, tops, lefts, th, tw)
        return _like(x, out.reshape(a.shape[:-2] + (th, tw)))


class RandomShift(_RandomTransform):
    """Translate each image by integers (dy, dx) uniform in [-max_shift, max_shift]; the
    uncovered border is ``fill``: ``out[y, x] = in[y - dy, x - dx]``."""

    def __init__(self, max_shift, fill=0, generator=None):
        super().__init__(generator)
        if not isinstance(max_shift, numbers.Integral) or max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be a non-negative int, got "
                             f"{max_shift!r}")
        self.max_shift, self.fill = int(max_shift), fill

    def __call__(self, x):
        a = _array(x, "RandomShift")
        b = _as_batch(a, "RandomShift")
        m = self.max_shift
        if m == 0:
            return x
        h, w = b.shape[2:]
        padded = _pad(b, m, m, m, m, self.fill, "constant")
        shifts = self._rng.integers(-m, m + 1, size=(2, b.shape[0]))
        out = _crop_windows(padded, m - shifts[0], m - shifts[1], h, w)
        return _like(x, out.reshape(a.shape))


class RandomRotation(_RandomTransform):
    """Rotate counter-clockwise by an angle uniform in ``degrees`` (d -> (-d, d)) about
    ``center`` (x, y) (default: the image centre), sampling the source pixel
    ``(x_s, y_s) = R(-θ) (x - c_x, y - c_y) + c`` by ``"nearest"`` or ``"bilinear"``
    interpolation; pixels from outside the image are ``fill``."""

    def __init__(self, degrees, interpolation="nearest", center=None, fill=0, generator=None):
        super().__init__(generator)
        if isinstance(degrees, numbers.Real):
            if degrees < 0:
                raise ValueError("RandomRotation: If degrees is a single number, it must be "
                                 "positive.")
            degrees = (-float(degrees), float(degrees))
        elif len(degrees) != 2:
            raise ValueError(f"RandomRotation: degrees must be a number or a (min, max) pair, "
                             f"got {degrees!r}")
        self.degrees = (float(degrees[0]), float(degrees[1]))
        interpolation = getattr(interpolation, "value", interpolation)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"RandomRotation: interpolation must be 'nearest' or 'bilinear', "
                             f"got {interpolation!r}")
        self.interpolation, self.center, self.fill = interpolation, center, fill

    def __call__(self, x):
        a = _array(x, "RandomRotation")
        b = _as_batch(a, "RandomRotation")
        angles = self._rng.uniform(self.degrees[0], self.degrees[1], size=b.shape[0])
        return _like(x, rotate(b, angles, self.interpolation, self.center,
                               self.fill).reshape(a.shape))


def rotate(b, angles, interpolation="nearest", center=None, fill=0):
    """Rotate each image of (N, C, H, W) ``b`` counter-clockwise by ``angles[n]`` degrees."""
    xp = backend.array_module(b)
    n, c, h, w = b.shape
    cx, cy = ((w - 1) / 2, (h - 1) / 2) if center is None else center
    theta = np.deg2rad(np.asarray(angles, dtype=np.float64))
    cos = _on_device(np.cos(theta).astype(np.float32), b)[:, None, None]
    sin = _on_device(np.sin(theta).astype(np.float32), b)[:, None, None]
    ys, xs = xp.meshgrid(xp.arange(h, dtype=np.float32) - np.float32(cy),
                         xp.arange(w, dtype=np.float32) - np.float32(cx), indexing="ij")
    src_x = cos * xs - sin * ys + np.float32(cx)          # (N, H, W)
    src_y = sin * xs + cos * ys + np.float32(cy)
    pixels = b.transpose(0, 2, 3, 1).reshape(n * h * w, c)  # gather whole pixels at once
    base = (xp.arange(n, dtype=np.int64) * (h * w))[:, None, None]
    fill_value = xp.asarray(fill, dtype=b.dtype)

    def sample(yi, xi):
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        flat = base + xp.minimum(xp.maximum(yi, 0), h - 1) * w \
            + xp.minimum(xp.maximum(xi, 0), w - 1)
        return xp.where(inside[..., None], pixels.take(flat, axis=0), fill_value)

    def floor(v):   # floor as int32 for v > -k: shift positive so truncation is floor
        k = h + w + 2
        return (v + np.float32(k)).astype(np.int32) - k

    if interpolation == "nearest":
        out = sample(floor(src_y + np.float32(0.5)), floor(src_x + np.float32(0.5)))
    else:
        y0, x0 = floor(src_y), floor(src_x)
        wy, wx = (src_y - y0)[..., None], (src_x - x0)[..., None]
        out = ((1 - wy) * ((1 - wx) * sample(y0, x0) + wx * sample(y0, x0 + 1))
               + wy * ((1 - wx) * sample(y0 + 1, x0) + wx * sample(y0 + 1, x0 + 1)))
        if b.dtype.kind != "f":
            out = xp.rint(out)
        out = out.astype(b.dtype)
    return xp.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _check_float(a, op):
    if a.dtype.kind != "f":
        raise TypeError(f"{op}: expects a float tensor (apply ToTensor first), got {a.dtype}")


def _uniform(rng, a):
    """U[0, 1) samples with the shape of float ``a``, in its dtype and on its device."""
    dt = a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    return _on_device(rng.random(a.shape, dtype=dt).astype(a.dtype, copy=False), a)


class GaussianNoise(_RandomTransform):
    """Additive noise: ``x + ε``, ``ε ~ N(mean, sigma²)`` per element, then clipped to [0, 1]
    if ``clip`` (torchvision.transforms.v2.GaussianNoise)."""

    def __init__(self, mean=0.0, sigma=0.1, clip=True, generator=None):
        super().__init__(generator)
        if sigma < 0:
            raise ValueError(f"GaussianNoise: sigma shouldn't be negative. Got {sigma}")
        self.mean, self.sigma, self.clip = mean, sigma, clip

    def __call__(self, x):
        a = _array(x, "GaussianNoise")
        _check_float(a, "GaussianNoise")
        dt = a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float32)
        eps = self._rng.standard_normal(a.shape, dtype=dt) * dt.type(self.sigma) \
            + dt.type(self.mean)
        eps = _on_device(eps.astype(a.dtype, copy=False), a)
        if isinstance(x, Tensor):
            out = x + _make(eps)
            return out.clamp(0, 1) if self.clip else out
        out = a + eps
        return backend.array_module(a).clip(out, 0, 1) if self.clip else out


class BernoulliMask(_RandomTransform):
    """Multiplicative masking noise (denoising autoencoders): ``x ⊙ m`` with
    ``m_i ~ Bernoulli(1 - p)``, i.e. each element is zeroed with probability ``p``;
    ``scale=True`` divides by ``1 - p`` as dropout does, so the expectation is kept."""

    def __init__(self, p=0.5, scale=False, generator=None):
        super().__init__(generator)
        if not 0 <= p <= 1 or (scale and p == 1):
            raise ValueError(f"BernoulliMask: p must be in [0, 1] (and < 1 with scale=True), "
                             f"got {p}")
        self.p, self.scale = p, scale

    def __call__(self, x):
        a = _array(x, "BernoulliMask")
        if self.scale:
            _check_float(a, "BernoulliMask(scale=True)")
        u = self._rng.random(a.shape, dtype=np.float32)
        m = _on_device((u >= np.float32(self.p)).astype(a.dtype), a)
        if self.scale:
            m = m / a.dtype.type(1 - self.p)
        return x * _make(m) if isinstance(x, Tensor) else a * m


class Binarize(_RandomTransform):
    """``x > threshold`` as 0/1 in x's dtype; ``stochastic=True`` instead draws each pixel as
    Bernoulli(x) (the "dynamically binarised MNIST" of RBM/NADE papers; x must be in [0, 1])."""

    def __init__(self, threshold=0.5, stochastic=False, generator=None):
        super().__init__(generator)
        self.threshold, self.stochastic = threshold, stochastic

    def __call__(self, x):
        a = _array(x, "Binarize")
        if self.stochastic:
            _check_float(a, "Binarize(stochastic=True)")
            out = (_uniform(self._rng, a) < a).astype(a.dtype)
        else:
            out = (a > self.threshold).astype(a.dtype)
        return _like(x, out)
