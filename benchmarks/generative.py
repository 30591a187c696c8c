"""The notes' comparison of generative models, measured on binarized Fashion-MNIST (issue 17).

Trains an RBM (CD-1, 20 hidden units: ln Z exact by enumeration, and by AIS for the check
|AIS − exact| < 0.5 nats), NADE, MADE and an MLP VAE with deltagrad and with PyTorch twins
trained by the same recipe (same initial weights, same batches, for the RBM the same uniform
draws, for the VAE the same ε), and an MLP GAN (deltagrad only: no likelihood to compare);
writes benchmarks/results/generative.json with

* the comparison table: test NLL in nats (exact for RBM/NADE/MADE, the −ELBO bound and an
  IWAE estimate for the VAE, none for the GAN), samples/s, training
  seconds per 60,000-example epoch, latent space yes/no; the published binarized-MNIST
  figures beside it (another dataset: context, not a target);
* each twin's test NLL and whether it agrees with deltagrad's within 1 nat;
* NADE's O(nH) evaluation (running pre-activation) against the naive O(n²H) one, over n;
* the RBM CD-1 step (784 visible, 500 hidden, batch 100): deltagrad / PyTorch.

Single-threaded (OMP/OPENBLAS/MKL_NUM_THREADS=1, torch.set_num_threads(1)).

    python benchmarks/generative.py [--quick]
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import deltagrad as dg  # noqa: E402
from benchmarks.record import median_time, provenance  # noqa: E402

torch.set_num_threads(1)
TF = torch.nn.functional

PUBLISHED_BINARIZED_MNIST = {   # test NLL in nats, binarized MNIST (not Fashion-MNIST)
    "RBM": {"nll": 86.34, "source": "RBM 500 hidden, CD25, ln Z by AIS "
                                    "(Salakhutdinov & Murray 2008)"},
    "NADE": {"nll": 88.86, "source": "NADE 500 hidden (Larochelle & Murray 2011)"},
    "MADE": {"nll": 86.64, "source": "MADE 1 hidden layer, 32 masks (Germain et al. 2015)"},
}


def batches(n, batch, epoch, seed):
    """The shuffled index batches of one epoch, the same for deltagrad and its twin."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i:i + batch] for i in range(0, n, batch)]


def logit_marginals(X):
    """ln(p / (1 − p)) of each pixel's training frequency: the start value of the visible /
    output biases (Hinton's practical guide), so training begins at the independent model."""
    p = np.clip(X.mean(0), 1e-3, 1 - 1e-3)
    return (np.log(p) - np.log1p(-p)).astype(np.float32)


def state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def torch_params(model, names):
    return [torch.tensor(model.state_dict()[n].numpy().copy(), requires_grad=True)
            for n in names]


# ----------------------------------------------------------------------------- RBM
def train_rbm(X, n_hidden, epochs, batch, lr, seed):
    """CD-1 with SGD(momentum 0.5) in deltagrad and in PyTorch, the twin fed the same draws."""
    dg.manual_seed(seed)
    rbm = dg.models.RBM(X.shape[1], n_hidden)
    rbm.load_state_dict({**state(rbm), "b": logit_marginals(X)})
    init = state(rbm)
    opt = dg.optim.SGD(rbm.parameters(), lr=lr, momentum=0.5)
    gen = dg.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in batches(len(X), batch, e, seed):
            opt.zero_grad()
            rbm.contrastive_divergence(X[idx], k=1, generator=gen).backward()
            opt.step()
    dg_seconds = (time.perf_counter() - t0) / epochs

    W, b, c = (torch.tensor(init[n], requires_grad=True) for n in ("W", "b", "c"))
    topt = torch.optim.SGD([W, b, c], lr=lr, momentum=0.5)
    rng = np.random.default_rng(seed)             # the draws dg's generator made, in order

    def free_energy(v):
        return -(v @ b) - TF.softplus(v @ W.T + c).sum(1)

    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in batches(len(X), batch, e, seed):
            v = torch.from_numpy(X[idx])
            with torch.no_grad():
                u_h = torch.from_numpy(rng.random((len(idx), n_hidden), dtype=np.float32))
                h = (u_h < torch.sigmoid(v @ W.T + c)).float()
                u_v = torch.from_numpy(rng.random(tuple(v.shape), dtype=np.float32))
                vt = (u_v < torch.sigmoid(h @ W + b)).float()
            topt.zero_grad()
            (free_energy(v).mean() - free_energy(vt).mean()).backward()
            topt.step()
    torch_seconds = (time.perf_counter() - t0) / epochs
    twin = dg.models.RBM(X.shape[1], n_hidden)
    twin.load_state_dict({"W": W.detach().numpy(), "b": b.detach().numpy(),
                          "c": c.detach().numpy()})
    return rbm, twin, dg_seconds, torch_seconds


