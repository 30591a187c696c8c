"""Semi-supervised learning with autoencoders (SYLLABUS §12; seed 001 §7 "unsupervised
pre-training"; Bengio et al. 2007 for greedy layer-wise pre-training): unsupervised
training on every training image first, then supervised training with a few labels.

Both tasks run in phases counted in epochs (passes over the training set, as the loader
makes them): ``pretrain_epochs`` of unsupervised steps on the loader's batches (labels
unused), then supervised steps, each on a minibatch of the same size drawn from the
labelled subset ``model.labelled`` (a few per class, fixed by the model factory) with the
global generator (checkpointed, so a resume repeats the draws). Each model holds its
baseline, trained on the same minibatches, and the evaluation reports both:

- ``"semi-supervised"`` (:class:`SemiSupervisedModel`): an autoencoder, then softmax
  regression on its frozen codes h = φ(x) (no gradient reaches the encoder) against the
  same softmax regression on the raw pixels;
- ``"layerwise-pretraining"`` (:class:`LayerwiseModel`): the hidden layers of a deep
  sigmoid MLP pre-trained greedily, layer k as the encoder of an autoencoder of layer
  k − 1's codes (``epochs_per_layer`` each, the layers below frozen), then the whole MLP
  fine-tuned, against the same MLP from the same initial weights without pre-training.
"""
from __future__ import annotations

import numpy as np

from .. import backend, nn
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from ..tensor import from_numpy
from . import tasks as _tasks
from .autoencoder_task import _finite

__all__ = ["SemiSupervisedModel", "LayerwiseModel", "labelled_subset", "PhasedTask"]


def labelled_subset(x, y, per_class: int, seed: int = 0) -> tuple:
    """``per_class`` examples of every class (fewer where a class has fewer), chosen by a
    seeded permutation: (x, y) as NumPy arrays."""
    y = np.asarray(y)
    order = np.random.default_rng(seed).permutation(len(y))
    keep = np.sort(np.concatenate([order[y[order] == c][:per_class] for c in np.unique(y)]
                                  + [np.zeros(0, np.int64)]))   # no rows: a model-only build
    return np.ascontiguousarray(x[keep]), y[keep].astype(np.int64)


class _Phased(nn.Module):
    """The labelled subset and the phase lengths (plain attributes, not state: the model
    factory derives them from the data, so every rebuild gets the same)."""

    def _set_data(self, labelled, num_train: int):
        self.labelled = labelled
        self.num_train = int(num_train)


class SemiSupervisedModel(_Phased):
    """``ae`` (an :class:`~deltagrad.models.Autoencoder`), ``code_classifier`` Linear(M, K)
    on its codes and ``pixel_classifier`` Linear(D, K) on the pixels (the baseline)."""

    def __init__(self, ae, num_classes: int, labelled, num_train: int, pretrain_epochs: int):
        super().__init__()
        self.ae = ae
        self.code_classifier = nn.Linear(ae.sizes[-1], num_classes)
        self.pixel_classifier = nn.Linear(ae.sizes[0], num_classes)
        self.pretrain_epochs = int(pretrain_epochs)
        self._set_data(labelled, num_train)

    def forward(self, x):
        """The code classifier's logits."""
        return self.code_classifier(self.ae.encode(x).detach())

    def baseline(self, x):
        return self.pixel_classifier(x)


class LayerwiseModel(_Phased):
    """``net``: Linear → sigmoid per hidden size, then Linear(·, K); ``decoders``: one
    Linear(h_k, h_{k−1}) per hidden layer (the pre-training autoencoders' decoders);
    ``reference``: the same MLP with ``net``'s initial weights, trained without
    pre-training (the baseline)."""

    def __init__(self, sizes, num_classes: int, labelled, num_train: int,
                 epochs_per_layer: int):
        super().__init__()
        sizes = [int(s) for s in sizes]
        self.sizes, self.epochs_per_layer = tuple(sizes), int(epochs_per_layer)

        def mlp():
            layers = []
            for a, b in zip(sizes[:-1], sizes[1:]):
                layers += [nn.Linear(a, b), nn.Sigmoid()]
            return nn.Sequential(*layers, nn.Linear(sizes[-1], num_classes))
        self.net = mlp()
        self.decoders = nn.ModuleList([nn.Linear(b, a) for a, b in zip(sizes[:-1], sizes[1:])])
        self.reference = mlp()
        self.reference.load_state_dict(self.net.state_dict())
        self.pretrain_epochs = self.epochs_per_layer * (len(sizes) - 1)
        self._set_data(labelled, num_train)

    @property
    def hidden(self) -> list:
        return [m for m in self.net if isinstance(m, nn.Linear)][:-1]

    def forward(self, x):
        return self.net(x)

    def baseline(self, x):
        return self.reference(x)

    def layer_loss(self, k: int, x):
        """The reconstruction error of autoencoder k, summed over its inputs, averaged over
        the batch: BCE(σ(D_k σ(W_k a)), a) with a = the frozen codes of layers < k."""
        with no_grad():
            a = x
            for layer in self.hidden[:k]:
                a = layer(a).sigmoid()
        logits = self.decoders[k](self.hidden[k](a).sigmoid())
        return F.binary_cross_entropy_with_logits(logits, a, reduction="none").sum(1).mean()


