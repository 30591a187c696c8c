"""Variational autoencoders (SYLLABUS §13; seed 001 "Variational Autoencoder", seed 003
"Variational Autoencoders", seed 004 §9.2; Kingma & Welling 2014; Burda et al. 2016 for IWAE).

Encoder q_φ(z|x) = N(μ_φ(x), diag σ²_φ(x)) (``encode`` gives μ and log σ²), prior
p(z) = N(0, I), decoder p_θ(x|z) = Π_k Bernoulli(x_k; σ(y_k(z))) or N(x; x̂(z), I). With the
reparameterization z = μ + σ ⊙ ε, ε ~ N(0, I), the negative ELBO per example in nats is

    −ELBO(x) = −E_q[ln p_θ(x|z)] + β KL(q_φ(z|x) ‖ N(0, I)),
    KL = −½ Σ_j (1 + ln σ_j² − μ_j² − σ_j²)                         (analytic)

(β = 1 the VAE, β > 1 the β-VAE). The importance-weighted estimate (IWAE) of ln p(x),

    ln p(x) ≈ ln (1/k) Σ_{i=1}^{k} p_θ(x, z_i) / q_φ(z_i|x),   z_i ~ q_φ(z|x),

is ≥ the ELBO in expectation and tends to ln p(x) as k → ∞ (``log_likelihood``).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, nn
from ..autograd.grad_mode import no_grad
from ..ops.loss import bce_with_logits_per_example
from ..ops.reduce import logsumexp
from ..ops.variational import kl_to_standard_normal, reparameterize
from ..ops.shape import cat, stack
from ..tensor import Tensor, _make
from .autoencoder import _as_tensor, _check_real, _check_unit_interval
from .classic import _activation, _check_count

__all__ = ["VAE", "ConvVAE"]

_LOG_2PI = math.log(2 * math.pi)


class _VAEBase(nn.Module):
    """The ELBO machinery shared by :class:`VAE` and :class:`ConvVAE`. A subclass builds
    ``encoder`` (x → features), ``fc_mu``, ``fc_logvar`` (features → M) and ``decoder``
    (z → logits of x's shape) and sets ``input_shape``."""

    def _setup(self, latent_dim, likelihood, beta):
        op = self._name = type(self).__name__
        _check_count(latent_dim, "latent_dim", op)
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"{op}: likelihood must be 'bernoulli' or 'gaussian', got "
                             f"{likelihood!r}")
        self.latent_dim, self.likelihood = int(latent_dim), likelihood
        self.beta = _check_real(beta, "beta", op, 0)

    def _dtype(self):
        return self.fc_mu.weight.dtype

    def _input(self, x, check=True) -> Tensor:
        x = _as_tensor(x, self._dtype(), self._name)
        want = tuple(self.input_shape)
        if x.ndim == len(want):
            x = x.reshape(1, *want)
        if tuple(x.shape[1:]) != want:
            if len(want) == 1 and x.ndim > 2 and int(np.prod(x.shape[1:])) == want[0]:
                x = x.reshape(x.shape[0], -1)
            else:
                raise ValueError(f"{self._name}: expected x of shape (N, "
                                 f"{', '.join(map(str, want))}), got {tuple(x.shape)}")
        if check and self.likelihood == "bernoulli":
            _check_unit_interval(x, self._name)
        return x

    def encode(self, x):
        """(μ, ln σ²) of q_φ(z|x), each (N, M)."""
        f = self.encoder(self._input(x, check=False))
        return self.fc_mu(f), self.fc_logvar(f)

    def reparameterize(self, mu, logvar, eps=None, generator=None) -> Tensor:
        """z = μ + σ ⊙ ε with σ = exp(½ ln σ²), ε ~ N(0, I) (or the given ``eps``)."""
        if eps is None:
            a = mu.detach()._data
            eps = backend.to_device(backend.rng(generator).standard_normal(a.shape, dtype=a.dtype),
                                    mu.device)     # host draws, on the model's device
        eps = _as_tensor(eps, mu.dtype, f"{self._name}.reparameterize", "eps")
        if tuple(eps.shape) != tuple(mu.shape):
            raise ValueError(f"{self._name}.reparameterize: eps must have mu's shape "
                             f"{tuple(mu.shape)}, got {tuple(eps.shape)}")
        return reparameterize(mu, logvar, eps)

    def decode_logits(self, z) -> Tensor:
        z = _as_tensor(z, self._dtype(), f"{self._name}.decode", "z")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"{self._name}.decode: expected z of shape (N, "
                             f"{self.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(z)

    def decode(self, z) -> Tensor:
        """The mean of p_θ(x|z): σ(y) for Bernoulli pixels, x̂ for the Gaussian."""
        y = self.decode_logits(z)
        return y.sigmoid() if self.likelihood == "bernoulli" else y

    def forward(self, x, eps=None):
        """(reconstruction mean, μ, ln σ²) for one reparameterized draw z."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar

    def reconstruction_nll(self, logits, x) -> Tensor:
        """−ln p_θ(x|z) per row in nats, summed over pixels: the BCE of the logits (one
        node) for Bernoulli pixels, ½ Σ (x − x̂)² + (d/2) ln 2π for the Gaussian."""
        if self.likelihood == "bernoulli":
            return bce_with_logits_per_example(logits, x)
        d = int(np.prod(x.shape[1:]))
        return ((logits - x) ** 2).sum(tuple(range(1, x.ndim))) * 0.5 + 0.5 * d * _LOG_2PI

    def log_px_given_z(self, logits, x) -> Tensor:
        """ln p_θ(x|z) per row in nats, summed over pixels."""
        return -self.reconstruction_nll(logits, x)

    @staticmethod
    def kl_to_prior(mu, logvar) -> Tensor:
        """KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ_j (1 + ln σ_j² − μ_j² − σ_j²), per row (one node)."""
        return kl_to_standard_normal(mu, logvar)

    def elbo_terms(self, x, eps=None):
        """(reconstruction −ln p_θ(x|z), KL) per example, each (N,), for one draw z."""
        x = self._input(x)
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, eps)
        return self.reconstruction_nll(self.decode_logits(z), x), self.kl_to_prior(mu, logvar)

    def loss(self, x, eps=None) -> Tensor:
        """−ELBO in nats per example (β-weighted KL), averaged over the batch."""
        rec, kl = self.elbo_terms(x, eps)
        return (rec + (kl if self.beta == 1 else kl * self.beta)).mean()

    def log_likelihood(self, x, k=5000, max_rows=None, generator=None) -> Tensor:
        """The IWAE estimate ln (1/k) Σ_i p_θ(x, z_i)/q_φ(z_i|x) per example, (N,), in nats,
        via log-sum-exp. The k·N decoder evaluations run in chunks of at most ``max_rows``
        rows (default: about 2²² pixel values per chunk), so k = 5,000 fits in memory."""
        op = f"{self._name}.log_likelihood"
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"{op}: k (the number of importance samples) must be an int "
                             f">= 1, got {k!r}")
        k = int(k)
        x = self._input(x)
        n, d = x.shape[0], int(np.prod(self.input_shape))
        rows = max(1, (1 << 22) // d) if max_rows is None else _check_count(max_rows,
                                                                           "max_rows", op)
        rng = backend.rng(generator)
        m = min(k, rows)                   # samples per chunk
        g = max(1, rows // k)              # examples per chunk when k is small
        out = []
        with no_grad():
            mu_all, logvar_all = self.encode(x)
            dt = mu_all.detach()._data.dtype
            for i in range(0, n, g):
                mu, logvar = mu_all[i:i + g], logvar_all[i:i + g]       # (g, M)
                gi = mu.shape[0]
                xi = x[i:i + g].reshape(gi, 1, -1)
                parts = []
                for s in range(0, k, m):
                    ms = min(m, k - s)
                    eps = _make(backend.to_device(
                        rng.standard_normal((gi, ms, self.latent_dim), dtype=dt), mu.device))
                    z = mu.unsqueeze(1) + (logvar.unsqueeze(1) * 0.5).exp() * eps
                    log_pz = (z ** 2).sum(-1) * -0.5
                    log_qz = (eps ** 2 + logvar.unsqueeze(1)).sum(-1) * -0.5   # 2π cancels
                    logits = self.decode_logits(z.reshape(gi * ms, self.latent_dim))
                    xs = xi.expand(gi, ms, d).reshape(gi * ms, *self.input_shape)
                    log_px = self.log_px_given_z(logits, xs).reshape(gi, ms)
                    parts.append(logsumexp(log_px + log_pz - log_qz, 1))
                total = parts[0] if len(parts) == 1 else logsumexp(stack(parts), 0)
                out.append(total - math.log(k))
        return out[0] if len(out) == 1 else cat(out)

    def sample(self, n, generator=None, binary=False) -> Tensor:
        """n draws z ~ N(0, I) decoded to p_θ(x|z)'s mean (``binary``: Bernoulli pixels)."""
        _check_count(n, "n", f"{self._name}.sample", minimum=0)
        rng = backend.rng(generator)
        with no_grad():
            w = self.fc_mu.weight
            z = _make(backend.to_device(rng.standard_normal((n, self.latent_dim)).astype(
                w.detach()._data.dtype), w.device))
            mean = self.decode(z)
            if binary:
                if self.likelihood != "bernoulli":
                    raise ValueError(f"{self._name}.sample: binary=True needs the Bernoulli "
                                     f"likelihood")
                a = mean._data
                u = backend.to_device(rng.random(a.shape, dtype=a.dtype), mean.device)
                mean = _make((u < a).astype(a.dtype))
        return mean

    def interpolate(self, x1, x2, steps=10) -> Tensor:
        """Decoded means along z = (1 − t) μ(x1) + t μ(x2), t = 0 … 1 in ``steps`` steps."""
        _check_count(steps, "steps", f"{self._name}.interpolate", minimum=2)
        with no_grad():
            m1, _ = self.encode(self._input(x1)[:1])
            m2, _ = self.encode(self._input(x2)[:1])
            t = _make(np.linspace(0, 1, steps).astype(m1._data.dtype).reshape(-1, 1))
            return self.decode(m1 * (1 - t) + m2 * t)

    def traverse(self, x, dim, values) -> Tensor:
        """Decoded means of μ(x) with latent coordinate ``dim`` set to each of ``values``."""
        op = f"{self._name}.traverse"
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or \
                not -self.latent_dim <= dim < self.latent_dim:
            raise ValueError(f"{op}: dim must be an int in [0, {self.latent_dim}), got {dim!r}")
        vals = np.asarray(values, dtype=np.float64).reshape(-1)
        if vals.size == 0:
            raise ValueError(f"{op}: values must not be empty")
        with no_grad():
            mu, _ = self.encode(self._input(x)[:1])
            z = np.repeat(mu.numpy(), len(vals), axis=0)
            z[:, dim] = vals
            return self.decode(_make(z.astype(mu._data.dtype)))


