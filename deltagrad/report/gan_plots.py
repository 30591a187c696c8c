"""The GAN experiments' figures (report sections and ``deltagrad sample``): sample grids,
D and G losses, D's mean output on real and fake data, FID per epoch, the 1-D densities
with D(x) and D* = p_data / (p_data + p_g), and the ring's scatter over its modes.

The per-epoch pictures come from the ``snapshots`` the GAN task keeps in its checkpointed
state (RUN/checkpoint.npz).
"""
from __future__ import annotations

import os

import numpy as np

from ..analysis.latent import image_grid_png
from .plots import _png, _pyplot

__all__ = ["figures"]

MAX_PANELS = 8


def _series(history, keys):
    return {k: [r.get(k, np.nan) for r in history] for k in keys if any(k in r for r in history)}


def curves_png(history: list) -> bytes:
    """D/G losses, mean D(x) on real and fake samples, and the FID (or the toy's
    diagnostic) per epoch."""
    plt = _pyplot()
    epochs = [r["epoch"] for r in history]
    third = _series(history, ("val_fid", "test_fid")) or \
        _series(history, ("val_modes_covered", "val_high_quality")) or \
        _series(history, ("val_d_support_min", "val_d_support_max"))
    fig, axes = plt.subplots(1, 3 if third else 2, figsize=(14 if third else 10, 3.6))
    panels = [("losses", _series(history, ("train_d_loss", "train_g_loss", "val_loss",
                                           "val_g_loss"))),
              ("mean D(x) = σ(a)", _series(history, ("train_d_real", "train_d_fake",
                                                     "val_d_real", "val_d_fake")))]
    if third:
        panels.append(("per epoch", third))
    for ax, (title, series) in zip(np.atleast_1d(axes), panels):
        for k, v in series.items():
            ax.plot(epochs, v, marker=".", label=k)
        ax.set_xlabel("epoch")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    if "mean D(x) = σ(a)" in dict(panels):
        np.atleast_1d(axes)[1].axhline(0.5, color="gray", lw=0.5, ls="--")
    fig.tight_layout()
    return _png(fig)


def _pick(snapshots: list) -> list:
    """Up to MAX_PANELS snapshots, evenly spread, always the first and the last; with their
    epoch numbers (one snapshot per epoch)."""
    idx = np.unique(np.linspace(0, len(snapshots) - 1, min(MAX_PANELS, len(snapshots)))
                    .round().astype(int))
    return [(int(i) + 1, snapshots[i]) for i in idx]


