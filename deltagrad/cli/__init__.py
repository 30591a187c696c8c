"""The ``deltagrad`` command.

::

    deltagrad list
    deltagrad train EXPERIMENT [--dataset D] [--epochs N] [--batch-size B] [--lr LR]
                    [--optimizer NAME] [--seed S] [--val-fraction F] [--device cpu|cuda]
                    [--out DIR] [--resume | --force]
    deltagrad evaluate RUN [--weights last|best] [--json]
    deltagrad report RUN [--weights last|best]
    deltagrad summary ...            (deltagrad.analysis.summary_cli)
    deltagrad trace ...              (deltagrad.analysis.trace_cli)
    deltagrad pgm student|misconception  (deltagrad.cli.pgm: the notes' graphical models)
    deltagrad interpret RUN --method M   (deltagrad.interpret.cli: seeing inside a CNN)
    deltagrad run-torch script.py [args...]  (a PyTorch program with torch = deltagrad)
    deltagrad sweep EXPERIMENT --set NAME=V1,V2 [--seeds N] [--jobs N]  (deltagrad.cli.sweep)
    deltagrad cv EXPERIMENT --folds 5|loo    (k-fold / leave-one-out cross-validation)

Exit status: 0 success, 1 a run that failed (diverged, corrupted checkpoint, missing data),
2 a usage error (unknown experiment, bad number, folder in use).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


from .messages import Parser as _Parser, error_line, fit, parse_arguments, plain


def _number(kind, accept, requirement):
    """An argparse ``type``: parse ``kind`` (int or float), then check ``accept(v)``; errors
    say what was expected (a whole number / a number) and the requirement."""
    what = "a whole number" if kind is int else "a number"

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not accept(v):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return v
    return parse


_positive_int = _number(int, lambda v: v >= 1, ">= 1")
_nonnegative_int = _number(int, lambda v: v >= 0, ">= 0")
_positive_float = _number(float, lambda v: 0 < v < float("inf"), "a positive finite number")
_fraction = _number(float, lambda v: 0 <= v < 1, "in [0, 1)")


def _threads(text):
    """``--threads``: a positive whole number or ``auto``."""
    from ..threads import parse_threads
    try:
        return parse_threads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number or 'auto', "
                                         f"got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    p = _Parser(prog="deltagrad", description="Train, evaluate and inspect the course's "
                "models with deltagrad (a NumPy deep-learning framework).",
                epilog="deltagrad COMMAND --help describes one command. Exit status: 0 ok, "
                "1 the run failed, 2 a usage error.")
    p.add_argument("--version", action="version", version=f"deltagrad {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    module_help = ("a Python file (my_experiments.py) or module (package.module) that "
                   "registers more experiments; may be repeated")
    li = sub.add_parser("list", help="list the registered experiments",
                        description="List the registered experiments, one line each (cut to "
                        "the terminal's width; --wide for whole lines).")
    li.add_argument("--module", action="append", default=[], metavar="FILE|MODULE",
                    help=module_help)
    li.add_argument("--wide", action="store_true", help="do not cut lines to the terminal")

    t = sub.add_parser("train", help="train an experiment into a run folder",
                       description="Train a registered experiment. Settings not given come "
                       "from the experiment (see deltagrad list). A run folder holds "
                       "config.json, vocab.json, metrics.jsonl, checkpoint.npz, best.npz "
                       "and log.txt.")
    t.add_argument("experiment", metavar="EXPERIMENT", help="name from deltagrad list")
    t.add_argument("--module", action="append", default=[], metavar="FILE|MODULE",
                   help=module_help)
    t.add_argument("--dataset", help="fashion-mnist, digits or auto (default: the "
                   "experiment's; auto = Fashion-MNIST when installed, else digits)")
    t.add_argument("--data", metavar="FILE", help="a UTF-8 text file to train a character "
                   "model on instead of Tiny Shakespeare (text experiments only)")
    t.add_argument("--epochs", type=_positive_int, help="number of epochs (total, also when "
                   "resuming)")
    t.add_argument("--batch-size", type=_positive_int, dest="batch_size")
    t.add_argument("--lr", type=_positive_float, help="learning rate")
    t.add_argument("--optimizer", type=str.lower, help="sgd, adam, adamw, rmsprop, ...")
    t.add_argument("--seed", type=_nonnegative_int)
    t.add_argument("--val-fraction", type=_fraction, dest="val_fraction",
                   help="share of the training set held out for validation (default: the "
                   "experiment's)")
    t.add_argument("--device", help="cpu (default) or cuda (needs CuPy)")
    t.add_argument("--out", help="run folder (default: runs/EXPERIMENT-YYYYmmdd-HHMMSS)")
    t.add_argument("--threads", type=_threads, default="auto", metavar="N|auto",
                   help="BLAS/OpenMP threads of this training (default auto: the cores "
                   "shared fairly among the deltagrad trainings running at the time)")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel training on MPI ranks: start with mpiexec -n N python "
                   "-m mpi4py -m deltagrad train ... --distributed (rank 0 writes the run)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")
    g.add_argument("--force", action="store_true",
                   help="train into a non-empty --out, replacing the run files there")

    e = sub.add_parser("evaluate", help="test loss/accuracy and confusion matrix of a run")
    e.add_argument("run", metavar="RUN", help="run folder")
    e.add_argument("--weights", choices=("last", "best"), default="best",
                   help="best.npz (default: the epoch chosen on the validation split, as "
                   "report and sample use) or the last checkpoint")
    e.add_argument("--json", action="store_true", help="print one JSON object")

    r = sub.add_parser("report", help="write RUN/report.html (curves, confusion matrix, "
                       "predictions)")
    r.add_argument("run", metavar="RUN", help="run folder")
    r.add_argument("--weights", choices=("last", "best"), default="best",
                   help="weights for the confusion matrix and predictions (default best)")

    from .sample import add_parser as _add_sample_parser  # deltagrad sample (recurrent LMs)
    _add_sample_parser(sub)
    from .export import add_parser as _add_export_parser  # deltagrad export RUN --format ...
    _add_export_parser(sub)
    from .pgm import add_parser as _add_pgm_parser  # deltagrad pgm student|misconception
    _add_pgm_parser(sub)
    from .interpret import add_parser as _add_interpret_parser  # deltagrad interpret RUN ...
    _add_interpret_parser(sub)
    from .run_torch import add_parser as _add_run_torch_parser  # deltagrad run-torch FILE ...
    _add_run_torch_parser(sub)
    from .sweep import add_parser as _add_sweep_parser  # deltagrad sweep / cv EXPERIMENT ...
    _add_sweep_parser(sub)

    sub.add_parser("summary", help="layer table of a model, experiment or run (shapes, "
                   "parameters, FLOPs, receptive field)")
    sub.add_parser("trace", help="step-by-step backpropagation of a small network in the notes' "
                   "notation")
    return p


# ----------------------------------------------------------------------------- commands
def _load_modules(args) -> None:
    """The user's --module files, and installed packages' experiments (entry points)."""
    from ..experiments import ExperimentModuleError, load_entry_points, load_module
    from .messages import warning
    load_entry_points(warn=warning)
    for source in getattr(args, "module", None) or []:
        try:
            load_module(source)
        except ExperimentModuleError as e:
            raise _Usage(str(e)) from None


def cmd_list(args) -> int:
    from ..experiments import experiments
    _load_modules(args)
    exps = experiments()
    width = max(len(e.name) for e in exps)
    for e in exps:
        tunable = ", ".join(f"{k}={v!r}" for k, v in (e.tunable or {}).items())
        line = plain(f"{e.name:<{width}}  {e.summary}; {e.task}, {e.optimizer} lr {e.lr:g}, "
                     f"{e.epochs} epochs" + (f", tunable {tunable}" if tunable else "")
                     + f" -- {e.shows}")
        cut = not args.wide and (sys.stdout.isatty() or "COLUMNS" in os.environ)
        print(fit(line) if cut else line)
    return EXIT_OK


def cmd_train(args) -> int:
    from ..experiments import get_experiment
    from ..train.trainer import train

    _load_modules(args)
    experiment = get_experiment(args.experiment, _saved_module(args))
    if args.resume and not args.out:
        raise _Usage("--resume needs --out RUN (the folder of the run to continue)")
    out = args.out or f"runs/{experiment.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    overrides = {k: getattr(args, k) for k in ("dataset", "epochs", "batch_size", "lr",
                                               "optimizer", "seed", "val_fraction", "device")}
    if args.data is not None:
        overrides["dataset"] = _text_file_dataset(experiment, args)
    if args.distributed:
        from ..distributed import init_process_group, is_initialized
        if not is_initialized():
            init_process_group(backend="mpi")
    train(experiment, out, overrides, resume=args.resume, force=args.force,
          argv=["deltagrad"] + list(args.argv), distributed=args.distributed,
          threads=args.threads)
    return EXIT_OK


def _saved_module(args):
    """The user module a resumed run's experiment came from (RUN/config.json), if any."""
    if not (args.resume and args.out):
        return None
    try:
        with open(os.path.join(args.out, "config.json"), encoding="utf-8") as f:
            module = json.load(f).get("module")
    except (OSError, ValueError, AttributeError):
        return None  # the resume itself reports a missing or broken config
    return module if isinstance(module, str) else None


