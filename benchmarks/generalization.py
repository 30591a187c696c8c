"""Generalization studies at full scale (issue 19); writes results/generalization.json and
the figures results/generalization_*.png. Single-threaded (BLAS/OpenMP threads = 1).

1. double descent on 1,000 Fashion-MNIST training images with 20 % label noise:
   a. random ReLU features + minimum-norm least-squares readout, width swept across the
      interpolation threshold width = n = 1,000 (test error and MSE per width);
   b. trained one-hidden-layer MLPs (``dg.train.sweep`` of the ``double-descent``
      experiment over width), with risk against epochs (train, validation, test) of each;
2. bias–variance by bootstrap retraining: squared loss of polynomials on y = sin(πx) + ε
   (σ² = 0.09 known, 50 training points) and 0-1 loss of MLPs on a 2-D task with 10 % label noise;
3. a bagged ensemble of 5 MLPs against its mean member (Fashion-MNIST test accuracy), and
   dropout's Monte-Carlo averaging against weight scaling;
4. one regulariser at a time with the same budget (test accuracy, generalisation gap);
5. symmetric (zero / constant) initialisation against random.

    python benchmarks/generalization.py [--scale full|small]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

SCALES = {
    "full": {"rf_widths": [100, 250, 500, 750, 900, 1000, 1100, 1250, 1500, 2000, 4000, 8000],
             "mlp_widths": [1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 256], "mlp_epochs": 400,
             "bag_train": 10000, "bag_epochs": 5, "reg_train": 5000, "reg_epochs": 20,
             "bv_rounds": 50, "bv_cls_rounds": 10},
    "small": {"rf_widths": [100, 500, 900, 1000, 1100, 2000, 8000],
              "mlp_widths": [2, 8, 64], "mlp_epochs": 30,
              "bag_train": 3000, "bag_epochs": 3, "reg_train": 2000, "reg_epochs": 8,
              "bv_rounds": 30, "bv_cls_rounds": 5},
}


def _plot(path, x, ys, xlabel, ylabel, title, vline=None, logx=True):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, y in ys.items():
        ax.plot(x, y, marker="o", label=label)
    if vline is not None:
        ax.axvline(vline, color="gray", ls="--", label="interpolation threshold")
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return os.path.relpath(path, ROOT)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=SCALES, default="full")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "generalization.json"))
    ap.add_argument("--runs",
                    default=os.path.join(tempfile.gettempdir(), "deltagrad-generalization-runs"),
                    help="folder of the width sweep's run folders (resumable)")
    args = ap.parse_args(argv)
    cfg = SCALES[args.scale]
    from benchmarks.record import provenance
    from deltagrad.experiments import generalization as G
    from deltagrad.experiments.data import image_classification
    from deltagrad.train import sweep

    result = {**provenance(), "scale": args.scale, "config": cfg}
    results_dir = os.path.dirname(args.out)
    t_all = time.perf_counter()
    fashion = image_classification("fashion-mnist")

    # 1a. double descent, random features
    t0 = time.perf_counter()
    noisy = G.noisy_subset_data("fashion-mnist", n_train=1000, label_noise=0.2, n_test=5000)
    rf = G.double_descent_random_features(noisy.x_train, noisy.y_train, noisy.x_test,
                                          noisy.y_test, cfg["rf_widths"], seed=0)
    peak = max(rf, key=lambda r: r["test_error"])
    result["double_descent_random_features"] = {
        "n_train": 1000, "label_noise": 0.2, "n_test": 5000, "threshold_width": 1000,
        "rows": rf, "peak_width": peak["width"], "peak_test_error": peak["test_error"],
        "peak_over_threshold": peak["width"] / 1000,
        "min_test_error_below": min(r["test_error"] for r in rf if r["width"] < 1000),
        "min_test_error_above": min(r["test_error"] for r in rf if r["width"] > 1000),
        "seconds": time.perf_counter() - t0,
        "figure": _plot(os.path.join(results_dir, "generalization_double_descent_rf.png"),
                        [r["width"] for r in rf],
                        {"test error": [r["test_error"] for r in rf],
                         "train error": [r["train_error"] for r in rf]},
                        "random features (width)", "0-1 error",
                        "Fashion-MNIST, n=1000, 20% label noise", vline=1000)}
    print("random features", [(r["width"], round(r["test_error"], 3)) for r in rf], flush=True)

    # 1b. trained MLPs: width sweep (run folders, resumable) + risk vs epochs
    t0 = time.perf_counter()
    sw = sweep("double-descent", {"width": cfg["mlp_widths"]}, epochs=cfg["mlp_epochs"],
               out=os.path.join(args.runs, f"double-descent-{args.scale}-{cfg['mlp_epochs']}"),
               stream=open(os.devnull, "w"))
    rows = []
    for r in sw.rows:
        params = 784 * r["width"] + r["width"] + 10 * r["width"] + 10
        rows.append({"width": r["width"], "parameters": params,
                     "train_error": 1 - r["train_accuracy"], "test_error": 1 - r["test_accuracy"],
                     "val_error": 1 - r["val_accuracy"], "test_loss": r["test_loss"],
                     "best_epoch": r["best_epoch"],
                     "best_test_error": 1 - r["best_test_accuracy"]})
    curves = {}
    for r in sw.rows:
        from deltagrad.train.run import RunDir
        m = RunDir(os.path.join(args.runs, f"double-descent-{args.scale}-{cfg['mlp_epochs']}",
                                r["run"])
                   ).read_metrics()
        curves[r["width"]] = {k: [row[f"{k}_accuracy"] for row in m]
                              for k in ("train", "val", "test")}
    widest = max(curves)
    n_fit = 900  # the training split after the 10 % validation hold-out
    result["double_descent_mlp"] = {
        "n_train": n_fit, "epochs": cfg["mlp_epochs"], "rows": rows,
        # where the test error is lowest, and how far it rises again towards interpolation
        "min_test_error_width": min(rows, key=lambda r: r["test_error"])["width"],
        "min_test_error": min(r["test_error"] for r in rows),
        "max_test_error_beyond_min": max(r["test_error"] for r in rows if r["width"] >=
                                         min(rows, key=lambda r: r["test_error"])["width"]),
        "first_interpolating_width": next((r["width"] for r in rows
                                           if r["train_error"] <= 0.01), None),
        "seconds": time.perf_counter() - t0,
        "figure_size": _plot(os.path.join(results_dir, "generalization_risk_vs_width.png"),
                             [r["parameters"] for r in rows],
                             {"test error": [r["test_error"] for r in rows],
                              "train error": [r["train_error"] for r in rows]},
                             "parameters", "0-1 error", "trained MLPs, n=900, 20% noise",
                             vline=n_fit * 10),
        "figure_epochs": _plot(os.path.join(results_dir, "generalization_risk_vs_epochs.png"),
                               list(range(1, len(curves[widest]["train"]) + 1)),
                               {f"{k} error": [1 - a for a in v]
                                for k, v in curves[widest].items()},
                               "epoch", "0-1 error",
                               f"width {widest}: risk against epochs", logx=False),
        "risk_vs_epochs": {str(w): c for w, c in curves.items()}}
    print("mlp widths", [(r["width"], round(r["train_error"], 3), round(r["test_error"], 3))
                         for r in rows], flush=True)

    # 2. bias–variance
    t0 = time.perf_counter()
    reg = G.bias_variance_regression(degrees=(1, 2, 3, 5, 7, 9, 12), n_train=50,
                                     n_test=20000, noise_std=0.3, rounds=cfg["bv_rounds"])
    cls = G.bias_variance_classification(widths=(1, 2, 4, 16, 64), rounds=cfg["bv_cls_rounds"])
    result["bias_variance"] = {"regression": reg, "classification": cls,
                               "seconds": time.perf_counter() - t0}
    print("bias-variance regression",
          [(r["degree"], round(r["bias2"], 4), round(r["variance"], 4), round(r["noise"], 4))
           for r in reg], flush=True)

    # 3. bagging and dropout
    t0 = time.perf_counter()
    bag_data = G.subset(fashion, cfg["bag_train"], None, 0.0, seed=0)
    result["bagging"] = {**G.bagging_study(bag_data, members=5, width=128,
                                           epochs=cfg["bag_epochs"]),
                         "n_train": cfg["bag_train"], "n_test": len(bag_data.x_test)}
    result["dropout_ensemble"] = G.dropout_ensemble_study(bag_data, p=0.5, width=256,
                                                          epochs=cfg["bag_epochs"], samples=50)
    result["bagging"]["seconds"] = time.perf_counter() - t0
    print("bagging", result["bagging"], result["dropout_ensemble"], flush=True)

    # 4. regularisers
    t0 = time.perf_counter()
    reg_data = G.subset(fashion, cfg["reg_train"], None, 0.0, seed=1)
    result["regularizers"] = {"n_train": cfg["reg_train"], "epochs": cfg["reg_epochs"],
                              "rows": G.regularizer_study(reg_data, width=256,
                                                          epochs=cfg["reg_epochs"]),
                              "seconds": time.perf_counter() - t0}
    for r in result["regularizers"]["rows"]:
        print(f"{r['regularizer']:<16} test {r['test_accuracy']:.4f} gap {r['gap']:+.4f}",
              flush=True)

    # 5. symmetric initialisation
    result["symmetric_init"] = G.symmetric_init_study(bag_data, width=64, epochs=3)
    print("symmetric init", result["symmetric_init"], flush=True)

    result["total_seconds"] = time.perf_counter() - t_all
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {os.path.relpath(args.out, ROOT)} in {result['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
