"""Issue 18's full-quality numbers on a CNN trained on Fashion-MNIST by deltagrad.

* accuracy against ε for FGSM and PGD (pixel units; PyTorch's FGSM tutorial reports MNIST
  98.1% → 8.7% from ε = 0 to 0.3 as context);
* class-model visualisation: is the objective S_c(I) − λ‖I‖² non-decreasing for every class?
* style transfer on the trained network's features: content and style losses, start → end;
* the model-randomisation sanity check (Adebayo et al. 2018): the Spearman rank correlation
  between each method's map on the trained network and on the same architecture with freshly
  initialised weights (a method that explains the model should change: low correlation).

    python benchmarks/interpret.py [--epochs 5] [--samples 2000] [--out DIR]

Writes benchmarks/results/interpret.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.record import ROOT, provenance, run_train  # noqa: E402

EPS = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]


def _spearman(a, b):
    from scipy.stats import spearmanr
    return float(spearmanr(np.ravel(a), np.ravel(b)).statistic)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", default="lenet")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--out", default=None)
    p.add_argument("--run", default=None, help="reuse this trained run folder (no training)")
    args = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import deltagrad as dg
    from deltagrad import interpret as I
    from deltagrad.train.trainer import load_run

    t0 = time.perf_counter()
    if args.run is None:
        out = args.out or tempfile.mkdtemp(prefix="interpret-")
        run = os.path.join(out, args.experiment)
        command, wall, rows = run_train(args.experiment, run, "--epochs", args.epochs,
                                        "--force", threads=1)
    else:
        run = args.run
        with open(os.path.join(run, "metrics.jsonl")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        with open(os.path.join(run, "config.json")) as f:
            config = json.load(f)
        command = f"deltagrad train {config['experiment']} (existing run {run})"
        wall = sum(r.get("seconds", 0) for r in rows)
    setup, _ = load_run(run, "best")
    model, data = setup.model, setup.data
    model.eval()
    n = min(args.samples, len(data.x_test))
    lo, hi = float(data.x_test.min()), float(data.x_test.max())
    pixels = dg.tensor(((data.x_test[:n] - lo) / (hi - lo)).astype(np.float32))
    labels = dg.tensor(data.y_test[:n].astype(np.int64))
    norm = (-lo / (hi - lo), 1.0 / (hi - lo))
    result = {"training": {"command": command, "wall_seconds": round(wall, 1),
                           "best_val_accuracy": max(r.get("val_accuracy", 0) for r in rows),
                           "epochs": len(rows)}}

    t = time.perf_counter()
    fgsm = I.accuracy_under_attack(model, pixels, labels, EPS, attack="fgsm", normalize=norm)
    pgd = I.accuracy_under_attack(model, pixels, labels, EPS, attack="pgd", normalize=norm,
                                  alpha=0.01, steps=20)
    result["attacks"] = {"epsilons": EPS, "fgsm_accuracy": fgsm, "pgd_accuracy": pgd,
                         "samples": n, "pgd": "20 steps of 0.01, random start",
                         "seconds": round(time.perf_counter() - t, 1)}
    print("eps     ", EPS)
    print("fgsm acc", [round(a, 4) for a in fgsm])
    print("pgd acc ", [round(a, 4) for a in pgd])

    shape = tuple(data.x_test.shape[1:])
    monotone = {}
    for c, name in enumerate(data.classes):
        _, hist = I.class_model_visualization(model, c, shape, steps=100, lr=0.1, l2=1e-2)
        steps_down = sum(b < a - 1e-6 * max(1.0, abs(a)) for a, b in zip(hist, hist[1:]))
        monotone[name] = {"start": hist[0], "end": hist[-1], "decreasing_steps": steps_down}
    result["class_model"] = monotone
    print("class model: decreasing steps per class",
          {k: v["decreasing_steps"] for k, v in monotone.items()})

    convs = [name for name, m in model.named_modules() if type(m).__name__ == "Conv2d"]
    content, style = dg.tensor(data.x_test[0:1]), dg.tensor(data.x_test[1:2])
    st = I.StyleTransfer(model, content_layers=[convs[-1]], style_layers=convs, alpha=1.0,
                         beta=300.0)
    dg.manual_seed(0)
    _, hist = st.run(content, style, steps=100, init=dg.randn(*content.shape))
    result["style_transfer"] = {
        "layers": {"content": [convs[-1]], "style": convs}, "alpha": 1.0, "beta": 300.0,
        "start": hist[0], "end": hist[-1], "evaluations": len(hist),
        "note": "LBFGS (strong Wolfe) from a N(0, 1) image: content image = test image 0, "
                "style image = test image 1"}
    print("style transfer", hist[0], "->", hist[-1])
    _, hist = st.run(content, style, steps=100)
    result["style_transfer_from_content"] = {"start": hist[0], "end": hist[-1],
                                             "note": "starting at the content image "
                                                     "(content loss 0 at the start)"}
    print("style transfer from the content image", hist[0], "->", hist[-1])

    # model-randomisation sanity check
    k = 32
    x = dg.tensor(data.x_test[:k])
    dg.manual_seed(123)
    random_model = setup.experiment.model(data)
    random_model.eval()
    last = dict(model.named_modules())[convs[-1]]
    last_random = dict(random_model.named_modules())[convs[-1]]
    methods = {
        "saliency": lambda m, layer: I.Saliency(m).attribute(x, target=labels[:k]),
        "smoothgrad": lambda m, layer: I.NoiseTunnel(I.Saliency(m)).attribute(
            x, nt_samples=10, stdevs=0.15, target=labels[:k]),
        "guided_backprop": lambda m, layer: I.GuidedBackprop(m).attribute(x, target=labels[:k]),
        "grad_cam": lambda m, layer: I.LayerGradCam(m, layer).attribute(
            x, target=labels[:k], relu_attributions=True),
        "guided_grad_cam": lambda m, layer: I.GuidedGradCam(m, layer).attribute(
            x, target=labels[:k]),
        "integrated_gradients": lambda m, layer: I.IntegratedGradients(m).attribute(
            x, target=labels[:k], n_steps=32),
        "occlusion": lambda m, layer: I.Occlusion(m).attribute(
            x, sliding_window_shapes=(1, 5, 5), strides=(1, 3, 3), target=labels[:k]),
    }
    sanity = {}
    for name, fn in methods.items():
        dg.manual_seed(5)
        a = np.abs(fn(model, last).numpy())
        dg.manual_seed(5)
        b = np.abs(fn(random_model, last_random).numpy())
        rs = [_spearman(a[i], b[i]) if a[i].std() > 0 and b[i].std() > 0 else np.nan
              for i in range(k)]
        sanity[name] = {"mean_spearman": float(np.nanmean(rs)) if not np.all(np.isnan(rs))
                        else None, "images_with_a_defined_correlation": int(np.sum(~np.isnan(rs)))}
    result["randomisation_sanity_check"] = {
        "spearman_trained_vs_random": sanity, "images": k,
        "undefined": "a map that is constant (e.g. a ReLU'd Grad-CAM that is 0 everywhere for "
                     "the random network) has no rank correlation; such images are left out",
        "meaning": "rank correlation of |map| between trained and re-initialised weights; "
                   "near 0 = the map depends on what was learned, near 1 = it does not"}
    print("sanity check (Spearman, trained vs random weights):", sanity)

    result["provenance"] = provenance()
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    path = os.path.join(ROOT, "benchmarks", "results", "interpret.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
