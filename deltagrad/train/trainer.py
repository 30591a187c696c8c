"""The training loop behind ``deltagrad train``: one loop for every experiment.

Per epoch: the task's step (:meth:`.tasks.Task.train_step`; for a supervised task
θ ← optimizer step on ∇_θ (1/B) Σ ℓ(f_θ(xᵢ), yᵢ)) on each mini-batch of the shuffled
training set, passed first through the experiment's ``augment`` (if any), the schedulers'
step, the task's evaluation (:meth:`.tasks.Task.evaluate`) of the validation and test
sets, then, in this order, ``best.npz`` (if the score improved), ``checkpoint.npz``
(the model, every optimizer and scheduler, the task's state) and one line of
``metrics.jsonl`` (Ctrl-C and SIGTERM wait for these three writes, see :mod:`.interrupt`).

Model selection never looks at the test set: ``best.npz`` holds the epoch with the best
score on the validation split (``val_fraction`` of the training set, held out; 0.1 by
default), or, with ``--val-fraction 0``, the lowest training loss. The rule is stored in
config.json and best.npz, and ``evaluate``/``report``/``sample`` name it.

One process trains in a run folder at a time (RUN/run.lock, :class:`.run.RunLock`). A write
that fails (a full disk) stops the run with the file's name; the last complete checkpoint
stays.

Reproducibility: ``dg.manual_seed(seed)`` before the model is built fixes the initial
weights; shuffling draws from its own ``dg.Generator`` (seeded with ``seed``); both
generators' states go into every checkpoint, so a resumed run continues with exactly the
numbers an uninterrupted one would have used (bit for bit on the CPU) as long as the
settings are unchanged. A resume with another ``--epochs`` re-plans the lr schedule for the
new length (and says so): it is then no longer the run a fresh ``--epochs N`` would give.

A non-finite loss stops training before anything is written, so the last checkpoint is the
last good one.
"""
from __future__ import annotations

import math
import os
import platform
import shlex
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..metrics import confusion_matrix
from ..tensor import from_numpy
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .interrupt import StopSignals, Stopped
from .progress import ProgressBar
from .run import (FollowerRunDir, RunDir, RunError, RunWriteError, make_settings,
                  merge_resume_settings, refuse_edited_config, writing)
from .tasks import NonFiniteLoss, get_task
from ..threads import ThreadPolicy

EVAL_BATCH = 1000


class TrainingDiverged(RuntimeError):
    """The loss became NaN or ±Inf; the last good checkpoint was kept."""


class TrainingStopped(RuntimeError):
    """Training could not go on (Ctrl-C, SIGTERM, a failed write); the message says what is
    kept and the command that continues; ``exit_code`` is 130/143 for a signal, 1 else."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Setup:
    """Everything built from a run's settings: the model (one Module; a task that trains
    several keeps them in it by name), the task's named optimizers and their schedulers."""

    experiment: object
    settings: dict
    data: object
    task: object
    model: object
    optimizers: dict = field(default_factory=dict)
    schedulers: dict = field(default_factory=dict)
    loader: object | None = None
    loader_generator: object | None = None
    ddp: object | None = None            # DistributedDataParallel around model (--distributed)
    shard: tuple | None = None           # (rank, world size) of a distributed run
    threads: object | None = None        # the ThreadPolicy polled while training (--threads)

    @property
    def optimizer(self):
        """The optimizer of a task with one (``"model"``)."""
        return self.optimizers.get("model")

    @property
    def scheduler(self):
        return self.schedulers.get("model")


# ----------------------------------------------------------------------------- building
def build_optimizer(name: str, params, lr: float, experiment):
    """``dg.optim.<Name>(params, lr=lr, **kwargs)``; the experiment's extra arguments
    (momentum, betas, ...) apply when its own optimizer is the one asked for."""
    from .. import optim
    classes = {c.lower(): getattr(optim, c) for c in dir(optim)
               if isinstance(getattr(optim, c), type) and c.lower() != "optimizer"}
    if name not in classes:
        raise RunError(f"unknown --optimizer {name!r}; deltagrad.optim has "
                       + ", ".join(sorted(classes)))
    kwargs = dict(experiment.optimizer_kwargs) if name == experiment.optimizer else {}
    return classes[name](params, lr=lr, **kwargs)


