"""Looking at an autoencoder's or a VAE's latent space (seed 001 §7–8 "Autoencoders as
generators", "Autoencoder vs VAE latent representations"): codes of a dataset, a 2-D scatter
coloured by class, a decoder grid over a 2-D latent, interpolation strips, and samples from a
Gaussian fitted to a plain autoencoder's codes beside VAE prior samples (an AE's code space
has holes the decoder never saw, so it is no generative model; the VAE's KL term fills them).

Array functions return NumPy arrays; the ``*_png`` functions return PNG bytes (matplotlib).
Models need ``encode`` (an AE's h, or a VAE's (μ, ln σ²) of which μ is used) and ``decode``.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, _make
from .pca import pca

__all__ = ["encode_dataset", "decode_codes", "latent_grid", "decoder_grid", "interpolation_strip",
           "fit_code_gaussian", "gaussian_code_samples", "image_grid_png", "latent_scatter_png",
           "decoder_grid_png", "interpolation_png", "ae_vs_vae_samples_png"]


def _dtype(model):
    return next(iter(model.parameters())).detach().numpy().dtype


def _codes(model, x) -> Tensor:
    out = model.encode(x)
    return out[0] if isinstance(out, tuple) else out


def encode_dataset(model, X, batch_size=512) -> np.ndarray:
    """The codes of every row of ``X`` (an AE's h = φ(x), a VAE's μ(x)), (N, M), in batches
    and without a graph."""
    X = X.detach().numpy() if isinstance(X, Tensor) else np.asarray(X)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"encode_dataset: expected a non-empty batch (N, ...), got shape "
                         f"{X.shape}")
    if batch_size < 1:
        raise ValueError(f"encode_dataset: batch_size must be >= 1, got {batch_size!r}")
    with no_grad():
        return np.concatenate([_codes(model, _make(X[i:i + batch_size].astype(_dtype(model))))
                               .numpy() for i in range(0, len(X), batch_size)])


def decode_codes(model, z) -> np.ndarray:
    """``model.decode(z)`` as an array, without a graph."""
    with no_grad():
        return model.decode(_make(np.asarray(z, dtype=_dtype(model)))).numpy()


def latent_grid(n=15, codes=None) -> np.ndarray:
    """An n × n grid of 2-D latent points, (n·n, 2), rows top to bottom: the prior N(0, I)'s
    quantiles Φ⁻¹(0.05 … 0.95) (Kingma & Welling's figure), or, given ``codes`` (N, 2), their
    1st–99th percentiles per axis (a plain AE's code range)."""
    if n < 2:
        raise ValueError(f"latent_grid: n must be >= 2, got {n!r}")
    if codes is None:
        from scipy.stats import norm
        a = b = norm.ppf(np.linspace(0.05, 0.95, n))
    else:
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != 2:
            raise ValueError(f"latent_grid: codes must be (N, 2) for a 2-D latent, got "
                             f"{codes.shape}")
        lo, hi = np.percentile(codes, [1, 99], axis=0)
        a, b = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    zy, zx = np.meshgrid(b[::-1], a, indexing="ij")
    return np.stack([zx.ravel(), zy.ravel()], 1)


def decoder_grid(model, n=15, codes=None) -> np.ndarray:
    """The decoder's outputs over :func:`latent_grid`, shape (n·n, D…)."""
    return decode_codes(model, latent_grid(n, codes))


def interpolation_strip(model, x1, x2, steps=10) -> np.ndarray:
    """Decoded points of the straight line between the codes of ``x1`` and ``x2`` (one
    example each), shape (steps, D…)."""
    if steps < 2:
        raise ValueError(f"interpolation_strip: steps must be >= 2, got {steps!r}")
    h = encode_dataset(model, np.stack([np.asarray(x1), np.asarray(x2)]))
    t = np.linspace(0, 1, steps)[:, None]
    return decode_codes(model, (1 - t) * h[0] + t * h[1])


def fit_code_gaussian(codes):
    """(mean, covariance) of the codes, (M,) and (M, M)."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"fit_code_gaussian: expected (N >= 2, M) codes, got {codes.shape}")
    return codes.mean(0), np.atleast_2d(np.cov(codes, rowvar=False))


def gaussian_code_samples(model, codes, n, seed=0) -> np.ndarray:
    """n decoder outputs of z ~ N(mean, covariance) fitted to ``codes``, (n, D…)."""
    mean, cov = fit_code_gaussian(codes)
    z = np.random.default_rng(seed).multivariate_normal(mean, cov, size=n,
                                                        method="eigh")
    return decode_codes(model, z)


# ----------------------------------------------------------------------------- pictures
def _images(images, image_shape):
    a = np.asarray(images, dtype=np.float64)
    if image_shape is None:
        if a.ndim == 4 and a.shape[1] == 1:
            return a[:, 0]
        if a.ndim == 3:
            return a
        side = math.isqrt(a.reshape(len(a), -1).shape[1])
        if side * side != a.reshape(len(a), -1).shape[1]:
            raise ValueError(f"image_grid_png: cannot guess the image shape of {a.shape}; "
                             f"pass image_shape")
        image_shape = (side, side)
    return a.reshape(len(a), *image_shape)


def image_grid_png(images, ncol=None, image_shape=None, title=None, ax=None) -> bytes:
    """A grid of grey images (N, H·W), (N, H, W) or (N, 1, H, W), ``ncol`` per row."""
    from ..report.plots import _png, _pyplot
    imgs = _images(images, image_shape)
    n = len(imgs)
    ncol = ncol or math.ceil(math.sqrt(n))
    nrow = math.ceil(n / ncol)
    h, w = imgs.shape[1:]
    canvas = np.ones((nrow * (h + 1) - 1, ncol * (w + 1) - 1))
    for i, im in enumerate(imgs):
        r, c = divmod(i, ncol)
        canvas[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = im
    plt = _pyplot()
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(ncol * 0.6 + 0.5, nrow * 0.6 + 0.5))
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return _png(fig) if own else None


def latent_scatter_png(codes, labels, class_names=None, title="latent space") -> bytes:
    """The codes as points coloured by class; codes of more than 2 dimensions are shown on
    their first two principal components."""
    from ..report.plots import _png, _pyplot
    codes, labels = np.asarray(codes, dtype=np.float64), np.asarray(labels).reshape(-1)
    if codes.ndim != 2 or len(codes) != len(labels):
        raise ValueError(f"latent_scatter_png: expected codes (N, M) and N labels, got "
                         f"{codes.shape} and {labels.shape}")
    xlabel, ylabel = "z₁", "z₂"
    if codes.shape[1] > 2:
        codes, xlabel, ylabel = pca(codes, 2).transform(codes), "PC 1", "PC 2"
    elif codes.shape[1] == 1:
        codes = np.concatenate([codes, np.zeros_like(codes)], 1)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    cmap = plt.get_cmap("tab10")
    for i, c in enumerate(np.unique(labels)):
        sel = labels == c
        name = class_names[int(c)] if class_names is not None else str(c)
        ax.scatter(codes[sel, 0], codes[sel, 1], s=4, alpha=0.6, color=cmap(i % 10),
                   label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(markerscale=3, fontsize=7, loc="best")
    return _png(fig)


def decoder_grid_png(model, n=15, codes=None, title="decoder over a 2-D latent") -> bytes:
    return image_grid_png(decoder_grid(model, n, codes), ncol=n, title=title)


def interpolation_png(model, pairs, steps=10, title="interpolation") -> bytes:
    """One strip per (x1, x2) in ``pairs``."""
    rows = [interpolation_strip(model, a, b, steps) for a, b in pairs]
    return image_grid_png(np.concatenate([r.reshape(steps, -1) for r in rows]), ncol=steps,
                          title=title)


def ae_vs_vae_samples_png(ae, codes, vae, n=64, seed=0) -> bytes:
    """Left: an autoencoder's decoder on draws from a Gaussian fitted to its codes; right: the
    VAE's decoder on prior draws z ~ N(0, I)."""
    from ..report.plots import _png, _pyplot
    left = gaussian_code_samples(ae, codes, n, seed)
    z = np.random.default_rng(seed).standard_normal((n, vae.latent_dim))
    right = decode_codes(vae, z)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.3))
    ncol = math.ceil(math.sqrt(n))
    image_grid_png(left.reshape(n, -1), ncol, title="AE: Gaussian fitted to its codes",
                   ax=axes[0])
    image_grid_png(right.reshape(n, -1), ncol, title="VAE: prior samples", ax=axes[1])
    return _png(fig)
