"""deltagrad sweep / cv: planning, bad inputs, resumability after SIGKILL, --jobs."""
import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from deltagrad.cli import main
from deltagrad.experiments import get_experiment
from deltagrad.experiments.data import DataBundle, with_fold
from deltagrad.train.run import RunError, make_settings
from deltagrad.train.sweep import (SweepError, cross_validate, parse_folds, parse_set, plan,
                                   sweep, threads_per_job)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXP = get_experiment("mlp-width")
# small and quick: two widths, 3 epochs on the digits (batches of 8: epochs long enough to
# be caught in the middle of a run)
ARGS = ["--set", "width=4,8", "--set", "batch_size=8", "--epochs", "3"]
PARAMS = {"width": [4, 8], "batch_size": [8]}


def _table(out):
    with open(os.path.join(out, "sweep.csv")) as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- planning
def test_plan_names_folders_and_splits_settings_from_model_kwargs():
    runs = plan(EXP, {"width": [16, 32], "lr": [1e-3, 3e-3]}, seeds=2, fixed={"epochs": 2})
    assert len(runs) == 8
    assert runs[0].name == "width=16__lr=0.001__seed=0"
    assert runs[0].overrides == {"epochs": 2, "lr": 1e-3, "seed": 0,
                                 "model_kwargs": {"width": 16}}
    assert len({r.name for r in runs}) == 8
    assert parse_set("lr=1e-3, 3e-3") == ("lr", [1e-3, 3e-3])
    assert parse_set("optimizer=sgd,adam") == ("optimizer", ["sgd", "adam"])
    assert plan(EXP, {"lr": [1]})[0].overrides["lr"] == 1.0  # the setting's type


def test_bad_inputs_are_named_errors_listing_what_is_valid():
    with pytest.raises(SweepError, match=r"unknown sweep parameter 'widht' \(did you mean "
                       r"'width'\?\).*epochs, lr, batch_size.*width, depth"):
        plan(EXP, {"widht": [1]})
    with pytest.raises(SweepError, match="'width' has an empty list"):
        plan(EXP, {"width": []})
    with pytest.raises(SweepError, match="--set width: the list of values is empty"):
        parse_set("width=")
    with pytest.raises(SweepError, match="NAME=V1,V2"):
        parse_set("width")
    with pytest.raises(SweepError, match="--jobs must be an integer >= 1, got 0"):
        sweep(EXP, {"width": [4]}, jobs=0, out="/nonexistent/never-written")
    with pytest.raises(SweepError, match="--folds must be an integer >= 2 .* or loo"):
        parse_folds(1)
    with pytest.raises(SweepError, match="--seeds N or --set seed"):
        plan(EXP, {"seed": [0, 1]}, seeds=2)
    with pytest.raises(RunError, match="no model argument height; its tunable model "
                       "arguments are: width \\(default 64\\), depth"):
        make_settings(EXP, {"model_kwargs": {"height": 3}})
    assert parse_folds("loo") == "loo" and parse_folds("5") == 5


def test_cli_bad_inputs_exit_2(capsys):
    assert main(["sweep", "mlp-width", "--set", "nope=1"]) == 2
    assert "unknown sweep parameter 'nope'" in capsys.readouterr().err
    assert main(["sweep", "mlp-width", "--set", "width=4", "--jobs", "0"]) == 2
    assert "--jobs: must be >= 1" in capsys.readouterr().err
    assert main(["cv", "mlp-width", "--folds", "1"]) == 2
    assert "--folds must be an integer >= 2 (k-fold) or loo" in capsys.readouterr().err
    assert main(["sweep", "mlp-width"]) == 2
    assert "at least one parameter" in capsys.readouterr().err


def test_threads_per_job_share_the_cores():
    assert threads_per_job(1, 16) == 16
    assert threads_per_job(3, 16) == 5
    assert threads_per_job(4, 2) == 1


# ----------------------------------------------------------------------------- folds
def test_with_fold_partitions_the_training_set():
    x = np.arange(20, dtype=np.float32)[:, None]
    data = DataBundle("toy", x, np.arange(20), x[:3], np.arange(3), classes=tuple(range(20)))
    vals = [with_fold(data, {"k": 3, "index": j}, seed=0) for j in range(3)]
    seen = np.sort(np.concatenate([v.x_val[:, 0] for v in vals]))
    assert np.array_equal(seen, np.arange(20))
    for v in vals:
        assert len(v.x_train) + len(v.x_val) == 20
        assert not set(v.x_train[:, 0]) & set(v.x_val[:, 0])
    loo = with_fold(data, {"k": "loo", "index": 7}, seed=0)
    assert loo.x_val[:, 0].tolist() == [7] and len(loo.x_train) == 19


def test_cross_validation_reports_folds_mean_and_apparent_error(tmp_path):
    r = cross_validate("mlp-width", 3, out=str(tmp_path), epochs=1,
                       fixed={"batch_size": 256}, stream=open(os.devnull, "w"))
    assert [f["fold"] for f in r["folds"]] == [0, 1, 2]
    sizes = [f["val_samples"] for f in r["folds"]]
    assert sum(sizes) == 1437 and max(sizes) - min(sizes) <= 1
    for f in r["folds"]:
        assert 0 <= f["apparent_error"] <= 1 and 0 <= f["val_error"] <= 1
    errors = [f["val_error"] for f in r["folds"]]
    assert r["mean"]["val_error"] == pytest.approx(np.mean(errors))
    assert r["std"]["val_error"] == pytest.approx(np.std(errors, ddof=1))
    assert os.path.exists(tmp_path / "cv.md") and os.path.exists(tmp_path / "cv.csv")


