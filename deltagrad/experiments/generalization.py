"""Generalization and model selection studies (SYLLABUS §7; seed 001 §7–10, seed 004 §4).

Registered experiments for ``deltagrad sweep`` (their model width is a tunable argument):

* ``mlp-width``: one-hidden-layer MLP of ``width`` units (``depth`` hidden layers) on the
  8×8 digits (or Fashion-MNIST): risk against model size and epochs.
* ``double-descent``: the same MLP on a Fashion-MNIST subset (1,000 training images, 20 %
  of their labels replaced by a random class, as in Nakkiran et al. 2019) for a width sweep
  across the interpolation threshold.

Studies as functions (the benchmark ``benchmarks/generalization.py`` runs them at scale):
:func:`double_descent_random_features` (test error against width of a random-ReLU-feature
model with a minimum-norm least-squares readout; the peak sits at width = n),
:func:`bias_variance_regression` and :func:`bias_variance_classification`
(:mod:`deltagrad.analysis.bias_variance` on bootstrap retraining),
:func:`bagging_study`, :func:`dropout_ensemble_study`, :func:`regularizer_study` (one
regulariser at a time, same budget) and :func:`symmetric_init_study`. Every choice of a
"best" epoch is made on a validation split carved from the training data.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from functools import partial

import numpy as np

from .. import backend, nn, optim
from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import from_numpy
from .data import DataBundle, image_classification
from .registry import experiment


# ----------------------------------------------------------------------------- models, data
def mlp(input_dim: int, num_classes: int, width: int = 64, depth: int = 1,
        dropout: float = 0.0, batchnorm: bool = False) -> nn.Sequential:
    """x → [Linear(·, width) → (BatchNorm1d) → ReLU → (Dropout)] × depth → Linear(width, K)."""
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"mlp: width must be an int >= 1, got {width!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"mlp: depth must be an int >= 1, got {depth!r}")
    layers, d = [], input_dim
    for _ in range(depth):
        layers.append(nn.Linear(d, width))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
        d = width
    layers.append(nn.Linear(d, num_classes))
    return nn.Sequential(*layers)


def noisy_labels(y: np.ndarray, num_classes: int, rate: float, seed: int) -> np.ndarray:
    """A copy of ``y`` where a ``rate`` share of the samples (chosen at random) gets a
    uniformly drawn *different* class."""
    if not 0 <= rate <= 1:
        raise ValueError(f"noisy_labels: rate must be in [0, 1], got {rate}")
    rng = np.random.default_rng(seed)
    y = np.array(y, copy=True)
    flip = rng.random(len(y)) < rate
    y[flip] = (y[flip] + rng.integers(1, num_classes, flip.sum())) % num_classes
    return y


def subset(data: DataBundle, n_train: int, n_test: int | None = None, label_noise: float = 0.0,
           seed: int = 0) -> DataBundle:
    """The first ``n_train`` of a seeded permutation of the training set (labels noised at
    rate ``label_noise``) and ``n_test`` test samples (all when None)."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(len(data.x_train))[:n_train])
    ytr = noisy_labels(data.y_train[idx], data.num_classes, label_noise, seed + 1)
    te = slice(None) if n_test is None else np.sort(
        rng.permutation(len(data.x_test))[:n_test])
    note = f"{n_train}-sample subset" + (f", {label_noise:.0%} label noise" if label_noise
                                         else "")
    return replace(data, x_train=data.x_train[idx], y_train=ytr, x_test=data.x_test[te],
                   y_test=data.y_test[te], note=note)


def noisy_subset_data(dataset: str, n_train: int = 1000, label_noise: float = 0.2,
                      n_test: int = 2000) -> DataBundle:
    return subset(image_classification(dataset), n_train, n_test, label_noise, seed=0)


@experiment("mlp-width",
            summary="one-hidden-layer MLP of tunable width on digits (or Fashion-MNIST)",
            shows="risk against model size and epochs: deltagrad sweep mlp-width --set "
                  "width=4,16,64,256 --seeds 3",
            data=image_classification, dataset="digits", optimizer="adam", lr=3e-3,
            epochs=20, batch_size=64, tunable={"width": 64, "depth": 1})
