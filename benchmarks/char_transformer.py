"""nanoGPT's CPU run of Tiny Shakespeare, in deltagrad and in PyTorch, side by side.

nanoGPT (README, "I only have a macbook"): ``train.py config/train_shakespeare_char.py
--device=cpu --compile=False --eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12
--n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0``
reports a validation loss of about 1.88 after ~3 minutes. The same recipe here: random
64-character windows of the first 90% of the text, batch 12, 2,000 iterations, AdamW
(lr 1e-3, β = (0.9, 0.99), weight decay 0.1 on matrices only), 100 warm-up iterations then
cosine decay to 1e-4, gradient clipping at 1.0, no dropout, tied input/output embedding.
The model is the same in both libraries: a GPT of 4 pre-LN blocks (``TransformerEncoderLayer``
with ``norm_first=True``, GELU, causal mask), learned positions, final LayerNorm.

    python benchmarks/char_transformer.py [--libs deltagrad torch] [--iters 2000]
                                          [--threads 2] [--out benchmarks/results/...json]

Each library runs in its own process with the same thread count. The two processes take
turns, ``--chunk`` iterations at a time (100 by default; 0: one whole run after the other),
so that both see the same phases of a machine whose speed drifts by tens of percent within
minutes; each one's wall time is the sum of its own turns. The validation loss is the mean
over ``--eval-batches`` random validation windows (200 by default, a steadier number than
nanoGPT's 20); the JSON records the losses, wall times and a short sample. Rerunnable: it
only reads the text and writes the JSON.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CONFIG = dict(block_size=64, batch_size=12, n_layer=4, n_head=4, n_embd=128, dropout=0.0,
              max_iters=2000, learning_rate=1e-3, min_lr=1e-4, warmup_iters=100,
              lr_decay_iters=2000, beta1=0.9, beta2=0.99, weight_decay=0.1, grad_clip=1.0)


def get_lr(it, c):
    """nanoGPT's schedule: linear warm-up, cosine decay to min_lr, then min_lr."""
    if it < c["warmup_iters"]:
        return c["learning_rate"] * (it + 1) / (c["warmup_iters"] + 1)
    if it > c["lr_decay_iters"]:
        return c["min_lr"]
    ratio = (it - c["warmup_iters"]) / (c["lr_decay_iters"] - c["warmup_iters"])
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return c["min_lr"] + coeff * (c["learning_rate"] - c["min_lr"])


def _data():
    sys.path.insert(0, ROOT)
    from deltagrad.datasets.text import TinyShakespeare
    tr = TinyShakespeare(seq_len=64, split="train")
    va = TinyShakespeare(root=tr.path, seq_len=64, split="val", vocab=tr.vocab)
    return tr.data, va.data, tr.vocab


def _torch_model(torch, vocab, c):
    nn = torch.nn

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            d = c["n_embd"]
            self.tok_emb = nn.Embedding(vocab, d)
            self.pos_emb = nn.Module()
            self.pos_emb.weight = nn.Parameter(torch.zeros(c["block_size"], d))
            layer = nn.TransformerEncoderLayer(d, c["n_head"], 4 * d, dropout=0.0,
                                               activation="gelu", batch_first=True,
                                               norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, c["n_layer"], enable_nested_tensor=False)
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)
            self.head.weight = self.tok_emb.weight

        def forward(self, idx):
            T = idx.shape[1]
            mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
            h = self.tok_emb(idx) + self.pos_emb.weight[:T]
            return self.head(self.ln_f(self.blocks(h, mask=mask, is_causal=True)))
    return GPT()


