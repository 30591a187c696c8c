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

    RUN/run.lock         while a process trains there: its pid, host and command

Settings come from the experiment's defaults, overridden by the command line; a resumed run
takes them from its checkpoint (only ``epochs`` and ``device`` may change, on the command
line or in config.json; any other edit of config.json is refused).
"""
from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import socket
import tempfile
import time
import warnings

from .. import backend
from .checkpoint import atomic_write

RUN_FILES = ("config.json", "vocab.json", "metrics.jsonl", "checkpoint.npz", "best.npz",
             "log.txt", "report.html", "plots")
RESUMABLE_CHANGES = ("epochs", "device")
SETTINGS = ("dataset", "epochs", "batch_size", "lr", "optimizer", "seed", "val_fraction",
            "device")
OPTIONAL_SETTINGS = ("model_kwargs", "fold")  # absent in most runs (sweeps and cv set them)
LOCK_FILE = "run.lock"
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")


class RunError(RuntimeError):
    """A user mistake about a run (bad setting, folder in use, nothing to resume)."""


class RunWriteError(RuntimeError):
    """Writing a run file failed (a full disk, a vanished folder); ``path`` and the
    ``OSError`` say which and why."""

    def __init__(self, path: str, error: OSError):
        reason = (f"[Errno {error.errno}] {error.strerror}" if error.errno and error.strerror
                  else str(error))
        super().__init__(f"could not write {path}: {reason}")
        self.path, self.error = path, error


@contextlib.contextmanager
def writing(path: str):
    """Turn an ``OSError`` while writing ``path`` into a :class:`RunWriteError` naming it."""
    try:
        yield
    except OSError as e:
        raise RunWriteError(path, e) from None


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
        return sorted(f for f in os.listdir(self.path)
                      if not f.startswith(".write-test-") and f != LOCK_FILE)

    def remove_stale_temp_files(self) -> None:
        """Delete half-written temp files a killed run left behind (``NAME.xxxx.tmp``)."""
        for f in self.existing_files():
            if f.endswith(".tmp") and ".".join(f.split(".")[:2]) in RUN_FILES:
                with writing(os.path.join(self.path, f)):
                    os.unlink(os.path.join(self.path, f))

    def clear_run_files(self) -> None:
        """Remove the files deltagrad writes (``--force``), their temp files included;
        anything else stays."""
        self.remove_stale_temp_files()
        for name in RUN_FILES:
            p = os.path.join(self.path, name)
            with writing(p):
                if os.path.isdir(p):
                    shutil.rmtree(p)
                elif os.path.exists(p):
                    os.unlink(p)

    #: False for a follower rank of a distributed run: it reads the run, never writes it
    writes = True

    def lock(self, command=None) -> "RunLock":
        """``with run.lock(argv) as stale:`` hold RUN/run.lock (see :class:`RunLock`)."""
        return RunLock(os.path.join(self.path, LOCK_FILE), command)

    # ------------------------------------------------------------------ files
    def read_config(self) -> dict:
        if not os.path.isdir(self.path):
            raise RunError(f"no run folder at {self.path}")
        try:
            with open(self.config) as f:
                config = json.load(f)
        except FileNotFoundError:
            raise RunError(f"{self.path} is not a deltagrad run (no config.json)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RunError(f"{self.config} is corrupted ({e})") from None
        check_config(config, self.config)
        return config

    def write_config(self, config: dict) -> None:
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        with writing(self.config):
            atomic_write(self.config, lambda f: f.write(text.encode()))

    def write_vocab(self, spec: dict) -> None:
        """RUN/vocab.json: :func:`deltagrad.experiments.data.data_spec` of the run's data."""
        text = json.dumps(spec, ensure_ascii=False, indent=1) + "\n"
        with writing(self.vocab):
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

    def read_metrics(self, warn=None) -> list:
        """The rows of metrics.jsonl; a line that is not a JSON object with an integer
        ``epoch`` (a hand edit, a crash of another program) is skipped, and
        ``warn(message)`` (default :func:`warnings.warn`) names it."""
        warn = warn or (lambda m: warnings.warn(m, RuntimeWarning, stacklevel=3))
        if not os.path.exists(self.metrics):
            return []
        rows = []
        with open(self.metrics, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    warn(f"{self.metrics} line {number} is not valid JSON ({e.msg}); skipped")
                    continue
                if not isinstance(row, dict) or isinstance(row.get("epoch"), bool) \
                        or not isinstance(row.get("epoch"), int):
                    warn(f"{self.metrics} line {number} is not an epoch's record (a JSON "
                         "object with an integer \"epoch\"); skipped")
                    continue
                rows.append(row)
        return rows

    def write_metrics(self, rows: list) -> None:
        text = "".join(json.dumps(r) + "\n" for r in rows)
        with writing(self.metrics):
            atomic_write(self.metrics, lambda f: f.write(text.encode()))

    def append_metrics(self, row: dict) -> None:
        with writing(self.metrics), open(self.metrics, "a") as f:
            f.write(json.dumps(row) + "\n")

    def write_log(self, message: str) -> None:
        with writing(self.log), open(self.log, "a") as f:
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
    from ..cli.messages import did_you_mean
    if s["optimizer"] not in OPTIMIZERS:
        raise RunError(f"unknown --optimizer {s['optimizer']!r}"
                       + did_you_mean(s["optimizer"], OPTIMIZERS) + "; expected one of "
                       + ", ".join(OPTIMIZERS))
    text_file = getattr(experiment, "text_files", False) and os.path.isabs(str(s["dataset"]))
    also = " (or auto)" if "fashion-mnist" in experiment.datasets else ""  # auto: an image set
    if not (s["dataset"] in experiment.datasets or text_file or (also and s["dataset"] == "auto")):
        raise RunError(f"experiment {experiment.name!r} trains on "
                       + ", ".join(experiment.datasets) + f"{also}, not {s['dataset']!r}"
                       + did_you_mean(s["dataset"], experiment.datasets)
                       + ("; for a text file use --data FILE" if experiment.text_files else ""))
    if s["device"] not in ("cpu", "cuda") and not str(s["device"]).startswith("cuda:"):
        raise RunError(f"--device must be cpu or cuda, got {s['device']!r}")
    if s["device"] != "cpu" and not backend.cuda_is_available():
        raise RunError(f"--device {s['device']} needs CuPy and an NVIDIA GPU, and none is "
                       "usable here (pip install cupy-cuda12x); use --device cpu")
    check_model_kwargs(s.get("model_kwargs") or {}, experiment)


def check_model_kwargs(kwargs: dict, experiment) -> None:
    """Model-factory arguments must be among the experiment's ``tunable`` ones."""
    tunable = getattr(experiment, "tunable", {}) or {}
    bad = sorted(set(kwargs) - set(tunable))
    if bad:
        raise RunError(f"experiment {experiment.name!r} has no model argument "
                       f"{', '.join(bad)}; its tunable model arguments are: "
                       + (", ".join(f"{k} (default {v!r})" for k, v in tunable.items())
                          or "none"))


def make_settings(experiment, overrides: dict) -> dict:
    """The experiment's defaults with the given (non-None) overrides, validated."""
    s = dict(experiment.defaults(), device="cpu")
    s.update({k: v for k, v in overrides.items() if v is not None})
    validate_settings(s, experiment)
    return s


def check_config(config, path: str) -> None:
    """A run's config.json must hold ``experiment`` and every setting; say which are missing."""
    if not isinstance(config, dict):
        raise RunError(f"{path} holds a JSON {type(config).__name__}, not an object with "
                       "\"experiment\" and \"settings\"; it is not a deltagrad run's config")
    missing = [k for k in ("experiment", "settings") if k not in config]
    settings = config.get("settings")
    if isinstance(settings, dict):
        missing += [f"settings.{k}" for k in SETTINGS if k not in settings]
    elif "settings" in config:
        missing.append("settings (an object)")
    if missing:
        raise RunError(f"{path} lacks {', '.join(missing)}; a run's config.json holds "
                       "\"experiment\" and \"settings\" with " + ", ".join(SETTINGS)
                       + " (restore it from the run's checkpoint.npz, whose \"settings\" "
                       "are the ones the run was trained with, or start a new run)")


def edited_settings(config_settings: dict, trained: dict) -> list:
    """The keys (other than ``epochs``/``device``) in which config.json differs from the
    settings a checkpoint was trained with."""
    return [k for k in SETTINGS + OPTIONAL_SETTINGS if k not in RESUMABLE_CHANGES
            and k in trained
            and config_settings.get(k) != trained[k]]


def refuse_edited_config(config_settings: dict, trained: dict, config_path: str,
                         checkpoint_path: str) -> None:
    """Raise :class:`RunError` naming each key of config.json edited after training."""
    keys = edited_settings(config_settings, trained)
    if keys:
        diffs = ", ".join(f"{k} = {config_settings.get(k)!r} (trained with {trained[k]!r})"
                          for k in keys)
        raise RunError(f"{config_path} was edited after training: {diffs}. A run keeps the "
                       f"settings it was trained with ({os.path.basename(checkpoint_path)} "
                       "holds them); undo the edit, or start a new run with the new settings "
                       "(another --out); only epochs and device may change on --resume")


def merge_resume_settings(trained: dict, overrides: dict, config_settings: dict | None = None
                          ) -> dict:
    """Settings of a resumed run: the checkpoint's (``trained``), with ``epochs``/``device``
    from config.json and then from the command line; any other change is refused."""
    s = dict(trained)
    for k in RESUMABLE_CHANGES:
        if config_settings is not None and config_settings.get(k) is not None:
            s[k] = config_settings[k]
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


# ----------------------------------------------------------------------------- the lock
try:
    import fcntl
except ImportError:  # Windows: fall back to an O_EXCL lock file
    fcntl = None


def _pid_alive(pid) -> bool:
    """Whether process ``pid`` runs on this host (unknown counts as alive)."""
    if not isinstance(pid, int) or pid <= 0 or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _describe(holder) -> str:
    if not isinstance(holder, dict):
        return "another process (its pid is not written yet)"
    command = holder.get("command")
    command = " ".join(command) if isinstance(command, list) else command
    return (f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}"
            + (f" ({command})" if command else ""))


