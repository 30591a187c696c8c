"""The registry of named experiments: each is a configuration, not a script.

An :class:`Experiment` says which model to build (a factory of the data's shape), which data
to load (a factory of the dataset name), the task (loss and score), and the optimizer,
schedule and training defaults. ``deltagrad train NAME`` looks it up here; the training loop
is the same for all. Adding one is a decorated model factory::

    @experiment("mlp-wide", summary="...", shows="...", optimizer="adam", lr=1e-3)
    def mlp_wide(data):
        return nn.Sequential(nn.Linear(data.input_dim, 1024), nn.ReLU(),
                             nn.Linear(1024, data.num_classes))
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable

_REGISTRY: dict = {}


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
    checkpoint saves, so a resumed run stays bit-for-bit identical.
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
    val_fraction: float = 0.0          # share of the training set held out for validation
    seed: int = 0
    augment: Callable | None = None    # train-time augmentation of each input batch

    def defaults(self) -> dict:
        """The settings a user may override on the command line."""
        return {"dataset": self.dataset, "epochs": self.epochs, "batch_size": self.batch_size,
                "lr": self.lr, "optimizer": self.optimizer, "seed": self.seed,
                "val_fraction": self.val_fraction}


def register(exp: Experiment) -> Experiment:
    if exp.name in _REGISTRY:
        raise ValueError(f"experiment {exp.name!r} is already registered")
    _REGISTRY[exp.name] = exp
    return exp


def experiment(name: str, **settings):
    """Decorator: register the decorated model factory as experiment ``name``."""
    known = {f.name for f in fields(Experiment)} - {"name", "model"}
    bad = set(settings) - known
    if bad:
        raise TypeError(f"experiment {name!r}: unknown settings {sorted(bad)}; "
                        f"expected some of {sorted(known)}")

    def deco(model_factory):
        register(Experiment(name=name, model=model_factory, **settings))
        return model_factory
    return deco


def get_experiment(name: str) -> Experiment:
    if name not in _REGISTRY:
        raise UnknownExperiment(f"unknown experiment {name!r}; the registered ones are: "
                                + ", ".join(sorted(_REGISTRY)) + " (see `deltagrad list`)")
    return _REGISTRY[name]


def experiments() -> list:
    """All registered experiments, sorted by name."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