def _text_file_dataset(experiment, args) -> str:
    """The dataset setting of ``--data FILE``: the file's absolute path, once it is known to
    be a readable, non-empty UTF-8 text file and the experiment to train on text."""
    from ..datasets.text import read_text_file
    from ..experiments import experiments
    if not experiment.text_files:
        text = ", ".join(e.name for e in experiments() if e.text_files)
        raise _Usage(f"--data FILE is for the text experiments ({text}); "
                     f"{experiment.name!r} trains on " + ", ".join(experiment.datasets)
                     + " (choose with --dataset)")
    if args.dataset is not None:
        raise _Usage("give --data FILE or --dataset, not both")
    try:
        read_text_file(args.data, "--data")
    except (OSError, ValueError) as e:
        raise _Usage(str(e)) from None
    return os.path.abspath(args.data)


def _format_confusion(matrix, classes) -> str:
    """Counts in columns as wide as the largest count (10 classes fit 80 columns); each
    row's class name after it."""
    labels = [str(c)[:16] for c in classes]
    w = max(3, len(str(max(max(r) for r in matrix))), len(str(len(classes) - 1)))
    lines = ["confusion matrix (rows: true class, columns: predicted class)",
             "   " + " ".join(f"{i:>{w}}" for i in range(len(classes)))]
    for i, (label, row) in enumerate(zip(labels, matrix)):
        lines.append(f"{i:>2} " + " ".join(f"{v:>{w}}" for v in row) + f"  {label}")
    return "\n".join(lines)


