"""GAN experiments (SYLLABUS §14; seed 000 lecture 11, seed 001, seed 004 §9.3): the
networks of :mod:`deltagrad.models.gan` trained by the GAN task
(:mod:`deltagrad.train.gan_task`: alternating D- and G-steps, Adam lr 2e-4, β₁ 0.5).

- ``gan``, ``dcgan``, ``cgan``: Fashion-MNIST scaled to [−1, 1] (the generators end in
  tanh), FID per epoch under the cached Fashion-MNIST classifier, sample grids of a fixed z;
- ``gan-1d``: the notes' 1-D picture: p_data = N(0, 1), small MLPs; the report draws
  p_data, p_g, D(x) and D* = p_data / (p_data + p_g) over training, ending near D = ½;
- ``gan-ring``: 8 Gaussians on a circle (radius 2, σ 0.02, as Metz et al.'s Unrolled GAN);
  modes covered and the share of high-quality samples (within 3σ of a mode) per epoch,
  with a scatter of the samples over the modes;
- ``gan-ring-collapse``: the same with the minimax generator loss and k = 5 D-steps per
  G-step, a setting that collapses; the same diagnostic detects it.
"""
from __future__ import annotations

import numpy as np

from .. import backend, nn
from ..metrics.generative import mode_coverage
from ..models.gan import (ConditionalDiscriminator, ConditionalGenerator, DCGANDiscriminator,
                          DCGANGenerator, Discriminator, Generator)
from ..train import tasks as _tasks
from ..train.gan_task import GANTask
from .data import DataBundle, load_raw, resolve_dataset
from .registry import experiment

__all__ = ["gan_images", "gaussian_1d", "gaussian_ring", "RING_CENTERS", "RING_STD",
           "ToyGANTask"]

GAN_OPTIMIZER = {"optimizer": "adam", "lr": 2e-4, "optimizer_kwargs": {"betas": (0.5, 0.999)}}
_MAX_VALUE = {"fashion-mnist": 255.0, "digits": 16.0}

DATA_MEAN, DATA_STD = 0.0, 1.0                     # gan-1d: p_data = N(0, 1)
RING_RADIUS, RING_STD, RING_MODES = 2.0, 0.02, 8
RING_CENTERS = np.array([[RING_RADIUS * np.cos(t), RING_RADIUS * np.sin(t)]
                         for t in 2 * np.pi * np.arange(RING_MODES) / RING_MODES])


# ----------------------------------------------------------------------------- data
def gan_images(name: str = "auto", channels: bool = False) -> DataBundle:
    """Images scaled to [−1, 1] (x / max · 2 − 1, the range of tanh), flattened, or
    (N, 1, H, W) with ``channels``; the labels are kept (for the conditional GAN)."""
    dataset, note = resolve_dataset(name)
    xtr, ytr, xte, yte, classes = load_raw(dataset)
    scale = np.float32(2.0 / _MAX_VALUE[dataset])
    shape = (1,) + tuple(xtr.shape[1:]) if channels else (int(np.prod(xtr.shape[1:])),)
    xtr = (xtr.astype(np.float32) * scale - 1).reshape(len(xtr), *shape)
    xte = (xte.astype(np.float32) * scale - 1).reshape(len(xte), *shape)
    return DataBundle(dataset, xtr, np.asarray(ytr, np.int64), xte, np.asarray(yte, np.int64),
                      classes=classes, image_shape=tuple(load_shape(dataset)), note=note)


def load_shape(dataset: str) -> tuple:
    return (28, 28) if dataset == "fashion-mnist" else (8, 8)