def one_d_png(snapshots: list, mean: float, std: float) -> bytes:
    """One panel per chosen epoch: p_data, p_g (histogram), D(x) and D* = p_data/(p_data+p_g)."""
    plt = _pyplot()
    chosen = _pick(snapshots)
    fig, axes = plt.subplots(1, len(chosen), figsize=(3.2 * len(chosen), 3.0), sharey=True)
    for ax, (epoch, s) in zip(np.atleast_1d(axes), chosen):
        grid, edges = np.asarray(s["grid"]), np.asarray(s["edges"])
        p_data = np.exp(-0.5 * ((grid - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))
        centers = (edges[1:] + edges[:-1]) / 2
        p_g = np.interp(grid, centers, np.asarray(s["p_g"]), left=0.0, right=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            d_star = np.where(p_data + p_g > 1e-12, p_data / (p_data + p_g), np.nan)
        ax.plot(grid, p_data, color="black", label="p_data")
        ax.stairs(np.asarray(s["p_g"]), edges, color="tab:green", label="p_g")
        ax.plot(grid, np.asarray(s["d"]), color="tab:blue", label="D(x)")
        ax.plot(grid, d_star, color="tab:blue", ls=":", label="D* = p_data/(p_data+p_g)")
        ax.axhline(0.5, color="gray", lw=0.5, ls="--")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"epoch {epoch} (step {int(s['step'])})", fontsize=8)
    np.atleast_1d(axes)[0].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def ring_png(snapshots: list, centers, std: float) -> bytes:
    """One scatter per chosen epoch over the 8 modes (3σ circles), with the coverage."""
    plt = _pyplot()
    chosen = _pick(snapshots)
    fig, axes = plt.subplots(1, len(chosen), figsize=(2.6 * len(chosen), 2.8))
    t = np.linspace(0, 2 * np.pi, 60)
    for ax, (epoch, s) in zip(np.atleast_1d(axes), chosen):
        x = np.asarray(s["samples"])
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, color="tab:green")
        for c in np.asarray(centers):
            ax.plot(c[0] + 3 * std * np.cos(t), c[1] + 3 * std * np.sin(t), color="red", lw=0.8)
        ax.set_xlim(-3, 3), ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(f"epoch {epoch}: {int(s['modes_covered'])}/8 modes, "
                     f"{float(s['high_quality']):.0%} HQ", fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _snapshots(run: str | None) -> list:
    if not run or not os.path.exists(os.path.join(run, "checkpoint.npz")):
        return []
    from ..train.checkpoint import load_checkpoint
    state = load_checkpoint(os.path.join(run, "checkpoint.npz"), kind="checkpoint")
    return list((state.get("task") or {}).get("snapshots") or [])


def figures(experiment_name: str, model, data, history: list, run: str | None = None) -> list:
    """(name, png, caption) of a GAN run's report section."""
    from ..experiments import gan as E
    out = []
    if history:
        out.append(("gan_curves", curves_png(history),
                    "D's loss −V̂ and G's loss, mean D(x) on real and generated samples "
                    "(both → ½ at the equilibrium), and the quality per epoch"))
    snaps = _snapshots(run)
    if not snaps:
        return out
    if "d" in snaps[0]:
        out.append(("gan_1d", one_d_png(snaps, E.DATA_MEAN, E.DATA_STD),
                    "p_data (black), p_g (green), D(x) (blue) and the optimal "
                    "D* = p_data/(p_data + p_g) (dotted) over training"))
    elif "samples" in snaps[0]:
        out.append(("gan_ring", ring_png(snaps, E.RING_CENTERS, E.RING_STD),
                    "samples over the 8 modes (red: 3σ) per epoch; modes covered and the share "
                    "of high-quality samples (within 3σ of a mode)"))
    elif "grid" in snaps[0] and data.image_shape is not None:
        cond = getattr(model["G"], "num_classes", 0)
        for epoch, s in _pick(snaps):
            g = np.asarray(s["grid"], np.float64) / 255.0
            out.append((f"gan_samples_epoch{epoch}",
                        image_grid_png(g, ncol=10, image_shape=data.image_shape),
                        f"G(z) for the fixed z, epoch {epoch}"
                        + (" (one row per class, in class order)" if cond else "")))
        out += latent_grids(model["G"], data.image_shape)
    return out


def latent_grids(G, image_shape) -> list:
    """Latent interpolation G((1 − m) z₁ + m z₂) (ten rows, m = 0 … 1) and latent arithmetic
    rows G(z_a), G(z_b), G(z_c), G(z_a − z_b + z_c) of the final generator."""
    from .. import backend
    from ..tensor import from_numpy
    rng = backend.Generator().manual_seed(0)
    rows = 10
    def y(r):  # a conditional GAN interpolates within class r mod K
        return from_numpy(np.full(10, r % G.num_classes, np.int64)) if G.num_classes else None
    z1, z2 = G.noise(rows, generator=rng), G.noise(rows, generator=rng)
    path = np.concatenate([G.interpolate(z1[r], z2[r], 10, y(r)).numpy()
                           for r in range(rows)])
    out = [("gan_interpolation", image_grid_png((path.reshape(len(path), -1) + 1) / 2, ncol=10,
                                                image_shape=image_shape),
            "latent interpolation: each row G((1 − m) z₁ + m z₂), m = 0 … 1")]
    if not G.num_classes:
        za, zb, zc = (G.noise(8, generator=rng) for _ in range(3))
        cells = [G.arithmetic(z, 0 * z, 0 * z) for z in (za, zb, zc)] + \
            [G.arithmetic(za, zb, zc)]
        grid = np.stack([c.numpy().reshape(8, -1) for c in cells], 1).reshape(32, -1)
        out.append(("gan_arithmetic", image_grid_png((grid + 1) / 2, ncol=4,
                                                     image_shape=image_shape),
                    "latent arithmetic: each row G(z_a), G(z_b), G(z_c), G(z_a − z_b + z_c)"))
    return out
