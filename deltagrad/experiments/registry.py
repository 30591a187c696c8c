"""The registry of named experiments: each is a configuration, not a script.

An :class:`Experiment` says which model to build (a factory of the data's shape), which data
to load (a factory of the dataset name), the task (loss and score), and the optimizer,
schedule and training defaults. ``deltagrad train NAME`` looks it up here; the training loop
is the same for all. Adding one is a decorated model factory::

    @experiment("mlp-wide", summary="...", shows="...", optimizer="adam", lr=1e-3)
    def mlp_wide(data):
        return nn.Sequential(nn.Linear(data.input_dim, 1024), nn.ReLU(),
                             nn.Linear(1024, data.num_classes))

Where experiments come from: every module of ``deltagrad/experiments/`` (imported by the
package, found with :mod:`pkgutil`), a user's file or module (``deltagrad train --module
my_experiments.py NAME``, :func:`load_module`), and the ``deltagrad.experiments``
entry-point group of installed distributions (loaded on the first lookup). An experiment
from a user's module remembers it (``Experiment.module``), so a run of it can be
evaluated, sampled and resumed without naming the module again.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass, field, fields, replace
from typing import Callable

_REGISTRY: dict = {}
_LOADED: dict = {}       # source (file path or module name) -> names it registered
_LOADING: list = []      # the user module being imported now (innermost last)
ENTRY_POINT_GROUP = "deltagrad.experiments"
_entry_points_loaded = False


class UnknownExperiment(KeyError):
    def __str__(self):
        return self.args[0]


@dataclass(frozen=True)
class Experiment:
    """A named training configuration.

    ``model(data) -> nn.Module`` builds the network from a :class:`DataBundle`;
    ``data(dataset_name) -> DataBundle`` loads and prepares the data;
    ``scheduler(optimizer, config) -> LRScheduler | None`` builds the lr schedule
    (stepped once per epoch); ``optimizer_kwargs`` go to the optimizer beside ``lr``;
    ``augment(x) -> Tensor`` (optional) transforms each training batch of inputs before
    the forward pass (e.g. random crops and flips of (N, C, H, W) images); it must draw its
    random numbers from the global generator (``dg.manual_seed``), whose state every
    checkpoint saves, so a resumed run stays bit-for-bit identical. ``text_files``: ``data``
    also takes the path of any UTF-8 text file (``deltagrad train NAME --data FILE``).
    ``module`` is set by :func:`load_module` for an experiment from a user's file or module.

    ``tunable``: the model factory's keyword arguments a sweep may change, name → default
    (e.g. ``{"width": 64}`` for ``def model(data, width=64)``). A run stores the values it
    was built with in ``settings["model_kwargs"]`` and the factory is called as
    ``model(data, **model_kwargs)``, so resume, evaluate and report rebuild the same network.
    ``deltagrad sweep NAME --set width=16,32`` accepts these names beside the settings.
    """

    name: str
    summary: str                       # model and data in a few words
    shows: str                         # what the experiment demonstrates
    model: Callable
    data: Callable
    task: str = "classification"       # a key of deltagrad.train.tasks.TASKS
    datasets: tuple = ("fashion-mnist", "digits")
    text_files: bool = False           # trains on any UTF-8 text file too (--data FILE)
    dataset: str = "auto"              # "auto": Fashion-MNIST when installed, else digits
    optimizer: str = "adam"
    lr: float = 1e-3
    optimizer_kwargs: dict = field(default_factory=dict)
    scheduler: Callable | None = None
    epochs: int = 10
    batch_size: int = 128
    val_fraction: float = 0.1          # share of the training set held out to choose best.npz
    seed: int = 0
    augment: Callable | None = None    # train-time augmentation of each input batch
    module: str = ""                   # the user module that defined it ("" = built in)
    tunable: dict = field(default_factory=dict)  # model-factory kwargs a sweep may set

    def defaults(self) -> dict:
        """The settings a user may override on the command line."""
        return {"dataset": self.dataset, "epochs": self.epochs, "batch_size": self.batch_size,
                "lr": self.lr, "optimizer": self.optimizer, "seed": self.seed,
                "val_fraction": self.val_fraction}


def register(exp: Experiment) -> Experiment:
    if exp.name in _REGISTRY:
        raise ValueError(f"experiment {exp.name!r} is already registered")
    if _LOADING:
        exp = replace(exp, module=_LOADING[-1])
    _REGISTRY[exp.name] = exp
    return exp


def experiment(name: str, **settings):
    """Decorator: register the decorated model factory as experiment ``name``."""
    known = {f.name for f in fields(Experiment)} - {"name", "model", "module"}
    bad_tunable = [k for k in settings.get("tunable", {}) if k in Experiment.__dataclass_fields__]
    if bad_tunable:
        raise TypeError(f"experiment {name!r}: tunable model arguments {bad_tunable} clash "
                        "with experiment settings of the same name")
    bad = set(settings) - known
    if bad:
        raise TypeError(f"experiment {name!r}: unknown settings {sorted(bad)}; "
                        f"expected some of {sorted(known)}")

    def deco(model_factory):
        register(Experiment(name=name, model=model_factory, **settings))
        return model_factory
    return deco


class ExperimentModuleError(ImportError):
    """A user's module of experiments could not be found or imported."""


