"""Experiments of the first lectures on small synthetic data: the perceptron on AND and XOR,
ADALINE, an MLP solving XOR, and universal approximation of sin on [−π, π].

The perceptron and ADALINE train in the generic loop too: with batch size 1 and plain SGD,
their rules are gradient steps on a per-sample loss (tasks registered here):
- perceptron criterion ℓ = (ŷ − y)·z with ŷ = [z ≥ 0] held fixed: ∂ℓ/∂w = (ŷ − y)x, so
  w ← w − η∂ℓ/∂w is exactly w ← w + η(y − ŷ)x;
- ADALINE's ℓ = ½(y − z)²: ∂ℓ/∂w = −(y − z)x, the Widrow–Hoff rule.

:func:`universal_approximation` trains one-hidden-layer networks of growing width on sin and
returns their errors (falling with width); :func:`figures` draws decision boundaries, the
mistakes per epoch and fitted curves for ``deltagrad report``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..datasets.synthetic import blobs, boolean_function, sine_regression, xor
from ..models.classic import MLP, Adaline, Perceptron
from ..train import tasks as _tasks
from .data import DataBundle
from .registry import experiment

__all__ = ["universal_approximation", "figures", "PerceptronTask", "AdalineTask"]


# ----------------------------------------------------------------------------- tasks
class PerceptronTask(_tasks.BinaryClassification):
    """Perceptron criterion ℓ = (ŷ − y)·z, ŷ = [z ≥ 0] (no gradient through ŷ), averaged."""

    name = "perceptron"

    def loss(self, output, target):
        z = self._logits(output)
        y_hat = (z.detach() >= 0).to(z.dtype)
        return ((y_hat - target) * z).mean()

    def predict(self, output):
        z = backend.to_numpy(self._logits(output).detach()._data)
        return (z >= 0).astype(np.int64)


class AdalineTask(_tasks.BinaryClassification):
    """Widrow–Hoff: ℓ = ½(y − z)² on the pre-threshold output, averaged; ŷ = [z ≥ ½]."""

    name = "adaline"

    def loss(self, output, target):
        return ((target - self._logits(output)) ** 2).mean() * 0.5

    def predict(self, output):
        z = backend.to_numpy(self._logits(output).detach()._data)
        return (z >= 0.5).astype(np.int64)


for _task in (PerceptronTask(), AdalineTask()):
    _tasks.TASKS.setdefault(_task.name, _task)


# ----------------------------------------------------------------------------- data
def _bundle(name, x, y, x_test=None, y_test=None, classes=("0", "1")) -> DataBundle:
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, np.float32)
    y = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
    if x_test is None:
        x_test, y_test = x, y
    x_test = np.asarray(x_test.numpy() if hasattr(x_test, "numpy") else x_test, np.float32)
    y_test = np.asarray(y_test.numpy() if hasattr(y_test, "numpy") else y_test)
    return DataBundle(name, x, y, x_test, y_test, classes=classes)


def boolean_data(function: str):
    """All four rows of a 2-input boolean function; training set = test set."""
    def load(name="auto"):
        x, y = boolean_function(function)
        return _bundle(function, x, y.numpy().astype(np.int64))
    return load


def two_blobs(name="auto"):
    """Two Gaussian clusters at (−1, −1) and (1, 1), σ = 0.6: 200 train, 200 test."""
    centers = [[-1.0, -1.0], [1.0, 1.0]]
    xtr, ytr = blobs(200, centers=centers, cluster_std=0.6, generator=1)
    xte, yte = blobs(200, centers=centers, cluster_std=0.6, generator=2)
    return _bundle("two-blobs", xtr, ytr, xte, yte)


def noisy_xor(name="auto"):
    """XOR corners with N(0, 0.15²) jitter: 400 train, 400 test."""
    xtr, ytr = xor(400, noise=0.15, generator=1)
    xte, yte = xor(400, noise=0.15, generator=2)
    return _bundle("xor", xtr, ytr, xte, yte)


def sine(name="auto"):
    """y = sin(x) on [−π, π]: 256 random training points, 200 evenly spaced test points."""
    x, y = sine_regression(256, noise=0.0, generator=1)
    xt = np.linspace(-math.pi, math.pi, 200, dtype=np.float32)[:, None]
    return DataBundle("sine", x.numpy(), y.numpy(), xt, np.sin(xt).astype(np.float32))


# ----------------------------------------------------------------------------- experiments
@experiment("perceptron-and",
            summary="perceptron (2 inputs, step output) on the AND truth table",
            shows="the perceptron rule w ← w + η(y − ŷ)x converges on linearly separable data: "
                  "accuracy 1.0 within a few epochs",
            data=boolean_data("and"), task="perceptron", datasets=("and",), dataset="and",
            val_fraction=0.0,  # the truth table is the whole problem: no row is held out
            optimizer="sgd", lr=1.0, epochs=10, batch_size=1)
def perceptron_and(data):
    return Perceptron(data.input_dim)


@experiment("perceptron-xor",
            summary="perceptron (2 inputs, step output) on the XOR truth table",
            shows="XOR is not linearly separable: the perceptron never gets all four rows "
                  "right (accuracy stays <= 0.75), it does not converge",
            data=boolean_data("xor"), task="perceptron", datasets=("xor",), dataset="xor",
            val_fraction=0.0,  # the truth table is the whole problem: no row is held out
            optimizer="sgd", lr=1.0, epochs=20, batch_size=1)
def perceptron_xor(data):
    return Perceptron(data.input_dim)


@experiment("adaline",
            summary="ADALINE (Widrow–Hoff delta rule) on two Gaussian blobs",
            shows="least-mean-squares on the pre-threshold output z = wᵀx + b gives a linear "
                  "boundary (z = ½) with ~97% test accuracy",
            data=two_blobs, task="adaline", datasets=("two-blobs",), dataset="two-blobs",
            optimizer="sgd", lr=0.01, epochs=10, batch_size=1)
def adaline(data):
    return Adaline(data.input_dim, lr=0.01)


@experiment("xor-mlp",
            summary="MLP 2-8-1 (tanh) on noisy XOR",
            shows="one hidden layer makes XOR separable: ~100% test accuracy where a single "
                  "perceptron is stuck at 75%",
            data=noisy_xor, task="binary", datasets=("xor",), dataset="xor",
            optimizer="adam", lr=0.05, epochs=30, batch_size=32)
def xor_mlp(data):
    return MLP([data.input_dim, 8, 1], activation="tanh")


@experiment("universal-approximation",
            summary="one hidden layer of 32 tanh units fitting sin on [−π, π]",
            shows="a single hidden layer approximates a continuous function (universal "
                  "approximation); dg.experiments.universal.universal_approximation() shows "
                  "the error falling with the width",
            data=sine, task="regression", datasets=("sine",), dataset="sine",
            optimizer="adam", lr=0.01, epochs=150, batch_size=32)
def universal_approximation_model(data):
    return MLP([1, 32, 1], activation="tanh")


# ----------------------------------------------------------------------------- width sweep
def universal_approximation(widths=(1, 2, 4, 8, 16, 32), activation="tanh", steps=1500,
                            lr=0.02, n_points=256, seed=0) -> dict:
    """Fit sin on [−π, π] with MLP([1, D, 1]) for each width D (full-batch Adam, ``steps``
    steps, MSE) and return ``{D: max |f(x) − sin x| on a 1000-point grid}`` (the sup-norm
    error of the theorem, seed 002 §1.7.2), together with the mean squared errors under the
    key ``"mse"``. Wider is better: the error falls with D."""
    from .. import nn, optim
    from ..autograd import no_grad
    from ..tensor import from_numpy

    x = np.linspace(-math.pi, math.pi, n_points, dtype=np.float32)[:, None]
    grid = np.linspace(-math.pi, math.pi, 1000, dtype=np.float32)[:, None]
    X, Y, G = from_numpy(x), from_numpy(np.sin(x)), from_numpy(grid)
    sup, mse, models = {}, {}, {}
    for D in widths:
        backend.manual_seed(seed)
        model = MLP([1, D, 1], activation=activation)
        opt = optim.Adam(model.parameters(), lr=lr)
        loss_fn = nn.MSELoss()
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(X), Y)
            loss.backward()
            opt.step()
        with no_grad():
            err = backend.to_numpy(model(G)._data)[:, 0] - np.sin(grid[:, 0])
        sup[D], mse[D], models[D] = float(np.abs(err).max()), float((err ** 2).mean()), model
    return {"sup": sup, "mse": mse, "models": models}


# ----------------------------------------------------------------------------- figures
def figures(experiment_name, model, data, history) -> list:
    """(name, png bytes, caption) figures of these experiments for ``deltagrad report``."""
    from ..report.plots import _png, _pyplot
    from ..autograd import no_grad
    from ..tensor import from_numpy

    plt = _pyplot()
    out = []
    if data.x_test.ndim == 2 and data.x_test.shape[1] == 2:
        x = np.concatenate([data.x_train, data.x_test])
        lo, hi = x.min(0) - 0.5, x.max(0) + 0.5
        g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
        grid = np.stack([g0.ravel(), g1.ravel()], 1).astype(np.float32)
        with no_grad():
            z = backend.to_numpy(model(from_numpy(grid))._data).reshape(g0.shape)
        level = 0.5 if experiment_name == "adaline" else 0.0
        fig, ax = plt.subplots(figsize=(5, 4.5))
        ax.contourf(g0, g1, (z >= level).astype(float), levels=[-0.5, 0.5, 1.5],
                    colors=["#cfe3f7", "#f7d4cf"])
        ax.contour(g0, g1, z, levels=[level], colors="k", linewidths=1)
        ax.scatter(data.x_train[:, 0], data.x_train[:, 1], c=data.y_train, cmap="coolwarm",
                   edgecolors="k", s=30)
        ax.set_title(f"{experiment_name}: decision boundary")
        out.append(("decision_boundary", _png(fig), "decision boundary and training points"))
    if history and "train_accuracy" in history[0]:
        n = len(data.x_train)
        fig, ax = plt.subplots(figsize=(5, 3.5))
        epochs = [r["epoch"] for r in history]
        ax.plot(epochs, [round((1 - r["train_accuracy"]) * n) for r in history], "o-")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training mistakes")
        ax.set_title("errors per epoch")
        out.append(("errors_per_epoch", _png(fig), "misclassified training samples per epoch"))
    if data.x_test.ndim == 2 and data.x_test.shape[1] == 1:
        order = np.argsort(data.x_test[:, 0])
        with no_grad():
            f = backend.to_numpy(model(from_numpy(data.x_test[order]))._data).reshape(-1)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(data.x_test[order, 0], data.y_test[order].reshape(-1), "k--", label="target")
        ax.plot(data.x_test[order, 0], f, "C3", label="network")
        ax.scatter(data.x_train[:, 0], data.y_train.reshape(-1), s=6, c="grey",
                   label="training points")
        ax.legend()
        ax.set_title("fitted curve")
        out.append(("fitted_curve", _png(fig), "the network's output against the target"))
    return out


for _factory in (perceptron_and, perceptron_xor, adaline, xor_mlp,
                 universal_approximation_model):
    _factory.figures = figures