class VAE(_VAEBase):
    """``VAE(input_dim, hidden_dims, latent_dim, likelihood="bernoulli", beta=1.0,
    activation="relu", dtype=None)``: MLP encoder input_dim → hidden_dims → (μ, ln σ²) and
    the mirrored MLP decoder latent_dim → reversed(hidden_dims) → input_dim logits (or means
    for the Gaussian). ``VAE(784, [300, 300], 40)`` is the Exemplar-VAE paper's MLP.
    ``state_dict`` keys: ``encoder.0.weight`` ..., ``fc_mu.*``, ``fc_logvar.*``,
    ``decoder.0.weight`` ...
    """

    def __init__(self, input_dim, hidden_dims, latent_dim, likelihood="bernoulli", beta=1.0,
                 activation="relu", dtype=None):
        super().__init__()
        self._setup(latent_dim, likelihood, beta)
        op = self._name
        _check_count(input_dim, "input_dim", op)
        hidden = [_check_count(h, "every entry of hidden_dims", op) for h in hidden_dims]
        self.input_shape = (int(input_dim),)
        self.hidden_dims = tuple(hidden)

        def mlp(sizes):
            layers = []
            for a, b in zip(sizes[:-1], sizes[1:]):
                layers.append(nn.Linear(a, b, dtype=dtype))
                act = _activation(activation, op)
                if act is not None:
                    layers.append(act)
            return layers

        self.encoder = nn.Sequential(*mlp([input_dim] + hidden))
        feat = hidden[-1] if hidden else input_dim
        self.fc_mu = nn.Linear(feat, latent_dim, dtype=dtype)
        self.fc_logvar = nn.Linear(feat, latent_dim, dtype=dtype)
        self.decoder = nn.Sequential(*mlp([latent_dim] + hidden[::-1]),
                                     nn.Linear(hidden[0] if hidden else latent_dim, input_dim,
                                               dtype=dtype))


