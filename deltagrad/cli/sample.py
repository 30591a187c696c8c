"""``deltagrad sample RUN``: generate text with a trained character language model.

    deltagrad sample RUN [--length 500] [--temperature 0.8] [--prime TEXT] [--seed S]
                         [--weights last|best]

Draws x_{t+1} ~ softmax(z_t / T) one character at a time, feeding each draw back in; T < 1
sharpens the distribution (safer, more repetitive text), T > 1 flattens it.
"""
from __future__ import annotations

import sys


def add_parser(sub) -> None:
    s = sub.add_parser("sample", help="generate text with a trained character language model "
                       "(char-rnn, char-lstm, char-gru, char-transformer)")
    s.add_argument("run", metavar="RUN", help="run folder")
    s.add_argument("--length", type=int, default=500, help="characters to generate (500)")
    s.add_argument("--temperature", type=float, default=0.8,
                   help="softmax temperature T > 0 (0.8); 0 is greedy")
    s.add_argument("--prime", default=None, help="text to start from (default: a newline)")
    s.add_argument("--seed", type=int, default=None, help="random seed of the draws")
    s.add_argument("--weights", choices=("last", "best"), default="best",
                   help="best.npz (default) or the last checkpoint")


def cmd_sample(args) -> int:
    from ..train.run import RunError
    from ..train.trainer import load_run
    if args.length < 0:
        raise RunError(f"--length must be >= 0, got {args.length}")
    if args.temperature < 0:
        raise RunError(f"--temperature must be >= 0, got {args.temperature}")
    setup, state = load_run(args.run, args.weights, with_data=False)  # vocab.json suffices
    model = setup.model
    if not hasattr(model, "sample"):
        from ..experiments import experiments
        text = ", ".join(e.name for e in experiments() if e.text_files)
        raise RunError(f"{args.run} is a run of {setup.experiment.name!r}, which is no language "
                       f"model (sample needs a run of {text})")
    itos = list(setup.data.classes)
    stoi = {c: i for i, c in enumerate(itos)}
    prime_text = "\n" if args.prime is None else args.prime
    missing = sorted(set(prime_text) - set(stoi))
    if missing:
        raise RunError(f"--prime has characters outside the model's vocabulary: {missing!r}")
    prime = [stoi[c] for c in prime_text] if prime_text else None
    idx = model.sample(args.length, args.temperature, prime=prime, seed=args.seed)
    text = "".join(itos[i] for i in idx)
    sys.stdout.write((prime_text if args.prime is not None else "") + text + "\n")
    return 0
