"""Normalisation layers: BatchNorm1d/2d/3d, LayerNorm, GroupNorm (PyTorch's arguments, names and
numbers). The formulas and the fused backward live in ``deltagrad/ops/normalization.py``.

``_BatchNorm`` holds everything batch normalisation needs (parameters, running statistics,
momentum or cumulative averaging, train/eval); a BatchNorm for another input rank only says
which ranks it accepts in ``_check_input_dim`` (statistics are always per channel, dim 1).
"""
from __future__ import annotations

import numbers

from ..tensor import empty, ones, tensor as new_tensor, zeros
from ..ops.normalization import (batch_norm, group_norm, instance_norm, layer_norm,
                                 local_response_norm, rms_norm)
from . import init
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm",
           "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "LocalResponseNorm"]


def _empty(shape, device, dtype):
    return empty(*shape, dtype=dtype, device=device)


class _NormBase(Module):
    """γ, β (``weight``, ``bias``) of shape (C,) and the buffers ``running_mean`` (zeros),
    ``running_var`` (ones) and ``num_batches_tracked`` (int64)."""

    _version = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        name = type(self).__name__
        if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps >= 0:
            raise ValueError(f"{name}: eps must be a non-negative number (ε in x̂ = (x − μ)/"
                             f"√(σ² + ε)), got {eps!r}")
        if momentum is not None and (not isinstance(momentum, (int, float))
                                     or isinstance(momentum, bool) or not 0 <= momentum <= 1):
            raise ValueError(f"{name}: momentum must be None (cumulative average) or a number "
                             f"in [0, 1], got {momentum!r}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(_empty((num_features,), device, dtype))
            if bias:
                self.bias = Parameter(_empty((num_features,), device, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean",
                                 zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var",
                                 ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked",
                                 new_tensor(0, dtype="int64", device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input):
        raise NotImplementedError(f"{type(self).__name__} must say which input ranks it accepts")

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """Batch normalisation (notes 004 §4.3.2): ẑ = (z − μ_B)/√(σ²_B + ε), z̃ = γ ⊙ ẑ + β.

    Training uses the batch's μ_B, σ²_B and updates the running estimates,
    r ← (1 − momentum) r + momentum · s (unbiased σ² for ``running_var``), or their cumulative
    average (factor 1/num_batches_tracked) when ``momentum=None``; evaluation uses the
    running estimates (or the batch's when ``track_running_stats=False``).
    """

    def forward(self, input):
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(f"{self._get_name()}({self.num_features}): expected input with "
                             f"{self.num_features} channels in dim 1, got input of shape "
                             f"{tuple(input.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or (self.running_mean is None
                                            and self.running_var is None)
        track = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if track else None,
                          self.running_var if track else None, self.weight, self.bias,
                          use_batch_stats, factor, self.eps)


class _BatchNormNd(_BatchNorm):
    #: accepted input layouts, e.g. {2: "(N, C)", 3: "(N, C, L)"}
    layouts: dict = {}

    def _check_input_dim(self, input):
        if input.ndim not in self.layouts:
            ranks = " or ".join(f"{r}D" for r in self.layouts)
            shapes = " or ".join(self.layouts.values())
            raise ValueError(f"{self._get_name()}({self.num_features}): expected {ranks} input "
                             f"{shapes} (got {input.ndim}D input of shape "
                             f"{tuple(input.shape)})")


class BatchNorm1d(_BatchNormNd):
    """Batch normalisation of (N, C) or (N, C, L) input, statistics per channel C."""
    layouts = {2: "(N, C)", 3: "(N, C, L)"}


class BatchNorm2d(_BatchNormNd):
    """Batch normalisation of (N, C, H, W) input: statistics per channel over N, H, W."""
    layouts = {4: "(N, C, H, W)"}


class BatchNorm3d(_BatchNormNd):
    """Batch normalisation of (N, C, D, H, W) input: statistics per channel."""
    layouts = {5: "(N, C, D, H, W)"}


def _affine_parameters(module, shape, affine, bias, device, dtype):
    """γ (``weight``, ones) and β (``bias``, zeros) of ``shape``, or None where switched off."""
    module.register_parameter("weight", Parameter(_empty(shape, device, dtype)) if affine
                              else None)
    module.register_parameter("bias", Parameter(_empty(shape, device, dtype))
                              if affine and bias else None)
    _reset_affine(module)


def _trailing_norm_init(module, normalized_shape, eps, elementwise_affine, bias, device, dtype):
    """What LayerNorm and RMSNorm keep: the trailing shape they normalise over, ε, and γ (and
    β when ``bias``) of that shape."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    module.normalized_shape = tuple(int(s) for s in normalized_shape)
    module.eps = eps
    module.elementwise_affine = elementwise_affine
    _affine_parameters(module, module.normalized_shape, elementwise_affine, bias, device, dtype)


def _reset_affine(module):
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """Layer normalisation (Ba et al. 2016): each sample standardised over its trailing
    ``normalized_shape`` dims, y = γ ⊙ (x − μ)/√(σ² + ε) + β with γ, β of that shape."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        _trailing_norm_init(self, normalized_shape, eps, elementwise_affine, bias, device, dtype)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
            dims = ", ".join(map(str, self.normalized_shape))
            raise RuntimeError(f"{self._get_name()}({self.normalized_shape}): expected input "
                               f"of shape [*, {dims}], got input of shape "
                               f"{tuple(input.shape)}")
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation (Wu & He 2018): channels split into ``num_groups`` groups, each
    standardised per sample over its channels and spatial dims; γ, β per channel."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, (num_channels,), affine, bias, device, dtype)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise RuntimeError(f"{self._get_name()}({self.num_groups}, {self.num_channels}): "
                               f"expected input of shape (N, {self.num_channels}, *), got "
                               f"{tuple(input.shape)}")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class _InstanceNorm(_NormBase):
    """Instance normalisation: each sample's channels standardised over their own spatial dims;
    PyTorch's defaults (no affine map, no running statistics). With
    ``track_running_stats=True`` evaluation uses the running statistics."""

    #: the rank of unbatched input (C, *); batched input has one more
    unbatched_rank = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input):
        r = self.unbatched_rank
        if input.ndim not in (r, r + 1):
            raise ValueError(f"{self._get_name()}: expected {r}D or {r + 1}D input (got "
                             f"{input.ndim}D input of shape {tuple(input.shape)})")
        batched = input.ndim == r + 1
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.num_features:
            feature_dim = 1 if batched else 0
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match "
                                 f"num_features ({self.num_features}), but got: "
                                 f"{x.shape[1]}.")
            import warnings
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. "
                          "You can silence this warning by not passing in num_features, which "
                          "is not used because affine=False", stacklevel=2)
        out = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return out if batched else out.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or unbatched (C, L) input."""
    unbatched_rank = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W) input."""
    unbatched_rank = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    unbatched_rank = 4


class RMSNorm(Module):
    """RMS normalisation over the trailing ``normalized_shape``: y = x / √(mean(x²) + ε) ⊙ γ
    (γ of that shape, no β; ε = None means the input dtype's eps)."""

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None):
        super().__init__()
        _trailing_norm_init(self, normalized_shape, eps, elementwise_affine, False, device, dtype)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """Local response normalisation across channels: a_c / (k + α/n Σ_window a²)^β."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