class ConvVAE(_VAEBase):
    """``ConvVAE(in_channels=1, image_size=28, channels=(32, 64), latent_dim=16,
    likelihood="bernoulli", beta=1.0, dtype=None)``: Conv2d(3, stride 2, padding 1) + ReLU
    per entry of ``channels`` (28 → 14 → 7), flattened to (μ, ln σ²); the decoder is a Linear
    back to the feature map and ConvTranspose2d layers doubling it to the image's size."""

    def __init__(self, in_channels=1, image_size=28, channels=(32, 64), latent_dim=16,
                 likelihood="bernoulli", beta=1.0, dtype=None):
        super().__init__()
        self._setup(latent_dim, likelihood, beta)
        from .autoencoder import ConvAutoencoder
        # the same conv stack and its mirror as the convolutional autoencoder
        ae = ConvAutoencoder(in_channels, image_size, channels, latent_dim=None,
                             activation="relu", output_activation=None, loss="mse",
                             dtype=dtype)
        self.input_shape = (ae.in_channels, ae.image_size, ae.image_size)
        feat = int(np.prod(ae.feature_shape))
        self.encoder = nn.Sequential(*ae.encoder, nn.Flatten())
        self.fc_mu = nn.Linear(feat, latent_dim, dtype=dtype)
        self.fc_logvar = nn.Linear(feat, latent_dim, dtype=dtype)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, feat, dtype=dtype), nn.ReLU(),
                                     nn.Unflatten(1, ae.feature_shape), *ae.decoder)