class PhasedTask(_tasks.Task):
    """Unsupervised epochs, then supervised steps on the labelled subset; the model's own
    logits (``forward``) and its ``baseline`` logits are scored as ``accuracy`` and
    ``baseline_accuracy``."""

    has_accuracy = True

    def __init__(self, name: str):
        self.name = name
        self.seen = 0

    def target(self, y):
        return np.asarray(y, dtype=np.int64)

    def optimizer_parameters(self, models) -> dict:
        if isinstance(models, SemiSupervisedModel):
            return {"unsupervised": models.ae.parameters(),
                    "supervised": list(models.code_classifier.parameters())
                    + list(models.pixel_classifier.parameters())}
        return {"unsupervised": [p for m in models.hidden for p in m.parameters()]
                + list(models.decoders.parameters()),
                "supervised": list(models.net.parameters())
                + list(models.reference.parameters())}

    def phase(self, models) -> int:
        """The epoch count so far, as the phase schedule sees it."""
        return self.seen // max(models.num_train, 1)

    def train_step(self, models, optimizers, batch) -> dict:
        x = batch[0]
        epoch = self.phase(models)
        if epoch < models.pretrain_epochs:
            which = "unsupervised"
            if isinstance(models, SemiSupervisedModel):
                loss = models.ae.loss(x)
            else:
                loss = models.layer_loss(epoch // models.epochs_per_layer, x)
        else:
            which = "supervised"
            lx, ly = models.labelled
            idx = backend.rng().integers(0, len(ly), size=len(x))
            xl, yl = from_numpy(lx[idx]), from_numpy(ly[idx])
            loss = F.cross_entropy(models(xl), yl) + F.cross_entropy(models.baseline(xl), yl)
        value = _finite(float(loss.item()))
        opt = optimizers[which]
        opt.zero_grad()
        loss.backward()
        opt.step()
        self.seen += len(x)
        return {"loss": value}

    def evaluate(self, models, batches) -> dict:
        was = models.training
        models.eval()
        sums, seen, preds, correct, base = {"loss": 0.0, "baseline_loss": 0.0}, 0, [], 0, 0
        try:
            with no_grad():
                for xb, yb in batches:
                    y = backend.to_numpy(yb._data)
                    out, ref = models(xb), models.baseline(xb)
                    sums["loss"] += float(F.cross_entropy(out, yb).item()) * len(xb)
                    sums["baseline_loss"] += float(F.cross_entropy(ref, yb).item()) * len(xb)
                    p = backend.to_numpy(out._data).argmax(1)
                    preds.append(p)
                    correct += int((p == y).sum())
                    base += int((backend.to_numpy(ref._data).argmax(1) == y).sum())
                    seen += len(xb)
        finally:
            models.train(was)
        if not seen:
            return {"loss": float("nan"), "accuracy": float("nan"),
                    "predictions": np.zeros(0, np.int64)}
        return {"loss": sums["loss"] / seen, "baseline_loss": sums["baseline_loss"] / seen,
                "accuracy": correct / seen, "baseline_accuracy": base / seen,
                "predictions": np.concatenate(preds)}

    def state_dict(self) -> dict:
        return {"seen": self.seen}

    def load_state_dict(self, state: dict) -> None:
        self.seen = int(state.get("seen", 0))


for _task in (PhasedTask("semi-supervised"), PhasedTask("layerwise-pretraining")):
    _tasks.TASKS.setdefault(_task.name, _task)