def evaluate_rbm(rbm, X_train, X_test, ais_chains, ais_betas):
    t0 = time.perf_counter()
    log_z = rbm.log_partition_exact()
    exact_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ais = rbm.ais(n_chains=ais_chains, n_betas=ais_betas, base_rate=X_train,
                  generator=dg.Generator().manual_seed(1))
    ais_s = time.perf_counter() - t0
    with dg.no_grad():
        nll = -float(rbm.log_likelihood(X_test, log_z=log_z).mean().item())
        nll_ais = -float(rbm.log_likelihood(X_test, log_z=ais.log_z).mean().item())
    return {"log_z_exact": log_z, "log_z_exact_seconds": exact_s,
            "log_z_ais": ais.log_z, "log_z_ais_error_bar": [ais.log_z_low, ais.log_z_high],
            "ais_chains": ais_chains, "ais_betas": ais_betas, "ais_seconds": ais_s,
            "ais_minus_exact": ais.log_z - log_z,
            "ais_within_half_a_nat": bool(abs(ais.log_z - log_z) < 0.5),
            "test_nll_exact": nll, "test_nll_ais": nll_ais}


# ----------------------------------------------------------------------------- NADE
def torch_nade_log_prob(params, x):
    W, b, V, c = params
    contrib = x[:, :, None] * W.T
    a = torch.cumsum(contrib, 1) - contrib + b
    logits = (torch.sigmoid(a) * V).sum(-1) + c
    return -TF.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)


def train_nade(X, hidden, epochs, batch, lr, seed):
    dg.manual_seed(seed)
    nade = dg.models.NADE(X.shape[1], hidden)
    nade.load_state_dict({**state(nade), "c": logit_marginals(X)})
    params = torch_params(nade, ("W", "b", "V", "c"))
    opt = dg.optim.Adam(nade.parameters(), lr=lr)
    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in batches(len(X), batch, e, seed):
            opt.zero_grad()
            (-nade.log_prob(X[idx]).mean()).backward()
            opt.step()
    dg_seconds = (time.perf_counter() - t0) / epochs
    topt = torch.optim.Adam(params, lr=lr)
    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in batches(len(X), batch, e, seed):
            topt.zero_grad()
            (-torch_nade_log_prob(params, torch.from_numpy(X[idx])).mean()).backward()
            topt.step()
    torch_seconds = (time.perf_counter() - t0) / epochs
    return nade, params, dg_seconds, torch_seconds


def naive_nade_log_prob(nade, x):
    """The O(n²H) evaluation: every h_i recomputed from scratch, h_i = σ(b + W_{:,<i} x_<i)."""
    W, b, V, c = nade.W, nade.b, nade.V, nade.c
    logits = []
    for i in range(nade.input_dim):
        h = dg.sigmoid(x[:, :i] @ W[:, :i].t() + b)
        logits.append((h * V[i]).sum(-1) + c[i])
    logits = dg.stack(logits, 1)
    return -dg.nn.functional.binary_cross_entropy_with_logits(logits, x,
                                                              reduction="none").sum(1)


