"""``deltagrad sweep`` and ``deltagrad cv``: many runs of one experiment
(the work is in :mod:`deltagrad.train.sweep`).

    deltagrad sweep EXPERIMENT --set width=16,32 --set lr=1e-3,3e-3 [--seeds 3] [--jobs N]
                    [--out DIR] [--epochs E] [--plot METRIC:PARAM ...]
    deltagrad cv EXPERIMENT [--folds 5|loo] [--jobs N] [--out DIR] [--epochs E]
"""
from __future__ import annotations

import argparse


def _jobs(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (the number of trainings run at once; "
                                         f"each gets cores // jobs threads), got {text}")
    return v


def _common(p, module_help) -> None:
    p.add_argument("experiment", metavar="EXPERIMENT", help="name from deltagrad list")
    p.add_argument("--module", action="append", default=[], metavar="FILE|MODULE",
                   help=module_help)
    p.add_argument("--jobs", type=_jobs, default=1,
                   help="trainings at once, each limited to cores // jobs threads (default 1)")
    p.add_argument("--out", help="folder of the run folders and tables")
    p.add_argument("--epochs", type=_jobs, help="epochs of every run (default: the "
                   "experiment's)")
    p.add_argument("--dataset", help="dataset of every run (default: the experiment's)")


def add_parser(sub) -> None:
    module_help = "a Python file or module that registers more experiments"
    s = sub.add_parser("sweep", help="train every combination of settings/model arguments "
                       "(resumable; CSV, Markdown table and plots)",
                       description="Train every combination of the --set values (and seeds) "
                       "as ordinary run folders under --out; a rerun skips finished runs and "
                       "resumes interrupted ones. Sweepable: epochs, lr, batch_size, "
                       "optimizer, seed, val_fraction, dataset and the experiment's tunable "
                       "model arguments (deltagrad list shows them).")
    _common(s, module_help)
    s.add_argument("--set", action="append", default=[], metavar="NAME=V1,V2,...",
                   dest="sets", help="a parameter and its values; may be repeated")
    s.add_argument("--seeds", type=_jobs, default=1, help="seeds 0..N-1 per combination")
    s.add_argument("--plot", action="append", default=[], metavar="METRIC:PARAM",
                   help="plot METRIC against swept PARAM (default: test accuracy against "
                   "each swept parameter)")
    c = sub.add_parser("cv", help="k-fold or leave-one-out cross-validation of an experiment",
                       description="Cross-validate on the training set: fold j trains on the "
                       "other folds and is validated on fold j. Prints per-fold and mean ± "
                       "std validation scores and the apparent (training) error.")
    _common(c, module_help)
    c.add_argument("--folds", default="5", help="k >= 2, or loo for leave-one-out "
                   "(default 5)")


def _experiment(args):
    from ..experiments import get_experiment
    from . import _load_modules
    _load_modules(args)
    return get_experiment(args.experiment)


def _fixed(args) -> dict:
    return {"dataset": args.dataset} if args.dataset else {}


def cmd_sweep(args) -> int:
    from ..train.sweep import SweepError, parse_set, sweep
    experiment = _experiment(args)
    params = {}
    for text in args.sets:
        name, values = parse_set(text)
        if name in params:
            raise SweepError(f"--set {name} is given twice; list all its values in one --set")
        params[name] = values
    plots = []
    for text in args.plot:
        metric, sep, param = text.partition(":")
        if not sep or not metric or not param:
            raise SweepError(f"--plot expects METRIC:PARAM (e.g. test_accuracy:width), got "
                             f"{text!r}")
        plots.append((metric, param))
    sweep(experiment, params, seeds=args.seeds, jobs=args.jobs,
          out=args.out or f"runs/sweep-{experiment.name}", epochs=args.epochs,
          fixed=_fixed(args), plots=plots or None)
    return 0


def cmd_cv(args) -> int:
    from ..train.sweep import cross_validate
    experiment = _experiment(args)
    cross_validate(experiment, args.folds, jobs=args.jobs,
                   out=args.out or f"runs/cv-{experiment.name}", epochs=args.epochs,
                   fixed=_fixed(args))
    return 0
