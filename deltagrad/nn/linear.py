"""Affine layers: ``Linear`` (y = x Wᵀ + b) and ``Bilinear`` (y = x₁ᵀ A x₂ + b).

Default initialisation is PyTorch's: W ~ kaiming_uniform_(a=√5), i.e. U(−1/√fan_in,
1/√fan_in), and b ~ U(−1/√fan_in, 1/√fan_in).
"""
from __future__ import annotations

import math

from ..tensor import empty
from ..ops.bilinear import bilinear
from ..ops.linalg import linear
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "NonDynamicallyQuantizableLinear", "Bilinear"]


def add_weight_and_bias(module, weight_shape, bias, dtype=None, device=None, bias_size=None):
    """Register ``module.weight`` (uninitialised, ``weight_shape``) and ``module.bias`` of
    length ``bias_size`` (default weight_shape[0]) — or a ``None`` bias when ``bias`` is
    false, as PyTorch does."""
    module.weight = Parameter(empty(*weight_shape, dtype=dtype, device=device))
    if bias:
        n = weight_shape[0] if bias_size is None else bias_size
        module.bias = Parameter(empty(n, dtype=dtype, device=device))
    else:
        module.register_parameter("bias", None)


class Linear(Module):
    """y = x Wᵀ + b with W of shape (out_features, in_features) (the notes' z = W a + b per
    sample, with the batch along the first dimension)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        add_weight_and_bias(self, (out_features, in_features), bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise RuntimeError(f"{self._get_name()}({self.extra_repr()}): expected input of "
                               f"shape (*, {self.in_features}), got {tuple(input.shape)}")
        return linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class NonDynamicallyQuantizableLinear(Linear):
    """``Linear`` under the name PyTorch gives attention output projections (a marker class
    that quantization tools skip; programs list it in ``safe_globals`` for ``torch.load``)."""


class Bilinear(Module):
    """y_k = x₁ᵀ A_k x₂ + b_k with A of shape (out, in1, in2); init U(−1/√in1, 1/√in1)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        add_weight_and_bias(self, (out_features, in1_features, in2_features), bias, dtype,
                            device)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        if input1.ndim == 0 or input1.shape[-1] != self.in1_features or input2.ndim == 0 \
                or input2.shape[-1] != self.in2_features:
            raise RuntimeError(f"{self._get_name()}({self.extra_repr()}): expected inputs of "
                               f"shape (*, {self.in1_features}) and (*, {self.in2_features}), "
                               f"got {tuple(input1.shape)} and {tuple(input2.shape)}")
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