def nade_scaling(ns, hidden, batch, repeat):
    rows = []
    for n in ns:
        nade = dg.models.NADE(n, hidden)
        x = dg.tensor((np.random.default_rng(n).random((batch, n)) < 0.3).astype(np.float32))
        with dg.no_grad():
            fast = median_time(lambda: nade.log_prob(x), repeat)
            naive = median_time(lambda: naive_nade_log_prob(nade, x), repeat)
            diff = float((nade.log_prob(x) - naive_nade_log_prob(nade, x)).abs().max().item())
        rows.append({"n": n, "hidden": hidden, "batch": batch, "running_sum_ms": fast * 1e3,
                     "naive_ms": naive * 1e3, "naive_over_running_sum": naive / fast,
                     "max_abs_difference_nats": diff})
        print(f"  NADE n={n}: running sum {fast * 1e3:.1f} ms, naive {naive * 1e3:.1f} ms",
              flush=True)
    return rows


# ----------------------------------------------------------------------------- MADE
def torch_made_logits(params, masks, x):
    h = x
    for k, ((W, b), M) in enumerate(zip(params, masks)):
        h = TF.linear(h, W * M, b)
        if k < len(params) - 1:
            h = torch.relu(h)
    return h


def train_made(X, hidden, epochs, batch, lr, seed):
    dg.manual_seed(seed)
    made = dg.models.MADE(X.shape[1], hidden, seed=seed)
    linears = [m for m in made.net if isinstance(m, dg.models.MaskedLinear)]
    with dg.no_grad():
        linears[-1].bias.copy_(dg.tensor(logit_marginals(X)))
    params = [(torch.tensor(m.weight.detach().numpy().copy(), requires_grad=True),
               torch.tensor(m.bias.detach().numpy().copy(), requires_grad=True))
              for m in linears]
    masks = [torch.tensor(m.mask.numpy().copy()) for m in linears]
    opt = dg.optim.Adam(made.parameters(), lr=lr)
    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in batches(len(X), batch, e, seed):
            opt.zero_grad()
            (-made.log_prob(X[idx]).mean()).backward()
            opt.step()
    dg_seconds = (time.perf_counter() - t0) / epochs
    topt = torch.optim.Adam([p for pair in params for p in pair], lr=lr)
    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in batches(len(X), batch, e, seed):
            x = torch.from_numpy(X[idx])
            topt.zero_grad()
            TF.binary_cross_entropy_with_logits(torch_made_logits(params, masks, x), x,
                                                reduction="none").sum(1).mean().backward()
            topt.step()
    torch_seconds = (time.perf_counter() - t0) / epochs
    return made, (params, masks), dg_seconds, torch_seconds


# ----------------------------------------------------------------------------- VAE and GAN
class TorchVAE(torch.nn.Module):
    """The PyTorch twin of ``dg.models.VAE(784, [h], M)`` (same state_dict keys)."""

    def __init__(self, d, h, m):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.ReLU())
        self.fc_mu, self.fc_logvar = torch.nn.Linear(h, m), torch.nn.Linear(h, m)
        self.decoder = torch.nn.Sequential(torch.nn.Linear(m, h), torch.nn.ReLU(),
                                           torch.nn.Linear(h, d))

    def neg_elbo(self, x, eps):
        """(−ln p(x|z) + KL(q ‖ N(0, I))) per example, one draw z = μ + σ ε."""
        f = self.encoder(x)
        mu, logvar = self.fc_mu(f), self.fc_logvar(f)
        z = mu + (0.5 * logvar).exp() * eps
        rec = TF.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="none").sum(1)
        return rec - 0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)


