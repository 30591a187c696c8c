"""Experiments of the generative-models lectures (seed 003): the autoregressive density
estimators NADE and MADE on binarized Fashion-MNIST (or binarized 8×8 digits).

The input is its own target and the loss is the exact negative log-likelihood in nats per
example (task ``"bernoulli-density"``); there is no accuracy. The RBM is trained by
contrastive divergence, which is not a loss of (output, target), so it has no experiment
here: see ``benchmarks/generative.py`` for its CD-1 training, exact ln Z and AIS.
"""
from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import no_grad
from ..models.made import MADE
from ..models.nade import NADE
from ..train import density_task  # noqa: F401  (importing it registers "bernoulli-density")
from ..tensor import from_numpy
from .data import DataBundle, load_raw, resolve_dataset
from .registry import experiment

__all__ = ["binarized_images"]

_MAX_VALUE = {"fashion-mnist": 255.0, "digits": 16.0}


def binarized_images(name: str, threshold: float = 0.5) -> DataBundle:
    """Images binarized at ``threshold`` of their range (Fashion-MNIST: grey / 255 > 0.5,
    as :class:`deltagrad.datasets.BinarizedFashionMNIST`), flattened to float32 0/1
    vectors; the targets are the inputs."""
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
            data=binarized_images, task="bernoulli-density", optimizer="adam", lr=5e-3,
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
            data=binarized_images, task="bernoulli-density", optimizer="adam", lr=1e-3,
            epochs=10, batch_size=100)
def made(data):
    """Masked 784-500-784 autoencoder (ReLU), one random ordering."""
    model = MADE(data.input_dim, [500])
    _biases_at_marginals(model.net[-1].bias, data)
    return model
