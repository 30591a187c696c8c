"""The report's figures for the binary density models (RBM, NADE, MADE; seed 003) and the
images ``deltagrad sample RUN`` draws for them.

Every figure is ``(name, png, caption)``: samples (an RBM's after 1,000 block-Gibbs steps
from uniform noise; NADE's and MADE's drawn pixel by pixel, exactly), and the NLL curve
(NADE/MADE: the exact −ln p(x) per epoch; RBM: the exact or AIS −ln P(v) where known, and
the pseudo-likelihood estimate); for an RBM also its filters (the rows W_j of each hidden
unit as images, each scaled to its own largest |w|) and Gibbs chains started at test images.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..analysis.latent import image_grid_png
from .autoencoder_plots import _terms_png

__all__ = ["figures", "sample_images", "filter_images"]

SAMPLES = 64
FILTERS = 100      # hidden units shown
CHAINS = 8         # Gibbs chains (rows), snapshots every GIBBS_EVERY steps
GIBBS_STEPS, GIBBS_EVERY = 1000, 100


def _is_rbm(model) -> bool:
    return hasattr(model, "gibbs_chain")


def sample_images(model, data, n=SAMPLES, seed=0) -> np.ndarray:
    """n samples (n, D) of 0/1 pixels: an RBM's visible state after 1,000 Gibbs steps from
    uniform noise, NADE's/MADE's exact ancestral samples; draws from a generator seeded
    ``seed``."""
    gen = backend.Generator().manual_seed(seed)
    model.eval()
    return model.sample(n, generator=gen).numpy()


sample_images.needs_data = False


def filter_images(rbm, count=FILTERS) -> np.ndarray:
    """The first ``count`` filters W_j (n_visible values each), each mapped to [0, 1] by
    ½ + ½ w / max|W_j| (grey 0.5 is a zero weight)."""
    W = rbm.filters(image_shape=(rbm.n_visible,))[:count].astype(np.float64)
    scale = np.abs(W).max(axis=1, keepdims=True)
    return 0.5 + 0.5 * W / np.where(scale > 0, scale, 1.0)


def _grid(images, data, ncol, title) -> bytes:
    return image_grid_png(np.asarray(images).reshape(len(images), -1), ncol=ncol,
                          image_shape=tuple(data.image_shape), title=title)


def _nll_keys(history) -> list:
    keys = [k for k in ("nll_nats", "pseudo_nll") if any(f"val_{k}" in r or f"test_{k}" in r
                                                         for r in history)]
    return keys or ["loss"]


def figures(experiment_name, model, data, history) -> list:
    """The report's figures of an RBM, NADE or MADE run (see the module docstring)."""
    if data.image_shape is None:
        return []
    out = []
    rbm = _is_rbm(model)
    samples = sample_images(model, data, SAMPLES)
    out.append(("generated", _grid(samples, data, 8, "samples"),
                f"{SAMPLES} samples: " + ("the visible units after 1,000 block-Gibbs steps "
                                          "from uniform noise" if rbm else
                                          "drawn pixel by pixel, x_i ~ p(x_i | x_<i)")))
    if rbm:
        filt = filter_images(model)
        out.append(("filters", _grid(filt, data, 10, "filters W_j"),
                    f"the weights of the first {len(filt)} of {model.n_hidden} hidden units "
                    "as images (grey = 0, each scaled to its largest |w|)"))
        if len(data.x_test):
            v0 = data.x_test[:CHAINS].reshape(min(CHAINS, len(data.x_test)), -1)
            frames = model.gibbs_chain(v0, k=GIBBS_STEPS, every=GIBBS_EVERY,
                                       generator=backend.Generator().manual_seed(0))
            rows = frames.transpose(1, 0, 2).reshape(-1, frames.shape[-1])   # chain-major
            out.append(("gibbs_chains", _grid(rows, data, frames.shape[0], "Gibbs chains"),
                        f"block-Gibbs chains from test images (left), P(v = 1 | h) every "
                        f"{GIBBS_EVERY} steps up to {GIBBS_STEPS}"))
    if history:
        keys = _nll_keys(history)
        caption = ("test/validation −ln p(x) per epoch in nats (exact)" if not rbm else
                   "−ln P(v) in nats (ln Z exact, or by AIS after the last epoch) and the "
                   "pseudo-likelihood estimate −PL(v), per epoch")
        out.append(("nll_curve", _terms_png(history, keys, "negative log-likelihood (nats "
                                                          "per example)"), caption))
    return out
