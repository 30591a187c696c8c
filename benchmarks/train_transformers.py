"""``deltagrad train seq2seq-transformer`` and ``deltagrad train vit`` end to end, scored on
held-out data; writes results/train_transformers.json.

- seq2seq-transformer: exact-match share of the 2,000 held-out 8-digit strings reversed by
  greedy decoding and by beam search (the trainer reports per-token loss only).
- vit: Fashion-MNIST test accuracy after the experiment's epochs.

    python benchmarks/train_transformers.py [--experiments seq2seq-transformer vit] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def train(name, out, threads):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [sys.executable, "-m", "deltagrad", "train", name, "--out", out]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    print(proc.stdout, proc.stderr, sep="", end="", flush=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    with open(os.path.join(out, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    return {"command": f"deltagrad train {name}", "wall_s": wall, "epochs": len(rows),
            "train_s": sum(r["seconds"] for r in rows), "metrics_last_epoch": rows[-1]}


def score(name, out):
    from deltagrad.train.trainer import load_run
    from deltagrad import no_grad
    setup, _ = load_run(out, "last")
    model, data = setup.model.eval(), setup.data
    with no_grad():
        if name == "seq2seq-transformer":
            from deltagrad.experiments.attention import beam_exact_match
            from deltagrad.experiments.recurrent import seq2seq_exact_match
            return {"held_out_strings": int(len(data.x_test)),
                    "greedy_exact_match": seq2seq_exact_match(model, data),
                    "beam_exact_match": beam_exact_match(model, data, beam_size=4)}
    return {"test_accuracy": setup_metric(out)}


def setup_metric(out):
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f][-1]["test_accuracy"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--experiments", nargs="+", default=["seq2seq-transformer", "vit"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=os.path.join(HERE, "results", "train_transformers.json"))
    args = p.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.experiments:
            out = os.path.join(tmp, name)
            r = train(name, out, args.threads)
            r.update(score(name, out))
            results[name] = r
            print(json.dumps({name: {k: v for k, v in r.items() if k != "metrics_last_epoch"}}),
                  flush=True)
    from benchmarks.record import provenance
    record = {**provenance(), "threads": args.threads, "results": results}
    with open(args.out, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
