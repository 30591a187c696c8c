"""Issue 14's autoencoder checks on Fashion-MNIST, with the experiments' own models, data
factories and training tasks (``deltagrad train`` runs the same code), single-threaded:

- sparse AE (``sparse-ae``: 784-196, ρ = 0.05, β = 30): mean code activation on the test set
  against ρ (target: within 0.02);
- denoising vs plain AE (784-256, masking p = 0.3): reconstruction error from corrupted test
  inputs (the same fixed masks for both) against the clean test images;
- linear AE (``linear-ae-pca``: 784-2, standardised pixels, lr × 0.7 per epoch): the largest
  principal angle between its decoder's span and the top-2 principal components (target:
  < 0.05 rad);
- semi-supervised (``semi-supervised``): softmax regression with 100 labels per class on
  the frozen codes of a denoising AE (784-512) trained on every training image, against
  raw pixels;
- layer-wise pre-training (``layerwise-pretraining``): 784-256-128-64-10 sigmoid MLP,
  greedy AE pre-training then fine-tuning with the same 1,000 labels, against the same MLP
  from the same initial weights;
- the notes' point that an autoencoder is no generative model: ``ae``'s decoder on draws from
  a Gaussian fitted to its codes beside a VAE's (784-256-32) prior samples
  (``benchmarks/results/ae_vs_vae_samples.png``).

Scale (recorded in the results): the AE comparisons train on the first ``--n-train``
training images for the epochs below; the semi-supervised and layer-wise runs pre-train on
all 60,000. Test numbers are over the 10,000 test images.

    python benchmarks/autoencoders.py [--n-train 20000] [--quick]
"""
from __future__ import annotations

import os
import sys

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import deltagrad as dg  # noqa: E402
from benchmarks.record import provenance  # noqa: E402
from deltagrad.analysis import latent  # noqa: E402
from deltagrad.experiments import get_experiment  # noqa: E402
from deltagrad.report.autoencoder_plots import linear_ae_angles  # noqa: E402
from deltagrad.train.tasks import get_task  # noqa: E402
from deltagrad.train.trainer import batches  # noqa: E402


