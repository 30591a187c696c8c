"""The GAN losses (Goodfellow et al. 2014; seed 000 lecture 11, seed 001, seed 004 §9.3),
computed from the discriminator's logits a = logit D(x), D(x) = σ(a).

The value of the minimax game is

    V(D, G) = E_x~p_data[log D(x)] + E_z~p_z[log(1 − D(G(z)))].

With log σ(a) = −softplus(−a) and log(1 − σ(a)) = −softplus(a) every term is a softplus of
a logit: neither saturates (σ(a) rounding to 0 or 1) nor overflows, in float32 too.

    discriminator_loss(a_real, a_fake) = −V = mean softplus(−a_real) + mean softplus(a_fake)
    generator_loss(a_fake, "minimax")        =  E[log(1 − D(G(z)))]  = −mean softplus(a_fake)
    generator_loss(a_fake, "non_saturating") = −E[log D(G(z))]       =  mean softplus(−a_fake)

The non-saturating loss has the same fixed point but a strong gradient where D rejects the
fakes (a_fake ≪ 0): ∂/∂a of the minimax loss is −σ(a) → 0 there, of the non-saturating one
−(1 − σ(a)) → −1.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .activation import softplus

__all__ = ["generator_loss", "discriminator_loss"]

GENERATOR_LOSS_MODES = ("non_saturating", "minimax")


def _logits(op: str, name: str, a) -> Tensor:
    """One logit per sample: shape (N,) or (N, 1), floating point, N ≥ 1."""
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor of discriminator logits, got "
                        f"{type(a).__name__}")
    if np.dtype(a.dtype).kind not in "fV":
        raise TypeError(f"{op}: {name} must be floating point logits, got dtype {a.dtype}")
    if not (a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1)):
        raise ValueError(f"{op}: {name} must hold one logit per sample, shape (N,) or (N, 1), "
                         f"got {tuple(a.shape)}")
    if a.shape[0] == 0:
        raise ValueError(f"{op}: {name} is an empty batch (N = 0); the mean is undefined")
    return a


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """−V(D, G) = −mean log σ(a_real) − mean log(1 − σ(a_fake))
    = mean softplus(−a_real) + mean softplus(a_fake): the binary cross-entropy of real
    samples labelled 1 plus that of fakes labelled 0 (each a mean over its own batch)."""
    op = "discriminator_loss"
    real = _logits(op, "real_logits", real_logits)
    fake = _logits(op, "fake_logits", fake_logits)
    if real.dtype != fake.dtype:
        raise TypeError(f"{op}: real_logits ({real.dtype}) and fake_logits ({fake.dtype}) "
                        "must have the same dtype")
    return softplus(-real).mean() + softplus(fake).mean()


def generator_loss(fake_logits: Tensor, mode: str = "non_saturating") -> Tensor:
    """The generator's loss from D's logits on G(z):
    ``"non_saturating"``: −mean log D(G(z)) = mean softplus(−a);
    ``"minimax"``: mean log(1 − D(G(z))) = −mean softplus(a) (the game's own term)."""
    op = "generator_loss"
    if mode not in GENERATOR_LOSS_MODES:
        raise ValueError(f"{op}: mode must be one of {GENERATOR_LOSS_MODES}, got {mode!r}")
    fake = _logits(op, "fake_logits", fake_logits)
    if mode == "non_saturating":
        return softplus(-fake).mean()
    return -softplus(fake).mean()