def worker(lib_name, c, iters, eval_batches, seed=1337, turns=None):
    """Train in one library; returns a dict of results. With ``turns`` (an iterator of
    iteration counts, e.g. read from the parent), it trains that many iterations at a time
    and reports each turn's end on stdout (the parent then starts the other library's)."""
    import numpy as np
    train, val, vocab = _data()
    V = len(vocab)
    rng = np.random.default_rng(seed)
    B, T = c["batch_size"], c["block_size"]

    def batch(data, r):
        ix = r.integers(0, len(data) - T - 1, B)
        return (np.stack([data[i:i + T] for i in ix]), np.stack([data[i + 1:i + 1 + T]
                                                                  for i in ix]))

    sys.path.insert(0, ROOT)
    import deltagrad as dg
    from deltagrad.models import GPTLanguageModel
    dg.manual_seed(seed)
    model = GPTLanguageModel(V, T, c["n_layer"], c["n_head"], c["n_embd"], c["dropout"])
    if lib_name == "torch":  # the same model with the same initial weights (GPT-2 init)
        import torch as lib
        lib.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        lib.manual_seed(seed)
        state = {k: lib.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
        model = _torch_model(lib, V, c)
        model.load_state_dict(state)
        to_t = lib.from_numpy
        clip = lib.nn.utils.clip_grad_norm_
        no_grad = lib.no_grad
    else:
        lib = dg
        to_t = lib.from_numpy
        clip = lib.nn.utils.clip_grad_norm_
        no_grad = lib.no_grad
    F = lib.nn.functional
    decay = [p for p in model.parameters() if p.ndim >= 2]
    other = [p for p in model.parameters() if p.ndim < 2]
    opt = lib.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]},
                           {"params": other, "weight_decay": 0.0}],
                          lr=c["learning_rate"], betas=(c["beta1"], c["beta2"]))

    def loss_of(x, y):
        logits = model(to_t(x))
        return F.cross_entropy(logits.reshape(-1, V), to_t(y).reshape(-1))

    def evaluate(data, n):
        r = np.random.default_rng(seed + 1)
        model.eval()
        with no_grad():
            out = float(np.mean([loss_of(*batch(data, r)).item() for _ in range(n)]))
        model.train()
        return out

    log = []
    t0 = time.perf_counter()
    train_time = 0.0
    wall = 0.0  # the time of this worker's own turns
    turn_start, turn_end = t0, iters
    if turns is not None:
        turn_end = 0
    for it in range(iters):
        if it == turn_end:  # the end of a turn: report it, wait for the next one
            wall += time.perf_counter() - turn_start
            print(json.dumps({"done": it}), flush=True)
            turn_end = min(iters, it + next(turns))
            turn_start = time.perf_counter()
        lr = get_lr(it, c)
        for g in opt.param_groups:
            g["lr"] = lr
        t = time.perf_counter()
        loss = loss_of(*batch(train, rng))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip(model.parameters(), c["grad_clip"])
        opt.step()
        train_time += time.perf_counter() - t
        if it % 250 == 0 or it == iters - 1:
            seconds = wall + time.perf_counter() - turn_start
            log.append({"iter": it, "train_loss": float(loss.item()),
                        "seconds": round(seconds, 1)})
            print(f"[{lib_name}] iter {it} loss {loss.item():.4f} {seconds:.0f}s",
                  file=sys.stderr, flush=True)
    wall += time.perf_counter() - turn_start
    val_loss = evaluate(val, eval_batches)
    train_loss = evaluate(train, eval_batches)
    res = {"lib": lib_name, "iters": iters, "train_wall_s": round(wall, 1),
           "train_step_ms": round(1000 * train_time / max(iters, 1), 2),
           "val_loss": round(val_loss, 4), "train_loss": round(train_loss, 4), "log": log,
           "parameters": int(sum(int(np.prod(p.shape)) for p in model.parameters()))}
    if lib_name == "deltagrad":
        res["sample"] = vocab.decode(model.sample(300, 0.8, prime=vocab.encode("\n"), seed=0,
                                                  top_k=None))
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--libs", nargs="+", default=["deltagrad", "torch"])
    p.add_argument("--iters", type=int, default=CONFIG["max_iters"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-batches", type=int, default=200)
    p.add_argument("--chunk", type=int, default=100,
                   help="iterations a turn, the libraries taking turns (0: one after the other)")
    p.add_argument("--out", default=os.path.join(HERE, "results", "char_transformer.json"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    c = dict(CONFIG)
    if args.worker:
        turns = (int(line) for line in sys.stdin) if args.chunk else None
        print(json.dumps(worker(args.worker, c, args.iters, args.eval_batches, turns=turns)))
        return 0
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    results = {}
    command = [sys.executable, os.path.abspath(__file__), "--iters", str(args.iters),
               "--eval-batches", str(args.eval_batches), "--chunk", str(args.chunk)]
    if args.chunk:
        outputs = _take_turns(args.libs, command, env, args.iters, args.chunk)
    else:
        outputs = {lib: subprocess.run(command + ["--worker", lib], env=env, cwd=ROOT,
                                       check=True, stdout=subprocess.PIPE, text=True).stdout
                   for lib in args.libs}
    for lib in args.libs:
        results[lib] = json.loads(outputs[lib].strip().splitlines()[-1])
        r = results[lib]
        print(f"{lib:10s} val_loss {r['val_loss']:.4f}  train_loss {r['train_loss']:.4f}  "
              f"wall {r['train_wall_s']:.1f}s  step {r['train_step_ms']:.1f} ms", flush=True)
    sys.path.insert(0, ROOT)
    from benchmarks.record import provenance
    record = {"benchmark": "char_transformer (nanoGPT shakespeare_char, CPU config)",
              **provenance(), "config": c, "iters": args.iters, "threads": args.threads,
              "chunk": args.chunk,
              "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                          "load_avg_at_end": os.getloadavg()},
              "results": results}
    if "deltagrad" in results and "torch" in results:
        record["wall_ratio_deltagrad_over_torch"] = round(
            results["deltagrad"]["train_wall_s"] / results["torch"]["train_wall_s"], 2)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {args.out}")
    return 0


def _take_turns(libs, command, env, iters, chunk):
    """Start one worker per library, then let them train ``chunk`` iterations in turn until
    each has done ``iters``; returns each one's remaining output (its results line)."""
    procs = {lib: subprocess.Popen(command + ["--worker", lib], env=env, cwd=ROOT,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for lib in libs}
    for p in procs.values():  # each stops before its first iteration, after its set-up
        json.loads(p.stdout.readline())
    for _ in range(-(-iters // chunk)):
        for p in procs.values():
            p.stdin.write(f"{chunk}\n")
            p.stdin.flush()
            line = p.stdout.readline()  # its turn's end, or (after the last) its results
            if '"done"' not in line:
                p.last_line = line
    outputs = {}
    for lib, p in procs.items():
        p.stdin.close()
        rest = p.stdout.read()
        if p.wait():
            raise RuntimeError(f"the {lib} worker failed (exit {p.returncode})")
        outputs[lib] = getattr(p, "last_line", "") + rest
    return outputs


if __name__ == "__main__":
    sys.exit(main())
