"""``dg.optim``: optimizers (``torch.optim``'s names, options and numbers) and lr schedulers.

Every optimizer shares one update loop (``Optimizer``): per parameter, or once over a whole
parameter group through flat buffers (``foreach``). The Adam family shares one moment core.
"""
from .optimizer import Optimizer, required  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adaptive import Adagrad, RMSprop, Adadelta, MaxProp  # noqa: F401
from .adam import Adam, AdamW, Adamax, NAdam, RAdam  # noqa: F401
from .rprop import Rprop  # noqa: F401
from .asgd import ASGD  # noqa: F401
from .adafactor import Adafactor  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "MaxProp", "Adam", "AdamW",
           "Adamax", "NAdam", "RAdam", "Rprop", "ASGD", "Adafactor", "LBFGS", "lr_scheduler"]
