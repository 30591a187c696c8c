"""The report's figures for the autoencoder and VAE experiments, and the images that
``deltagrad sample RUN`` draws for them (built on :mod:`deltagrad.analysis.latent`).

Every figure is ``(name, png, caption)``: inputs over their reconstructions, the test codes
coloured by class, the decoder over a 2-D latent, sample grids (a VAE's prior samples; for
a plain autoencoder its decoder on draws from a Gaussian fitted to its codes, which shows
the holes of its code space), interpolation strips, β-VAE latent traversals, the loss terms
per epoch (reconstruction and KL or penalty), the linear autoencoder's principal angles to
PCA, and the semi-supervised accuracies against their baselines.
"""
from __future__ import annotations

import numpy as np

from ..analysis import latent
from ..analysis.pca import pca, principal_angles
from ..autograd.grad_mode import no_grad
from ..tensor import from_numpy
from .plots import _png, _pyplot

__all__ = ["figures", "sample_images", "reconstructions", "linear_ae_angles"]

SHOW = 10          # images per row of the reconstruction grid and interpolation strips
SCATTER = 2000     # test codes in the latent map


def _is_vae(model) -> bool:
    return hasattr(model, "elbo_terms")


def _one_per_class(data, n=SHOW) -> np.ndarray:
    """Indices of test images, one per class first (so the grids show every class)."""
    y = np.asarray(data.y_test)
    first = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)][:n]
    rest = [i for i in range(len(y)) if i not in first][:n - len(first)]
    return np.asarray(first + rest, dtype=np.int64)


def reconstructions(model, x) -> np.ndarray:
    """The model's reconstruction of ``x`` in eval mode: ψ(φ(x)), or a VAE's decoded mean
    of μ(x)."""
    was = model.training
    model.eval()
    try:
        with no_grad():
            t = from_numpy(np.ascontiguousarray(x, dtype=latent._dtype(model)))
            out = model.decode(model.encode(t)[0]) if _is_vae(model) else model(t)
            return out.numpy()
    finally:
        model.train(was)


def _grid(images, data, ncol, title) -> bytes:
    return latent.image_grid_png(np.asarray(images).reshape(len(images), -1), ncol=ncol,
                                 image_shape=tuple(data.image_shape), title=title)


def _terms_png(history, keys, title) -> bytes:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    epochs = [r["epoch"] for r in history]
    for ax, key in zip(axes[0], keys):
        for split, style in (("train", "-"), ("val", "--"), ("test", ":")):
            col = f"{split}_{key}"
            if any(col in r for r in history):
                ax.plot(epochs, [r.get(col, np.nan) for r in history], style, marker="o",
                        label=split)
        ax.set(xlabel="epoch", ylabel=key, title=key)
        ax.legend()
    fig.suptitle(title)
    return _png(fig)


def sample_images(model, data, n=64, seed=0) -> np.ndarray:
    """n generated images, (n, D…): a VAE's decoder on z ~ N(0, I); an autoencoder's on
    z ~ N(m, S) fitted to the codes of (up to 5,000) training images."""
    from .. import backend
    if _is_vae(model):
        model.eval()
        return model.sample(n, generator=backend.Generator().manual_seed(seed)).numpy()
    if data is None or len(data.x_train) < 2:
        raise ValueError("sampling an autoencoder fits a Gaussian to its codes of the training "
                         "images, so it needs the run's data")
    model.eval()
    codes = latent.encode_dataset(model, data.x_train[:5000])
    return latent.gaussian_code_samples(model, codes, n, seed)


sample_images.needs_data = True


def linear_ae_angles(model, x_train) -> np.ndarray:
    """Principal angles (radians, ascending) between the span of a linear autoencoder's
    decoder columns W_dec (D × k) and the top-k principal components of ``x_train``."""
    layers = [m for m in model.decoder if hasattr(m, "weight")] if not model.tied else None
    W = (layers[-1].weight if layers else model.encoder_layers[0].weight.t()).detach().numpy()
    k = W.shape[1]
    return principal_angles(W, pca(np.asarray(x_train, np.float64), k).components_.T)