def train_vae(X, hidden, latent, epochs, batch, lr, seed):
    """−ELBO with Adam; the twin gets the same ε for every batch."""
    dg.manual_seed(seed)
    vae = dg.models.VAE(X.shape[1], [hidden], latent)
    twin = TorchVAE(X.shape[1], hidden, latent)
    twin.load_state_dict({k: torch.tensor(v) for k, v in state(vae).items()})
    noise = [np.random.default_rng([seed, e]).standard_normal((len(X), latent),
                                                                dtype=np.float32)
             for e in range(epochs)]
    opt = dg.optim.Adam(vae.parameters(), lr=lr)
    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in batches(len(X), batch, e, seed):
            opt.zero_grad()
            vae.loss(X[idx], eps=noise[e][idx]).backward()
            opt.step()
    dg_seconds = (time.perf_counter() - t0) / epochs
    topt = torch.optim.Adam(twin.parameters(), lr=lr)
    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in batches(len(X), batch, e, seed):
            topt.zero_grad()
            twin.neg_elbo(torch.from_numpy(X[idx]),
                          torch.from_numpy(noise[e][idx])).mean().backward()
            topt.step()
    torch_seconds = (time.perf_counter() - t0) / epochs
    return vae, twin, dg_seconds, torch_seconds


def train_gan(X, latent, epochs, batch, seed):
    """The non-saturating GAN of the notes (D ascends ln D(x) + ln(1 − D(G(z))), G descends
    −ln D(G(z))), Adam(2e-4, β₁ = 0.5), data scaled to [−1, 1] for G's tanh."""
    dg.manual_seed(seed)
    G = dg.models.Generator(latent_dim=latent, output_shape=X.shape[1])
    D = dg.models.Discriminator(input_shape=X.shape[1])
    opt_g = dg.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = dg.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = dg.nn.functional.binary_cross_entropy_with_logits
    data = X * 2 - 1
    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in batches(len(X), batch, e, seed):
            real = dg.tensor(data[idx])
            ones, zeros = dg.ones(len(idx)), dg.zeros(len(idx))
            fake = G(G.noise(len(idx)))
            opt_d.zero_grad()
            (bce(D(real), ones) + bce(D(fake.detach()), zeros)).backward()
            opt_d.step()
            opt_g.zero_grad()
            bce(D(fake), ones).backward()
            opt_g.step()
    return G, D, (time.perf_counter() - t0) / epochs


# ----------------------------------------------------------------------------- helpers
def mean_nll(log_prob, X, batch=500):
    total = 0.0
    for i in range(0, len(X), batch):
        total -= float(log_prob(X[i:i + batch]).sum())
    return total / len(X)


def samples_per_second(sample, n):
    t0 = time.perf_counter()
    out = sample(n)
    secs = time.perf_counter() - t0
    assert tuple(out.shape) == (n, 784)
    return n / secs


def rbm_step_ratio(batch, hidden, repeat):
    """One CD-1 step (sampling, surrogate, backward, SGD) in deltagrad and PyTorch, the same
    algorithm in both (the data's pre-activation serves F(v) and the first Gibbs step),
    timed in alternation so that the machine's drift hits both alike; medians."""
    x = (np.random.default_rng(0).random((batch, 784)) < 0.3).astype(np.float32)
    rbm = dg.models.RBM(784, hidden)
    opt = dg.optim.SGD(rbm.parameters(), lr=0.01)

    def dg_step():
        opt.zero_grad()
        rbm.contrastive_divergence(x, k=1).backward()
        opt.step()

    W, b, c = (torch.tensor(rbm.state_dict()[n].numpy().copy(), requires_grad=True)
               for n in ("W", "b", "c"))
    topt = torch.optim.SGD([W, b, c], lr=0.01)
    v = torch.from_numpy(x)

    def torch_step():
        pre = v @ W.T + c
        with torch.no_grad():
            h = torch.bernoulli(torch.sigmoid(pre))
            vt = torch.bernoulli(torch.sigmoid(h @ W + b))
        topt.zero_grad()
        f = (-(v @ b) - TF.softplus(pre).sum(1)).mean()
        (f - (-(vt @ b) - TF.softplus(vt @ W.T + c).sum(1)).mean()).backward()
        topt.step()

    times = {"deltagrad": [], "torch": []}
    for _ in range(3):
        dg_step()
        torch_step()
    for _ in range(repeat):
        for name, step in (("deltagrad", dg_step), ("torch", torch_step)):
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    d, t = float(np.median(times["deltagrad"])), float(np.median(times["torch"]))
    return {"batch": batch, "n_visible": 784, "n_hidden": hidden, "threads": 1,
            "steps_each": repeat, "deltagrad_ms": d * 1e3, "torch_ms": t * 1e3,
            "ratio": d / t}


