"""KL(p ‖ q) = E_p[log p(x) − log q(x)] in closed form for registered pairs of distribution
types (``torch.distributions.kl``)."""
from __future__ import annotations


import numpy as np

from ..ops.activation import softplus
from ..ops.elementwise import where
from ..ops.linalg import diagonal, solve_triangular
from ..ops.special import digamma, lgamma
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .dirichlet import Beta, Dirichlet
from .exponential import Exponential, Laplace
from .gamma import Gamma
from .distribution import sum_rightmost
from .independent import Independent
from .multivariate_normal import MultivariateNormal, batch_mahalanobis
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform

__all__ = ["register_kl", "kl_divergence"]

_KL_REGISTRY: dict = {}


def register_kl(type_p, type_q):
    """Decorator: ``@register_kl(P, Q) def kl(p, q): ...`` serves every pair of subclasses
    (the most specific registered pair wins)."""
    if not isinstance(type_p, type) or not isinstance(type_q, type):
        raise TypeError(f"register_kl: expected two distribution classes, got {type_p!r} and "
                        f"{type_q!r}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        return fn
    return decorator


def _lookup(type_p, type_q):
    best, best_rank = None, None
    for (p, q), fn in _KL_REGISTRY.items():
        if issubclass(type_p, p) and issubclass(type_q, q):
            rank = (type_p.__mro__.index(p), type_q.__mro__.index(q))
            if best_rank is None or rank < best_rank:
                best, best_rank = fn, rank
    return best


def kl_divergence(p, q):
    """KL(p ‖ q), batched over the distributions' batch shape."""
    fn = _lookup(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type "
                                  f"{type(p).__name__} and q type {type(q).__name__}")
    return fn(p, q)


def _inf_where(cond, value):
    return where(cond, float("inf"), value)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """½ (σp²/σq² + (μp − μq)²/σq² − 1 − log σp²/σq²) (the notes' VAE KL term per latent
    coordinate when q = N(0, 1): ½ (σ² + μ² − 1 − log σ²))."""
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """p log(p/q) + (1 − p) log((1 − p)/(1 − q)) through softplus of the logits."""
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = where(p.probs == 0, 0.0, _inf_where(q.probs == 0, t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = where(p.probs == 1, 0.0, _inf_where(q.probs == 1, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    """Σ_k p_k (log p_k − log q_k); +∞ where q_k = 0 < p_k, terms with p_k = 0 vanish."""
    t = p.probs * (p.logits - q.logits)
    shape = tuple(t.shape)
    t = _inf_where((q.probs == 0).expand(shape), t)
    t = where((p.probs == 0).expand(shape), 0.0, t)
    return t.sum(-1)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    """log((bq − aq)/(bp − ap)) when [ap, bp) ⊆ [aq, bq), else +∞."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _inf_where((q.low > p.low) | (q.high < p.high), result)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    """½ (tr(Σq⁻¹Σp) + (μq − μp)ᵀ Σq⁻¹ (μq − μp) − d) + log |Lq| − log |Lp|; against
    q = N(0, I) this is the notes' VAE term KL[N(u, Σ) ‖ N(0, I)] = ½ (tr Σ + uᵀu − R − log det Σ)
    with R the latent dimension."""
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL-divergence between two Multivariate Normals with different event "
                         f"shapes cannot be computed: {tuple(p.event_shape)} vs "
                         f"{tuple(q.event_shape)}")
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = (diagonal(lq, 0, -2, -1).log().sum(-1)
                  - diagonal(lp, 0, -2, -1).log().sum(-1))
    n = p.event_shape[0]
    batch = np.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))
    x = solve_triangular(lq.expand(batch + (n, n)), lp.expand(batch + (n, n)), upper=False)
    term2 = (x ** 2).reshape(batch + (-1,)).sum(-1)
    term3 = batch_mahalanobis(lq, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - n)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL between Independent distributions with different "
                                  "reinterpreted_batch_ndims is not implemented")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)




@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    """λq/λp − 1 − log(λq/λp)."""
    ratio = q.rate / p.rate
    return ratio - 1 - ratio.log()


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    """log(bq/bp) + |μp − μq|/bq + (bp/bq) exp(−|μp − μq|/bp) − 1."""
    scale_ratio = p.scale / q.scale
    d = (p.loc - q.loc).abs()
    return -scale_ratio.log() + d / q.scale + scale_ratio * (-d / p.scale).exp() - 1


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    """λp (log λp − log λq) − (λp − λq)."""
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    """αq log(βp/βq) + log Γ(αq) − log Γ(αp) + (αp − αq) ψ(αp) + (βq − βp) αp/βp."""
    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = lgamma(q.concentration) - lgamma(p.concentration)
    t3 = (p.concentration - q.concentration) * digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    """log Γ(αp₀) − log Γ(αq₀) − Σ (log Γ(αpᵢ) − log Γ(αqᵢ)) + Σ (αpᵢ − αqᵢ)(ψ(αpᵢ) − ψ(αp₀))."""
    a0p, a0q = p.concentration.sum(-1), q.concentration.sum(-1)
    t1 = lgamma(a0p) - lgamma(a0q)
    t2 = (lgamma(p.concentration) - lgamma(q.concentration)).sum(-1)
    t3 = p.concentration - q.concentration
    t4 = digamma(p.concentration) - digamma(a0p).unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    return _kl_dirichlet_dirichlet(p._dirichlet, q._dirichlet)