def figures(experiment_name, model, data, history) -> list:
    """The report's figures of an autoencoder-family run (see the module docstring)."""
    if data.image_shape is None or len(data.x_test) == 0:
        return []
    if hasattr(model, "labelled"):          # semi-supervised / layer-wise: accuracies
        return _accuracy_figures(experiment_name, history)
    out = []
    idx = _one_per_class(data)
    x = data.x_test[idx]
    rec = reconstructions(model, x)
    out.append(("reconstructions", _grid(np.concatenate([x.reshape(len(x), -1),
                                                         rec.reshape(len(x), -1)]), data,
                                         len(x), "test inputs (top), reconstructions"),
                "test inputs (top row) and their reconstructions (bottom row)"))
    sel = np.arange(min(SCATTER, len(data.x_test)))
    model.eval()
    codes = latent.encode_dataset(model, data.x_test[sel])
    names = list(data.classes) if data.classes else None
    out.append(("latent_map", latent.latent_scatter_png(codes, data.y_test[sel], names,
                                                        "test codes by class"),
                "latent map: test codes coloured by class" +
                (" (first two principal components)" if codes.shape[1] > 2 else "")))
    vae = _is_vae(model)
    if codes.shape[1] == 2:
        grid = latent.decoder_grid(model, 15, None if vae else codes)
        out.append(("decoder_grid", _grid(grid, data, 15, "decoder over the 2-D latent"),
                    "decoder over a 2-D grid: the prior's quantiles" if vae else
                    "decoder over a 2-D grid spanning the codes' 1st-99th percentiles"))
    samples = sample_images(model, data, 64)
    out.append(("generated", _grid(samples, data, 8, "prior samples z ~ N(0, I)" if vae else
                                 "z ~ Gaussian fitted to the codes"),
                "samples: the decoder on z ~ N(0, I)" if vae else
                "the decoder on z ~ N(mean, cov) of the training codes: an autoencoder is "
                "no generative model, its code space has holes the decoder never saw"))
    pairs = [(data.x_test[idx[i]], data.x_test[idx[i + 1]]) for i in range(0, 6, 2)]
    strips = np.concatenate([latent.interpolation_strip(model, a, b, SHOW).reshape(SHOW, -1)
                             for a, b in pairs])
    out.append(("interpolation", _grid(strips, data, SHOW, "interpolations"),
                "decoded straight lines between the codes of two test images"))
    if vae and getattr(model, "beta", 1.0) != 1.0:
        values = np.linspace(-3, 3, SHOW)
        dims = range(min(model.latent_dim, 10))
        rows = np.concatenate([model.traverse(data.x_test[idx[0]], d, values).numpy()
                               .reshape(SHOW, -1) for d in dims])
        out.append(("traversal", _grid(rows, data, SHOW, "latent traversals"),
                    f"μ(x) with one latent coordinate set to −3 … 3 (one row per "
                    f"coordinate), β = {model.beta:g}"))
    if history:
        keys = ["reconstruction", "kl"] if vae else ["reconstruction", "penalty"]
        out.append(("loss_terms", _terms_png(history, keys, "loss terms per epoch"),
                    "reconstruction and KL terms per epoch (nats per example)" if vae else
                    "reconstruction error J and penalty Ω per epoch"))
    if experiment_name == "linear-ae-pca":
        angles = linear_ae_angles(model, data.x_train)
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.bar(np.arange(1, len(angles) + 1), angles)
        ax.set(xlabel="principal angle index", ylabel="radians",
               title=f"largest principal angle {angles.max():.4f} rad")
        out.append(("principal_angles", _png(fig),
                    f"principal angles between the decoder's span and the top-"
                    f"{len(angles)} principal components: largest {angles.max():.4f} rad"))
    return out


def _accuracy_figures(experiment_name, history) -> list:
    if not history:
        return []
    base = "raw pixels" if experiment_name == "semi-supervised" else "random initialisation"
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    epochs = [r["epoch"] for r in history]
    for split, style in (("val", "--"), ("test", "-")):
        if f"{split}_accuracy" in history[-1]:
            ax.plot(epochs, [r[f"{split}_accuracy"] for r in history], style, marker="o",
                    label=f"{split}: pre-trained")
            ax.plot(epochs, [r[f"{split}_baseline_accuracy"] for r in history], style,
                    marker="s", label=f"{split}: {base}")
    ax.set(xlabel="epoch", ylabel="accuracy", title="same labels, with and without "
           "unsupervised pre-training")
    ax.legend()
    last = history[-1]
    return [("accuracies", _png(fig),
             f"test accuracy {last.get('test_accuracy', float('nan')):.2%} with pre-training, "
             f"{last.get('test_baseline_accuracy', float('nan')):.2%} with {base}")]
