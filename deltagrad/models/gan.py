"""Generative adversarial networks (SYLLABUS §14; seed 000 lecture 11, seed 001 "GAN",
seed 004 §9.3): a generator x = G_ϕ(z), z ~ N(0, I_M), and a discriminator D_θ(x) that
returns one logit a per sample, D(x) = σ(a), trained on the minimax game
min_G max_D E[log D(x)] + E[log(1 − D(G(z)))] (losses in :mod:`deltagrad.ops.gan_loss`).

- :class:`Generator` / :class:`Discriminator`: MLPs (LeakyReLU 0.2 in D, ReLU in G);
- :class:`DCGANGenerator` / :class:`DCGANDiscriminator`: the DCGAN of Radford et al. (2016)
  for 28×28 images: transposed convolutions up 7 → 14 → 28 with BatchNorm and ReLU,
  strided convolutions down with LeakyReLU 0.2, weights from N(0, 0.02), BatchNorm γ from
  N(1, 0.02);
- :class:`ConditionalGenerator` / :class:`ConditionalDiscriminator`: G(z | y), D(x | y)
  (Mirza & Osindero 2014): the label's embedding is joined to z and to D's input.

Every generator has ``latent_dim``, ``sample(n)``, ``interpolate(z1, z2, steps)`` (the
notes' z_new = m z₁ + (1 − m) z₂) and ``arithmetic(a, b, c)`` (G(z_a − z_b + z_c)).
"""
from __future__ import annotations

from math import prod

import numpy as np

from .. import backend, nn
from ..autograd.grad_mode import no_grad
from ..ops.shape import cat
from ..tensor import Tensor, _make, randn

__all__ = ["Generator", "Discriminator", "DCGANGenerator", "DCGANDiscriminator",
           "ConditionalGenerator", "ConditionalDiscriminator", "dcgan_init_"]


def _mlp(sizes, activation, output_activation=None) -> nn.Sequential:
    """Linear layers sizes[0] → … → sizes[-1], ``activation()`` between them."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    if output_activation is not None:
        layers.append(output_activation())
    return nn.Sequential(*layers)


_OUTPUTS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, None: None, "identity": None}


def _positive_int(value, name, op) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _shape(shape, op) -> tuple:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    for s in shape:
        _positive_int(s, "output_shape entries", op)
    if not shape:
        raise ValueError(f"{op}: the sample shape must have at least one dimension")
    return shape


def dcgan_init_(module: nn.Module) -> nn.Module:
    """DCGAN's initialisation: every (transposed) convolution and linear weight from
    N(0, 0.02), BatchNorm γ from N(1, 0.02), biases and β 0. Returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


class _Generator(nn.Module):
    """What every generator shares: the latent check, sampling, interpolation, arithmetic."""

    latent_dim: int
    num_classes = 0

    def _latent(self, z) -> Tensor:
        op = type(self).__name__
        if not isinstance(z, Tensor):
            raise TypeError(f"{op}: z must be a Tensor of shape (N, {self.latent_dim}), got "
                            f"{type(z).__name__}")
        ok = z.ndim == 2 and z.shape[1] == self.latent_dim
        if z.ndim == 4 and tuple(z.shape[1:]) == (self.latent_dim, 1, 1):  # DCGAN's (N, M, 1, 1)
            z, ok = z.reshape(z.shape[0], self.latent_dim), True
        if not ok:
            raise ValueError(f"{op}: z must have shape (N, latent_dim={self.latent_dim}), got "
                             f"{tuple(z.shape)}")
        return z

    def _labels(self, y, n) -> Tensor:
        return _check_labels(y, n, self.num_classes, type(self).__name__)

    def noise(self, n: int, generator=None) -> Tensor:
        """z ~ N(0, I_M): ``n`` latent vectors (the parameters' dtype)."""
        n = _positive_int(n, "n", f"{type(self).__name__}.noise")
        w = next(iter(self.parameters()))
        return randn(n, self.latent_dim, generator=generator, dtype=w.dtype, device=w.device)

    def _generate(self, z, labels=None) -> Tensor:
        with no_grad():
            was = self.training
            self.eval()
            try:
                return self(z) if self.num_classes == 0 else self(z, labels)
            finally:
                self.train(was)

    def sample(self, n: int, labels=None, generator=None) -> Tensor:
        """n samples G(z), z ~ N(0, I), in eval mode without gradients (a conditional
        generator needs ``labels``, n of them)."""
        return self._generate(self.noise(n, generator), labels)

    def interpolate(self, z1, z2, steps: int = 10, labels=None) -> Tensor:
        """G(z_m) along z_m = (1 − m) z₁ + m z₂, m = 0, 1/(steps−1), …, 1: (steps, ...)."""
        steps = _positive_int(steps, "steps", f"{type(self).__name__}.interpolate")
        z1 = self._latent(z1.reshape(1, -1) if z1.ndim == 1 else z1)
        z2 = self._latent(z2.reshape(1, -1) if z2.ndim == 1 else z2)
        m = np.linspace(0.0, 1.0, steps, dtype=np.dtype(z1.dtype)).reshape(steps, 1)
        m = _make(m)
        return self._generate((1 - m) * z1 + m * z2, labels)

    def arithmetic(self, za, zb, zc, labels=None) -> Tensor:
        """Latent arithmetic (Radford et al.): G(z_a − z_b + z_c) for rows of (N, M) codes
        (e.g. the means of a few codes per concept)."""
        z = self._latent(za) - self._latent(zb) + self._latent(zc)
        return self._generate(z, labels)