# ----------------------------------------------------------------------------- resumability
def _wait_mid_run(out, deadline):
    """Until a run folder has a checkpoint of an unfinished run (1 or 2 of 3 epochs)."""
    while time.time() < deadline:
        for name in ("width=4__batch_size=8__seed=0", "width=8__batch_size=8__seed=0"):
            m = os.path.join(out, name, "metrics.jsonl")
            if os.path.exists(m) and os.path.exists(os.path.join(out, name,
                                                                 "checkpoint.npz")):
                with open(m) as f:
                    done = sum(1 for line in f if line.strip())
                if 1 <= done < 3:
                    return name
        time.sleep(0.02)
    return None


@pytest.mark.slow
def test_sigkilled_sweep_rerun_and_jobs_2_give_the_same_table(tmp_path):
    quiet = open(os.devnull, "w")
    a = str(tmp_path / "a")
    full = sweep("mlp-width", PARAMS, epochs=3, out=a, jobs=1, stream=quiet)
    assert len(full.rows) == 2 and os.path.exists(full.files["test_accuracy vs width"])

    b = str(tmp_path / "b")
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "deltagrad", "sweep", "mlp-width", *ARGS,
                             "--out", b], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    killed = _wait_mid_run(b, time.time() + 120)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed is not None, "the sweep never reached the middle of a run"
    assert not os.path.exists(os.path.join(b, "sweep.csv"))
    with open(os.path.join(b, killed, "metrics.jsonl")) as f:
        unfinished = sum(1 for line in f if line.strip()) < 3
    again = sweep("mlp-width", PARAMS, epochs=3, out=b, jobs=1, stream=quiet)
    assert _table(b) == _table(a)
    assert again.rows == full.rows
    if unfinished:  # (the kill may land just after its last epoch: then it is skipped)
        with open(os.path.join(b, killed, "config.json")) as f:
            assert '"resumed"' in f.read()

    c = str(tmp_path / "c")
    sweep("mlp-width", PARAMS, epochs=3, out=c, jobs=2, stream=quiet)
    assert _table(c) == _table(a)


def test_aggregate_and_plot_against_any_swept_parameter(tmp_path):
    from deltagrad.train.sweep import aggregate, markdown_table, plot_sweep
    rows = [{"width": w, "lr": lr, "seed": s, "run": f"{w}-{lr}-{s}",
             "test_accuracy": 0.5 + w / 100 + s / 10}
            for w in (4, 8) for lr in (1e-3, 3e-3) for s in (0, 1)]
    agg = aggregate(rows, ["width", "lr", "seed"], ["test_accuracy"])
    assert len(agg) == 4 and agg[0]["n"] == 2
    assert agg[0]["test_accuracy"] == pytest.approx(0.59)
    assert agg[0]["test_accuracy_std"] == pytest.approx(np.std([0.54, 0.64], ddof=1))
    assert "| 4 | 0.001 | 2 | 0.5900 ± 0.0707 |" in markdown_table(agg, ["width", "lr", "seed"],
                                                                   ["test_accuracy"])
    path = plot_sweep(rows, "test_accuracy", "lr", str(tmp_path / "p.png"),
                      ["width", "lr", "seed"])
    assert os.path.getsize(path) > 1000
    with pytest.raises(SweepError, match="cannot plot against 'depth': it is not swept; "
                       "swept: width, lr"):
        plot_sweep(rows, "test_accuracy", "depth", str(tmp_path / "q.png"),
                   ["width", "lr", "seed"])
    with pytest.raises(SweepError, match="no metric 'val_acc'.*test_accuracy"):
        plot_sweep(rows, "val_acc", "lr", str(tmp_path / "q.png"), ["width", "lr", "seed"])


def test_cv_command_prints_folds_and_mean(tmp_path, capsys):
    assert main(["cv", "mlp-width", "--folds", "2", "--epochs", "1", "--out",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2-fold cross-validation of mlp-width on digits" in out
    assert "| mean ± std |" in out and "apparent_error" in out and "val_error" in out
    assert sorted(os.listdir(tmp_path)) == ["cv.csv", "cv.md", "fold=0", "fold=1"]


def test_a_sweep_run_folder_evaluates_and_resumes_with_its_model_arguments(tmp_path):
    from deltagrad.train.trainer import evaluate_run, load_run, train
    sweep("mlp-width", {"width": [5]}, epochs=1, out=str(tmp_path),
          stream=open(os.devnull, "w"))
    run = str(tmp_path / "width=5__seed=0")
    setup, _ = load_run(run, "best")
    assert setup.model[0].out_features == 5 and setup.settings["model_kwargs"] == {"width": 5}
    assert 0 <= evaluate_run(run)["test_accuracy"] <= 1
    rows = train(EXP, run, {"epochs": 2}, resume=True, stream=open(os.devnull, "w"))
    assert len(rows) == 2
