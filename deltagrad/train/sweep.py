"""Many runs of one experiment: hyper-parameter sweeps and k-fold cross-validation.

``sweep(experiment, {"width": [16, 32], "lr": [1e-3, 3e-3]}, seeds=3)`` trains every
combination × seed into an ordinary run folder ``OUT/width=16__lr=0.001__seed=0`` (each one
resumes, reports and evaluates like any ``deltagrad train`` run). A rerun of the same sweep
skips finished runs and resumes interrupted ones from their last checkpoint, so its table is
the one an uninterrupted sweep gives (a resumed run is bit-for-bit the uninterrupted one).

Swept names are run settings (:data:`SWEEPABLE_SETTINGS`) or the model factory's keyword
arguments the experiment declares in ``Experiment.tunable`` (e.g. ``width``).

With ``jobs`` > 1 every training is a subprocess; ``jobs`` of them run at once, each
limited to ``max(1, cores // jobs)`` BLAS/OpenMP threads, so they never oversubscribe the
cores (``jobs=1`` trains one run after the other in this process).

At the end: ``OUT/sweep.csv`` (one row per run: the parameters, the last epoch's metrics,
the epoch best.npz chose on the validation split and its test numbers), ``OUT/sweep.md``
(mean ± std over seeds per combination) and a plot of a metric against a swept parameter
(:func:`plot_sweep`, mean with the seeds' spread as error bars).

``cross_validate(experiment, folds=5)`` is the same machinery over the folds of
:func:`deltagrad.utils.data.splits.kfold` (``folds="loo"``: leave-one-out): per-fold and
mean ± std validation scores, and the apparent (training-fold) error of each final model.
"""
from __future__ import annotations

import csv
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .run import RunDir, RunError

SWEEPABLE_SETTINGS = ("epochs", "lr", "batch_size", "optimizer", "seed", "val_fraction",
                      "dataset")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TIMING_COLUMNS = ("seconds", "samples_per_s", "eval_seconds", "lr", "epoch")


class SweepError(RunError):
    """A bad sweep or cross-validation request (unknown name, empty values, bad --jobs)."""


@dataclass
class PlannedRun:
    """One training of a sweep: its folder name, the swept values and the overrides."""

    name: str
    params: dict
    overrides: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- planning
def parse_value(text: str):
    """``"16"`` → 16, ``"1e-3"`` → 0.001, anything else stays a string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_set(text: str) -> tuple:
    """``"width=16,32"`` → ``("width", [16, 32])`` (the ``--set`` option)."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise SweepError(f"--set expects NAME=V1,V2,... (e.g. --set width=16,32), got {text!r}")
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not items:
        raise SweepError(f"--set {name}: the list of values is empty; give at least one, "
                         f"e.g. --set {name}=V1,V2")
    return name, [parse_value(v) for v in items]


def sweepable(experiment) -> list:
    """The names a sweep of ``experiment`` may set: settings, then tunable model arguments."""
    return list(SWEEPABLE_SETTINGS) + list(getattr(experiment, "tunable", {}) or {})


def _coerce(name: str, value, default):
    """A value of the type of the setting's default (``lr=1`` → 1.0, ``epochs=2.0`` → 2)."""
    if isinstance(default, bool) or default is None:
        return value
    if isinstance(default, float) and isinstance(value, int):
        return float(value)
    if isinstance(default, int) and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_params(experiment, params: dict) -> dict:
    """Validated ``{name: [values]}``: known names, non-empty lists of distinct values."""
    valid = sweepable(experiment)
    if not isinstance(params, dict) or not params:
        raise SweepError("a sweep needs at least one parameter to vary (--set NAME=V1,V2); "
                         "sweepable: " + ", ".join(valid))
    defaults = dict(experiment.defaults(), **(getattr(experiment, "tunable", {}) or {}))
    out = {}
    for name, values in params.items():
        if name not in valid:
            from ..cli.messages import did_you_mean
            raise SweepError(f"unknown sweep parameter {name!r}" + did_you_mean(name, valid)
                             + f" for experiment {experiment.name!r}; valid names are the "
                             "settings " + ", ".join(SWEEPABLE_SETTINGS) + " and its tunable "
                             "model arguments: "
                             + (", ".join(getattr(experiment, "tunable", {}) or {}) or "none"))
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        if not values:
            raise SweepError(f"sweep parameter {name!r} has an empty list of values; give at "
                             "least one")
        values = [_coerce(name, v, defaults.get(name)) for v in values]
        if len({json.dumps(v) for v in values}) != len(values):
            raise SweepError(f"sweep parameter {name!r} repeats a value: {values}")
        out[name] = values
    return out


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SweepError(f"--{name} must be an integer >= {minimum}, got {value!r}")
    return value


