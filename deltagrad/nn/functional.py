"""``dg.nn.functional``: the stateless forms of layers, activations and losses (PyTorch's names)."""
from ..ops.activation import softmax, log_softmax, softplus  # noqa: F401
from ..ops.elementwise import relu, sigmoid, tanh  # noqa: F401
from ..ops.indexing import one_hot  # noqa: F401
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import (mse_loss, binary_cross_entropy_with_logits, cross_entropy,  # noqa: F401
                        nll_loss)
from ..ops.shape import pad  # noqa: F401