def train(name, data, epochs, batch_size=100, seed=0, model=None, **model_kwargs):
    """The experiment's model (or ``model``) trained by the experiment's task for ``epochs``
    on ``data``'s training set (Adam at the experiment's lr, shuffled batches); returns
    (model, task, seconds)."""
    exp = get_experiment(name)
    dg.manual_seed(seed)
    model = exp.model(data, **model_kwargs) if model is None else model
    task = get_task(exp.task).new()
    opts = {k: dg.optim.Adam(list(p), lr=exp.lr)
            for k, p in task.optimizer_parameters(model).items()}
    loader = dg.utils.data.DataLoader(
        dg.utils.data.TensorDataset(dg.from_numpy(data.x_train),
                                    dg.from_numpy(task.target(data.y_train))),
        batch_size=batch_size, shuffle=True, generator=dg.Generator().manual_seed(seed))
    schedulers = [exp.scheduler(o, {}) for o in opts.values()] if exp.scheduler else []
    model.train()
    t0 = time.perf_counter()
    for epoch in range(epochs):
        for xb, yb in loader:
            task.train_step(model, opts, (xb, yb))
        for sch in schedulers:
            sch.step()
        print(f"  {name}: epoch {epoch + 1}/{epochs} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    model.eval()
    return model, task, time.perf_counter() - t0


def test_metrics(model, task, data):
    return task.evaluate(model, batches(task, data.x_test, data.y_test))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-train", type=int, default=20000)
    ap.add_argument("--quick", action="store_true", help="tiny settings (a smoke test)")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                  "autoencoders.json"))
    args = ap.parse_args()
    from deltagrad.experiments.autoencoders import standardized_images, unit_images
    q = args.quick
    n = 2000 if q else args.n_train
    E = dict(sparse=1 if q else 4, dae=1 if q else 5, linear=1 if q else 8,
             pretrain=1 if q else 3, finetune=1 if q else 2)
    t_start = time.perf_counter()
    full = unit_images("fashion-mnist")
    if q:
        full = replace(full, x_train=full.x_train[:n], y_train=full.y_train[:n])
    sub = replace(full, x_train=full.x_train[:n], y_train=full.y_train[:n])
    out = {"dataset": "fashion-mnist", "n_train_subset": n, "epochs": E, "quick": q}

    print("sparse AE", flush=True)
    m, task, sec = train("sparse-ae", sub, E["sparse"])
    r = test_metrics(m, task, sub)
    out["sparse_ae"] = {"rho": m.rho, "beta": m.beta, "test_mean_activation":
                        r["mean_activation"], "abs_difference": abs(r["mean_activation"] - m.rho),
                        "test_reconstruction": r["reconstruction"], "train_seconds": sec}

    print("denoising vs plain AE", flush=True)
    dae, dtask, sec_d = train("denoising-ae", sub, E["dae"])
    rd = test_metrics(dae, dtask, sub)
    dg.manual_seed(0)
    plain, ptask, sec_p = train("ae", sub, E["dae"], model=dg.models.Autoencoder(
        [784, 256], loss="bce"))                             # the denoising AE's sizes
    gen = dg.Generator().manual_seed(0)
    errs = {"denoising": [], "plain": []}
    with dg.no_grad():
        for i in range(0, len(sub.x_test), 1000):
            x = dg.from_numpy(sub.x_test[i:i + 1000])
            xt = dae.corrupt(x, generator=gen)              # the same masks for both
            errs["denoising"].append(dae.reconstruction_error(xt, target=x).numpy())
            errs["plain"].append(plain.reconstruction_error(xt, target=x).numpy())
    out["denoising_vs_plain"] = {
        "noise": "masking", "p": dae.p, "sizes": [784, 256],
        "corrupted_test_error_denoising": float(np.concatenate(errs["denoising"]).mean()),
        "corrupted_test_error_plain": float(np.concatenate(errs["plain"]).mean()),
        "clean_test_error_denoising": rd["reconstruction"],
        "clean_test_error_plain": test_metrics(plain, ptask, sub)["reconstruction"],
        "train_seconds": sec_d + sec_p}

    print("linear AE vs PCA", flush=True)
    std = standardized_images("fashion-mnist")
    std = replace(std, x_train=std.x_train[:n], y_train=std.y_train[:n])
    lin, ltask, sec = train("linear-ae-pca", std, E["linear"])
    angles = linear_ae_angles(lin, std.x_train)
    out["linear_ae_pca"] = {"k": int(len(angles)), "largest_angle_rad": float(angles.max()),
                            "angles_rad": [float(a) for a in angles], "train_seconds": sec}

    print("semi-supervised", flush=True)
    epochs = E["pretrain"] + E["finetune"]
    m, task, sec = train("semi-supervised", full, epochs, pretrain_epochs=E["pretrain"])
    r = test_metrics(m, task, full)
    out["semi_supervised"] = {"labels": int(len(m.labelled[1])), "pretrain_images":
                              int(len(full.x_train)), "pretrain_epochs": E["pretrain"],
                              "supervised_epochs": E["finetune"],
                              "test_accuracy_codes": r["accuracy"],
                              "test_accuracy_pixels": r["baseline_accuracy"],
                              "train_seconds": sec}

    print("layer-wise pre-training", flush=True)
    per_layer = 1
    m, task, sec = train("layerwise-pretraining", full, 3 * per_layer + E["finetune"],
                         epochs_per_layer=per_layer)
    r = test_metrics(m, task, full)
    out["layerwise_pretraining"] = {"sizes": list(m.sizes) + [10], "labels":
                                    int(len(m.labelled[1])), "epochs_per_layer": per_layer,
                                    "finetune_epochs": E["finetune"],
                                    "test_accuracy_pretrained": r["accuracy"],
                                    "test_accuracy_random_init": r["baseline_accuracy"],
                                    "train_seconds": sec}
    print("AE vs VAE samples", flush=True)
    ae_model, _, sec_a = train("ae", sub, E["dae"])                   # 784-256-32
    dg.manual_seed(0)
    vae_model, _, sec_v = train("beta-vae", sub, E["dae"], model=dg.models.VAE(
        784, [256], 32))                                           # beta 1, the same code size
    codes = latent.encode_dataset(ae_model, sub.x_train[:5000])
    png = latent.ae_vs_vae_samples_png(ae_model, codes, vae_model, n=64, seed=0)
    figure = os.path.join(os.path.dirname(args.out), "ae_vs_vae_samples.png")
    out["ae_vs_vae_samples"] = {"ae": "ae experiment (784-256-32, sigmoid, cross-entropy)",
                                "vae": "VAE 784-256-32, Bernoulli, beta 1", "figure":
                                os.path.relpath(figure, ROOT), "train_seconds": sec_a + sec_v}
    out["total_seconds"] = time.perf_counter() - t_start
    out.update(provenance())
    print(json.dumps(out, indent=1))
    if not q:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
        with open(figure, "wb") as f:
            f.write(png)


if __name__ == "__main__":
    main()