def _check_labels(y, n, num_classes, op) -> Tensor:
    if not isinstance(y, Tensor):
        y = _make(np.asarray(y))
    if np.dtype(y.dtype).kind not in "iu":
        raise TypeError(f"{op}: labels must be integer class indices, got dtype {y.dtype}")
    if tuple(y.shape) != (n,):
        raise ValueError(f"{op}: expected {n} labels of shape ({n},), got {tuple(y.shape)}")
    # the range check reads the array itself, not y.numpy(): no value leaves a traced graph
    a = backend.to_numpy(y._data) if n else np.zeros(0, np.int64)
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise IndexError(f"{op}: labels must be in [0, {num_classes}), got values in "
                         f"[{a.min()}, {a.max()}]")
    return y


def _flat_input(x, input_shape, op) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: x must be a Tensor, got {type(x).__name__}")
    if tuple(x.shape[1:]) != tuple(input_shape) and \
            not (x.ndim == 2 and x.shape[1] == prod(input_shape)):
        raise ValueError(f"{op}: x must have shape (N, {', '.join(map(str, input_shape))}), "
                         f"got {tuple(x.shape)}")
    return x.reshape(x.shape[0], prod(input_shape))


class Generator(_Generator):
    """MLP generator G(z): z ∈ R^M → Linear → ReLU → … → Linear → tanh (samples in [−1, 1],
    reshaped to ``output_shape``). ``output_activation=None`` for real-valued data (the
    1-D and ring toys)."""

    def __init__(self, latent_dim: int = 100, output_shape=784, hidden=(256, 512),
                 output_activation="tanh"):
        super().__init__()
        op = type(self).__name__
        self.latent_dim = _positive_int(latent_dim, "latent_dim", op)
        self.output_shape = _shape(output_shape, op)
        if output_activation not in _OUTPUTS:
            raise ValueError(f"{op}: output_activation must be one of "
                             f"{[k for k in _OUTPUTS if k]} or None, got {output_activation!r}")
        self.net = _mlp([self._in_features()] + [int(h) for h in hidden]
                        + [prod(self.output_shape)], nn.ReLU, _OUTPUTS[output_activation])

    def _in_features(self) -> int:
        return self.latent_dim

    def forward(self, z):
        z = self._latent(z)
        return self.net(z).reshape(z.shape[0], *self.output_shape)


class Discriminator(nn.Module):
    """MLP discriminator: x (flattened) → Linear → LeakyReLU(0.2) → … → Linear → one logit
    a per sample, shape (N,); D(x) = σ(a)."""

    num_classes = 0

    def __init__(self, input_shape=784, hidden=(512, 256), negative_slope: float = 0.2):
        super().__init__()
        self.input_shape = _shape(input_shape, type(self).__name__)
        self.net = _mlp([self._in_features()] + [int(h) for h in hidden] + [1],
                        lambda: nn.LeakyReLU(negative_slope))

    def _in_features(self) -> int:
        return prod(self.input_shape)

    def forward(self, x):
        x = _flat_input(x, self.input_shape, type(self).__name__)
        return self.net(x).reshape(x.shape[0])


