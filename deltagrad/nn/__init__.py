"""``dg.nn``: modules, parameters, layers, initialisation and the functional API.

Each layer file lists its public classes in ``__all__``; this file only gathers them.
"""
from . import functional, init, utils  # noqa: F401
from .module import (Module, Parameter, Buffer, Sequential, ModuleList, ModuleDict,  # noqa: F401
                     ParameterList, ParameterDict, Identity, Flatten, Unflatten)
from .linear import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .positional import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403


def __getattr__(name):
    """``nn.parallel`` and ``nn.SyncBatchNorm`` load the MPI layer only when asked for."""
    if name == "parallel":
        import importlib
        return importlib.import_module(".parallel", __name__)
    if name == "SyncBatchNorm":
        from ..distributed.sync_batchnorm import SyncBatchNorm
        return SyncBatchNorm
    raise AttributeError(f"module 'deltagrad.nn' has no attribute {name!r}")
