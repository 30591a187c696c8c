"""Figures of a run as PNG bytes, drawn with matplotlib's Agg backend.

matplotlib is optional: it is imported on the first call, and a missing install is a clear
error saying how to get it.
"""
from __future__ import annotations

import io

import numpy as np

MATPLOTLIB_HELP = ("reports need matplotlib: pip install matplotlib "
                   "(or pip install deltagrad[plots])")


class MissingDependency(RuntimeError):
    """An optional package the report needs is not installed."""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise MissingDependency(MATPLOTLIB_HELP) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def curves_png(history: list) -> bytes:
    """Loss (left) and accuracy (right, classifiers) per epoch for train / val / test."""
    plt = _pyplot()
    has_acc = any("train_accuracy" in r for r in history)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(11 if has_acc else 6, 4),
                             squeeze=False)
    epochs = [r["epoch"] for r in history]
    kinds = [("loss", axes[0, 0])] + ([("accuracy", axes[0, 1])] if has_acc else [])
    for kind, ax in kinds:
        for split, style in (("train", "o-"), ("val", "s--"), ("test", "^-")):
            key = f"{split}_{kind}"
            if any(key in r for r in history):
                ax.plot(epochs, [r.get(key, np.nan) for r in history], style, label=split)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(kind)
        ax.set_title(kind)
        ax.grid(alpha=0.3)
        ax.legend()
    return _png(fig)


def confusion_png(matrix, classes) -> bytes:
    """Heat map of C[i, j] (true class i, predicted j) with the counts written in."""
    plt = _pyplot()
    m = np.asarray(matrix)
    k = len(m)
    size = max(4.0, 0.6 * k + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(m, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    labels = [str(c) for c in classes]
    ax.set_xticks(range(k), labels, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    threshold = m.max() / 2 if m.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if m[i, j] > threshold else "black")
    ax.set_title("confusion matrix (test set)")
    return _png(fig)


def predictions_png(images, y_true, y_pred, classes, title: str) -> bytes:
    """A grid of test images, each titled with its prediction (green right, red wrong)."""
    plt = _pyplot()
    n = len(images)
    cols = min(8, max(n, 1))
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, t, p in zip(axes.flat, images, y_true, y_pred):
        ax.imshow(img, cmap="gray_r")
        ok = t == p
        ax.set_title(f"{classes[p]}" + ("" if ok else f"\n(true {classes[t]})"),
                     fontsize=7, color="green" if ok else "red")
    fig.suptitle(title)
    return _png(fig)