class ConditionalGenerator(Generator):
    """G(z | y) = MLP([z, e_y]) with e_y = Embedding(K, E)(y): the label's embedding joined
    to the noise."""

    def __init__(self, num_classes: int = 10, latent_dim: int = 100, output_shape=784,
                 hidden=(256, 512), embedding_dim: int | None = None,
                 output_activation="tanh"):
        op = type(self).__name__
        self.num_classes = _positive_int(num_classes, "num_classes", op)
        self.embedding_dim = _positive_int(embedding_dim or num_classes, "embedding_dim", op)
        super().__init__(latent_dim, output_shape, hidden, output_activation)
        self.label_embedding = nn.Embedding(self.num_classes, self.embedding_dim)

    def _in_features(self) -> int:
        return self.latent_dim + self.embedding_dim

    def forward(self, z, labels):
        z = self._latent(z)
        y = self._labels(labels, z.shape[0])
        h = cat([z, self.label_embedding(y)], dim=1)
        return self.net(h).reshape(z.shape[0], *self.output_shape)

    def sample(self, n, labels=None, generator=None):
        if labels is None:
            raise ValueError(f"{type(self).__name__}.sample: a conditional generator needs "
                             f"labels (n of them, in [0, {self.num_classes}))")
        return super().sample(n, labels, generator)


class ConditionalDiscriminator(Discriminator):
    """D(x | y) = MLP([x, e_y]): the label's embedding joined to the flattened input."""

    def __init__(self, num_classes: int = 10, input_shape=784, hidden=(512, 256),
                 embedding_dim: int | None = None, negative_slope: float = 0.2):
        op = type(self).__name__
        self.num_classes = _positive_int(num_classes, "num_classes", op)
        self.embedding_dim = _positive_int(embedding_dim or num_classes, "embedding_dim", op)
        super().__init__(input_shape, hidden, negative_slope)
        self.label_embedding = nn.Embedding(self.num_classes, self.embedding_dim)

    def _in_features(self) -> int:
        return prod(self.input_shape) + self.embedding_dim

    def forward(self, x, labels):
        op = type(self).__name__
        x = _flat_input(x, self.input_shape, op)
        y = _check_labels(labels, x.shape[0], self.num_classes, op)
        return self.net(cat([x, self.label_embedding(y)], dim=1)).reshape(x.shape[0])


class DCGANGenerator(_Generator):
    """DCGAN generator for 28×28 images: z (N, M) → ConvT(M, 4f, 7) 7×7 → BN → ReLU →
    ConvT(4f, 2f, 4, 2, 1) 14×14 → BN → ReLU → ConvT(2f, C, 4, 2, 1) 28×28 → tanh."""

    def __init__(self, latent_dim: int = 100, channels: int = 1, features: int = 64):
        super().__init__()
        op = type(self).__name__
        self.latent_dim = _positive_int(latent_dim, "latent_dim", op)
        c = _positive_int(channels, "channels", op)
        f = _positive_int(features, "features", op)
        self.output_shape = (c, 28, 28)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.latent_dim, 4 * f, 7, 1, 0, bias=False),
            nn.BatchNorm2d(4 * f), nn.ReLU(),
            nn.ConvTranspose2d(4 * f, 2 * f, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * f), nn.ReLU(),
            nn.ConvTranspose2d(2 * f, c, 4, 2, 1, bias=False), nn.Tanh())
        dcgan_init_(self)

    def forward(self, z):
        z = self._latent(z)
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator for 28×28 images: x (N, C, 28, 28) → Conv(C, f, 4, 2, 1) 14×14 →
    LeakyReLU(0.2) → Conv(f, 2f, 4, 2, 1) 7×7 → BN → LeakyReLU(0.2) → Conv(2f, 1, 7) →
    one logit per image, shape (N,)."""

    num_classes = 0

    def __init__(self, channels: int = 1, features: int = 64, negative_slope: float = 0.2):
        super().__init__()
        op = type(self).__name__
        c = _positive_int(channels, "channels", op)
        f = _positive_int(features, "features", op)
        self.input_shape = (c, 28, 28)
        self.net = nn.Sequential(
            nn.Conv2d(c, f, 4, 2, 1, bias=False), nn.LeakyReLU(negative_slope),
            nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f),
            nn.LeakyReLU(negative_slope),
            nn.Conv2d(2 * f, 1, 7, 1, 0, bias=False))
        dcgan_init_(self)

    def forward(self, x):
        op = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}: x must be a Tensor, got {type(x).__name__}")
        if x.ndim == 2 and x.shape[1] == prod(self.input_shape):
            x = x.reshape(x.shape[0], *self.input_shape)
        if tuple(x.shape[1:]) != self.input_shape or x.ndim != 4:
            raise ValueError(f"{op}: x must have shape (N, {', '.join(map(str, self.input_shape))})"
                             f", got {tuple(x.shape)}")
        return self.net(x).reshape(x.shape[0])
