"""GAN benchmark (issue 15): every number of the issue from one script, single-threaded
unless a thread count is the point. Writes benchmarks/results/gan.json.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/gan.py

1. ``deltagrad train gan-1d``: the range of D(x) over the data's support μ ± 2σ at the end
   (the issue: within 0.5 ± 0.1).
2. ``deltagrad train gan-ring`` and ``gan-ring-collapse``: modes covered (of 8) and the share
   of high-quality samples per epoch (the issue: ≥ 6 for the non-saturating GAN; the
   collapsing setting detected).
3. Fashion-MNIST, FID per epoch under the cached deltagrad classifier (2,000 test images vs
   2,000 samples): the MLP GAN and the DCGAN (the experiments' networks, Adam 2e-4, β₁ 0.5,
   batch 64) trained on the same random 5,000-image subset per epoch (a full 54,000-image
   DCGAN epoch takes ~10 minutes on one core), and an autoencoder's latent samples
   (784-256-32 ReLU/sigmoid autoencoder, codes ~ the Gaussian fitted to the training codes,
   decoded) after the same number of images.
4. The feature classifier's test accuracy, the Inception Score of the real test set (10
   splits) and FID between the two halves of the test set.
5. One DCGAN training step (a D-step and a G-step, batch 64, default widths) of deltagrad
   and of a PyTorch twin at 1 and 2 threads (the issue: deltagrad / PyTorch ≤ 1.3 at 2).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from record import ROOT, alternate, provenance, ratio_over_rounds, run_train  # noqa: E402

SUBSET, EPOCHS, BATCH, FID_N = 5000, 9, 64, 2000


def toys(tmp) -> dict:
    out = {}
    cmd, wall, rows = run_train("gan-1d", os.path.join(tmp, "g1"))
    last = rows[-1]
    out["gan_1d"] = {"command": cmd, "seconds": wall, "epochs": len(rows),
                     "d_on_support_min": last["test_d_support_min"],
                     "d_on_support_max": last["test_d_support_max"],
                     "within_0.5_pm_0.1": bool(abs(last["test_d_support_min"] - 0.5) <= 0.1
                                               and abs(last["test_d_support_max"] - 0.5) <= 0.1),
                     "per_epoch_d_range": [[r["test_d_support_min"], r["test_d_support_max"]]
                                           for r in rows]}
    for name in ("gan-ring", "gan-ring-collapse"):
        cmd, wall, rows = run_train(name, os.path.join(tmp, name))
        out[name.replace("-", "_")] = {
            "command": cmd, "seconds": wall, "epochs": len(rows),
            "modes_covered_last": rows[-1]["test_modes_covered"],
            "high_quality_last": rows[-1]["test_high_quality"],
            "modes_covered_per_epoch": [r["test_modes_covered"] for r in rows],
            "high_quality_per_epoch": [round(r["test_high_quality"], 4) for r in rows]}
    out["gan_ring"]["at_least_6_modes"] = out["gan_ring"]["modes_covered_last"] >= 6
    out["gan_ring_collapse"]["collapse_detected"] = \
        out["gan_ring_collapse"]["modes_covered_last"] < 6
    return out


def fashion(seed=0) -> dict:
    import deltagrad as dg
    from deltagrad import nn
    from deltagrad.experiments.gan import cgan, dcgan, gan, gan_images  # noqa: F401
    from deltagrad.metrics import FrechetInceptionDistance, InceptionScore
    from deltagrad.metrics.feature_network import cached_accuracy, fashion_mnist_classifier
    from deltagrad.models import Autoencoder
    from deltagrad.train.gan_task import GANTask

    clf = fashion_mnist_classifier()
    flat = gan_images("fashion-mnist")
    x_train, x_test = flat.x_train, flat.x_test
    result = {"classifier_test_accuracy": cached_accuracy()}
    # real test set: IS and FID of its two halves
    score = InceptionScore(clf, splits=10)
    for i in range(0, len(x_test), 1000):
        score.update(x_test[i:i + 1000].reshape(-1, 1, 28, 28))
    result["inception_score_real_test"] = dict(zip(("mean", "std"), score.compute()))
    fid = FrechetInceptionDistance(clf.features)
    fid.update(x_test[:5000].reshape(-1, 1, 28, 28), real=True)
    fid.update(x_test[5000:].reshape(-1, 1, 28, 28), real=False)
    result["fid_test_half_vs_half"] = fid.compute()

    real_fid = FrechetInceptionDistance(clf.features, reset_real_features=False)
    real_fid.update(x_test[:FID_N].reshape(-1, 1, 28, 28), real=True)

    def score_fid(images):
        real_fid.reset()
        for i in range(0, len(images), 500):
            real_fid.update(images[i:i + 500].reshape(-1, 1, 28, 28), real=False)
        return real_fid.compute()

    rng = np.random.default_rng(seed)
    subsets = [rng.choice(len(x_train), SUBSET, replace=False) for _ in range(EPOCHS)]
    curves = {}
    for name, factory, shape in (("gan", gan, (-1, 784)), ("dcgan", dcgan, (-1, 1, 28, 28))):
        dg.manual_seed(seed)
        models = factory(flat)
        task = GANTask(fid_samples=0)
        opts = {k: dg.optim.Adam(models[k].parameters(), lr=2e-4, betas=(0.5, 0.999))
                for k in ("G", "D")}
        fids, secs = [], []
        for epoch in range(EPOCHS):
            t0 = time.perf_counter()
            idx = subsets[epoch]
            models.train()
            for i in range(0, SUBSET - BATCH + 1, BATCH):
                xb = dg.from_numpy(x_train[idx[i:i + BATCH]].reshape(shape))
                task.train_step(models, opts, (xb, dg.zeros(BATCH, dtype=dg.int64)))
            secs.append(time.perf_counter() - t0)
            samples = models["G"].sample(FID_N, generator=dg.Generator().manual_seed(1))
            fids.append(score_fid(samples.numpy()))
            print(f"{name} epoch {epoch + 1}: FID {fids[-1]:.2f} ({secs[-1]:.0f} s)", flush=True)
        curves[name] = {"fid_per_epoch": fids, "train_seconds_per_epoch": secs}
    # autoencoder latent samples
    dg.manual_seed(seed)
    ae = Autoencoder([784, 256, 32], activation="relu", output_activation="sigmoid", loss="bce")
    opt = dg.optim.Adam(ae.parameters(), lr=1e-3)
    unit = (x_train + 1) / 2
    fids = []
    for epoch in range(EPOCHS):
        idx = subsets[epoch]
        for i in range(0, SUBSET - BATCH + 1, BATCH):
            loss = ae.loss(dg.from_numpy(unit[idx[i:i + BATCH]]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        with dg.no_grad():
            h = ae.encode(dg.from_numpy(unit[subsets[epoch]])).numpy().astype(np.float64)
            mu, cov = h.mean(0), np.cov(h, rowvar=False)
            codes = np.random.default_rng(1).multivariate_normal(mu, cov, FID_N)
            images = ae.decode(dg.from_numpy(codes.astype(np.float32))).numpy() * 2 - 1
        fids.append(score_fid(images))
        print(f"autoencoder latent samples epoch {epoch + 1}: FID {fids[-1]:.2f}", flush=True)
    curves["autoencoder_latent_samples"] = {"fid_per_epoch": fids}
    result["fid_per_epoch"] = curves
    result["fid_protocol"] = (f"{EPOCHS} epochs of the same random {SUBSET}-image subsets of "
                              f"the training set, batch {BATCH}; FID of {FID_N} samples vs the "
                              f"first {FID_N} test images under the cached classifier's 128 "
                              "features")
    last = {k: v["fid_per_epoch"][-1] for k, v in curves.items()}
    result["dcgan_lower_than_gan"] = last["dcgan"] < last["gan"]
    result["dcgan_lower_than_autoencoder"] = last["dcgan"] < last["autoencoder_latent_samples"]
    return result


STEP_SCRIPT = r"""
import sys, json
import numpy as np
which = sys.argv[1]
x = np.random.default_rng(0).uniform(-1, 1, (64, 1, 28, 28)).astype(np.float32)
if which == "deltagrad":
    import deltagrad as dg
    from deltagrad import nn
    from deltagrad.models import DCGANGenerator, DCGANDiscriminator
    from deltagrad.train.gan_task import GANTask
    dg.manual_seed(0)
    m = nn.ModuleDict({"G": DCGANGenerator(), "D": DCGANDiscriminator()})
    task = GANTask(fid_samples=0)
    opts = {k: dg.optim.Adam(m[k].parameters(), lr=2e-4, betas=(0.5, 0.999)) for k in "GD"}
    xb, yb = dg.from_numpy(x), dg.zeros(64, dtype=dg.int64)
    step = lambda: task.train_step(m, opts, (xb, yb))
