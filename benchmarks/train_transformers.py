"""``deltagrad train seq2seq-transformer`` and ``deltagrad train vit`` end to end, scored on
held-out data; writes results/train_transformers.json (``train_recurrent.py`` runs the
recurrent experiments through the same code).

- seq2seq-transformer: exact-match share of the 2,000 held-out 8-digit strings reversed by
  greedy decoding and by beam search (the trainer reports per-token loss only).
- vit: Fashion-MNIST test accuracy after the experiment's epochs.

    python benchmarks/train_transformers.py [--experiments seq2seq-transformer vit] [--threads 1]
        [--epochs NAME=N ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def train(name, out, threads, epochs=None):
    from benchmarks.record import run_train
    command, wall, rows = run_train(name, out, *(["--epochs", epochs] if epochs else []),
                                    threads=threads)
    return {"command": command, "wall_s": wall, "epochs": len(rows), "curve": rows,
            "train_s": sum(r["seconds"] for r in rows), "metrics_last_epoch": rows[-1]}


def score(name, out):
    from deltagrad.train.trainer import load_run
    from deltagrad import no_grad
    setup, _ = load_run(out, "last")
    model, data = setup.model.eval(), setup.data
    with no_grad():
        if name == "seq2seq-reverse":
            from deltagrad.experiments.recurrent import seq2seq_exact_match
            return {"held_out_strings": int(len(data.x_test)),
                    "greedy_exact_match": seq2seq_exact_match(model, data)}
        if name == "seq2seq-transformer":
            from deltagrad.experiments.attention import beam_exact_match
            from deltagrad.experiments.recurrent import seq2seq_exact_match
            return {"held_out_strings": int(len(data.x_test)),
                    "greedy_exact_match": seq2seq_exact_match(model, data),
                    "beam_exact_match": beam_exact_match(model, data, beam_size=4)}
    return {}  # the last epoch's metrics (test accuracy or validation loss) are the score


def main(argv=None, default_experiments=("seq2seq-transformer", "vit"),
         default_out=os.path.join(HERE, "results", "train_transformers.json")):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--experiments", nargs="+", default=list(default_experiments))
    p.add_argument("--epochs", nargs="*", default=[], metavar="NAME=N",
                   help="train NAME for N epochs instead of its default")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=default_out)
    args = p.parse_args(argv)
    epochs = dict((k, int(v)) for k, v in (e.split("=") for e in args.epochs))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.experiments:
            out = os.path.join(tmp, name)
            r = train(name, out, args.threads, epochs.get(name))
            r.update(score(name, out))
            results[name] = r
            print(json.dumps({name: {k: v for k, v in r.items() if k != "curve"}}), flush=True)
    from benchmarks.record import provenance
    record = {**provenance(), "threads": args.threads, "results": results}
    with open(args.out, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