def build(settings: dict, experiment, *, for_training: bool = True) -> Setup:
    """Seed, load the data, build the model (and optimizer, scheduler and loader)."""
    from ..experiments.data import with_fold, with_validation
    from ..utils.data import DataLoader, TensorDataset

    seed = settings["seed"]
    backend.manual_seed(seed)
    data = experiment.data(settings["dataset"])
    data = (with_fold(data, settings["fold"], seed) if settings.get("fold")  # deltagrad cv
            else with_validation(data, settings["val_fraction"], seed))
    if for_training and len(data.x_train) == 0:
        held = 0 if data.x_val is None else len(data.x_val)
        raise RunError(f"{data.name} has {held} training samples, and --val-fraction "
                       f"{settings['val_fraction']:g} holds out all of them for validation; "
                       "nothing is left to train on (lower --val-fraction, or more data)")
    task = get_task(experiment.task).new()
    model = experiment.model(data, **(settings.get("model_kwargs") or {}))
    if settings["device"] != "cpu":
        model.to(settings["device"])
    setup = Setup(experiment, settings, data, task, model)
    if for_training:
        for name, params in task.optimizer_parameters(model).items():
            opt = build_optimizer(settings["optimizer"], params, settings["lr"], experiment)
            setup.optimizers[name] = opt
            if experiment.scheduler is not None:
                setup.schedulers[name] = experiment.scheduler(opt, settings)
        setup.loader_generator = backend.Generator().manual_seed(seed)
        dataset = TensorDataset(from_numpy(data.x_train),
                                from_numpy(task.target(data.y_train)))
        setup.loader = DataLoader(dataset, batch_size=settings["batch_size"], shuffle=True,
                                  generator=setup.loader_generator)
    return setup


# ----------------------------------------------------------------------------- evaluation
def batches(task, x: np.ndarray, y: np.ndarray, device="cpu", batch_size: int = EVAL_BATCH):
    """``(x, y)`` Tensors of a split in order, ``batch_size`` at a time (targets as the
    task's loss expects them)."""
    targets = task.target(y)
    for i in range(0, len(x), batch_size):
        xb, yb = from_numpy(x[i:i + batch_size]), from_numpy(targets[i:i + batch_size])
        if device != "cpu":
            xb, yb = xb.to(device), yb.to(device)
        yield xb, yb


def evaluate(model, task, x: np.ndarray, y: np.ndarray, device="cpu",
             batch_size: int = EVAL_BATCH) -> dict:
    """The task's metrics of one split (:meth:`Task.evaluate`): mean loss, and accuracy and
    predictions for classifiers."""
    return task.evaluate(model, batches(task, x, y, device, batch_size))


# ----------------------------------------------------------------------------- the loop
def _state(setup: Setup, epoch: int, history: list, best: dict) -> dict:
    """A checkpoint: the model, every optimizer and scheduler, the task's state, both RNG
    states, the history and the best epoch so far. A task with the one optimizer
    ``"model"`` stores it as ``optimizer``/``scheduler``; one with named optimizers as
    ``optimizers``/``schedulers`` ``{name: state}``."""
    def scheduler_state(sch):
        return {k: v for k, v in sch.state_dict().items() if not callable(v)}
    state = {"experiment": setup.experiment.name, "epoch": epoch, "settings": setup.settings,
             "model": dict(setup.model.state_dict())}
    if set(setup.optimizers) == {"model"}:
        state["optimizer"] = setup.optimizer.state_dict()
        state["scheduler"] = None if setup.scheduler is None else \
            scheduler_state(setup.scheduler)
    else:
        state["optimizers"] = {k: opt.state_dict() for k, opt in setup.optimizers.items()}
        state["schedulers"] = {k: scheduler_state(s) for k, s in setup.schedulers.items()}
    state.update(task=setup.task.state_dict(),
                 rng={"global": backend.get_rng_state(),
                      "loader": setup.loader_generator.get_state()},
                 history=history, best=best)
    return state


