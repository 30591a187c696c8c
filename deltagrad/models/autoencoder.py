"""Autoencoders (SYLLABUS §12; seed 000 "Lecture 10 – Autoencoders", seed 001 "Understanding
Autoencoder", seed 002 §4.1).

Encoder h = φ(x), decoder y = ψ(h), trained to reconstruct x. The reconstruction error J is
per example, summed over the K input values and averaged over the P examples of a batch:

    MSE:            J = (1/P) Σ_p ‖y_p − x_p‖²
    cross-entropy:  J = −(1/P) Σ_p Σ_k [x_pk ln y_pk + (1 − x_pk) ln(1 − y_pk)]
                    (computed from the decoder's logits, stably)

The regularised variants add a penalty Ω to J (``loss(x) = J + Ω``):

    SparseAutoencoder       Ω = β Σ_j KL(ρ ‖ ρ̂_j) + λ₁ (1/P) Σ_p ‖h_p‖₁
    DenoisingAutoencoder    J measured from ψ(φ(x̃)) with x̃ ~ Noise(x) (training only)
    ContractiveAutoencoder  Ω = λ (1/P) Σ_p ‖∂h/∂x (x_p)‖²_F
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend, nn
from ..autograd import grad as autograd_grad
from ..nn import functional as F
from ..tensor import Tensor, _make, zeros
from .classic import _activation, _check_count

__all__ = ["Autoencoder", "SparseAutoencoder", "DenoisingAutoencoder",
           "ContractiveAutoencoder", "ConvAutoencoder"]

_LOSSES = ("mse", "bce")


def _as_tensor(x, dtype, op, name="x") -> Tensor:
    if not isinstance(x, Tensor):        # a NumPy (or, on a GPU, CuPy) array stays where it is
        x = _make(backend.array_module(x).asarray(x, dtype=dtype))
    elif x.dtype != dtype:
        x = x.to(dtype)
    if x.ndim == 0:
        raise ValueError(f"{op}: {name} must have a batch dimension, got a scalar")
    return x


def _check_unit_interval(x, op, name="x"):
    a = x.detach()._data
    if a.size and not (a.min() >= 0 and a.max() <= 1):   # (a NaN fails both: min/max is NaN)
        raise ValueError(f"{op}: a Bernoulli (cross-entropy) reconstruction needs {name} in "
                         f"[0, 1], got values in [{float(a.min()):g}, {float(a.max()):g}]")


def _check_real(value, name, op, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"{op}: {name} must be a finite number, got {value!r}")
    bad = (low is not None and (value <= low if low_open else value < low)) or \
          (high is not None and (value >= high if high_open else value > high))
    if bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{op}: {name} must lie in {lo or '(-inf'}, {hi or 'inf)'}, "
                         f"got {value!r}")
    return float(value)


class _AutoencoderBase(nn.Module):
    """What every autoencoder shares: ``forward(x) = decode(encode(x))``, the reconstruction
    error J (``loss``: "mse" or "bce") and ``loss(x) = J + penalty``. Subclasses provide
    ``encode(x)`` and ``decode_logits(h)`` (the decoder before its output activation)."""

    _name = "Autoencoder"

    def _setup_loss(self, loss, output_activation):
        if loss not in _LOSSES:
            raise ValueError(f"{self._name}: loss must be one of {_LOSSES}, got {loss!r}")
        if loss == "bce" and output_activation != "sigmoid":
            raise ValueError(f"{self._name}: loss='bce' needs output_activation='sigmoid' "
                             f"(outputs are probabilities), got {output_activation!r}")
        self.loss_name = loss
        self.output_activation = output_activation
        self._out = _activation(output_activation, self._name)

    def decode(self, h) -> Tensor:
        """y = ψ(h): the reconstruction (after the output activation)."""
        y = self.decode_logits(h)
        return y if self._out is None else self._out(y)

    def forward(self, x) -> Tensor:
        return self.decode(self.encode(x))

    def reconstruction_error(self, x, target=None) -> Tensor:
        """J per example (summed over the input values), shape (P,): the reconstruction of
        ``x`` compared with ``target`` (default ``x``)."""
        x = self._input(x)
        target = x if target is None else self._input(target, "target")
        logits = self.decode_logits(self.encode(x))
        return self._error(logits, target)

    def _error(self, logits, target) -> Tensor:
        dims = tuple(range(1, target.ndim))
        if self.loss_name == "bce":
            _check_unit_interval(target, self._name, "x")
            return F.binary_cross_entropy_with_logits(logits, target, reduction="none") \
                .sum(dims)
        y = logits if self._out is None else self._out(logits)
        return ((y - target) ** 2).sum(dims)

    def penalty(self, x, h) -> Tensor:
        """The regulariser Ω (0 for the plain autoencoder)."""
        return None

    def loss_terms(self, x) -> tuple:
        """(J, Ω): the batch-mean reconstruction error and the penalty (None when there is
        none), so a training loop can report them separately."""
        x = self._input(x)
        h = self.encode(x)
        return self._error(self.decode_logits(h), x).mean(), self.penalty(x, h)

    def loss(self, x) -> Tensor:
        """J + Ω, J averaged over the batch (a scalar)."""
        total, omega = self.loss_terms(x)
        return total if omega is None else total + omega

    def _input(self, x, name="x") -> Tensor:
        return _as_tensor(x, self._dtype(), self._name, name)

    def _dtype(self):
        return next(iter(self.parameters())).dtype


class Autoencoder(_AutoencoderBase):
    """``Autoencoder(sizes, activation="sigmoid", tied=False, output_activation="sigmoid",
    loss="mse", bias=True, dtype=None)``.

    ``sizes = [K, M₁, …, M]`` gives the encoder Linear(K, M₁) → σ → … → Linear(·, M) → σ
    (h = φ(x), the code, after ``activation``), and the mirrored decoder Linear(M, ·) → σ → …
    → Linear(M₁, K) → ``output_activation``. Undercomplete when M < K, overcomplete when
    M > K (then regularise: sparse, denoising, contractive). ``activation=None`` with
    ``output_activation=None`` is the linear autoencoder z = W⁽¹⁾x + b⁽¹⁾, x' = W⁽²⁾z + b⁽²⁾
    that spans PCA's subspace (seed 002 §4.1.2).

    ``tied=True`` decodes with the encoder's transposed weights, W_dec⁽ˡ⁾ = W_enc⁽ᴸ⁻ˡ⁺¹⁾ᵀ: the
    decoder keeps only its biases (``decoder_biases.i``), so ``state_dict`` holds each weight
    once. ``state_dict`` keys: ``encoder.0.weight``, ``encoder.0.bias``, ...,
    ``decoder.0.weight``, ... (a plain ``nn.Sequential`` each).
    """

    def __init__(self, sizes, activation="sigmoid", tied=False, output_activation="sigmoid",
                 loss="mse", bias=True, dtype=None):
        super().__init__()
        op = self._name = type(self).__name__
        given = sizes
        try:
            sizes = None if isinstance(sizes, (str, bytes)) else list(sizes)
        except TypeError:
            sizes = None
        if sizes is None or len(sizes) < 2:
            raise ValueError(f"{op}: sizes needs at least the input size and the code size "
                             f"([K, ..., M]), got {given!r}")
        for i, s in enumerate(sizes):
            _check_count(s, "the code size (latent_dim)" if i == len(sizes) - 1
                         else "every size", op)
        self.sizes = tuple(int(s) for s in sizes)
        self.activation, self.tied = activation, bool(tied)
        self._setup_loss(loss, output_activation)
        enc = []
        for a, b in zip(self.sizes[:-1], self.sizes[1:]):
            enc.append(nn.Linear(a, b, bias=bias, dtype=dtype))
            act = _activation(activation, op)
            if act is not None:
                enc.append(act)
        self.encoder = nn.Sequential(*enc)
        rev = self.sizes[::-1]
        if self.tied:
            wdtype = self.encoder[0].weight.dtype
            self.decoder_biases = nn.ParameterList(
                [nn.Parameter(zeros(b, dtype=wdtype)) for b in rev[1:]]) if bias else None
            self._hidden_acts = [_activation(activation, op) for _ in rev[2:]]
        else:
            dec = []
            for i, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
                dec.append(nn.Linear(a, b, bias=bias, dtype=dtype))
                act = _activation(activation, op) if i < len(rev) - 2 else None
                if act is not None:
                    dec.append(act)
            self.decoder = nn.Sequential(*dec)

    @property
    def encoder_layers(self) -> list:
        return [m for m in self.encoder if isinstance(m, nn.Linear)]

    def encode(self, x) -> Tensor:
        """h = φ(x), shape (P, M)."""
        x = self._input(x)
        if x.ndim > 2:
            x = x.reshape(x.shape[0], -1)
        if x.shape[-1] != self.sizes[0]:
            raise ValueError(f"{self._name}.encode: expected x of shape (P, {self.sizes[0]}), "
                             f"got {tuple(x.shape)}")
        return self.encoder(x)

    def decode_logits(self, h) -> Tensor:
        if h.shape[-1] != self.sizes[-1]:
            raise ValueError(f"{self._name}.decode: expected a code of shape "
                             f"(P, {self.sizes[-1]}), got {tuple(h.shape)}")
        if not self.tied:
            return self.decoder(h)
        layers = self.encoder_layers[::-1]
        for i, layer in enumerate(layers):
            b = None if self.decoder_biases is None else self.decoder_biases[i]
            h = F.linear(h, layer.weight.t(), b)
            if i < len(layers) - 1 and self._hidden_acts[i] is not None:
                h = self._hidden_acts[i](h)
        return h

    def _error(self, logits, target):
        if target.ndim > 2:
            target = target.reshape(target.shape[0], -1)
        return super()._error(logits, target)


class SparseAutoencoder(Autoencoder):
    """``SparseAutoencoder(sizes, activation="sigmoid", rho=0.05, beta=1.0, l1=0.0, ...)``.

    J_sparse = J + β Σ_{j=1}^{M} KL(ρ ‖ ρ̂_j) + λ₁ (1/P) Σ_p ‖h_p‖₁ (seed 000 "Sparse AE",
    seed 001 §7), with ρ̂_j = (1/P) Σ_p h_j(x_p) the mean activation of code unit j over the
    batch and KL(ρ ‖ ρ̂) = ρ ln(ρ/ρ̂) + (1 − ρ) ln((1 − ρ)/(1 − ρ̂)). The KL term needs codes
    in (0, 1): a sigmoid code activation.
    """

    def __init__(self, sizes, activation="sigmoid", rho=0.05, beta=1.0, l1=0.0, **kwargs):
        op = type(self).__name__
        self_rho = _check_real(rho, "rho (the target mean activation ρ)", op, 0, 1, True, True)
        self_beta = _check_real(beta, "beta", op, 0)
        self_l1 = _check_real(l1, "l1", op, 0)
        if self_beta > 0 and activation != "sigmoid":
            raise ValueError(f"{op}: the KL sparsity penalty needs code activations in (0, 1) "
                             f"(activation='sigmoid'), got activation={activation!r}; use "
                             f"beta=0 with l1 > 0 for an L1 penalty on other codes")
        super().__init__(sizes, activation=activation, **kwargs)
        self.rho, self.beta, self.l1 = self_rho, self_beta, self_l1

    def sparsity_penalty(self, x, h=None) -> Tensor:
        """β Σ_j KL(ρ ‖ ρ̂_j) + λ₁ mean_p ‖h_p‖₁ for the batch ``x`` (a scalar)."""
        h = self.encode(x) if h is None else h
        total = None
        if self.beta > 0:
            rho_hat = h.mean(0)
            rho = self.rho
            kl = rho * (math.log(rho) - rho_hat.log()) + \
                (1 - rho) * (math.log(1 - rho) - (1 - rho_hat).log())
            total = kl.sum() * self.beta
        if self.l1 > 0:
            l1 = h.abs().sum(-1).mean() * self.l1
            total = l1 if total is None else total + l1
        return total

    def penalty(self, x, h):
        return self.sparsity_penalty(x, h)


class DenoisingAutoencoder(Autoencoder):
    """``DenoisingAutoencoder(sizes, ..., noise="gaussian"|"masking", sigma=0.1, p=0.25)``.

    Trains ψ(φ(x̃)) to reconstruct the clean x from a corrupted x̃ ~ Noise(x) (seed 000
    "Denoising AE"):
        additive Gaussian:        x̃_i = x_i + ε_i,  ε_i ~ N(0, σ²)
        multiplicative masking:   x̃_i = ε_i x_i,    ε_i ~ Bernoulli(1 − p)
    (``p`` is the corruption probability, the fraction of inputs zeroed; the notes' Bernoulli
    parameter is the keep probability 1 − p). Corruption applies in training mode only, in
    ``forward`` and ``loss``; in eval mode the model is a plain autoencoder.
    """

    def __init__(self, sizes, activation="sigmoid", noise="gaussian", sigma=0.1, p=0.25,
                 **kwargs):
        op = type(self).__name__
        if noise not in ("gaussian", "masking"):
            raise ValueError(f"{op}: noise must be 'gaussian' or 'masking', got {noise!r}")
        sigma = _check_real(sigma, "sigma (the Gaussian noise's standard deviation)", op, 0)
        p = _check_real(p, "p (the corruption probability)", op, 0, 1, False, True)
        super().__init__(sizes, activation=activation, **kwargs)
        self.noise, self.sigma, self.p = noise, sigma, p

    def corrupt(self, x, noise=None, generator=None) -> Tensor:
        """x̃ ~ Noise(x). ``noise`` optionally gives the draws: ε ~ N(0, 1) (scaled by σ here)
        for "gaussian", the 0/1 keep mask for "masking"; otherwise they come from
        ``generator`` (default: dg's global one)."""
        x = self._input(x)
        if noise is None:
            rng = backend.rng(generator)
            a = x.detach()._data
            if self.noise == "gaussian":
                noise = rng.standard_normal(a.shape, dtype=a.dtype)
            else:
                noise = (rng.random(a.shape, dtype=a.dtype) >= self.p).astype(a.dtype)
            noise = backend.to_device(noise, x.device)     # host draws, on x's device
        noise = _as_tensor(noise, x.dtype, f"{self._name}.corrupt", "noise")
        if tuple(noise.shape) != tuple(x.shape):
            raise ValueError(f"{self._name}.corrupt: noise must have x's shape "
                             f"{tuple(x.shape)}, got {tuple(noise.shape)}")
        return x + noise * self.sigma if self.noise == "gaussian" else x * noise

    def forward(self, x, noise=None) -> Tensor:
        x = self.corrupt(x, noise) if self.training else x
        return self.decode(self.encode(x))

    def loss_terms(self, x, noise=None) -> tuple:
        """(J(ψ(φ(x̃)), x), None): the denoising error has no separate penalty."""
        x = self._input(x)
        xt = self.corrupt(x, noise) if self.training else x
        return self._error(self.decode_logits(self.encode(xt)), x).mean(), None

    def loss(self, x, noise=None) -> Tensor:
        """J(ψ(φ(x̃)), x) averaged over the batch; x̃ = x in eval mode."""
        return self.loss_terms(x, noise)[0]


class ContractiveAutoencoder(Autoencoder):
    """``ContractiveAutoencoder(sizes, activation="sigmoid", lam=0.1, ...)``.

    J + λ (1/P) Σ_p ‖J_h(x_p)‖²_F with J_h = ∂h/∂x the encoder's Jacobian (seed 001 §7,
    "smoothness regularization" λ Σ_i ‖∇_x h_i‖²). For one sigmoid layer h = σ(Wx + b):

        ‖J_h(x)‖²_F = Σ_j (h_j (1 − h_j))² Σ_i W_ji²          (closed form)

    For any encoder the same quantity comes from M double-backward passes,
    Σ_j ‖∂h_j/∂x‖² with ∂h_j/∂x from ``dg.autograd.grad(create_graph=True)``.
    """

    def __init__(self, sizes, activation="sigmoid", lam=0.1, **kwargs):
        lam = _check_real(lam, "lam (λ)", type(self).__name__, 0)
        super().__init__(sizes, activation=activation, **kwargs)
        self.lam = lam

    @property
    def has_closed_form(self) -> bool:
        return len(self.sizes) == 2 and self.activation == "sigmoid"

    def jacobian_norm(self, x, method="auto") -> Tensor:
        """‖∂h/∂x‖²_F per example, shape (P,). ``method``: "closed_form" (one sigmoid
        encoder layer), "double_backward" (any encoder) or "auto" (closed form when it
        applies)."""
        op = f"{self._name}.contractive_penalty"
        if method == "auto":
            method = "closed_form" if self.has_closed_form else "double_backward"
        if method == "closed_form":
            if not self.has_closed_form:
                raise ValueError(f"{op}: the closed form needs one sigmoid encoder layer "
                                 f"(sizes [K, M], activation='sigmoid'), got sizes "
                                 f"{list(self.sizes)}, activation={self.activation!r}; use "
                                 f"method='double_backward'")
            W = self.encoder_layers[0].weight
            h = self.encode(x)
            return ((h * (1 - h)) ** 2 * (W ** 2).sum(1)).sum(-1)
        if method != "double_backward":
            raise ValueError(f"{op}: method must be 'closed_form', 'double_backward' or "
                             f"'auto', got {method!r}")
        x = self._input(x).detach().requires_grad_(True)
        h = self.encode(x)
        total = None
        for j in range(h.shape[-1]):
            # examples are independent, so ∂(Σ_p h_pj)/∂x_p = ∂h_pj/∂x_p row by row
            (g,) = autograd_grad(h[:, j].sum(), x, create_graph=True)
            sq = (g ** 2).reshape(g.shape[0], -1).sum(-1)
            total = sq if total is None else total + sq
        return total

    def contractive_penalty(self, x, method="auto") -> Tensor:
        """λ (1/P) Σ_p ‖∂h/∂x (x_p)‖²_F (a scalar)."""
        return self.jacobian_norm(x, method).mean() * self.lam

    def penalty(self, x, h):
        return self.contractive_penalty(x) if self.lam > 0 else None


class ConvAutoencoder(_AutoencoderBase):
    """``ConvAutoencoder(in_channels=1, image_size=28, channels=(16, 32), latent_dim=None,
    activation="relu", output_activation="sigmoid", loss="bce", dtype=None)``.

    Encoder: per entry c of ``channels`` a Conv2d(·, c, 3, stride 2, padding 1) → σ, halving
    the image (28 → 14 → 7); with ``latent_dim`` a Linear to an M-vector code. Decoder
    (seed 001 §5, "transpose convolutions"): the mirror image with
    ConvTranspose2d(·, ·, 3, stride 2, padding 1, output_padding) doubling it back.
    """

    def __init__(self, in_channels=1, image_size=28, channels=(16, 32), latent_dim=None,
                 activation="relu", output_activation="sigmoid", loss="bce", dtype=None):
        super().__init__()
        op = self._name = type(self).__name__
        _check_count(in_channels, "in_channels", op)
        _check_count(image_size, "image_size", op)
        channels = [_check_count(c, "every entry of channels", op) for c in channels]
        if not channels:
            raise ValueError(f"{op}: channels needs at least one convolution")
        if latent_dim is not None:
            _check_count(latent_dim, "latent_dim", op)
        self._setup_loss(loss, output_activation)
        self.in_channels, self.image_size = int(in_channels), int(image_size)
        self.latent_dim = latent_dim
        sizes = [self.image_size]
        for _ in channels:
            sizes.append((sizes[-1] - 1) // 2 + 1)
        self.feature_shape = (channels[-1], sizes[-1], sizes[-1])
        enc, prev = [], self.in_channels
        for c in channels:
            enc += [nn.Conv2d(prev, c, 3, stride=2, padding=1, dtype=dtype)]
            enc += [m for m in [_activation(activation, op)] if m is not None]
            prev = c
        if latent_dim is not None:
            enc += [nn.Flatten(), nn.Linear(int(np.prod(self.feature_shape)), latent_dim,
                                            dtype=dtype)]
        self.encoder = nn.Sequential(*enc)
        dec = []
        if latent_dim is not None:
            dec += [nn.Linear(latent_dim, int(np.prod(self.feature_shape)), dtype=dtype)]
            dec += [m for m in [_activation(activation, op)] if m is not None]
            dec += [nn.Unflatten(1, self.feature_shape)]
        outs = channels[::-1][1:] + [self.in_channels]
        for i, c in enumerate(outs):
            target = sizes[-2 - i]
            pad = target - ((sizes[-1 - i] - 1) * 2 - 2 + 3)
            dec.append(nn.ConvTranspose2d(prev, c, 3, stride=2, padding=1, output_padding=pad,
                                          dtype=dtype))
            if i < len(outs) - 1:
                dec += [m for m in [_activation(activation, op)] if m is not None]
            prev = c
        self.decoder = nn.Sequential(*dec)

    def encode(self, x) -> Tensor:
        x = self._input(x)
        want = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(f"{self._name}.encode: expected images of shape (N, "
                             f"{', '.join(map(str, want))}), got {tuple(x.shape)}")
        return self.encoder(x)

    def decode_logits(self, h) -> Tensor:
        return self.decoder(h)
