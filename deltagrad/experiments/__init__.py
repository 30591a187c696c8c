"""Named experiments: ``deltagrad train NAME`` builds its model, data and optimizer from here.

``experiment(name, ...)`` registers a model factory; ``get_experiment(name)`` and
``experiments()`` read the registry. Every module of this folder is imported here (found
with :mod:`pkgutil`, so a new file needs no import line); ``load_module`` adds a user's
file or module, and installed distributions add theirs through the
``deltagrad.experiments`` entry-point group.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from .registry import (ENTRY_POINT_GROUP, Experiment, ExperimentModuleError,  # noqa: F401
                       UnknownExperiment, experiment, experiments, get_experiment,
                       load_entry_points, load_module, register)
from .data import (DATASETS, DataBundle, DatasetUnavailable, image_classification,  # noqa: F401
                   resolve_dataset, with_validation)

for _m in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _m.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_m.name}")
