"""A run directory and its settings.

::

    RUN/config.json      the resolved settings (experiment, dataset, epochs, lr, seed, ...)
    RUN/vocab.json       the data's classes (a character model's vocabulary) and shapes:
                         enough to rebuild the model without the data (sample, summary)
    RUN/metrics.jsonl    one JSON object per finished epoch
    RUN/checkpoint.npz   model + optimizer + scheduler + RNG states + history (every epoch)
    RUN/best.npz         the weights with the best validation (or test) score so far
    RUN/log.txt          what was printed, with times
    RUN/report.html      written by ``deltagrad report RUN`` (PNGs in RUN/plots/)

Settings come from the experiment's defaults, overridden by the command line; a resumed run
takes them from its config.json (only ``epochs`` and ``device`` may change).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time

from .. import backend
from .checkpoint import atomic_write

RUN_FILES = ("config.json", "vocab.json", "metrics.jsonl", "checkpoint.npz", "best.npz",
             "log.txt", "report.html", "plots")
RESUMABLE_CHANGES = ("epochs", "device")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")


class RunError(RuntimeError):
    """A user mistake about a run (bad setting, folder in use, nothing to resume)."""


class RunDir:
    """Paths and small file helpers of one run directory."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)

    def __getattr__(self, name):
        files = {"config": "config.json", "vocab": "vocab.json", "metrics": "metrics.jsonl",
                 "checkpoint": "checkpoint.npz", "best": "best.npz", "log": "log.txt",
                 "report": "report.html", "plots": "plots"}
        if name in files:
            return os.path.join(self.path, files[name])
        raise AttributeError(name)

    # ------------------------------------------------------------------ checks
    def ensure_writable(self) -> None:
        """Create the folder and prove a file can be written there, before any training."""
        try:
            os.makedirs(self.path, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.path, prefix=".write-test-"):
                pass
        except OSError as e:
            raise RunError(f"cannot write to the output folder {self.path}: "
                           f"{e.strerror or e}") from None

    def existing_files(self) -> list:
        if not os.path.isdir(self.path):
            return []
        return sorted(f for f in os.listdir(self.path) if not f.startswith(".write-test-"))

    def remove_stale_temp_files(self) -> None:
        """Delete half-written temp files a killed run left behind (``NAME.xxxx.tmp``)."""
        for f in self.existing_files():
            if f.endswith(".tmp") and f.split(".")[0] + "." + f.split(".")[1] in RUN_FILES:
                os.unlink(os.path.join(self.path, f))

    def clear_run_files(self) -> None:
        """Remove the files deltagrad writes (``--force``); anything else stays."""
        for name in RUN_FILES:
            p = os.path.join(self.path, name)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.unlink(p)

    # ------------------------------------------------------------------ files
    def read_config(self) -> dict:
        if not os.path.isdir(self.path):
            raise RunError(f"no run folder at {self.path}")
        try:
            with open(self.config) as f:
                return json.load(f)
        except FileNotFoundError:
            raise RunError(f"{self.path} is not a deltagrad run (no config.json)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RunError(f"{self.config} is corrupted ({e})") from None

    def write_config(self, config: dict) -> None:
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        atomic_write(self.config, lambda f: f.write(text.encode()))

    def write_vocab(self, spec: dict) -> None:
        """RUN/vocab.json: :func:`deltagrad.experiments.data.data_spec` of the run's data."""
        text = json.dumps(spec, ensure_ascii=False, indent=1) + "\n"
        atomic_write(self.vocab, lambda f: f.write(text.encode("utf-8")))

    def read_vocab(self) -> dict | None:
        """RUN/vocab.json, or None for a run written before it existed."""
        if not os.path.exists(self.vocab):
            return None
        try:
            with open(self.vocab, encoding="utf-8") as f:
                return json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RunError(f"{self.vocab} is corrupted ({e})") from None

    def read_metrics(self) -> list:
        if not os.path.exists(self.metrics):
            return []
        with open(self.metrics) as f:
            return [json.loads(line) for line in f if line.strip()]

    def write_metrics(self, rows: list) -> None:
        text = "".join(json.dumps(r) + "\n" for r in rows)
        atomic_write(self.metrics, lambda f: f.write(text.encode()))

    def append_metrics(self, row: dict) -> None:
        with open(self.metrics, "a") as f:
            f.write(json.dumps(row) + "\n")

    def write_log(self, message: str) -> None:
        with open(self.log, "a") as f:
            for line in message.splitlines() or [""]:
                f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


# ----------------------------------------------------------------------------- settings
def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RunError(f"--{name.replace('_', '-')} must be an integer >= {minimum}, "
                       f"got {value!r}")


def validate_settings(s: dict, experiment) -> None:
    """Reject settings that cannot train, with the option's name in the message."""
    _check_int("epochs", s["epochs"], 1)
    _check_int("batch_size", s["batch_size"], 1)
    _check_int("seed", s["seed"], 0)
    lr = s["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) \
            or lr <= 0:
        raise RunError(f"--lr must be a positive finite number, got {lr!r}")
    vf = s["val_fraction"]
    if not isinstance(vf, (int, float)) or not 0 <= vf < 1:
        raise RunError(f"--val-fraction must be in [0, 1), got {vf!r}")
    if s["optimizer"] not in OPTIMIZERS:
        raise RunError(f"unknown --optimizer {s['optimizer']!r}; expected one of "
                       + ", ".join(OPTIMIZERS))
    text_file = getattr(experiment, "text_files", False) and os.path.isabs(str(s["dataset"]))
    if s["dataset"] != "auto" and s["dataset"] not in experiment.datasets and not text_file:
        raise RunError(f"experiment {experiment.name!r} trains on "
                       + ", ".join(experiment.datasets) + f" (or auto), not {s['dataset']!r}")
    if s["device"] not in ("cpu", "cuda") and not str(s["device"]).startswith("cuda:"):
        raise RunError(f"--device must be cpu or cuda, got {s['device']!r}")
    if s["device"] != "cpu" and not backend.cuda_is_available():
        raise RunError(f"--device {s['device']} needs CuPy and an NVIDIA GPU, and none is "
                       "usable here (pip install cupy-cuda12x); use --device cpu")


def make_settings(experiment, overrides: dict) -> dict:
    """The experiment's defaults with the given (non-None) overrides, validated."""
    s = dict(experiment.defaults(), device="cpu")
    s.update({k: v for k, v in overrides.items() if v is not None})
    validate_settings(s, experiment)
    return s


def merge_resume_settings(saved: dict, overrides: dict) -> dict:
    """Settings of a resumed run: config.json's, with only ``epochs``/``device`` changeable."""
    s = dict(saved)
    for k, v in overrides.items():
        if v is None or k not in s:
            continue
        if k in RESUMABLE_CHANGES:
            s[k] = v
        elif v != s[k]:
            raise RunError(f"--{k.replace('_', '-')} {v} differs from the run's "
                           f"{k} = {s[k]!r} (config.json); a resumed run keeps its settings "
                           "(only --epochs and --device may change)")
    return s
