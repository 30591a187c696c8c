"""``deltagrad sample RUN``: generate text with a trained character language model.

    deltagrad sample RUN [--length 500] [--temperature 0.8] [--prime TEXT] [--seed S]
                         [--weights last|best]

Draws x_{t+1} ~ softmax(z_t / T) one character at a time, feeding each draw back in; T < 1
sharpens the distribution (safer, more repetitive text), T > 1 flattens it.

A run of an image generative model (its experiment's model factory has
``sample_images(model, data, n, seed) -> images``, with ``sample_images.needs_data`` when it
needs the run's training data, and ``sample_images.ncol(data, n)`` for its own number of
columns, e.g. a conditional GAN's one row per class) gets a PNG grid of ``--n`` images
instead, written to ``--out`` (default RUN/plots/samples.png), and the path printed.
"""
from __future__ import annotations

import sys


def add_parser(sub) -> None:
    s = sub.add_parser("sample", help="generate text with a trained character language model "
                       "(char-rnn, char-lstm, char-gru, char-transformer), or an image grid "
                       "with a trained image generative model (VAEs, GANs)")
    s.add_argument("run", metavar="RUN", help="run folder")
    s.add_argument("--length", type=int, default=500, help="characters to generate (500)")
    s.add_argument("--temperature", type=float, default=0.8,
                   help="softmax temperature T > 0 (0.8); 0 is greedy")
    s.add_argument("--prime", default=None, help="text to start from (default: a newline)")
    s.add_argument("--seed", type=int, default=None, help="random seed of the draws")
    s.add_argument("--weights", choices=("last", "best"), default="best",
                   help="best.npz (default) or the last checkpoint")
    s.add_argument("--n", type=int, default=64, help="images in the grid of an image "
                   "generative model (64)")
    s.add_argument("--out", default=None, help="the grid's PNG path (default "
                   "RUN/plots/samples.png)")


def cmd_sample(args) -> int:
    from ..train.run import RunError
    from ..train.trainer import load_run
    if args.length < 0:
        raise RunError(f"--length must be >= 0, got {args.length}")
    if args.temperature < 0:
        raise RunError(f"--temperature must be >= 0, got {args.temperature}")
    images = _image_sampler(args.run)
    if images is not None:
        return _sample_grid(args, images)
    setup, state = load_run(args.run, args.weights, with_data=False)  # vocab.json suffices
    model = setup.model
    if not hasattr(model, "sample"):
        from ..experiments import experiments
        text = ", ".join(e.name for e in experiments() if e.text_files)
        images = ", ".join(e.name for e in experiments() if hasattr(e.model, "sample_images"))
        raise RunError(f"{args.run} is a run of {setup.experiment.name!r}, which is neither a "
                       f"language model ({text}) nor an image generative model ({images}): "
                       f"sample has nothing to draw; deltagrad report {args.run} shows what "
                       "the run learned")
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


def _image_sampler(run_path):
    """The run's experiment's ``sample_images`` hook, or None (a language model's run)."""
    from ..experiments import get_experiment
    from ..train.run import RunDir
    try:
        config = RunDir(run_path).read_config()
        experiment = get_experiment(config["experiment"], config.get("module"))
    except Exception:  # noqa: BLE001  (load_run below reports a missing or broken run)
        return None
    return getattr(experiment.model, "sample_images", None)


def _sample_grid(args, images) -> int:
    import os

    import numpy as np

    from ..analysis.latent import image_grid_png
    from ..train.checkpoint import atomic_write
    from ..train.run import RunDir, RunError
    from ..train.trainer import load_run
    if args.n < 1:
        raise RunError(f"--n must be >= 1, got {args.n}")
    setup, state = load_run(args.run, args.weights,
                            with_data=bool(getattr(images, "needs_data", False)))
    data = setup.data
    x = np.asarray(images(setup.model, data, args.n, 0 if args.seed is None else args.seed))
    ncol = getattr(images, "ncol", None)  # e.g. a conditional GAN: one row per class
    png = image_grid_png(x.reshape(len(x), -1), image_shape=data.image_shape,
                         ncol=ncol(data, args.n) if ncol else None,
                         title=f"{setup.experiment.name}: {args.n} samples (epoch "
                               f"{int(state['epoch'])})")
    out = args.out or os.path.join(RunDir(args.run).plots, "samples.png")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    atomic_write(out, lambda f: f.write(png))
    sys.stdout.write(out + "\n")
    return 0
