"""``dg.special``: PyTorch's ``torch.special`` names for the special functions deltagrad has."""
from .ops.activation import log_softmax, softmax  # noqa: F401
from .ops.elementwise import erf, sigmoid as expit  # noqa: F401
from .ops.reduce import logsumexp  # noqa: F401
from .ops.special import digamma, erfinv, lgamma as gammaln, polygamma  # noqa: F401

psi = digamma

__all__ = ["gammaln", "digamma", "psi", "polygamma", "erfinv", "erf", "expit", "logsumexp",
           "softmax", "log_softmax"]
