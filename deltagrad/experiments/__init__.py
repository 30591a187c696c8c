"""Named experiments: ``deltagrad train NAME`` builds its model, data and optimizer from here.

``experiment(name, ...)`` registers a model factory; ``get_experiment(name)`` and
``experiments()`` read the registry. The built-in ones live in :mod:`.classic`.
"""
from .registry import (Experiment, UnknownExperiment, experiment, experiments,  # noqa: F401
                       get_experiment, register)
from .data import (DATASETS, DataBundle, DatasetUnavailable, image_classification,  # noqa: F401
                   resolve_dataset, with_validation)
from . import classic  # noqa: F401  (registers the built-in experiments)
from . import universal  # noqa: F401
from . import recurrent  # noqa: F401
from . import attention  # noqa: F401
from . import cnn  # noqa: F401
