"""Character LSTM: deltagrad against PyTorch on the same model, batch and thread count.

1. ``step``: one training step (forward, cross-entropy, backward, Adam) of the issue's
   reference model — Embedding(65, 64) → LSTM(64, 128) → Linear(128, 65), sequence 64,
   batch 32 — timed side by side, the two frameworks alternating round by round (the best
   round of each counts, so a busy machine hurts both alike).
2. ``epoch``: seconds per step of the ``char-lstm`` experiment's model (LSTM 512, batch 64,
   100 characters) in both, times the steps of one Tiny Shakespeare epoch (90% split).
3. ``--run DIR``: adds the learning curve (metrics.jsonl) of a ``deltagrad train char-lstm``
   run and a sample of its text.

    python benchmarks/char_lstm.py [--threads 1,2] [--rounds 7] [--run runs/char-lstm]

Each thread count runs in a fresh process (OMP/OpenBLAS/MKL and torch set to it).

Writes benchmarks/results/char_lstm.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time


def _threads(n: int) -> None:
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = str(n)


def _models(vocab, emb, hidden, seq, batch, seed=0):
    import numpy as np
    import torch
    import deltagrad as dg
    from deltagrad.models import CharRNN

    dg.manual_seed(seed)
    m = CharRNN(vocab, emb, hidden, cell="lstm")

    class TorchCharLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(vocab, emb)
            self.rnn = torch.nn.LSTM(emb, hidden, batch_first=True)
            self.drop = torch.nn.Dropout(0.0)
            self.decoder = torch.nn.Linear(hidden, vocab)

        def forward(self, x):
            return self.decoder(self.drop(self.rnn(self.embedding(x))[0]))

    tm = TorchCharLSTM()
    tm.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in
                        m.state_dict().items()})
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocab, (batch, seq))
    y = rng.integers(0, vocab, (batch, seq))
    opt = dg.optim.Adam(m.parameters(), 2e-3)
    topt = torch.optim.Adam(tm.parameters(), 2e-3)
    xd, yd = dg.from_numpy(x), dg.from_numpy(y.reshape(-1))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.reshape(-1))
    F = dg.nn.functional

    def dg_step():
        opt.zero_grad()
        loss = F.cross_entropy(m(xd).reshape(-1, vocab), yd)
        loss.backward()
        opt.step()
        return loss.item()

    def torch_step():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tm(xt).reshape(-1, vocab), yt)
        loss.backward()
        topt.step()
        return loss.item()

    # the same weights and data give the same first loss
    first = (dg_step(), torch_step())
    return dg_step, torch_step, first


def side_by_side(dg_step, torch_step, rounds: int, steps: int) -> dict:
    best = {"deltagrad": float("inf"), "torch": float("inf")}
    all_ = {"deltagrad": [], "torch": []}
    for f in (dg_step, torch_step):
        f()
    for _ in range(rounds):
        for name, f in (("deltagrad", dg_step), ("torch", torch_step)):
            t0 = time.perf_counter()
            for _ in range(steps):
                f()
            dt = (time.perf_counter() - t0) / steps
            all_[name].append(dt)
            best[name] = min(best[name], dt)
    return {"best_s": best, "rounds_s": all_,
            "ratio_deltagrad_over_torch": best["deltagrad"] / best["torch"]}


def measure(threads: int, rounds: int, epoch_rounds: int) -> dict:
    """Both timings at one thread count (called in a fresh process: thread settings must
    precede the imports of NumPy and torch)."""
    _threads(threads)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import torch
    torch.set_num_threads(threads)
    out = {"threads": threads, "load_average_before": os.getloadavg()}
    dg_step, torch_step, first = _models(65, 64, 128, 64, 32)
    out["step"] = {"model": "Embedding(65,64) -> LSTM(64,128) -> Linear(128,65); seq 64, "
                            "batch 32, Adam",
                   "first_loss": {"deltagrad": first[0], "torch": first[1]},
                   **side_by_side(dg_step, torch_step, rounds, 5)}
    steps_per_epoch = (int(1115394 * 0.9) - 1) // 100 // 64 + 1
    dg_step, torch_step, first = _models(65, 64, 512, 100, 64)
    r = side_by_side(dg_step, torch_step, epoch_rounds, 1)
    out["epoch"] = {"model": "char-lstm: Embedding(65,64) -> LSTM(64,512) -> Linear(512,65); "
                             "seq 100, batch 64, Adam",
                    "steps_per_epoch": steps_per_epoch,
                    "seconds_per_epoch": {k: v * steps_per_epoch for k, v in r["best_s"].items()},
                    **r}
    out["load_average_after"] = os.getloadavg()
    return out


def main(argv=None) -> int:
    import subprocess
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", default="1,2", help="thread counts, comma-separated (1,2)")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--epoch-rounds", type=int, default=2)
    p.add_argument("--run", default=None, help="a `deltagrad train char-lstm` run folder")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "results", "char_lstm.json"))
    args = p.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(measure(args.worker, args.rounds, args.epoch_rounds)))
        return 0
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import numpy as np
    from benchmarks.record import provenance
    result = {**provenance(), "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "machine": platform.processor() or platform.machine(),
              "cpu_count": os.cpu_count(), "numpy": np.__version__, "timings": []}
    for n in (int(t) for t in args.threads.split(",")):
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", str(n),
                               "--rounds", str(args.rounds), "--epoch-rounds",
                               str(args.epoch_rounds)], capture_output=True, text=True,
                              check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        result["timings"].append(r)
        print(f"{n} thread(s): step deltagrad {r['step']['best_s']['deltagrad'] * 1e3:.1f} ms, "
              f"torch {r['step']['best_s']['torch'] * 1e3:.1f} ms (ratio "
              f"{r['step']['ratio_deltagrad_over_torch']:.2f}); char-lstm epoch deltagrad "
              f"{r['epoch']['seconds_per_epoch']['deltagrad']:.0f} s, torch "
              f"{r['epoch']['seconds_per_epoch']['torch']:.0f} s", flush=True)

    if not args.run and os.path.exists(args.out):  # keep the last training run's record
        with open(args.out) as f:
            previous = json.load(f)
        if "training_run" in previous:
            result["training_run"] = {**previous["training_run"],
                                      "recorded_at_commit": previous["training_run"].get(
                                          "recorded_at_commit", previous.get("commit"))}
    if args.run:
        with open(os.path.join(args.run, "metrics.jsonl")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        result["training_run"] = {
            "run": os.path.abspath(args.run),
            "curve": [{k: row.get(k) for k in ("epoch", "train_loss", "val_loss",
                                               "val_perplexity", "seconds", "eval_seconds")}
                      for row in rows]}
        if rows:
            try:
                from deltagrad.train.trainer import load_run
                setup, _ = load_run(args.run, "best")
                itos = list(setup.data.classes)
                idx = setup.model.sample(500, 0.8, prime=[itos.index("\n")], seed=0)
                result["training_run"]["sample_T0.8"] = "".join(itos[i] for i in idx)
            except Exception as e:  # a sample is a bonus; the curve is the record
                result["training_run"]["sample_error"] = repr(e)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
