"""train -> evaluate --json -> report on the digits data, in a temporary folder."""
import base64
import io
import json
import re

import numpy as np
import pytest

from deltagrad.train.checkpoint import load_checkpoint

from .conftest import FAST, cli

EPOCH_KEYS = {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr",
              "seconds", "samples_per_s"}


def test_list_names_every_experiment():
    r = cli("list", "--wide")       # full lines (plain `list` fits them to the terminal)
    assert r.code == 0
    lines = r.out.strip().splitlines()
    names = [line.split()[0] for line in lines]
    assert {"mlp", "softmax-regression", "logistic-regression"} <= set(names)
    mlp = next(line for line in lines if line.startswith("mlp "))
    assert "Fashion-MNIST" in mlp and "adam" in mlp


def test_train_writes_the_run_folder(trained_run):
    files = {p.name for p in trained_run.iterdir()}
    assert {"config.json", "metrics.jsonl", "checkpoint.npz", "best.npz", "log.txt"} <= files
    config = json.loads((trained_run / "config.json").read_text())
    assert config["experiment"] == "mlp"
    assert config["settings"]["dataset"] == "digits"
    assert config["settings"]["batch_size"] == 64 and config["settings"]["epochs"] == 2
    rows = [json.loads(x) for x in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    for r in rows:
        assert EPOCH_KEYS <= set(r)
        assert 0 <= r["test_accuracy"] <= 1
    # cosine schedule over 2 epochs: η = ½ η₀ (1 + cos(π t / 2)) for t = 0, 1
    assert [r["lr"] for r in rows] == [2e-3, pytest.approx(1e-3, rel=1e-6)]
    assert rows[1]["train_loss"] < rows[0]["train_loss"]
    assert rows[1]["test_accuracy"] > 0.5   # 10 classes: chance is 0.1
    state = load_checkpoint(str(trained_run / "checkpoint.npz"))
    assert state["epoch"] == 2 and state["history"] == rows
    log = (trained_run / "log.txt").read_text()
    assert "epoch 2/2" in log


def test_evaluate_json_matches_the_last_epoch(trained_run):
    r = cli("evaluate", trained_run, "--json", "--weights", "last")
    assert r.code == 0, r
    result = json.loads(r.out)          # exactly one JSON object on stdout
    last = json.loads((trained_run / "metrics.jsonl").read_text().splitlines()[-1])
    assert result["epoch"] == 2
    assert result["test_accuracy"] == pytest.approx(last["test_accuracy"], abs=0)
    assert result["test_loss"] == pytest.approx(last["test_loss"], rel=1e-6)
    cm = np.array(result["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == result["test_samples"] == 360
    assert np.trace(cm) / cm.sum() == pytest.approx(result["test_accuracy"])
    assert result["classes"] == [str(d) for d in range(10)]


def test_evaluate_text_shows_the_confusion_matrix(trained_run):
    r = cli("evaluate", trained_run, "--weights", "best")
    assert r.code == 0, r
    assert re.search(r"test_accuracy 0\.\d{4}", r.out)
    assert "confusion matrix" in r.out


def _pngs_in(html):
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_report_embeds_decodable_figures(trained_run):
    from PIL import Image
    r = cli("report", trained_run)
    assert r.code == 0, r
    html = (trained_run / "report.html").read_text()
    pngs = _pngs_in(html)
    assert len(pngs) == html.count("<img") >= 3  # curves, confusion matrix, predictions
    for png in pngs:
        img = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
        assert img.shape[0] > 50 and img.shape[1] > 50
        assert img.std() > 5                     # not a blank canvas
    for name in ("curves", "confusion", "predictions_correct"):
        assert (trained_run / "plots" / f"{name}.png").stat().st_size > 1000
        assert f'id="{name}"' in html


def test_other_experiments_train_on_digits(tmp_path):
    r = cli("train", "logistic-regression", *FAST, "--epochs", 4, "--out", tmp_path / "lr")
    assert r.code == 0, r
    e = json.loads(cli("evaluate", tmp_path / "lr", "--json").out)
    assert e["classes"] == ["3", "8"] and np.array(e["confusion_matrix"]).shape == (2, 2)
    assert e["test_accuracy"] > 0.9
    r = cli("train", "softmax-regression", *FAST, "--epochs", 2, "--out", tmp_path / "sm",
            "--val-fraction", "0.2")
    assert r.code == 0, r
    rows = [json.loads(x) for x in (tmp_path / "sm" / "metrics.jsonl").read_text().splitlines()]
    assert "val_accuracy" in rows[0] and rows[-1]["test_accuracy"] > 0.8
    assert "best val_accuracy" in r.out


def test_summary_is_handed_to_the_analysis_package(monkeypatch):
    import deltagrad.analysis as analysis
    seen = []
    monkeypatch.setattr(analysis, "summary_cli", lambda args: seen.append(args) or 0,
                        raising=False)
    r = cli("summary", "mlp", "--input-size", "1", "784", "--help")
    assert r.code == 0 and seen == [["mlp", "--input-size", "1", "784", "--help"]]
    monkeypatch.setattr(analysis, "trace_cli", lambda args: seen.append(args) or 0)
    r = cli("trace", "--sizes", "2,1", "--help")
    assert r.code == 0 and seen[-1] == ["--sizes", "2,1", "--help"]


def test_help_and_usage_errors():
    r = cli("--help")
    assert r.code == 0 and all(c in r.out for c in ("list", "train", "evaluate", "report",
                                                     "summary"))
    r = cli()  # like git: the listing of the commands, and the usage-error status
    assert r.code == 2 and all(c in r.out for c in ("list", "train", "summary", "--version"))
    r = cli("fly")
    assert r.code == 2 and "invalid choice: 'fly'" in r.err


def test_report_without_matplotlib_says_how_to_get_it(trained_run, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    r = cli("report", trained_run)
    assert r.code == 1 and "pip install matplotlib" in r.err