class RunLock:
    """One training process per run folder: RUN/run.lock holds the holder's pid, host, start
    time and command while it trains, and is removed when it ends.

    With ``fcntl`` (Linux, macOS) the lock is an ``flock`` on that file, which the kernel drops
    when its holder dies however it dies: a lock file left by a killed process can be locked
    again and is taken over (``__enter__`` returns the dead holder's record). Without ``fcntl``
    the file is created with ``O_EXCL``, and one whose pid no longer runs on this host is taken
    over. A live holder makes ``__enter__`` raise :class:`RunError` naming it.
    """

    def __init__(self, path: str, command=None):
        self.path, self.command, self.fd = path, command, None

    def _record(self) -> bytes:
        return json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                           "command": self.command}).encode()

    @staticmethod
    def _read(fd) -> dict | None:
        try:
            data = os.pread(fd, 65536, 0) if hasattr(os, "pread") else os.read(fd, 65536)
            holder = json.loads(data.decode("utf-8")) if data.strip() else None
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    def _busy(self, holder) -> RunError:
        return RunError(f"{os.path.dirname(self.path)} is in use by another deltagrad process: "
                        f"{_describe(holder)}. Wait for it to finish or stop it, or train into "
                        f"another --out (the lock is {self.path})")

    def __enter__(self):
        for _ in range(100):
            stale = self._acquire_flock() if fcntl is not None else self._acquire_exclusive()
            if stale is not False:
                return stale
        raise RunError(f"could not lock {self.path}: other processes keep replacing it")

    def _acquire_flock(self):
        with writing(self.path):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = self._read(fd)
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise self._busy(holder) from None
            raise RunWriteError(self.path, e) from None
        try:  # the holder we waited for may have removed the file: lock the one there now
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if current is None or not os.path.samestat(os.fstat(fd), current):
            os.close(fd)
            return False
        stale = self._read(fd)  # a record left by a process that died holding the lock
        with writing(self.path):
            os.ftruncate(fd, 0)
            os.write(fd, self._record())
        self.fd = fd
        return stale

    def _acquire_exclusive(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            try:
                rfd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return False
            holder = self._read(rfd)
            os.close(rfd)
            if holder is None or holder.get("host") != socket.gethostname() \
                    or _pid_alive(holder.get("pid")):
                raise self._busy(holder) from None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            return False if self._acquire_exclusive() is False else holder
        except OSError as e:
            raise RunWriteError(self.path, e) from None
        with writing(self.path):
            os.write(fd, self._record())
        self.fd = fd
        return None

    def __exit__(self, *exc):
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # still holding it: nobody can lock the file we remove
        os.close(self.fd)
        self.fd = None


class FollowerRunDir(RunDir):
    """The run folder as ranks 1, 2, … of ``deltagrad train --distributed`` see it: they read
    the config and checkpoints (to resume), and leave every write and the lock to rank 0."""

    writes = False

    def ensure_writable(self) -> None:
        pass

    def lock(self, command=None):
        return contextlib.nullcontext(None)

    def _skip(self, *args, **kwargs) -> None:
        return None

    remove_stale_temp_files = clear_run_files = _skip
    write_config = write_vocab = write_metrics = append_metrics = write_log = _skip