def plan(experiment, params: dict, seeds: int = 1, fixed: dict | None = None) -> list:
    """Every combination of ``params`` × ``seeds`` (seeds 0 … seeds−1 unless ``seed`` is
    swept), as :class:`PlannedRun` s in a fixed order."""
    params = check_params(experiment, params)
    _check_count("seeds", seeds)
    if "seed" in params and seeds != 1:
        raise SweepError("give either --seeds N or --set seed=..., not both")
    if "seed" not in params:
        params = dict(params, seed=list(range(seeds)))
    tunable = getattr(experiment, "tunable", {}) or {}
    runs = []
    for combo in itertools.product(*params.values()):
        values = dict(zip(params, combo))
        overrides = dict(fixed or {})
        overrides.update({k: v for k, v in values.items() if k not in tunable})
        kwargs = {k: v for k, v in values.items() if k in tunable}
        if kwargs:
            overrides["model_kwargs"] = kwargs
        name = "__".join(f"{k}={_label(v)}" for k, v in values.items())
        runs.append(PlannedRun(name, values, overrides))
    return runs


# ----------------------------------------------------------------------------- running
def run_state(folder: str, epochs: int) -> str:
    """``"done"`` (all ``epochs`` in metrics.jsonl), ``"resume"`` (a checkpoint to continue
    from) or ``"fresh"`` (nothing usable: start again, replacing any partial files)."""
    run = RunDir(folder)
    if os.path.exists(run.checkpoint) and os.path.exists(run.config):
        rows = run.read_metrics(warn=lambda m: None)
        return "done" if len(rows) >= epochs else "resume"
    return "fresh"


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """BLAS/OpenMP threads of each of ``jobs`` concurrent trainings: cores // jobs, >= 1."""
    return max(1, (cores or os.cpu_count() or 1) // jobs)


def _worker_command(experiment, folder: str, overrides: dict, state: str) -> list:
    spec = {"experiment": experiment.name, "module": experiment.module, "out": folder,
            "overrides": overrides, "resume": state == "resume"}
    return [sys.executable, "-m", "deltagrad.train.sweep", "worker", json.dumps(spec)]


def run_all(experiment, runs: list, out: str, jobs: int = 1, stream=None) -> None:
    """Train every planned run not finished yet, ``jobs`` subprocesses at a time."""
    from .trainer import TrainingStopped
    _check_count("jobs", jobs)
    stream = stream if stream is not None else sys.stdout
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ)
    env.update({v: str(threads_per_job(jobs)) for v in THREAD_VARIABLES})
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    pending, running, failed = [], [], []
    for r in runs:
        folder = os.path.join(out, r.name)
        epochs = r.overrides.get("epochs", experiment.epochs)
        state = run_state(folder, epochs)
        if state == "done":
            print(f"sweep: {r.name} finished already", file=stream, flush=True)
        else:
            pending.append((r, folder, state))
    if jobs == 1:  # in this process: no start-up cost, all the cores
        for r, folder, state in pending:
            print(f"sweep: {'resuming' if state == 'resume' else 'training'} {r.name}",
                  file=stream, flush=True)
            try:
                _train_one(experiment, folder, r.overrides, state == "resume")
            except TrainingStopped as e:  # Ctrl-C, SIGTERM: the sweep continues as a whole
                raise TrainingStopped(f"sweep stopped in run {r.name}: {e}. Finished runs are "
                                      "kept; rerun the same sweep command to skip them and "
                                      "resume this one", e.exit_code) from None
            except RunError:
                raise
            except Exception as e:  # a diverged run: report it with the others
                failed.append(f"{r.name}: {type(e).__name__}: {e}")
        pending = []
    while pending or running:
        while pending and len(running) < jobs:
            r, folder, state = pending.pop(0)
            os.makedirs(folder, exist_ok=True)
            if state == "fresh":
                RunDir(folder).clear_run_files()
            log = open(os.path.join(folder, "sweep-worker.txt"), "w")
            print(f"sweep: {'resuming' if state == 'resume' else 'training'} {r.name}",
                  file=stream, flush=True)
            proc = subprocess.Popen(_worker_command(experiment, folder, r.overrides, state),
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
            running.append((proc, r, log, folder))
        time.sleep(0.05)
        for item in list(running):
            proc, r, log, folder = item
            if proc.poll() is None:
                continue
            running.remove(item)
            log.close()
            if proc.returncode != 0:
                with open(log.name, errors="replace") as f:
                    tail = f.read()[-600:].strip()
                failed.append(f"{r.name} (exit {proc.returncode}): {tail}")
    if failed:
        raise RunError(f"{len(failed)} of the sweep's runs failed; rerun the sweep to retry "
                       "them (finished runs are kept):\n" + "\n".join(failed))


def _train_one(experiment, folder: str, overrides: dict, resume: bool) -> None:
    """One training of a sweep (its output goes to the run's log.txt only)."""
    from .trainer import train
    os.makedirs(folder, exist_ok=True)
    with open(os.devnull, "w") as quiet:
        train(experiment, folder, overrides, resume=resume, force=not resume, stream=quiet,
              argv=None)


def _worker(spec_json: str) -> int:
    """``python -m deltagrad.train.sweep worker SPEC``: one training of a sweep."""
    from ..experiments import get_experiment
    spec = json.loads(spec_json)
    experiment = get_experiment(spec["experiment"], spec.get("module") or None)
    _train_one(experiment, spec["out"], spec["overrides"], spec["resume"])
    return 0


# ----------------------------------------------------------------------------- results
def run_row(folder: str) -> dict:
    """The last epoch's metrics of one run (timings left out), the epoch best.npz chose by
    the run's validation rule and that epoch's test numbers (``best_test_*``)."""
    run = RunDir(folder)
    rows = run.read_metrics(warn=lambda m: None)
    if not rows:
        raise RunError(f"{folder} has no finished epoch")
    config = run.read_config()
    selection = config.get("selection") or {"metric": "train_loss", "mode": "min"}
    values = [r[selection["metric"]] for r in rows]
    i = int(np.argmax(values) if selection["mode"] == "max" else np.argmin(values))
    out = {"epochs_done": len(rows), "best_epoch": rows[i]["epoch"]}
    out.update({k: v for k, v in rows[-1].items()
                if k not in TIMING_COLUMNS and isinstance(v, (int, float))})
    out.update({f"best_{k}": v for k, v in rows[i].items() if k.startswith("test_")})
    return out


def collect(runs: list, out: str) -> list:
    """One dict per run: its swept values, then :func:`run_row`."""
    return [dict(r.params, run=r.name, **run_row(os.path.join(out, r.name))) for r in runs]


def aggregate(rows: list, params: list, metrics: list | None = None) -> list:
    """Mean, std (over seeds, ddof 1; 0 for one seed) and count per combination of
    ``params`` (``seed`` excluded): ``{**params, "n": k, "M": mean, "M_std": std}``."""
    keys = [p for p in params if p != "seed"]
    metrics = metrics or [k for k in rows[0] if k not in params and k != "run"]
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(json.dumps(r[k]) for k in keys), []).append(r)
    out = []
    for group in groups.values():
        a = {k: group[0][k] for k in keys}
        a["n"] = len(group)
        for m in metrics:
            v = np.array([g[m] for g in group if m in g], dtype=np.float64)
            if len(v):
                a[m] = float(v.mean())
                a[f"{m}_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        out.append(a)
    return out


def write_csv(rows: list, path: str) -> None:
    columns = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def markdown_table(agg: list, params: list, metrics: list) -> str:
    """``| width | lr | n | test_accuracy | ...`` with cells ``mean ± std``."""
    keys = [p for p in params if p != "seed"]
    lines = ["| " + " | ".join(keys + ["n"] + metrics) + " |",
             "|" + "---|" * (len(keys) + 1 + len(metrics))]
    for a in agg:
        cells = [_label(a[k]) for k in keys] + [str(a["n"])]
        for m in metrics:
            cells.append(f"{a[m]:.4f} ± {a[m + '_std']:.4f}" if m in a else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_sweep(rows: list, metric: str, param: str, path: str, params: list | None = None
               ) -> str:
    """``metric`` against swept ``param``: the mean over seeds with the seeds' standard
    deviation as error bars, one line per combination of the other swept parameters."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    params = params or [k for k in rows[0] if k in {param, "seed"}]
    if param not in rows[0]:
        raise SweepError(f"cannot plot against {param!r}: it is not swept; swept: "
                         + ", ".join(p for p in params if p != "seed"))
    if metric not in rows[0]:
        raise SweepError(f"no metric {metric!r} in the sweep's table; it has: "
                         + ", ".join(k for k in rows[0] if k not in params and k != "run"))
    others = [p for p in params if p not in (param, "seed")]
    agg = aggregate(rows, params, [metric])
    fig, ax = plt.subplots(figsize=(6, 4))
    lines: dict = {}
    for a in agg:
        lines.setdefault(tuple(a[o] for o in others), []).append(a)
    for key, group in lines.items():
        xs = [a[param] for a in group]
        order = sorted(range(len(xs)), key=lambda i: xs[i]) if _numeric(xs) else range(len(xs))
        x = [xs[i] for i in order] if _numeric(xs) else [str(xs[i]) for i in order]
        label = ", ".join(f"{o}={_label(v)}" for o, v in zip(others, key)) or None
        ax.errorbar(x, [group[i][metric] for i in order],
                    yerr=[group[i][metric + "_std"] for i in order], marker="o", capsize=3,
                    label=label)
    xs = [r[param] for r in rows]
    if _numeric(xs) and min(xs) > 0 and max(xs) / min(xs) >= 20:
        ax.set_xscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel(metric)
    n = max(a["n"] for a in agg)
    ax.set_title(f"{metric} vs {param} (mean ± std over {n} seed{'s' if n > 1 else ''})")
    if others:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


@dataclass
class SweepResult:
    """The rows of a finished sweep and the files written."""

    rows: list
    aggregated: list
    params: list
    files: dict


DEFAULT_METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
                   "test_accuracy", "best_epoch", "best_test_accuracy")


def sweep(experiment, params: dict, *, seeds: int = 1, jobs: int = 1, out: str | None = None,
          epochs: int | None = None, fixed: dict | None = None,
          plots: list | None = None, stream=None) -> SweepResult:
    """Train every combination of ``params`` (``{name: [values]}``) × ``seeds`` into
    ``out/<name=value__...>`` and write ``sweep.csv``, ``sweep.md`` and the plots
    (``plots``: ``[(metric, param)]``; default: test accuracy (or loss) against each swept
    parameter). ``experiment`` is an :class:`Experiment` or its name."""
    from ..experiments import get_experiment
    if isinstance(experiment, str):
        experiment = get_experiment(experiment)
    _check_count("jobs", jobs)
    fixed = dict(fixed or {})
    if epochs is not None:
        fixed["epochs"] = _check_count("epochs", epochs)
    runs = plan(experiment, params, seeds, fixed)
    out = out or f"runs/sweep-{experiment.name}"
    stream = stream if stream is not None else sys.stdout
    run_all(experiment, runs, out, jobs, stream)
    rows = collect(runs, out)
    names = list(runs[0].params)
    metrics = [m for m in DEFAULT_METRICS if m in rows[0]] or \
        [k for k in rows[0] if k not in names and k != "run"]
    agg = aggregate(rows, names, metrics)
    files = {"csv": os.path.join(out, "sweep.csv"), "markdown": os.path.join(out, "sweep.md")}
    write_csv(rows, files["csv"])
    with open(files["markdown"], "w") as f:
        f.write(f"# sweep of {experiment.name}\n\n" + markdown_table(agg, names, metrics))
    score = "test_accuracy" if "test_accuracy" in rows[0] else "test_loss"
    plots = plots if plots is not None else [(score, p) for p in names if p != "seed"]
    for metric, param in plots:
        path = os.path.join(out, f"sweep_{metric}_vs_{param}.png")
        files[f"{metric} vs {param}"] = plot_sweep(rows, metric, param, path, names)
    print(markdown_table(agg, names, metrics), file=stream, end="")
    for k, v in files.items():
        print(f"wrote {v}" if k in ("csv", "markdown") else f"wrote {v} ({k})", file=stream)
    return SweepResult(rows, agg, names, files)


# ----------------------------------------------------------------------------- cross-validation
def parse_folds(value) -> int | str:
    """``--folds``: an int >= 2, or ``"loo"`` (leave-one-out)."""
    if isinstance(value, str) and value.strip().lower() == "loo":
        return "loo"
    try:
        k = int(value)
    except (TypeError, ValueError):
        k = None
    if k is None or isinstance(value, bool) or k < 2 or (isinstance(value, float)
                                                           and not value.is_integer()):
        raise SweepError(f"--folds must be an integer >= 2 (k-fold) or loo (leave-one-out), "
                         f"got {value!r}")
    return k


def cross_validate(experiment, folds=5, *, jobs: int = 1, out: str | None = None,
                   epochs: int | None = None, fixed: dict | None = None, stream=None
                   ) -> dict:
    """k-fold (or leave-one-out) cross-validation of ``experiment`` on its training set.

    Fold j trains on the other folds and is validated on fold j (the test set is not used
    to choose anything). Returns ``{"folds": [per-fold rows], "mean": ..., "std": ...}``
    with the last epoch's validation loss/accuracy and the apparent (training) loss and
    accuracy of the final model on its own training folds, and writes ``cv.csv``/``cv.md``.
    """
    from ..experiments import get_experiment
    from .trainer import evaluate, load_run
    if isinstance(experiment, str):
        experiment = get_experiment(experiment)
    k = parse_folds(folds)
    _check_count("jobs", jobs)
    fixed = dict(fixed or {})
    if epochs is not None:
        fixed["epochs"] = _check_count("epochs", epochs)
    dataset = fixed.get("dataset", experiment.dataset)
    if dataset == "auto":
        from ..experiments.data import resolve_dataset
        dataset = resolve_dataset(dataset)[0]
    fixed["dataset"] = dataset
    n = len(experiment.data(dataset).x_train)
    count = n if k == "loo" else k
    if count > n:
        raise SweepError(f"--folds {k}: the training set has only {n} samples")
    runs = [PlannedRun(f"fold={j}", {"fold": j}, dict(fixed, fold={"k": k, "index": j}))
            for j in range(count)]
    out = out or f"runs/cv-{experiment.name}"
    stream = stream if stream is not None else sys.stdout
    run_all(experiment, runs, out, jobs, stream)
    rows = []
    for r in runs:
        folder = os.path.join(out, r.name)
        last = RunDir(folder).read_metrics(warn=lambda m: None)[-1]
        setup, _ = load_run(folder, "last")
        apparent = evaluate(setup.model.eval(), setup.task, setup.data.x_train,
                            setup.data.y_train)
        row = {"fold": r.params["fold"], "train_samples": len(setup.data.x_train),
               "val_samples": len(setup.data.x_val), "apparent_loss": apparent["loss"],
               "val_loss": last["val_loss"]}
        if "accuracy" in apparent:
            row.update(apparent_error=1 - apparent["accuracy"],
                       val_error=1 - last["val_accuracy"],
                       val_accuracy=last["val_accuracy"])
        rows.append(row)
    metrics = [m for m in rows[0] if m not in ("fold", "train_samples", "val_samples")]
    mean = {m: float(np.mean([r[m] for r in rows])) for m in metrics}
    std = {m: float(np.std([r[m] for r in rows], ddof=1)) for m in metrics}
    write_csv(rows, os.path.join(out, "cv.csv"))
    text = (f"# {count}-fold cross-validation of {experiment.name} on {dataset}"
            + (" (leave-one-out)" if k == "loo" else "") + "\n\n| fold | "
            + " | ".join(metrics) + " |\n|" + "---|" * (len(metrics) + 1) + "\n")
    for r in rows:
        text += f"| {r['fold']} | " + " | ".join(f"{r[m]:.4f}" for m in metrics) + " |\n"
    text += "| mean ± std | " + " | ".join(f"{mean[m]:.4f} ± {std[m]:.4f}"
                                           for m in metrics) + " |\n"
    with open(os.path.join(out, "cv.md"), "w") as f:
        f.write(text)
    print(text, file=stream, end="")
    return {"folds": rows, "mean": mean, "std": std, "k": k, "dataset": dataset}


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"] and len(sys.argv) == 3:
        sys.exit(_worker(sys.argv[2]))
    print("usage: python -m deltagrad.train.sweep worker SPEC_JSON (used by deltagrad sweep)",
          file=sys.stderr)
    sys.exit(2)
