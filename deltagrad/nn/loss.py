"""Loss layers (``nn.MSELoss`` ... ``nn.KLDivLoss``) and the notes' extras as modules.

Each module holds its arguments and calls the function in :mod:`deltagrad.ops.loss`, where
the formula lives. As in PyTorch, ``weight`` / ``pos_weight`` are buffers (they follow
``.to()`` and appear in ``state_dict``), and the deprecated ``size_average`` / ``reduce``
set ``reduction``.
"""
from __future__ import annotations

from ..ops import loss as L
from .module import Module

__all__ = ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss", "NLLLoss", "GaussianNLLLoss", "KLDivLoss", "SSELoss",
           "HalfSSELoss", "SparsityKLLoss"]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        self.reduction = L._legacy(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """ℓ = (x − y)², averaged or summed over all elements."""

    def forward(self, input, target):
        return L.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """ℓ = |x − y|."""

    def forward(self, input, target):
        return L.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """ℓ = ½d² for |d| < δ, δ(|d| − ½δ) otherwise."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return L.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """ℓ = ½d²/β for |d| < β, |d| − ½β otherwise."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return L.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities, logs clamped at −100."""

    def forward(self, input, target):
        return L.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits (sigmoid fused in, stable)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return L.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax + categorical cross-entropy of logits (class indices or probabilities)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return L.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities and class indices."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return L.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """½(ln σ² + (x − y)²/σ²) (+ ½ ln 2π if ``full``); call as ``loss(input, target, var)``."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return L.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class KLDivLoss(_Loss):
    """KL divergence y(ln y − x) of log-probabilities x against target y."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return L.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class SSELoss(Module):
    """Sum of squared errors Σ (y − ŷ)² (seed 002)."""

    def forward(self, input, target):
        return L.sse_loss(input, target)


class HalfSSELoss(Module):
    """The notes' J = ½ Σ (d − y)² (seed 000 §3.3)."""

    def forward(self, input, target):
        return L.half_sse_loss(input, target)


class SparsityKLLoss(Module):
    """Σ_j KL(ρ‖ρ̂_j) of the mean activations ρ̂ (seed 000, sparse AE); call as ``loss(rho_hat)``."""

    def __init__(self, rho: float = 0.05, reduction: str = "sum"):
        super().__init__()
        self.rho, self.reduction = rho, reduction

    def forward(self, rho_hat):
        return L.sparsity_kl(self.rho, rho_hat, reduction=self.reduction)

    def extra_repr(self):
        return f"rho={self.rho}"
