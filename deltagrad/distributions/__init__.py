"""``dg.distributions``: probability distributions with ``sample``, ``rsample``
(reparameterized, differentiable), ``log_prob``, ``entropy``, ``mean``/``variance`` and closed-form
``kl_divergence`` (PyTorch's ``torch.distributions`` names, shapes and argument validation)."""
from . import constraints  # noqa: F401
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .dirichlet import Beta, Dirichlet
from .distribution import Distribution
from .exponential import Exponential, Laplace
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform

__all__ = ["Distribution", "Normal", "Bernoulli", "Categorical", "OneHotCategorical", "Uniform",
           "MultivariateNormal", "Independent", "Exponential", "Laplace", "Poisson", "Gamma",
           "Beta", "Dirichlet",
           "kl_divergence", "register_kl", "constraints"]