def load_module(source: str) -> list:
    """Import a user's experiments: ``source`` is a Python file (``my_experiments.py``) or a
    dotted module name (``package.module``, found from the current folder too); returns
    the names of the experiments it registered. Loading the same source twice is a no-op."""
    source = str(source)
    is_file = source.endswith(".py") or os.sep in source or "/" in source
    key = os.path.abspath(source) if is_file else source
    if key in _LOADED:
        return _LOADED[key]
    before = set(_REGISTRY)
    _LOADING.append(key)
    try:
        if is_file:
            if not os.path.isfile(key):
                raise ExperimentModuleError(f"--module: no Python file at {source!r}")
            name = "deltagrad_user_experiments_" + \
                "".join(c if c.isalnum() else "_" for c in key)
            spec = importlib.util.spec_from_file_location(name, key)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.append(os.getcwd())
            try:
                importlib.import_module(source)
            except ModuleNotFoundError as e:
                if e.name and source.startswith(e.name):
                    raise ExperimentModuleError(
                        f"--module: no module named {source!r} (give a Python file such as "
                        "my_experiments.py, or a module importable from here)") from None
                raise
    except ExperimentModuleError:
        raise
    except Exception as e:
        for n in set(_REGISTRY) - before:  # a half-imported module registers nothing
            _REGISTRY.pop(n)
        raise ExperimentModuleError(f"--module {source}: importing it failed "
                                    f"({type(e).__name__}: {e})") from e
    finally:
        _LOADING.pop()
    _LOADED[key] = sorted(set(_REGISTRY) - before)
    return _LOADED[key]


def load_entry_points(force: bool = False, warn=None) -> None:
    """Import the modules named in the ``deltagrad.experiments`` entry-point group
    (``[project.entry-points."deltagrad.experiments"] mine = "my_package.experiments"``);
    one that fails is reported through ``warn(message)`` (default: a RuntimeWarning) and
    skipped."""
    global _entry_points_loaded
    warn = warn or (lambda m: warnings.warn(m, RuntimeWarning, stacklevel=3))
    if _entry_points_loaded and not force:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            load_module(ep.value.split(":")[0].strip())
        except ExperimentModuleError as e:
            warn(f"entry point {ep.name} = {ep.value} of group {ENTRY_POINT_GROUP} is "
                 f"skipped: {e.__cause__ or e}")


def get_experiment(name: str, module: str | None = None) -> Experiment:
    """The experiment ``name``; ``module`` (a user's file or module, as saved in a run's
    config) is imported first when the name is not registered yet."""
    load_entry_points()
    if name not in _REGISTRY and module:
        load_module(module)
    if name not in _REGISTRY:
        from ..cli.messages import did_you_mean
        raise UnknownExperiment(f"unknown experiment {name!r}"
                                + did_you_mean(name, sorted(_REGISTRY))
                                + "; the registered ones are: " + ", ".join(sorted(_REGISTRY))
                                + " (see deltagrad list; your own: --module FILE)")
    return _REGISTRY[name]


def experiments() -> list:
    """All registered experiments, sorted by name."""
    load_entry_points()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
