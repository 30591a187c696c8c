"""The RBM task (SYLLABUS §16, seed 003 "RBMs and contrastive divergence"): a
:class:`~deltagrad.models.RBM` trained by CD-k (``"rbm"``) or persistent CD-k
(``"rbm-pcd"``, Tieleman 2008) through any ``dg.optim`` optimizer.

One step on a binary batch v_d: the surrogate ℓ_CD = mean F(v_d) − mean F(ṽ) with ṽ the
visible state after k block-Gibbs steps (from v_d, or from the persistent chains), whose
gradient is minus the CD-k estimate of ∇ ln P(v_d); θ ← optimizer step on ∇_θ ℓ_CD.
k is the model's ``cd_k`` (set by the experiment's factory; 1 when absent). The persistent
chains are the model's ``persistent_chain`` buffer, so every checkpoint holds them and a
resumed run continues them bit for bit.

Reported (nats per example, every split and epoch):

- ``loss`` = ``reconstruction``: Σ_i BCE(v_i, P(v_i = 1 | ĥ)), ĥ = P(h = 1 | v) (the
  mean-field reconstruction error, Hinton's practical guide §5; ``train_loss`` is measured
  on each batch before its step);
- ``cd_surrogate`` (training only): ℓ_CD;
- ``pseudo_nll``: −PL(v) ≈ −m ln σ(F(ṽ_i) − F(v)) with one pixel i flipped per example
  (scikit-learn's ``BernoulliRBM.score_samples``; i drawn from a generator seeded 0, so
  every epoch flips the same pixels); best.npz is the epoch of lowest ``val_pseudo_nll``;
- ``free_energy`` (mean F(v)) and ``free_energy_gap`` = mean F(split) − mean F(v) over a
  fixed subset of training examples (the first ``reference_size`` the run trained on, kept
  in the task's state): the guide's §6 overfitting monitor, which grows when the model
  prefers the training data;
- ``nll_nats`` = −mean ln P(v) = mean F(v) + ln Z and ``log_z``: with ln Z exact
  (:meth:`RBM.log_partition_exact`) when the smaller layer has ≤ 25 units, every epoch;
  otherwise by AIS (:meth:`RBM.ais`, base rates from the reference subset's marginals, or
  the split's without one; generator seeded 0) after the last epoch only, plus
  ``log_z_low``/``log_z_high`` (±3σ̂).
  ln Z is computed once per set of weights (the validation and test splits share it).
"""
from __future__ import annotations

import hashlib
import math

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..models.binary_density import binary_batch
from ..nn import functional as F
from . import tasks as _tasks
from .run import RunError
from .tasks import NonFiniteLoss

__all__ = ["RBMTask", "AIS_BETAS", "cd_steps"]

# AIS schedule after Salakhutdinov & Murray (2008): denser where β nears 1 (they used
# 500 / 4,000 / 10,000 points; a quarter of that here, ~1 min for 784 × 500 on one core)
AIS_BETAS = np.concatenate([np.linspace(0.0, 0.5, 125, endpoint=False),
                            np.linspace(0.5, 0.9, 1000, endpoint=False),
                            np.linspace(0.9, 1.0, 2500)])
AIS_CHAINS = 100
EXACT_MAX = 25      # RBM.log_partition_exact enumerates up to 2^25 states


def cd_steps(model) -> int:
    """k of CD-k: the model's ``cd_k`` (1 when the factory set none)."""
    k = getattr(model, "cd_k", 1)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise RunError(f"RBM training: k (Gibbs steps of CD-k) must be an integer >= 1, "
                       f"got {k!r}")
    return int(k)


def _number(t) -> np.ndarray:
    return backend.to_numpy(t.detach()._data).astype(np.float64)


def _binary(rbm, v):
    return binary_batch(v, rbm.n_visible, "RBM task", rbm.W.dtype, "v",
                        device=rbm.W.device)


def _bad_data(task, e) -> RunError:
    return RunError(f"task {task.name!r}: {e}")