else:
    import torch, torch.nn as tnn, torch.nn.functional as F
    torch.manual_seed(0)
    G = tnn.Sequential(tnn.ConvTranspose2d(100, 256, 7, 1, 0, bias=False), tnn.BatchNorm2d(256),
                       tnn.ReLU(), tnn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False),
                       tnn.BatchNorm2d(128), tnn.ReLU(),
                       tnn.ConvTranspose2d(128, 1, 4, 2, 1, bias=False), tnn.Tanh())
    D = tnn.Sequential(tnn.Conv2d(1, 64, 4, 2, 1, bias=False), tnn.LeakyReLU(0.2),
                       tnn.Conv2d(64, 128, 4, 2, 1, bias=False), tnn.BatchNorm2d(128),
                       tnn.LeakyReLU(0.2), tnn.Conv2d(128, 1, 7, 1, 0, bias=False))
    oG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    xb = torch.from_numpy(x)
    def step():
        fake = G(torch.randn(64, 100, 1, 1))
        r, f = D(xb).view(-1), D(fake.detach()).view(-1)
        loss = F.softplus(-r).mean() + F.softplus(f).mean()
        oD.zero_grad(); loss.backward(); oD.step()
        g = F.softplus(-D(fake).view(-1)).mean()
        oG.zero_grad(); g.backward(); oG.step()
