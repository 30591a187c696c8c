"""The GAN task: two networks ``models["G"]``, ``models["D"]`` (one ``nn.ModuleDict``), two
optimizers ``"G"`` and ``"D"``, alternating steps (Goodfellow et al. 2014, Algorithm 1;
seed 000 lecture 11 "alternate training").

Each training batch x (real samples; labels y for a conditional GAN) is one D-step

    θ_D ← step on ∇ [mean softplus(−D(x)) + mean softplus(D(G(z)))]      (−V, z ~ N(0, I))

and every ``d_steps``-th batch (k in the notes) is followed by one G-step on the same fakes

    θ_G ← step on ∇ generator_loss(D(G(z)), mode)   (non-saturating −log D(G(z)), or minimax).

The step returns ``loss`` (= D's loss −V̂), ``d_loss``, ``g_loss`` (the last G-step's),
``d_real`` = mean D(x) and ``d_fake`` = mean D(G(z)) (probabilities). The evaluation of a
held-out split reports the same on its real samples and as many fakes, plus the FID of
``fid_samples`` of them under the cached Fashion-MNIST features (28×28 images only; 0 turns
it off). ``selection(data)`` makes best.npz the epoch of lowest validation FID when there is one.

The task's state (checkpointed): the step count, the last G loss, a fixed noise batch
``noise`` (with ``labels``, one row per class, for a conditional GAN) drawn once from the
global generator, and ``snapshots``, one per epoch for the report (G(noise) as grey levels;
the toys' densities or scatter), so the sample grids of every epoch show the same z.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..ops.gan_loss import GENERATOR_LOSS_MODES, discriminator_loss, generator_loss
from ..tensor import Tensor, from_numpy
from . import tasks as _tasks
from .tasks import NonFiniteLoss

__all__ = ["GANTask"]

GRID_SIDE = 10       # the fixed noise: a 10 × 10 grid (one row per class for a cGAN)


def _mean_sigmoid(logits: Tensor) -> float:
    a = backend.to_numpy(logits.detach()._data).astype(np.float64)
    return float(np.mean(np.exp(-np.logaddexp(0.0, -a))))


class GANTask(_tasks.Task):
    """Alternating GAN training: ``d_steps`` D-steps per G-step, generator loss ``mode``."""

    name = "gan"
    has_accuracy = False

    def __init__(self, name: str = "gan", d_steps: int = 1, mode: str = "non_saturating",
                 fid_samples: int = 1000):
        if mode not in GENERATOR_LOSS_MODES:
            raise ValueError(f"GANTask: mode must be one of {GENERATOR_LOSS_MODES}, got {mode!r}")
        if isinstance(d_steps, bool) or not isinstance(d_steps, int) or d_steps < 1:
            raise ValueError(f"GANTask: d_steps must be a positive integer, got {d_steps!r}")
        self.name, self.d_steps, self.mode = name, d_steps, mode
        self.fid_samples = int(fid_samples)
        self.steps, self.last_g_loss = 0, float("nan")
        self.noise = self.labels = None
        self.snapshots = []

    def selection(self, data):
        """best.npz by the lowest validation FID (28×28 images), else D's validation loss."""
        if self.fid_samples and tuple(data.image_shape or ()) == (28, 28):
            return "val_fid", "min"
        return None

    # ------------------------------------------------------------------ training
    def target(self, y):
        return np.asarray(y, dtype=np.int64)

    def optimizer_parameters(self, models) -> dict:
        return {"G": models["G"].parameters(), "D": models["D"].parameters()}

    def fixed_noise(self, G) -> tuple:
        """The fixed z (and labels) of the sample grids, drawn on first use."""
        if self.noise is None:
            self.noise = G.noise(GRID_SIDE * GRID_SIDE)
            if G.num_classes:
                k = min(G.num_classes, GRID_SIDE)
                self.noise = self.noise[:k * GRID_SIDE]
                self.labels = from_numpy(np.repeat(np.arange(k, dtype=np.int64), GRID_SIDE))
        device = next(iter(G.parameters())).device     # a restored state comes on the CPU
        if self.noise.device != device:
            self.noise = self.noise.to(device)
            self.labels = None if self.labels is None else self.labels.to(device)
        return self.noise, self.labels

    def train_step(self, models, optimizers, batch) -> dict:
        x, y = batch
        G, D = models["G"], models["D"]
        self.fixed_noise(G)
        cond = (y,) if G.num_classes else ()
        fake = G(G.noise(x.shape[0]), *cond)
        real_logits, fake_logits = D(x, *cond), D(fake.detach(), *cond)
        d_loss = discriminator_loss(real_logits, fake_logits)
        value = float(d_loss.item())
        if not math.isfinite(value):
            raise NonFiniteLoss(value)
        optimizers["D"].zero_grad()
        d_loss.backward()
        optimizers["D"].step()
        self.steps += 1
        if self.steps % self.d_steps == 0:
            g_loss = generator_loss(D(fake, *cond), self.mode)
            g_value = float(g_loss.item())
            if not math.isfinite(g_value):
                raise NonFiniteLoss(g_value)
            optimizers["G"].zero_grad()
            g_loss.backward()
            optimizers["G"].step()
            self.last_g_loss = g_value
        return {"loss": value, "d_loss": value, "g_loss": self.last_g_loss,
                "d_real": _mean_sigmoid(real_logits), "d_fake": _mean_sigmoid(fake_logits)}

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, models, batches) -> dict:
        """D's loss, mean D(x) on the split's real samples and on as many fakes (drawn from
        a generator seeded 0, so every epoch scores the same z), G's loss, and the FID."""
        G, D = models["G"], models["D"]
        was = models.training
        models.eval()
        rng = backend.Generator().manual_seed(0)
        sums, seen, reals, fakes = {}, 0, [], []
        try:
            with no_grad():
                for x, y in batches:
                    cond = (y,) if G.num_classes else ()
                    fake = G(G.noise(x.shape[0], generator=rng), *cond)
                    r, f = D(x, *cond), D(fake, *cond)
                    stats = {"loss": float(discriminator_loss(r, f).item()),
                             "g_loss": float(generator_loss(f, self.mode).item()),
                             "d_real": _mean_sigmoid(r), "d_fake": _mean_sigmoid(f)}
                    for k, v in stats.items():
                        sums[k] = sums.get(k, 0.0) + v * x.shape[0]
                    seen += x.shape[0]
                    if self.fid_samples and sum(map(len, reals)) < self.fid_samples:
                        reals.append(backend.to_numpy(x._data))
                        fakes.append(backend.to_numpy(fake._data))
            result = {k: v / max(seen, 1) for k, v in sums.items()} if seen else \
                {"loss": float("nan")}
            if self.fid_samples and reals and reals[0].shape[1:] in ((1, 28, 28), (784,)):
                result["fid"] = self.fid(np.concatenate(reals)[:self.fid_samples],
                                         np.concatenate(fakes)[:self.fid_samples])
            with no_grad():
                metrics, snap = self.diagnose(G, D)
        finally:
            models.train(was)
        result.update(metrics)
        if snap is not None and (not self.snapshots or self.snapshots[-1]["step"] != self.steps):
            self.snapshots.append(dict(snap, step=self.steps))  # once per epoch
        return result

    def diagnose(self, G, D) -> tuple:
        """(metrics of the split, snapshot for the report): here G(fixed z) as uint8 grey
        levels, the sample grid of this epoch; the toy tasks add their own."""
        if self.noise is None:
            return {}, None
        noise, labels = self.fixed_noise(G)
        x = G(noise, labels) if G.num_classes else G(noise)
        x = backend.to_numpy(x._data)
        grid = np.clip(np.round((x + 1) * 127.5), 0, 255).astype(np.uint8)
        return {}, {"grid": grid.reshape(len(x), -1)}

    def fid(self, real: np.ndarray, fake: np.ndarray) -> float:
        """FID of the fakes against the reals under the cached Fashion-MNIST features."""
        from ..metrics import FrechetInceptionDistance
        fid = FrechetInceptionDistance()
        shape = (-1, 1, 28, 28)
        for i in range(0, len(real), 500):
            fid.update(real[i:i + 500].reshape(shape), real=True)
            fid.update(fake[i:i + 500].reshape(shape), real=False)
        return fid.compute()

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {"steps": self.steps, "last_g_loss": self.last_g_loss,
                "noise": None if self.noise is None else self.noise.numpy(),
                "labels": None if self.labels is None else self.labels.numpy(),
                "snapshots": list(self.snapshots)}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])
        self.last_g_loss = float(state["last_g_loss"])
        self.noise = None if state["noise"] is None else from_numpy(np.asarray(state["noise"]))
        self.labels = None if state["labels"] is None else \
            from_numpy(np.asarray(state["labels"]))
        self.snapshots = list(state.get("snapshots", []))


_tasks.TASKS.setdefault("gan", GANTask("gan"))