def gaussian_1d(name: str = "gaussian-1d", n_train: int = 8192, n_test: int = 2048,
                seed: int = 1234) -> DataBundle:
    """x ~ N(0, 1), (N, 1) float32; the targets are unused zeros. (A shifted, narrow
    p_data such as N(4, 0.5²) needs D to see standardised inputs: with raw ones the small
    D flattens to ½ while p_g shrinks to a spike, and the picture would mislead.)"""
    rng = np.random.default_rng(seed)
    x = rng.normal(DATA_MEAN, DATA_STD, (n_train + n_test, 1)).astype(np.float32)
    y = np.zeros(len(x), np.int64)
    return DataBundle("gaussian-1d", x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def gaussian_ring(name: str = "gaussian-ring", n_train: int = 8192, n_test: int = 2048,
                  seed: int = 1234) -> DataBundle:
    """A mixture of 8 equally likely N(c_k, σ² I) with c_k on a circle of radius 2, σ 0.02;
    the targets are the mode indices."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, RING_MODES, n_train + n_test)
    x = (RING_CENTERS[k] + rng.normal(0, RING_STD, (len(k), 2))).astype(np.float32)
    return DataBundle("gaussian-ring", x[:n_train], k[:n_train], x[n_train:], k[n_train:],
                      classes=tuple(f"mode {i}" for i in range(RING_MODES)))


# ----------------------------------------------------------------------------- toy tasks
class ToyGANTask(GANTask):
    """The GAN task with the diagnostics of a toy distribution (10,000 samples of a
    generator seeded 0): 1-D: the range of D(x) over the support μ ± 2σ and its largest
    distance from ½, D(x) on a grid and a histogram of p_g; ring: modes covered, share of
    high-quality samples, 500 samples."""

    def __init__(self, name, kind, d_steps=1, mode="non_saturating"):
        super().__init__(name, d_steps=d_steps, mode=mode, fid_samples=0)
        self.kind = kind

    def selection(self, data):
        """best.npz: the epoch whose D is flattest (1-D) or whose samples are most often
        high-quality (ring), on the validation split; D's lowest loss would pick the
        epoch where D wins most, the worst generator."""
        return ("val_d_support_dev", "min") if self.kind == "1d" else ("val_high_quality", "max")

    def diagnose(self, G, D):
        z = G.noise(10000, generator=backend.Generator().manual_seed(0))
        fake = G(z).cpu().numpy().astype(np.float64)
        if self.kind == "1d":
            grid = np.linspace(DATA_MEAN - 5 * DATA_STD, DATA_MEAN + 5 * DATA_STD, 201)
            d = _sigmoid(D(_tensor(grid.reshape(-1, 1)).to(z.device)).cpu().numpy())
            support = np.abs(grid - DATA_MEAN) <= 2 * DATA_STD
            edges = np.linspace(grid[0], grid[-1], 51)
            return ({"d_support_min": float(d[support].min()),
                     "d_support_max": float(d[support].max()),
                     "d_support_dev": float(np.abs(d[support] - 0.5).max())},
                    {"grid": grid, "d": d, "edges": edges,
                     "p_g": np.histogram(fake[:, 0], edges, density=True)[0]})
        cov = mode_coverage(fake[:2500], RING_CENTERS, RING_STD)
        metrics = {"modes_covered": cov["modes_covered"], "high_quality": cov["high_quality"]}
        return metrics, dict(metrics, samples=fake[:500].astype(np.float32))


def _sigmoid(a):
    a = np.asarray(a, np.float64).reshape(-1)
    return np.exp(-np.logaddexp(0.0, -a))


def _tensor(a):
    from ..tensor import from_numpy
    return from_numpy(np.ascontiguousarray(a, dtype=backend.get_default_dtype()))


for _task in (ToyGANTask("gan-1d", "1d"), ToyGANTask("gan-ring", "ring"),
              ToyGANTask("gan-ring-collapse", "ring", d_steps=5, mode="minimax")):
    _tasks.TASKS.setdefault(_task.name, _task)


# ----------------------------------------------------------------------------- experiments
def _pair(G, D) -> nn.ModuleDict:
    return nn.ModuleDict({"G": G, "D": D})


def _figures(experiment_name, model, data, history, run=None) -> list:
    from ..report import gan_plots
    return gan_plots.figures(experiment_name, model, data, history, run)


_figures.wants_run = True
_IMAGES = dict(datasets=("fashion-mnist", "digits"), task="gan", epochs=20, batch_size=64,
               **GAN_OPTIMIZER)


@experiment("gan", summary="MLP GAN (z 100 → 256 → 512 → 784, D 784 → 512 → 256 → 1) on "
            "Fashion-MNIST", shows="the minimax game with alternating steps and the "
            "non-saturating generator loss; FID per epoch, sample grids of a fixed z",
            data=gan_images, **_IMAGES)
def gan(data):
    return _pair(Generator(100, data.input_dim), Discriminator(data.input_dim))


@experiment("dcgan", summary="DCGAN (transposed convolutions, BatchNorm, LeakyReLU 0.2, "
            "N(0, 0.02) weights) on Fashion-MNIST 28×28",
            shows="convolutional G and D train stably and reach a lower FID than the MLP GAN",
            data=lambda name="auto": gan_images(name, channels=True),
            **dict(_IMAGES, datasets=("fashion-mnist",), epochs=5, batch_size=128))
def dcgan(data):
    return _pair(DCGANGenerator(100, channels=1), DCGANDiscriminator(channels=1))


@experiment("cgan", summary="conditional MLP GAN: G(z | y), D(x | y) with a label embedding",
            shows="the label steers the sample: deltagrad sample RUN draws one row per class",
            data=gan_images, **_IMAGES)
def cgan(data):
    k = max(data.num_classes, 1)
    return _pair(ConditionalGenerator(k, 100, data.input_dim),
                 ConditionalDiscriminator(k, data.input_dim))


@experiment("gan-1d", summary="1-D GAN: p_data = N(0, 1), MLPs G (1 → 32 → 32 → 1) and "
            "D (1 → 32 → 32 → 1)",
            shows="the notes' picture: p_g moves onto p_data, D(x) flattens to the optimal "
                  "D* = p_data / (p_data + p_g) → ½ over the data's support",
            data=gaussian_1d, task="gan-1d", datasets=("gaussian-1d",), dataset="gaussian-1d",
            epochs=35, batch_size=64, val_fraction=0.1,
            **dict(GAN_OPTIMIZER, lr=1e-3))
def gan_1d(data):
    return _pair(Generator(1, 1, hidden=(32, 32), output_activation=None),
                 Discriminator(1, hidden=(32, 32)))


_RING = dict(datasets=("gaussian-ring",), dataset="gaussian-ring", epochs=60, batch_size=128,
             data=gaussian_ring, **dict(GAN_OPTIMIZER, lr=1e-3))


@experiment("gan-ring", summary="8 Gaussians on a ring, MLP G (z 16 → 128 → 128 → 2) and D, "
            "non-saturating loss", shows="mode coverage: modes covered and the share of "
            "samples within 3σ of a mode per epoch, scatter plots over the modes",
            task="gan-ring", **_RING)
def gan_ring(data):
    return _ring_pair()


@experiment("gan-ring-collapse", summary="the ring with the minimax generator loss and 5 "
            "D-steps per G-step", shows="mode collapse, detected by the coverage diagnostic",
            task="gan-ring-collapse", **_RING)
def gan_ring_collapse(data):
    return _ring_pair()


def _ring_pair():
    return _pair(Generator(16, 2, hidden=(128, 128), output_activation=None),
                 Discriminator(2, hidden=(128, 128)))


def _sample_images(model, data, n, seed):
    """``deltagrad sample RUN``: n samples G(z) in [0, 1]; a conditional GAN draws ⌈n/K⌉
    per class, class by class, and the grid has ⌈n/K⌉ columns: one row per class."""
    G = model["G"]
    rng = backend.Generator().manual_seed(seed)
    labels = None
    if G.num_classes:
        per = -(-n // G.num_classes)
        labels = _tensor_int(np.repeat(np.arange(G.num_classes), per))
        n = len(labels)
    x = G.sample(n, labels, generator=rng).numpy()
    return (x.reshape(n, -1) + 1) / 2


def _cgan_sample_images(model, data, n, seed):
    return _sample_images(model, data, n, seed)


_cgan_sample_images.ncol = lambda data, n: -(-n // max(data.num_classes, 1))


def _tensor_int(a):
    from ..tensor import from_numpy
    return from_numpy(np.asarray(a, dtype=np.int64))


for _factory in (gan, dcgan, cgan, gan_1d, gan_ring, gan_ring_collapse):
    _factory.figures = _figures
gan.sample_images = dcgan.sample_images = _sample_images
cgan.sample_images = _cgan_sample_images