def figure(rbm, nade, made, vae, G, path):
    """RBM filters, a Gibbs chain from a test image, and samples of the three models."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def grid(images, cols):
        images = np.asarray(images).reshape(-1, 28, 28)
        rows = int(np.ceil(len(images) / cols))
        out = np.ones((rows * 29 + 1, cols * 29 + 1))
        for i, im in enumerate(images):
            r, c = divmod(i, cols)
            lo, hi = im.min(), im.max()
            out[1 + r * 29:1 + r * 29 + 28, 1 + c * 29:1 + c * 29 + 28] = \
                (im - lo) / (hi - lo + 1e-12)
        return out

    gen = dg.Generator().manual_seed(0)
    panels = [("RBM filters W_j (one per hidden unit)", grid(rbm.filters(), 10)),
              ("RBM Gibbs chains: P(v=1|h) every 100 steps from a random start",
               grid(rbm.gibbs_chain(rbm.sample(5, k=1, generator=gen).numpy(), k=900,
                                    every=100, generator=gen).transpose(1, 0, 2), 10)),
              ("RBM samples (1,000 Gibbs steps)", grid(rbm.sample(20, generator=gen).numpy(), 10)),
              ("NADE samples", grid(nade.sample(20, generator=gen).numpy(), 10)),
              ("MADE samples", grid(made.sample(20, generator=gen).numpy(), 10)),
              ("VAE samples (Bernoulli means)", grid(vae.sample(20, generator=gen).numpy(), 10)),
              ("GAN samples", grid(G.sample(20, generator=gen).numpy(), 10))]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.2 * len(panels)))
    for ax, (title, img) in zip(axes, panels):
        ax.imshow(img, cmap="gray", interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test only")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                  "generative.json"))
    args = ap.parse_args(argv)
    q = args.quick
    cfg = {
        "rbm": {"n_hidden": 8 if q else 20, "epochs": 1 if q else 5, "batch": 100,
                "lr": 0.05, "train_examples": 2000 if q else 60000,
                "ais_chains": 50 if q else 100, "ais_betas": 500 if q else 10000},
        "nade": {"hidden": 10 if q else 50, "epochs": 1 if q else 2, "batch": 100,
                 "lr": 0.005, "train_examples": 500 if q else 10000},
        "made": {"hidden": [50] if q else [500], "epochs": 1 if q else 3, "batch": 100,
                 "lr": 0.001, "train_examples": 2000 if q else 60000},
        "vae": {"hidden": 50 if q else 300, "latent": 8 if q else 20, "epochs": 1 if q else 5,
                "batch": 100, "lr": 0.001, "train_examples": 2000 if q else 60000,
                "iwae_k": 20 if q else 200, "iwae_test_examples": 200 if q else 1000},
        "gan": {"latent": 100, "epochs": 1, "batch": 100,
                "train_examples": 2000 if q else 60000},
        "test_examples": 1000 if q else 10000, "seed": 0,
    }
    seed = cfg["seed"]
    train = dg.datasets.BinarizedFashionMNIST(train=True).as_tensors(flatten=True)[0].numpy()
    test = dg.datasets.BinarizedFashionMNIST(train=False).as_tensors(flatten=True)[0].numpy()
    test = test[:cfg["test_examples"]]
    result = {**provenance(), "config": cfg, "data": "BinarizedFashionMNIST (threshold 0.5)"}
    p = np.clip(train.mean(0), 1e-3, 1 - 1e-3)      # the independent-pixel model, for scale
    result["independent_pixels_test_nll"] = float(
        -(test * np.log(p) + (1 - test) * np.log1p(-p)).sum(1).mean())
    rows = {}

    # RBM ---------------------------------------------------------------------
    c = cfg["rbm"]
    X = train[:c["train_examples"]]
    print("RBM: training (deltagrad, then the PyTorch twin) ...", flush=True)
    rbm, twin, dg_s, t_s = train_rbm(X, c["n_hidden"], c["epochs"], c["batch"], c["lr"], seed)
    ev = evaluate_rbm(rbm, X, test, c["ais_chains"], c["ais_betas"])
    twin_nll = evaluate_rbm(twin, X, test, 10, 10)["test_nll_exact"]
    sps = samples_per_second(lambda n: rbm.sample(n, k=1000), 100)
    rows["RBM"] = {"test_nll": ev["test_nll_exact"], "nll_kind": "exact (ln Z enumerated)",
                   "samples_per_second": sps, "sampling": "1,000 block-Gibbs steps per "
                   "sample, 100 chains in parallel",
                   "seconds_per_60k_epoch": dg_s * 60000 / len(X), "latent_space": True,
                   "torch_twin_test_nll": twin_nll,
                   "twin_within_1_nat": bool(abs(twin_nll - ev["test_nll_exact"]) < 1.0),
                   "torch_twin_seconds_per_60k_epoch": t_s * 60000 / len(X), **ev}
    print(f"  RBM test NLL {ev['test_nll_exact']:.2f} (twin {twin_nll:.2f}); ln Z exact "
          f"{ev['log_z_exact']:.3f}, AIS {ev['log_z_ais']:.3f}", flush=True)

    # NADE --------------------------------------------------------------------
    c = cfg["nade"]
    X = train[:c["train_examples"]]
    print("NADE: training ...", flush=True)
    nade, tparams, dg_s, t_s = train_nade(X, c["hidden"], c["epochs"], c["batch"], c["lr"],
                                          seed)
    with dg.no_grad():
        nll = mean_nll(nade.log_prob, test)
    with torch.no_grad():
        twin_nll = mean_nll(lambda x: torch_nade_log_prob(tparams, torch.from_numpy(x)), test)
    sps = samples_per_second(nade.sample, 100)
    rows["NADE"] = {"test_nll": nll, "nll_kind": "exact", "samples_per_second": sps,
                    "sampling": "pixel by pixel (784 sequential steps)",
                    "seconds_per_60k_epoch": dg_s * 60000 / len(X), "latent_space": False,
                    "torch_twin_test_nll": twin_nll,
                    "twin_within_1_nat": bool(abs(twin_nll - nll) < 1.0),
                    "torch_twin_seconds_per_60k_epoch": t_s * 60000 / len(X)}
    print(f"  NADE test NLL {nll:.2f} (twin {twin_nll:.2f})", flush=True)

    # MADE --------------------------------------------------------------------
    c = cfg["made"]
    X = train[:c["train_examples"]]
    print("MADE: training ...", flush=True)
    made, (tp, tm), dg_s, t_s = train_made(X, c["hidden"], c["epochs"], c["batch"], c["lr"],
                                           seed)
    with dg.no_grad():
        nll = mean_nll(made.log_prob, test)
    with torch.no_grad():
        twin_nll = mean_nll(lambda x: -TF.binary_cross_entropy_with_logits(
            torch_made_logits(tp, tm, torch.from_numpy(x)), torch.from_numpy(x),
            reduction="none").sum(1), test)
    sps = samples_per_second(made.sample, 100)
    rows["MADE"] = {"test_nll": nll, "nll_kind": "exact (1 mask)", "samples_per_second": sps,
                    "sampling": "784 forward passes", "seconds_per_60k_epoch":
                    dg_s * 60000 / len(X), "latent_space": False,
                    "torch_twin_test_nll": twin_nll,
                    "twin_within_1_nat": bool(abs(twin_nll - nll) < 1.0),
                    "torch_twin_seconds_per_60k_epoch": t_s * 60000 / len(X)}
    print(f"  MADE test NLL {nll:.2f} (twin {twin_nll:.2f})", flush=True)

    # VAE ---------------------------------------------------------------------
    c = cfg["vae"]
    X = train[:c["train_examples"]]
    print("VAE: training ...", flush=True)
    vae, tvae, dg_s, t_s = train_vae(X, c["hidden"], c["latent"], c["epochs"], c["batch"],
                                     c["lr"], seed)
    eps = np.random.default_rng(123).standard_normal((len(test), c["latent"]),
                                                     dtype=np.float32)
    with dg.no_grad():
        nelbo = float(np.mean(np.concatenate([
            sum(t.numpy() for t in vae.elbo_terms(test[i:i + 500], eps=eps[i:i + 500]))
            for i in range(0, len(test), 500)])))
        iwae = -float(vae.log_likelihood(test[:c["iwae_test_examples"]], k=c["iwae_k"],
                                         generator=dg.Generator().manual_seed(0))
                      .mean().item())
    with torch.no_grad():
        twin_nelbo = float(tvae.neg_elbo(torch.from_numpy(test),
                                         torch.from_numpy(eps)).mean())
    sps = samples_per_second(lambda n: vae.sample(n, binary=True), 100)
    rows["VAE"] = {"test_nll": nelbo, "nll_kind": "bound: -ELBO, one draw of z per image",
                   f"test_nll_iwae_k{c['iwae_k']}_first_{c['iwae_test_examples']}": iwae,
                   "samples_per_second": sps, "sampling": "one decoder pass",
                   "seconds_per_60k_epoch": dg_s * 60000 / len(X), "latent_space": True,
                   "torch_twin_test_nll": twin_nelbo,
                   "twin_within_1_nat": bool(abs(twin_nelbo - nelbo) < 1.0),
                   "torch_twin_seconds_per_60k_epoch": t_s * 60000 / len(X)}
    print(f"  VAE test -ELBO {nelbo:.2f} (twin {twin_nelbo:.2f}), IWAE {iwae:.2f}",
          flush=True)

    # GAN ---------------------------------------------------------------------
    c = cfg["gan"]
    X = train[:c["train_examples"]]
    print("GAN: training ...", flush=True)
    G, _, dg_s = train_gan(X, c["latent"], c["epochs"], c["batch"], seed)
    sps = samples_per_second(lambda n: G.sample(n), 100)
    rows["GAN"] = {"test_nll": None, "nll_kind": "none: a GAN has no likelihood",
                   "samples_per_second": sps, "sampling": "one generator pass",
                   "seconds_per_60k_epoch": dg_s * 60000 / len(X), "latent_space": True}

    for name, row in rows.items():
        row["published_binarized_mnist"] = PUBLISHED_BINARIZED_MNIST.get(name)
    result["comparison"] = rows
    print("NADE running sum vs naive ...", flush=True)
    result["nade_scaling"] = nade_scaling([49, 196, 784] if not q else [16, 49], 50, 100, 3)
    print("RBM CD-1 step ...", flush=True)
    result["rbm_cd1_step"] = rbm_step_ratio(100, 100 if q else 500, 5 if q else 100)
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if not isinstance(vv, dict)}
                      for k, v in rows.items()}, indent=1))
    print(json.dumps(result["rbm_cd1_step"]))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    picture = os.path.splitext(args.out)[0] + "_samples.png"
    figure(rbm, nade, made, vae, G, picture)
    result["figure"] = os.path.relpath(picture, ROOT)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print("wrote", os.path.relpath(args.out, ROOT))


if __name__ == "__main__":
    main()
