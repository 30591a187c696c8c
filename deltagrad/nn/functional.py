"""``dg.nn.functional``: the stateless forms of layers, activations and losses (PyTorch's names).

Each ops module lists its public functions in ``__all__``; this file only gathers them.
"""
from ..ops.activation import *  # noqa: F401,F403
from ..ops.loss import *  # noqa: F401,F403
from ..ops.gan_loss import *  # noqa: F401,F403
from ..ops.normalization import *  # noqa: F401,F403
from ..ops.dropout import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.pooling import *  # noqa: F401,F403
from ..ops.sparse import *  # noqa: F401,F403
from ..ops.bilinear import *  # noqa: F401,F403
from ..ops.elementwise import sigmoid, tanh  # noqa: F401
from ..ops.indexing import one_hot  # noqa: F401
from ..ops.linalg import linear  # noqa: F401
from ..ops.shape import pad  # noqa: F401
from ..ops.attention import *  # noqa: F401,F403
from ..ops.distance import *  # noqa: F401,F403
from ..ops.pixel_shuffle import *  # noqa: F401,F403
from ..ops.fold import *  # noqa: F401,F403
from ..ops.ctc import *  # noqa: F401,F403
from ..ops.margin_loss import *  # noqa: F401,F403
