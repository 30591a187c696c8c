"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d`` (PyTorch's arguments,
weight layouts, default initialisation and reprs); the arithmetic is in ``ops/conv.py``."""
from __future__ import annotations

import math

from .. import backend
from ..ops import conv as C
from ..ops.shape import pad as _pad
from .linear import add_weight_and_bias
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


class _ConvNd(Module):
    nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", output_padding=0, device=None,
                 dtype=None):
        super().__init__()
        name = type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups "
                             f"({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        nd = self.nd
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = C._tuple(kernel_size, nd, "kernel_size", name)
        self.stride = C._tuple(stride, nd, "stride", name)
        self.dilation = C._tuple(dilation, nd, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid', an int or a tuple, "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = C._tuple(padding, nd, "padding", name)
        self.output_padding = C._tuple(output_padding, nd, "output_padding", name)
        self.padding_mode = padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        dtype = backend.as_dtype(dtype)
        add_weight_and_bias(self, shape, bias, dtype, device, bias_size=out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=√5), i.e. W, b ~ U(−1/√fan_in, 1/√fan_in)."""
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        self.weight.data.uniform_(-bound, bound)
        if self.bias is not None:
            self.bias.data.uniform_(-bound, bound)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self.nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _check(self, x):
        name = type(self).__name__
        if x.ndim not in (self.nd + 1, self.nd + 2):
            raise RuntimeError(f"{name}: expected a {self.nd + 1}-D (unbatched) or "
                               f"{self.nd + 2}-D (batched) input, got shape {tuple(x.shape)}")
        if x.shape[-self.nd - 1] != self.in_channels:
            raise RuntimeError(f"{name}: expected input with {self.in_channels} channels "
                               f"(shape (N, {self.in_channels}, ...)), got shape {tuple(x.shape)}")


class _Conv(_ConvNd):
    def forward(self, input):
        self._check(input)
        if self.padding_mode != "zeros" and not isinstance(self.padding, str):
            widths = []
            for p in reversed(self.padding):
                widths += [p, p]
            x = _pad(input, widths, mode=self.padding_mode)
            return C.convnd(x, self.weight, self.bias, self.stride, 0, self.dilation,
                            self.groups, self.nd)
        return C.convnd(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups, self.nd)


class Conv1d(_Conv):
    """1-D cross-correlation over (N, C, L)."""
    nd = 1


class Conv2d(_Conv):
    """2-D cross-correlation over (N, C, H, W): y = b + Σ_c W ⋆ x (seed 002)."""
    nd = 2


class Conv3d(_Conv):
    """3-D cross-correlation over (N, C, D, H, W)."""
    nd = 3


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported")
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)

    def forward(self, input, output_size=None):
        self._check(input)
        op = self.output_padding
        if output_size is not None:
            size = tuple(output_size)[-self.nd:]
            op = []
            for n, want, k, s, p, d in zip(input.shape[-self.nd:], size, self.kernel_size,
                                           self.stride, self.padding, self.dilation):
                base = C.conv_transpose_output_size(n, k, s, p, 0, d)
                if not base <= want < base + max(s, d):
                    raise ValueError(f"{type(self).__name__}: requested output size {size} is "
                                     f"not reachable from input {tuple(input.shape)}")
                op.append(want - base)
        return C.conv_transposend(input, self.weight, self.bias, self.stride, self.padding,
                                  tuple(op), self.groups, self.dilation, self.nd)


class ConvTranspose1d(_ConvTranspose):
    nd = 1


class ConvTranspose2d(_ConvTranspose):
    """Transposed convolution: output s(n − 1) + d(f − 1) + 1 − 2p + output_padding."""
    nd = 2


class ConvTranspose3d(_ConvTranspose):
    nd = 3