def _restore(setup: Setup, state: dict, path: str) -> None:
    if state.get("experiment") != setup.experiment.name:
        raise CheckpointError(f"{path} belongs to experiment {state.get('experiment')!r}, "
                              f"not {setup.experiment.name!r}")
    optimizers = state.get("optimizers", {"model": state.get("optimizer")})
    schedulers = state.get("schedulers", {"model": state.get("scheduler")})
    try:
        setup.model.load_state_dict(state["model"])
        if set(optimizers) != set(setup.optimizers):
            raise KeyError(f"optimizers {sorted(optimizers)}, expected "
                           f"{sorted(setup.optimizers)}")
        for name, opt in setup.optimizers.items():
            opt.load_state_dict(optimizers[name])
        for name, sch in setup.schedulers.items():
            sch.load_state_dict(schedulers[name])
        setup.task.load_state_dict(state.get("task") or {})
        backend.set_rng_state(state["rng"]["global"])
        setup.loader_generator.set_state(state["rng"]["loader"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path} does not fit this run's model/optimizer "
                              f"({type(e).__name__}: {e})") from None


def selection_rule(task, data, settings: dict) -> dict:
    """How ``best.npz`` is chosen: the metric, ``"max"``/``"min"`` and the rule in words.
    Never the test set: the validation split when there is one, else the training loss."""
    if data.x_val is not None:
        own = task.selection(data) if hasattr(task, "selection") else None  # e.g. GAN: FID
        metric, mode = own or (("val_accuracy", "max") if task.has_accuracy else
                               ("val_loss", "min"))
        rule = (f"{'highest' if mode == 'max' else 'lowest'} {metric} on the validation split "
                f"({len(data.x_val)} samples: {settings['val_fraction']:g} of the training "
                f"set, seed {settings['seed']})")
    else:
        metric, mode = "train_loss", "min"
        rule = ("lowest train_loss (mean over each epoch's batches): the run has no "
                "validation split (--val-fraction 0), and the test set is never used to choose")
    return {"metric": metric, "mode": mode, "rule": rule}


def _improves(selection: dict, row: dict, best: dict) -> bool:
    value = row[selection["metric"]]
    if not best:
        return True
    return value > best["value"] if selection["mode"] == "max" else value < best["value"]


class Printer:
    """Prints to the stream and appends the same lines to log.txt."""

    def __init__(self, run: RunDir, stream):
        self.run, self.stream = run, stream

    def __call__(self, message: str, log: bool = True) -> None:
        print(message, file=self.stream, flush=True)
        if log:
            self.run.write_log(message)


def _format_row(row: dict, epochs: int, is_best: bool = False) -> str:
    """One short line per epoch (under 80 columns): training and validation (or, without
    a validation split, test) loss and accuracy, lr and time; the rest is in metrics.jsonl."""
    parts = [f"epoch {row['epoch']}/{epochs}"]
    shown = ("train", "val") if "val_loss" in row else ("train", "test")
    for split in shown:
        if f"{split}_loss" in row:
            text = f"{split} {row[f'{split}_loss']:.4f}"
            if f"{split}_accuracy" in row:
                text += f" {row[f'{split}_accuracy']:.2%}"
            parts.append(text)
    parts += [f"lr {row['lr']:.3g}", f"{row['seconds']:.1f}s"]
    return "  ".join(parts) + ("  best" if is_best else "")


def _command(args) -> str:
    return shlex.join(str(a) for a in args)


def _continue_command(experiment, out: str, settings: dict, kept, argv) -> str:
    """The command line that carries on: ``--resume`` from a kept checkpoint, else the
    original command into the same folder with ``--force``."""
    if kept:
        args = ["deltagrad", "train", experiment.name, "--out", out, "--resume",
                "--epochs", settings["epochs"]]
        if settings.get("device", "cpu") != "cpu":
            args += ["--device", settings["device"]]
        return _command(args)
    args = list(argv or ["deltagrad", "train", experiment.name])
    if not any(a == "--out" or str(a).startswith("--out=") for a in args):
        args += ["--out", out]
    if "--force" not in args:
        args.append("--force")
    return _command(args)


@dataclass
class _Progress:
    """What is on disk, for the message of a run that stops: the epoch of the last complete
    checkpoint (None: none yet) and the epoch being trained."""

    settings: dict
    kept: int | None = None
    epoch: int | None = None
    resume: bool = False


