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