def mlp_width(data, width=64, depth=1):
    return mlp(data.input_dim, data.num_classes, width, depth)


@experiment("double-descent",
            summary="MLP of tunable width on 1,000 Fashion-MNIST images with 20% label noise",
            shows="risk against width near interpolation: deltagrad sweep double-descent "
                  "--set width=2,8,16,64,256 (trained nets show the second descent only "
                  "after thousands of epochs; the random-feature study shows it at once)",
            data=noisy_subset_data, dataset="fashion-mnist", optimizer="adam", lr=1e-3,
            epochs=200, batch_size=128, tunable={"width": 64})
def double_descent_mlp(data, width=64):
    return mlp(data.input_dim, data.num_classes, width)


# ----------------------------------------------------------------------------- training
def _augment_shift(x: np.ndarray, image_shape, rng, max_shift: int | None = None
                   ) -> np.ndarray:
    """Random translations of flattened images by up to ``max_shift`` pixels (default
    H / 14: 2 on 28×28, 1 on 8×8), the gap filled with the background (the smallest value)."""
    n = len(x)
    h, w = image_shape
    if max_shift is None:
        max_shift = max(1, round(h / 14))
    pad = np.pad(x.reshape(n, h, w), ((0, 0), (max_shift,) * 2, (max_shift,) * 2),
                 constant_values=x.min() if x.size else 0)
    dy, dx = rng.integers(0, 2 * max_shift + 1, (2, n))
    rows = dy[:, None] + np.arange(h)[None]
    cols = dx[:, None] + np.arange(w)[None]
    out = pad[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out.reshape(n, h * w).astype(x.dtype)


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Share of correct argmax predictions, in eval mode."""
    was = model.training
    model.eval()
    with no_grad():
        pred = model(from_numpy(x)).numpy().argmax(axis=1)
    model.train(was)
    return float(np.mean(pred == y))


def fit(model, x: np.ndarray, y: np.ndarray, *, epochs: int = 20, lr: float = 1e-3,
        batch_size: int = 64, seed: int = 0, weight_decay: float = 0.0, l1: float = 0.0,
        input_noise: float = 0.0, label_smoothing: float = 0.0, label_noise: float = 0.0,
        augment_shape=None, loss: str = "cross_entropy", validation=None) -> dict:
    """Adam on mini-batches of (x, y); the regularisers are off by default:
    L(φ) + λ₂/2‖φ‖² (``weight_decay``, coupled as in Adam), + λ₁‖W‖₁ (``l1``, weights only),
    x + ε with ε ~ N(0, σ²) (``input_noise``), label smoothing, each batch's labels replaced
    by a random class with probability ``label_noise``, random ±2-pixel shifts
    (``augment_shape`` = (H, W)). ``loss="mse"`` fits real targets. With ``validation``
    = (x_val, y_val) the weights of the epoch with the best validation accuracy are
    restored at the end (early stopping). Returns ``{"best_epoch": ...}``."""
    rng = np.random.default_rng(seed)
    opt = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight") and p.ndim > 1]
    k = None if loss == "mse" else int(y.max()) + 1
    best, best_state, best_epoch = -1.0, None, epochs
    model.train()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = x[idx], y[idx]
            if augment_shape is not None:
                xb = _augment_shift(xb, augment_shape, rng)
            if input_noise:
                xb = (xb + rng.normal(0, input_noise, xb.shape)).astype(np.float32)
            if label_noise:
                swap = rng.random(len(yb)) < label_noise
                yb = np.where(swap, rng.integers(0, k, len(yb)), yb)
            out = model(from_numpy(np.ascontiguousarray(xb)))
            if loss == "mse":
                ell = F.mse_loss(out.reshape(-1), from_numpy(yb.astype(np.float32)))
            else:
                ell = F.cross_entropy(out, from_numpy(yb.astype(np.int64)),
                                      label_smoothing=label_smoothing)
            if l1:
                for w in weights:
                    ell = ell + l1 * w.abs().sum()
            opt.zero_grad()
            ell.backward()
            opt.step()
        if validation is not None:
            acc = accuracy(model, *validation)
            if acc > best:
                best, best_epoch = acc, epoch
                best_state = copy.deepcopy(dict(model.state_dict()))
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"best_epoch": best_epoch}


def split_validation(x, y, fraction: float = 0.1, seed: int = 0) -> tuple:
    """``(x_train, y_train, x_val, y_val)``: a seeded ``fraction`` of the training data held
    out (never the test set) for choosing epochs and hyper-parameters."""
    from ..utils.data.splits import holdout_split
    tr, va = holdout_split(len(x), fraction, generator=seed)
    return x[tr], y[tr], x[va], y[va]


# ----------------------------------------------------------------------------- studies
def double_descent_random_features(x_train, y_train, x_test, y_test, widths, seed: int = 0,
                                   num_classes: int | None = None) -> list:
    """Test error against width of φ(x) = ReLU(W x + b) (W, b fixed at a random
    ``nn.Linear`` initialisation) with the readout fitted to one-hot targets by minimum-norm
    least squares, β = φ⁺ Y. The readout interpolates the training set once width ≥ n: the
    test error peaks at that threshold and falls again beyond it (Belkin et al. 2019;
    Nakkiran et al. 2019). Rows: width, parameters, train/test error and MSE."""
    k = num_classes or int(max(y_train.max(), y_test.max())) + 1
    onehot = np.eye(k)[y_train]
    rows = []
    for width in widths:
        backend.manual_seed(seed)
        layer = nn.Linear(x_train.shape[1], int(width))
        with no_grad():
            phi_tr = F.relu(layer(from_numpy(x_train))).numpy().astype(np.float64)
            phi_te = F.relu(layer(from_numpy(x_test))).numpy().astype(np.float64)
        beta = np.linalg.lstsq(phi_tr, onehot, rcond=None)[0]   # minimum-norm solution
        out_tr, out_te = phi_tr @ beta, phi_te @ beta
        rows.append({"width": int(width), "readout_parameters": int(width) * k,
                     "train_error": float(np.mean(out_tr.argmax(1) != y_train)),
                     "test_error": float(np.mean(out_te.argmax(1) != y_test)),
                     "train_mse": float(np.mean((out_tr - onehot) ** 2) * k),
                     "test_mse": float(np.mean((out_te - np.eye(k)[y_test]) ** 2) * k)})
    return rows


def _polynomial_features(x: np.ndarray, degree: int) -> np.ndarray:
    return np.polynomial.legendre.legvander(x.reshape(-1), degree)


def regression_task(n: int, noise_std: float, seed: int) -> tuple:
    """x ~ U[−1, 1], ȳ(x) = sin(πx), y = ȳ(x) + ε with ε ~ N(0, noise_std²)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    ybar = np.sin(np.pi * x)
    return x, ybar + rng.normal(0, noise_std, n), ybar


def bias_variance_regression(degrees=(1, 3, 5, 9, 15), n_train: int = 30, n_test: int = 5000,
                             noise_std: float = 0.3, rounds: int = 50, seed: int = 0) -> list:
    """Bias², variance and noise of least-squares polynomials of each degree (the model's
    complexity) retrained on ``rounds`` bootstrap resamples of one noisy training set."""
    from ..analysis.bias_variance import bootstrap_predictions, squared_loss_decomposition
    xtr, ytr, _ = regression_task(n_train, noise_std, seed)
    xte, yte, ybar = regression_task(n_test, noise_std, seed + 1)
    rows = []
    for d in degrees:
        def fit_predict(x, y, x_test, b, d=d):
            coef = np.linalg.lstsq(_polynomial_features(x, d), y, rcond=None)[0]
            return _polynomial_features(x_test, d) @ coef
        p = bootstrap_predictions(fit_predict, xtr, ytr, xte, rounds, seed)
        rows.append({"degree": d, **squared_loss_decomposition(p, yte, ybar),
                     "true_noise": noise_std ** 2})
    return rows


def classification_task(n: int, label_noise: float, seed: int) -> tuple:
    """x ~ U[−1, 1]², Bayes label y* = 1[x₂ > ½ sin(πx₁)], observed label flipped with
    probability ``label_noise``; returns (x float32, y, y*)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    ystar = (x[:, 1] > 0.5 * np.sin(np.pi * x[:, 0])).astype(np.int64)
    flip = rng.random(n) < label_noise
    return x, np.where(flip, 1 - ystar, ystar), ystar


def bias_variance_classification(widths=(1, 4, 16, 64), n_train: int = 200,
                                 n_test: int = 2000, label_noise: float = 0.1,
                                 rounds: int = 10, epochs: int = 60, seed: int = 0) -> list:
    """Domingos' 0-1 bias/variance of MLPs of each width, retrained on bootstrap resamples."""
    from ..analysis.bias_variance import bootstrap_predictions, zero_one_decomposition
    xtr, ytr, _ = classification_task(n_train, label_noise, seed)
    xte, yte, ystar = classification_task(n_test, label_noise, seed + 1)
    rows = []
    for w in widths:
        def fit_predict(x, y, x_test, b, w=w):
            backend.manual_seed(seed * 1000 + b)
            model = mlp(2, 2, w)
            fit(model, x, y, epochs=epochs, lr=1e-2, batch_size=32, seed=b)
            with no_grad():
                return model.eval()(from_numpy(x_test)).numpy().argmax(1)
        p = bootstrap_predictions(fit_predict, xtr, ytr, xte, rounds, seed)
        rows.append({"width": w, **zero_one_decomposition(p, ystar, yte)})
    return rows


def bagging_study(data: DataBundle, members: int = 5, width: int = 128, epochs: int = 10,
                  seed: int = 0) -> dict:
    """A bagged :class:`~deltagrad.models.Ensemble` of ``members`` MLPs (each on a bootstrap
    sample) against its members: test accuracies of each, their mean and the ensemble's."""
    from ..models.ensemble import bagging

    def make(m):
        backend.manual_seed(seed * 100 + m)
        return mlp(data.input_dim, data.num_classes, width)

    def train(model, x, y, m):
        fit(model, x, y, epochs=epochs, lr=1e-3, batch_size=64, seed=seed * 100 + m)

    ens = bagging(make, train, data.x_train, data.y_train, members, seed)
    accs = [accuracy(m, data.x_test, data.y_test) for m in ens.members]
    ens_acc = float(np.mean(ens.predict(from_numpy(data.x_test)) == data.y_test))
    return {"members": accs, "mean_member": float(np.mean(accs)), "ensemble": ens_acc}


def dropout_ensemble_study(data: DataBundle, p: float = 0.5, width: int = 256,
                           epochs: int = 10, samples: int = 50, seed: int = 0) -> dict:
    """An MLP trained with dropout p: test accuracy and NLL of Monte-Carlo averaging over
    ``samples`` masks against the weight-scaling rule (one deterministic pass)."""
    from ..models.ensemble import mc_dropout_probs, weight_scaling_probs
    backend.manual_seed(seed)
    model = mlp(data.input_dim, data.num_classes, width, dropout=p)
    fit(model, data.x_train, data.y_train, epochs=epochs, lr=1e-3, seed=seed)
    out = {}
    for name, probs in (("weight_scaling", weight_scaling_probs(model, data.x_test)),
                        ("mc_average", mc_dropout_probs(model, data.x_test, samples))):
        picked = probs[np.arange(len(data.y_test)), data.y_test]
        out[f"{name}_accuracy"] = float(np.mean(probs.argmax(1) == data.y_test))
        out[f"{name}_nll"] = float(-np.mean(np.log(np.maximum(picked, 1e-12))))
    out["samples"] = samples
    return out


REGULARIZERS = {
    "none": {},
    "l2 weight decay": {"fit": {"weight_decay": 1e-3}},
    "l1": {"fit": {"l1": 1e-5}},
    "dropout": {"model": {"dropout": 0.3}},
    "input noise": {"fit": {"input_noise": 0.3}},
    "label smoothing": {"fit": {"label_smoothing": 0.1}},
    "label noise": {"fit": {"label_noise": 0.1}},
    "augmentation": {"fit": {"augment": True}},
    "early stopping": {"early_stopping": True},
    "batch norm": {"model": {"batchnorm": True}},
}


def regularizer_study(data: DataBundle, width: int = 256, epochs: int = 20,
                      seed: int = 0, names=None) -> list:
    """One regulariser at a time, same model, data, epochs and seed: training and test
    accuracy and the generalisation gap (train − test). Early stopping picks its epoch on a
    validation split (10 %) carved from the training data; so that the comparison is fair
    every method trains on the same 90 %."""
    xtr, ytr, xva, yva = split_validation(data.x_train, data.y_train, 0.1, seed)
    rows = []
    for name in names or REGULARIZERS:
        if name not in REGULARIZERS:
            raise ValueError(f"regularizer_study: unknown regulariser {name!r}; expected one "
                             f"of {', '.join(REGULARIZERS)}")
        spec = REGULARIZERS[name]
        backend.manual_seed(seed)
        model = mlp(data.input_dim, data.num_classes, width, **spec.get("model", {}))
        kw = dict(spec.get("fit", {}))
        if kw.pop("augment", False):
            kw["augment_shape"] = data.image_shape
        r = fit(model, xtr, ytr, epochs=epochs, lr=1e-3, seed=seed,
                validation=(xva, yva) if spec.get("early_stopping") else None, **kw)
        train_acc, test_acc = accuracy(model, xtr, ytr), accuracy(model, data.x_test,
                                                                  data.y_test)
        rows.append({"regularizer": name, "train_accuracy": train_acc,
                     "val_accuracy": accuracy(model, xva, yva), "test_accuracy": test_acc,
                     "gap": train_acc - test_acc, "epochs": r["best_epoch"]})
    return rows


def symmetric_init_study(data: DataBundle, width: int = 64, epochs: int = 5,
                         seed: int = 0) -> list:
    """The notes' failure of symmetric initialisation: every weight 0 (or one constant)
    gives every hidden unit the same gradient, so the units stay copies of each other (the
    network has one effective hidden unit; with zeros, ReLU units even stay dead at 0);
    random initialisation breaks the symmetry. Rows: init, test accuracy, the number of
    distinct hidden units (rows of W⁽¹⁾ more than 1e-4 apart) and the largest difference
    between two units' incoming weights. In exact arithmetic the constant copies never
    split; in float32 a BLAS GEMM sums different output columns in different orders (copies
    differ by ~1e-6 after one product) and Adam's per-weight normalisation amplifies that,
    so after a few epochs a handful of groups can split off: still far from ``width``
    independent units."""
    rows = []
    for init in ("zeros", "constant 0.1", "random"):
        backend.manual_seed(seed)
        model = mlp(data.input_dim, data.num_classes, width)
        if init != "random":
            value = 0.0 if init == "zeros" else 0.1
            with no_grad():
                for p in model.parameters():
                    p.fill_(value)
        fit(model, data.x_train, data.y_train, epochs=epochs, lr=1e-3, seed=seed)
        w1 = model[0].weight.detach().numpy()
        rows.append({"init": init, "test_accuracy": accuracy(model, data.x_test, data.y_test),
                     "distinct_hidden_units": distinct_rows(w1, 1e-4), "hidden_units": width,
                     "unit_spread": float(np.abs(w1 - w1[:1]).max())})
    return rows


def distinct_rows(w: np.ndarray, tol: float) -> int:
    """How many rows of ``w`` differ (max-abs distance > ``tol``) from every earlier
    representative row."""
    reps = []
    for row in w:
        if not any(np.abs(row - r).max() <= tol for r in reps):
            reps.append(row)
    return len(reps)


# convenience for the benchmark and tests: the data of the studies
fashion_subset = partial(noisy_subset_data, "fashion-mnist")