def cmd_evaluate(args) -> int:
    from ..train.trainer import evaluate_run
    r = evaluate_run(args.run, args.weights)
    r.pop("predictions", None)
    if args.json:
        print(json.dumps(r))
        return EXIT_OK
    print(f"{r['experiment']} on {r['dataset']}, {r['test_samples']} test samples")
    print(f"weights: {r['selection']}")
    print(f"test_loss {r['test_loss']:.4f}")
    if "test_accuracy" in r:
        print(f"test_accuracy {r['test_accuracy']:.4f}")
        print(_format_confusion(r["confusion_matrix"], r["classes"]))
    return EXIT_OK


def cmd_report(args) -> int:
    from ..report import write_report
    path = write_report(args.run, weights=args.weights,
                        warn=lambda m: print(f"deltagrad: warning: {m}", file=sys.stderr))
    print(f"wrote {path}")
    return EXIT_OK


def cmd_summary(args) -> int:
    from ..analysis import summary_cli
    return int(summary_cli(list(args.args)) or 0)


def cmd_trace(args) -> int:
    from ..analysis import trace_cli
    return int(trace_cli(list(args.args)) or 0)


COMMANDS = {"list": cmd_list, "train": cmd_train, "evaluate": cmd_evaluate,
            "report": cmd_report, "summary": cmd_summary, "trace": cmd_trace}
from .sample import cmd_sample as _cmd_sample  # noqa: E402
COMMANDS["sample"] = _cmd_sample
from .export import cmd_export as _cmd_export  # noqa: E402
COMMANDS["export"] = _cmd_export
from .pgm import cmd_pgm as _cmd_pgm  # noqa: E402
COMMANDS["pgm"] = _cmd_pgm
from .interpret import cmd_interpret as _cmd_interpret  # noqa: E402
COMMANDS["interpret"] = _cmd_interpret
from .run_torch import cmd_run_torch as _cmd_run_torch  # noqa: E402
COMMANDS["run-torch"] = _cmd_run_torch
from .sweep import cmd_cv as _cmd_cv, cmd_sweep as _cmd_sweep  # noqa: E402
COMMANDS["sweep"], COMMANDS["cv"] = _cmd_sweep, _cmd_cv


class _Usage(Exception):
    """A usage mistake found after parsing."""


def main(argv=None) -> int:
    """Entry point of the ``deltagrad`` console script; returns the exit status."""
    from ..experiments import DatasetUnavailable, ExperimentModuleError, UnknownExperiment
    from ..report.plots import MissingDependency
    from ..train.checkpoint import CheckpointError
    from ..train.run import RunError
    from ..train.run import RunWriteError
    from ..train.trainer import TrainingDiverged, TrainingStopped

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:  # like git: what can I do here?
        build_parser().print_help()
        return EXIT_USAGE
    if argv[:1] in (["summary"], ["trace"], ["run-torch"]):  # their own options, even --help
        args = argparse.Namespace(command=argv[0], args=argv[1:])
    else:
        args, status = parse_arguments(build_parser(), argv)
        if args is None:
            return status
    args.argv = argv
    try:
        return COMMANDS[args.command](args)
    except (_Usage, UnknownExperiment, RunError, ExperimentModuleError) as e:
        print(error_line(e), file=sys.stderr)
        return EXIT_USAGE
    except (CheckpointError, TrainingDiverged, DatasetUnavailable, MissingDependency,
            RunWriteError) as e:
        print(error_line(e), file=sys.stderr)
        return EXIT_FAILED
    except TrainingStopped as e:  # Ctrl-C, SIGTERM (130, 143) or a failed write (1)
        print(error_line(e), file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # deltagrad list | head
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:  # (train says what it kept: TrainingStopped above)
        print(error_line("interrupted"), file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """After a closed pipe: send what Python still flushes at exit to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
