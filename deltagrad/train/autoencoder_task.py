"""The autoencoder and VAE tasks (SYLLABUS §12–13): the input is its own target, so the
batch's labels are carried along (for the report's latent maps) but never trained on.

- ``"reconstruction"`` (:class:`ReconstructionTask`, the AE family): ℓ = J + Ω, with J the
  reconstruction error per example (summed over the input values, averaged over the batch)
  and Ω the model's penalty (sparse KL / L1, contractive λ‖∂h/∂x‖²_F; a denoising AE measures
  J from the corrupted x̃). Reported: ``loss``, ``reconstruction`` (J), ``penalty`` (Ω), and
  on held-out splits the mean code activation ρ̂ (``mean_activation``) and, for a denoising
  AE, J from corrupted inputs (``corrupted_error``, fixed noise seed 0).
- ``"vae"`` (:class:`VAETask`): ℓ = −ELBO = E_q[−ln p_θ(x|z)] + β KL(q_φ(z|x) ‖ N(0, I)) in
  nats per example; ``reconstruction`` and ``kl`` are reported as separate curves, the
  held-out splits add ``neg_elbo`` (β = 1) and the IWAE estimate ``iwae_nll`` of −ln p(x)
  with ``iwae_k`` importance samples on their first ``iwae_n`` examples. With ``dynamic``,
  grey images in [0, 1] are binarized x ~ Bernoulli(grey) afresh at every training step
  (from the global generator, so a resume repeats the draws) and once, with a generator
  seeded 0, for evaluation (every epoch scores the same binary split).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, _make
from . import tasks as _tasks
from .tasks import NonFiniteLoss

__all__ = ["ReconstructionTask", "VAETask", "bernoulli_draw"]


def bernoulli_draw(x: Tensor, generator=None) -> Tensor:
    """x̃_k ~ Bernoulli(x_k) for grey values x in [0, 1] (dynamic binarization)."""
    a = x.detach()._data
    u = backend.to_device(backend.rng(generator).random(a.shape, dtype=a.dtype), x.device)
    return _make((u < a).astype(a.dtype))      # host draws, on x's device


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise NonFiniteLoss(value)
    return value


def _means(models, batches, stats_of) -> dict:
    """Sample-weighted means of ``stats_of(x)`` over ``batches`` in eval mode, no graph."""
    was = models.training
    models.eval()
    sums, seen = {}, 0
    try:
        with no_grad():
            for xb, _ in batches:
                for k, v in stats_of(xb).items():
                    sums[k] = sums.get(k, 0.0) + v * len(xb)
                seen += len(xb)
    finally:
        models.train(was)
    return {k: v / seen for k, v in sums.items()} if seen else {"loss": float("nan")}


class _SelfSupervised(_tasks.Task):
    """Targets are the labels (int64), kept for the report; the loss needs x alone."""

    has_accuracy = False

    def target(self, y):
        return np.asarray(y, dtype=np.int64)

    def _step(self, optimizers, loss) -> float:
        value = _finite(float(loss.item()))
        opt = optimizers["model"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        return value


class ReconstructionTask(_SelfSupervised):
    """ℓ = J + Ω for a model with ``loss_terms(x) -> (J, Ω or None)``."""

    name = "reconstruction"

    def train_step(self, models, optimizers, batch) -> dict:
        J, omega = models.loss_terms(batch[0])
        loss = J if omega is None else J + omega
        value = self._step(optimizers, loss)
        return {"loss": value, "reconstruction": float(J.item()),
                "penalty": 0.0 if omega is None else float(omega.item())}

    def evaluate(self, models, batches) -> dict:
        corrupt = getattr(models, "corrupt", None)
        rng = backend.Generator().manual_seed(0)

        def stats(x):
            J, omega = models.loss_terms(x)
            pen = 0.0 if omega is None else float(omega.item())
            out = {"loss": float(J.item()) + pen, "reconstruction": float(J.item()),
                   "penalty": pen}
            h = models.encode(x)
            if h.ndim == 2:
                out["mean_activation"] = float(h.mean().item())
            if corrupt is not None:
                out["corrupted_error"] = float(models.reconstruction_error(
                    corrupt(x, generator=rng), target=x).mean().item())
            return out
        return _means(models, batches, stats)


class VAETask(_SelfSupervised):
    """−ELBO (β-weighted KL) per example in nats; see the module docstring."""

    def __init__(self, name: str = "vae", dynamic: bool = False, iwae_k: int = 50,
                 iwae_n: int = 200):
        self.name, self.dynamic = name, bool(dynamic)
        self.iwae_k, self.iwae_n = int(iwae_k), int(iwae_n)

    def train_step(self, models, optimizers, batch) -> dict:
        x = bernoulli_draw(batch[0]) if self.dynamic else batch[0]
        rec, kl = models.elbo_terms(x)
        loss = (rec + kl * models.beta).mean()
        value = self._step(optimizers, loss)
        return {"loss": value, "reconstruction": float(rec.mean().item()),
                "kl": float(kl.mean().item())}

    def evaluate(self, models, batches) -> dict:
        draws = backend.Generator().manual_seed(0)      # the split's one binary draw
        eps_rng = backend.rng(backend.Generator().manual_seed(1))  # one z per example
        iw_rng = backend.Generator().manual_seed(2)     # the importance samples
        iwae = {"sum": 0.0, "n": 0}

        def stats(x):
            if self.dynamic:
                x = bernoulli_draw(x, draws)
            dtype = x._data.dtype
            eps = backend.to_device(eps_rng.standard_normal((x.shape[0], models.latent_dim),
                                                            dtype=dtype), x.device)
            rec, kl = models.elbo_terms(x, eps=eps)
            r, k = float(rec.mean().item()), float(kl.mean().item())
            take = min(len(x), self.iwae_n - iwae["n"])
            if self.iwae_k and take > 0:
                ll = models.log_likelihood(x[:take], k=self.iwae_k, generator=iw_rng)
                iwae["sum"] -= float(ll.sum().item())
                iwae["n"] += take
            return {"loss": r + models.beta * k, "reconstruction": r, "kl": k,
                    "neg_elbo": r + k}
        result = _means(models, batches, stats)
        if iwae["n"]:
            result["iwae_nll"] = iwae["sum"] / iwae["n"]
        return result


for _task in (ReconstructionTask(), VAETask("vae"), VAETask("vae-dynamic", dynamic=True)):
    _tasks.TASKS.setdefault(_task.name, _task)