def _prepare_fresh(run: RunDir, force: bool) -> None:
    existing = run.existing_files()
    if existing and not force:
        raise RunError(f"{run.path} is not empty (holds {', '.join(existing[:5])}"
                       f"{', ...' if len(existing) > 5 else ''}); pass --resume to continue "
                       "the run there, --force to replace its run files, or choose "
                       "another --out")


def _check_resumable(run: RunDir) -> None:
    if not os.path.isdir(run.path):
        raise RunError(f"nothing to resume: {run.path} does not exist")
    if not os.path.exists(run.checkpoint):
        raise RunError(f"nothing to resume in {run.path}: no checkpoint.npz (the run never "
                       "finished an epoch); start it again without --resume "
                       "(with --force to replace its files)")


def _prepare_resume(run: RunDir, experiment, overrides: dict) -> tuple:
    """The settings and state of the run to resume: the checkpoint's settings, with a new
    ``epochs``/``device`` from config.json or the command line; other edits are refused."""
    _check_resumable(run)
    saved = run.read_config()
    if saved["experiment"] != experiment.name:
        raise RunError(f"{run.path} is a run of experiment {saved['experiment']!r}, "
                       f"not {experiment.name!r}")
    state = load_checkpoint(run.checkpoint, kind="checkpoint")
    trained = state.get("settings") or saved["settings"]
    refuse_edited_config(saved["settings"], trained, run.config, run.checkpoint)
    if overrides.get("dataset") == "auto":
        overrides = dict(overrides, dataset=None)
    settings = merge_resume_settings(trained, overrides, saved["settings"])
    make_settings(experiment, settings)  # validate (e.g. a new --epochs)
    run.ensure_writable()
    run.remove_stale_temp_files()
    return saved, settings, state