class RBMTask(_tasks.Task):
    """CD-k (``persistent=False``) or PCD-k training of an RBM; see the module docstring."""

    has_accuracy = False

    def __init__(self, name: str = "rbm", persistent: bool = False,
                 reference_size: int = 1000, ais_chains: int = AIS_CHAINS, ais_betas=AIS_BETAS):
        self.name, self.persistent = name, bool(persistent)
        self.reference_size = int(reference_size)
        self.ais_chains, self.ais_betas = int(ais_chains), np.asarray(ais_betas, np.float64)
        self.reference = None           # (R, m) 0/1 float32 training examples
        self.final = True               # AIS allowed in this evaluation (trainer: last epoch)
        self._log_z = (None, None)      # (weights' digest, {"log_z": ...})

    def selection(self, data):
        """best.npz by the validation pseudo-likelihood (the score every RBM size has)."""
        return "val_pseudo_nll", "min"

    def evaluating_epoch(self, epoch: int, epochs: int) -> None:
        """Called by the training loop before each epoch's evaluation: AIS (for an RBM too
        large to enumerate) runs after the last epoch only."""
        self.final = epoch >= epochs

    # ------------------------------------------------------------------ training
    def train_step(self, models, optimizers, batch) -> dict:
        rbm, x = models, batch[0]
        k = cd_steps(rbm)
        try:
            reconstruction = self.reconstruction_error(rbm, x).mean()
            surrogate = rbm.contrastive_divergence(x, k=k, persistent=self.persistent)
        except ValueError as e:           # non-binary or misshapen data
            raise _bad_data(self, e) from None
        value = float(surrogate.item())
        if not math.isfinite(value):
            raise NonFiniteLoss(value)
        opt = optimizers["model"]
        opt.zero_grad()
        surrogate.backward()
        opt.step()
        self._remember(x)
        return {"loss": float(reconstruction), "cd_surrogate": value}

    @staticmethod
    def reconstruction_error(rbm, v) -> np.ndarray:
        """Σ_i BCE(v_i, σ(b_i + Σ_j w_ij ĥ_j)) per example, ĥ = P(h = 1 | v) (float64)."""
        with no_grad():
            v = _binary(rbm, v)
            logits = rbm.p_h_given_v(v) @ rbm.W + rbm.b
            bce = F.binary_cross_entropy_with_logits(logits, v, reduction="none").sum(-1)
        return _number(bce)

    def _remember(self, x) -> None:
        have = 0 if self.reference is None else len(self.reference)
        if have < self.reference_size:
            rows = backend.to_numpy(x.detach()._data).reshape(len(x), -1)
            rows = rows[:self.reference_size - have].astype(np.float32)
            self.reference = rows.copy() if self.reference is None else \
                np.concatenate([self.reference, rows])

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, models, batches) -> dict:
        rbm = models
        flips = np.random.default_rng(0)
        m = rbm.n_visible
        sums, seen, ones = {}, 0, 0.0
        with no_grad():
            for xb, _ in batches:
                try:
                    v = _binary(rbm, xb)
                except ValueError as e:
                    raise _bad_data(self, e) from None
                a = backend.to_numpy(v._data)
                free = _number(rbm.free_energy(v))
                flipped = a.copy()
                rows = np.arange(len(a))
                cols = flips.integers(0, m, len(a))
                flipped[rows, cols] = 1 - flipped[rows, cols]
                gap = _number(rbm.free_energy(flipped)) - free        # F(ṽ_i) − F(v)
                stats = {"loss": self.reconstruction_error(rbm, v).sum(),
                         "free_energy": free.sum(),
                         "pseudo_nll": (m * np.logaddexp(0.0, -gap)).sum()}
                for key, value in stats.items():
                    sums[key] = sums.get(key, 0.0) + float(value)
                seen += len(a)
                ones = ones + a.sum(0, dtype=np.float64)
        if not seen:
            return {"loss": float("nan")}
        result = {k: v / seen for k, v in sums.items()}
        result["reconstruction"] = result["loss"]
        if self.reference is not None and len(self.reference):
            with no_grad():
                ref = float(_number(rbm.free_energy(self.reference)).mean())
            result["free_energy_gap"] = result["free_energy"] - ref
        log_z = self.log_partition(rbm, ones / seen)
        if log_z is not None:
            result.update(log_z)
            result["nll_nats"] = result["free_energy"] + log_z["log_z"]
        return result

    def log_partition(self, rbm, marginals=None) -> dict | None:
        """``{"log_z": ...}`` exact when the smaller layer has ≤ 25 units; else by AIS (with
        ``log_z_low``/``log_z_high``) when this is the final evaluation, its base model at
        the reference subset's pixel marginals (or ``marginals``, e.g. the evaluated split's,
        when there is no reference, as in ``deltagrad evaluate``); else None."""
        W, b, c = (_number(p) for p in (rbm.W, rbm.b, rbm.c))
        digest = hashlib.sha1(b"".join(np.ascontiguousarray(p).tobytes()
                                       for p in (W, b, c))).hexdigest()
        exact = min(rbm.n_visible, rbm.n_hidden) <= EXACT_MAX
        if self._log_z[0] == digest and (exact or "log_z_low" in self._log_z[1]):
            return dict(self._log_z[1])
        if exact:
            out = {"log_z": rbm.log_partition_exact()}
        elif self.final:
            est = rbm.ais(n_chains=self.ais_chains, betas=self.ais_betas,
                          base_rate=self.reference if self.reference is not None
                          else marginals,
                          generator=backend.Generator().manual_seed(0))
            out = {"log_z": float(est.log_z), "log_z_low": float(est.log_z_low),
                   "log_z_high": float(est.log_z_high)}
        else:
            return None
        self._log_z = (digest, out)
        return dict(out)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """The free-energy reference subset, its bits packed (the persistent chains are the
        model's buffer)."""
        if self.reference is None:
            return {"reference": None, "reference_width": 0}
        return {"reference": np.packbits(self.reference.astype(bool), axis=1),
                "reference_width": int(self.reference.shape[1])}

    def load_state_dict(self, state: dict) -> None:
        packed = state.get("reference")
        if packed is None:
            self.reference = None
            return
        width = int(state["reference_width"])
        self.reference = np.unpackbits(np.asarray(packed, np.uint8), axis=1,
                                       count=width).astype(np.float32)


for _task in (RBMTask("rbm"), RBMTask("rbm-pcd", persistent=True)):
    _tasks.TASKS.setdefault(_task.name, _task)