from benchmarks.record import steady_step_times
times = steady_step_times(step, 7)
print(json.dumps({"median_s": float(np.median(times)), "min_s": float(np.min(times))}))
"""


def speed(rounds: int = 5) -> dict:
    """The DCGAN step of each library in its own process, ``rounds`` alternating rounds per
    thread count (``record.alternate``): the ratio is the median of the rounds' ratios."""
    out = {}
    for threads in (1, 2):
        env = dict(os.environ, PYTHONPATH=ROOT)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        commands = {"deltagrad": [sys.executable, "-c", STEP_SCRIPT, "deltagrad"],
                    "torch": [sys.executable, "-c", f"import torch; torch.set_num_threads("
                              f"{threads})\n" + STEP_SCRIPT, "torch"]}
        runs = alternate(commands, rounds, env=env)
        row = {which: {"median_s": float(np.median([r["median_s"] for r in runs[which]])),
                       "min_s": float(min(r["min_s"] for r in runs[which])),
                       "rounds": runs[which]} for which in commands}
        row.update(ratio_over_rounds(runs, "median_s"))
        row["ratio_min"] = row["deltagrad"]["min_s"] / row["torch"]["min_s"]
        print(f"DCGAN step at {threads} thread(s): deltagrad/PyTorch {row['ratio_median']:.2f} "
              f"(rounds: {', '.join(f'{r:.2f}' for r in row['ratio_per_round'])})", flush=True)
        out[f"threads_{threads}"] = row
    out["rounds"] = rounds
    out["target_ratio_at_2_threads"] = 1.3
    return out


def main():
    t0 = time.perf_counter()
    result = {"provenance": provenance()}
    with tempfile.TemporaryDirectory() as tmp:
        result["toys"] = toys(tmp)
    result["fashion_mnist"] = fashion()
    result["dcgan_step"] = speed()
    result["total_seconds"] = time.perf_counter() - t0
    path = os.path.join(HERE, "results", "gan.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1, default=float)
    print("wrote", path)


if __name__ == "__main__":
    main()