def _replan_schedule(setup: Setup, done: int, planned: int, say) -> None:
    """A resumed run trained for another ``--epochs``: rebuild the lr schedule for the new
    length and move it to epoch ``done``, so the remaining epochs follow it (a cosine that
    had reached 0 does not train at lr 0 and climb again)."""
    if not setup.schedulers:
        return
    for name in setup.schedulers:
        opt = setup.optimizers[name]
        for group in opt.param_groups:  # the schedule starts again from the experiment's lr
            group["lr"] = group.get("initial_lr", setup.settings["lr"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # stepping the schedule without optimizer steps
            sch = setup.schedulers[name] = setup.experiment.scheduler(opt, setup.settings)
            for _ in range(done):
                sch.step()
    say(f"the lr schedule is re-planned for {setup.settings['epochs']} epochs (it was planned "
        f"for {planned}): epoch {done + 1} trains at lr {_lr(setup):.3g}. With a changed "
        "--epochs the run is not bit-for-bit the one a fresh run of that length would give")


def _libraries() -> dict:
    """Which library runs the matrix products and which the element-wise kernels: a run
    resumed with others is not bit-for-bit (``kernels/blas.py``, ``kernels/__init__.py``)."""
    from .. import kernels
    from ..kernels import blas
    libraries = {"blas": blas.get_blas(), "kernels": kernels.backend_name()}
    if libraries["blas"] == "mkl":
        from ..kernels import mkl_gemm
        if not mkl_gemm.STRICT:  # DELTAGRAD_MKL_STRICT=0: the bits depend on the thread count
            libraries["mkl_strict"] = False
    return libraries


def _lr(setup: Setup) -> float:
    """The lr of the first optimizer's first group (the one the epoch lines report)."""
    return float(next(iter(setup.optimizers.values())).param_groups[0]["lr"])


def train(experiment, out: str, overrides: dict | None = None, *, resume: bool = False,
          force: bool = False, stream=None, argv=None, distributed: bool = False,
          threads="auto") -> list:
    """Train (or resume) ``experiment`` into the folder ``out``; return the metrics rows.

    Raises :class:`RunError` for bad settings or folders (one in use by another process
    included), :class:`CheckpointError` for a bad checkpoint (left untouched),
    :class:`TrainingDiverged` for a NaN/Inf loss, :class:`TrainingStopped` for Ctrl-C,
    SIGTERM or a failed write (each saying what is kept and how to continue).

    ``distributed=True`` (in processes started by ``mpiexec``, after
    ``dg.distributed.init_process_group``): every rank trains its share of each batch through
    ``DistributedDataParallel`` (batch norm as ``SyncBatchNorm``), so the steps are those of
    one process on the whole batch; rank 0 alone prints, locks and writes the run folder.

    ``threads``: BLAS/OpenMP threads of this training, a number or ``"auto"`` (the default:
    the cores shared fairly among the trainings running at the time, re-read while training,
    see :class:`deltagrad.threads.ThreadPolicy`). It is not a setting of the run: a resumed
    run may use another count, and the numbers stay the same up to round-off.
    """
    try:
        policy = ThreadPolicy(threads)  # a bad value fails before anything is touched
    except ValueError as e:
        raise RunError(str(e)) from None
    stream = stream if stream is not None else sys.stdout
    overrides = dict(overrides or {})
    rank = 0
    if distributed:
        from ..distributed import get_rank
        rank = get_rank()
    run = RunDir(out) if rank == 0 else FollowerRunDir(out)
    if rank:
        stream = open(os.devnull, "w")
    if resume:
        _check_resumable(run)
        progress = _Progress(settings={}, resume=True)
    else:
        progress = _Progress(settings=make_settings(experiment, overrides))
        run.ensure_writable()
    with run.lock(argv) as stale, StopSignals() as stop, policy:
        try:
            return _train_locked(experiment, run, overrides, resume, force, stream, argv,
                                 stale, stop, progress, distributed, policy)
        except (Stopped, RunWriteError) as e:
            raise _stopped(e, experiment, out, run, progress, argv) from None


def _stopped(e, experiment, out, run, progress, argv) -> TrainingStopped:
    """The message of a run stopped by a signal or a failed write: what is kept, and the
    command that continues."""
    settings = progress.settings or {"epochs": None}
    if progress.kept:
        kept = (f"the last complete checkpoint (epoch {progress.kept}) is kept in "
                f"{run.checkpoint}")
        then = _continue_command(experiment, out, settings, progress.kept, argv)
    elif progress.resume:  # stopped while reading the run: nothing was changed
        kept = "the run's files are unchanged"
        then = _command(argv or ["deltagrad", "train", experiment.name, "--out", out,
                                 "--resume"])
    else:
        kept = "no epoch finished, so there is no checkpoint to continue from"
        then = _continue_command(experiment, out, settings, None, argv)
    if isinstance(e, Stopped):
        where = f"in epoch {progress.epoch}" if progress.epoch else "before the first epoch"
        msg = f"stopped by {e.name} {where}; {kept}. Continue with: {then}"
        code = 128 + e.signum
    else:
        msg = f"{e}; {kept}. Free some space, then continue with: {then}"
        code = 1
    try:
        run.write_log(msg)
    except RunWriteError:
        pass  # the disk that is full holds log.txt too
    return TrainingStopped(msg, code)


def _train_locked(experiment, run, overrides, resume, force, stream, argv, stale, stop,
                  progress, distributed=False, policy=None) -> list:
    from ..experiments.data import data_spec, resolve_dataset

    say = Printer(run, stream)
    if resume:
        saved, settings, state = _prepare_resume(run, experiment, overrides)
        progress.settings, progress.kept = settings, state["epoch"]
    else:
        _prepare_fresh(run, force)
        settings, state, saved = dict(progress.settings), None, None
    if stale:
        say(f"took over {os.path.join(run.path, 'run.lock')} from pid {stale.get('pid')} on "
            f"{stale.get('host')} (started {stale.get('since')}), which is no longer running")
    if state is not None and settings["epochs"] <= state["epoch"]:
        say(f"nothing to train: {run.path} has finished {state['epoch']} epochs and --epochs "
            f"is {settings['epochs']}; its files are unchanged. To train further, pass a "
            f"larger --epochs (e.g. --resume --epochs {state['epoch'] + 10})", log=False)
        return list(state["history"])
    # "auto" picks an image dataset; any other name was checked against experiment.datasets
    # (synthetic ones such as "xor" or "sine" are the experiment's own)
    dataset, note = (resolve_dataset(settings["dataset"]) if settings["dataset"] == "auto"
                     else (settings["dataset"], ""))
    settings["dataset"] = dataset
    progress.settings = settings

    setup = build(settings, experiment)
    setup.threads = policy
    if distributed:
        _distribute(setup, say)
    selection = selection_rule(setup.task, setup.data, settings)
    history, best = [], {}
    if state is not None:
        _restore(setup, state, run.checkpoint)
        history, best = list(state["history"]), dict(state["best"])
        say(f"resuming {experiment.name} in {run.path} after epoch {state['epoch']}")
        planned = (state.get("settings") or {}).get("epochs", settings["epochs"])
        if planned != settings["epochs"]:
            _replan_schedule(setup, state["epoch"], planned, say)
        if best and best.get("metric") != selection["metric"]:
            say(f"best.npz was chosen by {best.get('metric')}; from now on it is chosen by "
                f"{selection['rule']}")
            best = {}
        libraries = _libraries()
        if saved.get("libraries", libraries) != libraries:
            say(f"this run trained with {saved['libraries']} and resumes with {libraries}: "
                "its products and kernels round differently now, so the run is not "
                "bit-for-bit the one an uninterrupted run would give")
        resumed = list(saved.get("resumed", [])) + [
            {"after_epoch": state["epoch"], "epochs": settings["epochs"],
             "device": settings["device"], "command": argv,
             "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}]
        run.write_config(dict(saved, settings=settings, selection=selection, resumed=resumed))
        run.write_metrics(history)  # drop lines of an epoch that was never checkpointed
    else:
        if force:  # only now that the data and model are ready
            run.clear_run_files()
        run.write_config({"experiment": experiment.name, "settings": settings,
                          "task": experiment.task, "command": argv, "selection": selection,
                          "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                          "python": platform.python_version(),
                          "numpy": np.__version__, "libraries": _libraries(),
                          **({"module": experiment.module} if experiment.module else {})})
        run.write_metrics([])
        if note:
            say(note)
        data = setup.data
        say(f"training {experiment.name} on {dataset}: {len(data.x_train)} train"
            + (f" / {len(data.x_val)} val" if data.x_val is not None else "")
            + f" / {len(data.x_test)} test samples; {settings['optimizer']} lr "
            f"{settings['lr']:g}, batch {settings['batch_size']}, {settings['epochs']} epochs, "
            f"seed {settings['seed']}, device {settings['device']} -> {run.path}")
        say(f"best.npz: {selection['rule']}")
    run.write_vocab(data_spec(setup.data))  # sample/summary need no data (a copied run)
    start_epoch = len(history) + 1
    for epoch in range(start_epoch, settings["epochs"] + 1):
        progress.epoch = epoch
        with np.errstate(over="ignore", invalid="ignore"):  # a NaN/Inf is reported below
            row = _train_epoch(setup, epoch, run, say)
        history.append(row)
        improved = _improves(selection, row, best)
        with stop.deferred():  # an epoch's files are written together (or not at all)
            if improved:
                best = {"metric": selection["metric"], "value": row[selection["metric"]],
                        "epoch": epoch, "rule": selection["rule"]}
            if improved and run.writes:
                with writing(run.best):
                    save_checkpoint(run.best, {"experiment": experiment.name, "epoch": epoch,
                                               "model": dict(setup.model.state_dict()),
                                               "settings": settings, "best": best},
                                    kind="weights")
            if run.writes:
                with writing(run.checkpoint):
                    save_checkpoint(run.checkpoint, _state(setup, epoch, history, best))
            progress.kept = epoch
            run.append_metrics(row)
        say(_format_row(row, settings["epochs"], improved))
    progress.epoch = None
    if best:
        say(f"done: best {best['metric']} {best['value']:.4f} at epoch {best['epoch']} "
            f"(best.npz); run saved in {run.path}")
    return history


def _distribute(setup: Setup, say) -> None:
    """Data-parallel training on the MPI ranks: batch norm as SyncBatchNorm, the model behind
    DistributedDataParallel (rank 0's weights broadcast), each rank a contiguous share of
    every batch (``setup.shard``)."""
    from ..distributed import get_rank, get_world_size
    from ..distributed.sync_batchnorm import SyncBatchNorm
    from ..nn.parallel import DistributedDataParallel
    setup.model = SyncBatchNorm.convert_sync_batchnorm(setup.model)   # same parameters
    setup.ddp = DistributedDataParallel(setup.model)
    setup.shard = (get_rank(), get_world_size())
    say(f"distributed: {setup.shard[1]} ranks (MPI), each trains 1/{setup.shard[1]} of every "
        f"batch; gradients averaged with all-reduce; rank 0 writes the run")


def _shard(xb, yb, shard):
    """Rank r's contiguous share of a batch: rows ⌊n·r/R⌋ … ⌊n·(r+1)/R⌋ − 1."""
    rank, world = shard
    n = len(xb)
    lo, hi = n * rank // world, n * (rank + 1) // world
    return xb[lo:hi], yb[lo:hi]


def _global_means(sums: dict, seen: int) -> tuple:
    """Σ over the ranks of the per-sample sums and counts (rank 0 reports the whole epoch)."""
    from ..distributed.process_group import _group
    comm = _group("train").comm
    keys = sorted(sums)
    totals = comm.allreduce(np.array([sums[k] for k in keys] + [seen], dtype=np.float64))
    return dict(zip(keys, totals[:-1].tolist())), int(totals[-1])


def _diverged(run: RunDir, epoch: int, where: str, value: float, lr: float) -> TrainingDiverged:
    kept = (f"the last good checkpoint ({run.checkpoint}) is kept unchanged"
            if os.path.exists(run.checkpoint) else
            "no checkpoint was written (it diverged in the first epoch)")
    msg = (f"training stopped: the {where} became {value} in epoch {epoch} (lr {lr:g}); "
           f"{kept}. Try a smaller --lr.")
    run.write_log(msg)
    return TrainingDiverged(msg)


def _train_epoch(setup: Setup, epoch: int, run: RunDir, say) -> dict:
    """One pass over the shuffled training set through ``task.train_step``; then the
    schedulers' step and the evaluation of the validation and test splits."""
    s, task, model = setup.settings, setup.task, setup.model
    device = s["device"]
    augment = getattr(setup.experiment, "augment", None)
    lr = _lr(setup)
    bar = ProgressBar(len(setup.data.x_train), desc=f"epoch {epoch}/{s['epochs']}",
                      stream=say.stream)
    model.train()
    sums, seen = {}, 0
    shard = setup.shard
    step_model = setup.ddp or model
    t0 = time.perf_counter()
    try:
        for batch, (xb, yb) in enumerate(setup.loader, 1):
            if device != "cpu":
                xb, yb = xb.to(device), yb.to(device)
            if augment is not None:  # draws from the global generator: checkpointed
                xb = augment(xb)
            if shard is not None:
                xb, yb = _shard(xb, yb, shard)
            if setup.threads is not None:
                setup.threads.poll()  # another training may have started or ended
            try:
                stats = task.train_step(step_model, setup.optimizers, (xb, yb))
            except NonFiniteLoss as e:
                raise _diverged(run, epoch, f"training loss (batch {batch})", e.value,
                                lr) from None
            n = len(xb)
            seen += n
            for k, v in stats.items():  # means over the samples seen so far
                sums[k] = sums.get(k, 0.0) + v * n
            bar.update(n, **{("acc" if k == "accuracy" else k): v / seen
                             for k, v in sums.items()})
    finally:  # also on Ctrl-C: the terminal line is left clean for the message
        bar.close()
    seconds = time.perf_counter() - t0
    if shard is not None:
        sums, seen = _global_means(sums, seen)
    for sch in setup.schedulers.values():
        sch.step()
    row = {"epoch": epoch}
    row.update({f"train_{k}": v / seen for k, v in sums.items()})
    data = setup.data
    splits = [("val", data.x_val, data.y_val)] if data.x_val is not None else []
    if hasattr(task, "evaluating_epoch"):  # e.g. the RBM's AIS runs after the last epoch only
        task.evaluating_epoch(epoch, s["epochs"])
    t1 = time.perf_counter()
    for split, x, y in splits + [("test", data.x_test, data.y_test)]:
        r = evaluate(model, task, x, y, device)
        if not math.isfinite(r["loss"]):
            raise _diverged(run, epoch, f"{split} loss", r["loss"], lr)
        row[f"{split}_loss"] = r["loss"]
        if hasattr(task, "split_metrics"):  # e.g. the language model's perplexity
            row.update(task.split_metrics(split, r["loss"]))
        row.update({f"{split}_{k}": v for k, v in r.items()
                    if k != "loss" and isinstance(v, (int, float))})
    row.update(lr=lr, seconds=seconds, samples_per_s=seen / max(seconds, 1e-9),
               eval_seconds=time.perf_counter() - t1)
    return row


# ----------------------------------------------------------------------------- finished runs
WEIGHTS = {"last": "checkpoint", "best": "best"}


def load_run(path: str, weights: str = "best", *, with_data: bool = True) -> tuple:
    """Rebuild a run's model and data from its folder and load its ``last`` (checkpoint.npz)
    or ``best`` (best.npz, the default) weights; returns ``(setup, state)``. A config.json
    edited after training is refused (:func:`.run.refuse_edited_config`). ``with_data=False``
    builds the model from RUN/vocab.json alone (``setup.data`` has classes and shapes, no
    samples), so a run copied away from its data can still be sampled and summarised;
    ``weights=None`` loads no weights (the architecture of a run that finished no epoch) and
    returns an empty state."""
    from ..experiments import get_experiment
    from ..experiments.data import bundle_from_spec

    run = RunDir(path)
    if not os.path.isdir(run.path):
        raise RunError(f"no run folder at {run.path}")
    config = run.read_config()
    if weights is not None and weights not in WEIGHTS:
        raise RunError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    state, file = {}, None
    if weights is not None:
        file = getattr(run, WEIGHTS[weights])
        if not os.path.exists(file):
            raise RunError(f"{run.path} has no {os.path.basename(file)} yet (no epoch "
                           "finished)")
        state = load_checkpoint(file, kind="checkpoint" if weights == "last" else "weights")
    experiment = get_experiment(config["experiment"], config.get("module"))
    trained = state.get("settings")  # (a best.npz of an older deltagrad has none)
    if trained:
        refuse_edited_config(config["settings"], trained, run.config, file)
    settings = dict(trained or config["settings"], device=config["settings"]["device"])
    spec = None if with_data else run.read_vocab()
    if spec is None:
        setup = build(settings, experiment, for_training=False)
    else:
        try:
            data = bundle_from_spec(spec)
        except ValueError as e:
            raise RunError(f"{run.vocab}: {e}") from None
        backend.manual_seed(settings["seed"])
        setup = Setup(experiment, settings, data, get_task(experiment.task),
                      experiment.model(data, **(settings.get("model_kwargs") or {})))
    if weights is None:
        return setup, state
    try:
        setup.model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as e:
        raise CheckpointError(f"{file} does not fit the model of {experiment.name!r} "
                              f"({e})") from None
    return setup, state


def describe_weights(state: dict, weights: str) -> str:
    """Which weights a command uses and how they were chosen, in words."""
    epoch = int(state["epoch"])
    if weights == "last":
        return f"last weights (checkpoint.npz, epoch {epoch}: the last finished epoch)"
    best = state.get("best") or {}
    metric = str(best.get("metric", "?"))
    if metric.startswith("test_"):
        return (f"best weights (best.npz, epoch {epoch}), chosen by {metric} on the test set "
                "by an older deltagrad: their test numbers are optimistic")
    return f"best weights (best.npz, epoch {epoch}), chosen by the {best.get('rule', metric)}"


def evaluate_run(path: str, weights: str = "best") -> dict:
    """Test-set numbers of a finished (or interrupted) run: a JSON-ready dict, plus the
    NumPy array ``predictions`` for classifiers."""
    setup, state = load_run(path, weights)
    return evaluate_loaded(setup, state, path, weights)


def evaluate_loaded(setup: Setup, state: dict, path: str, weights: str) -> dict:
    """:func:`evaluate_run` for a run already loaded by :func:`load_run`."""
    data, task = setup.data, setup.task
    r = evaluate(setup.model, task, data.x_test, data.y_test, setup.settings["device"])
    out = {"run": os.path.abspath(path), "experiment": setup.experiment.name,
           "dataset": data.name, "weights": weights, "epoch": int(state["epoch"]),
           "selection": describe_weights(state, weights),
           "test_samples": int(len(data.x_test)), "test_loss": r["loss"]}
    if task.has_accuracy:
        out["test_accuracy"] = r["accuracy"]
        out["classes"] = list(data.classes)
        out["confusion_matrix"] = confusion_matrix(r["predictions"], data.y_test,
                                                   num_classes=len(data.classes)).tolist()
        out["predictions"] = r["predictions"]
    return out
