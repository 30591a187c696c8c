"""Exam calculators: convolution output sizes, receptive fields, parameter and FLOP counts
(seed 000 §7.3–7.6, seed 001 "Output Feature Size", seed 004 §1.4). Plain integers in and out.
"""
from __future__ import annotations

import numbers
from fractions import Fraction
from math import prod

from ..ops.conv import conv_output_size as _conv_size
from ..ops.conv import conv_transpose_output_size as _conv_t_size

__all__ = ["conv_output_size", "conv_transpose_output_size", "receptive_field", "conv_params",
           "conv_flops", "depthwise_separable_ratio", "mlp_param_count"]


def _int(value, name, op, minimum=0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{op}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def conv_output_size(n, kernel_size, stride=1, padding=0, dilation=1, floor: bool = False) -> int:
    """O = (N − F + 2P)/S + 1 with F → d(F − 1) + 1 for dilation d.

    The notes require a whole number ("result must be integer", seed 000 §7.3): when S does
    not divide N − F + 2P this raises, unless ``floor=True``, which gives ⌊(N − F + 2P)/S⌋ + 1
    (what PyTorch computes)."""
    op = "conv_output_size"
    n, k = _int(n, "n", op, 1), _int(kernel_size, "kernel_size", op, 1)
    s, p, d = _int(stride, "stride", op, 1), _int(padding, "padding", op), \
        _int(dilation, "dilation", op, 1)
    return _conv_size(n, k, s, p, d, exact=not floor)


def conv_transpose_output_size(n, kernel_size, stride=1, padding=0, output_padding=0) -> int:
    """Transposed convolution: O = S(N − 1) + F − 2P + output_padding."""
    op = "conv_transpose_output_size"
    n, k = _int(n, "n", op, 1), _int(kernel_size, "kernel_size", op, 1)
    s, p, q = _int(stride, "stride", op, 1), _int(padding, "padding", op), \
        _int(output_padding, "output_padding", op)
    if q >= s:
        raise ValueError(f"{op}: output_padding ({q}) must be smaller than stride ({s})")
    out = _conv_t_size(n, k, s, p, q)
    if out < 1:
        raise ValueError(f"{op}: output size {out} < 1 for n={n}, kernel_size={k}, stride={s}, "
                         f"padding={p}")
    return out


def receptive_field(layers) -> int:
    """RF_k = RF_{k−1} + (f_k − 1)·∏_{i<k} s_i with RF_0 = 1 (seed 000 §7.5); ``layers`` is
    [(kernel_size, stride), ...] from the input upwards. The field is RF × RF in 2-D."""
    rf, jump = 1, 1
    for i, layer in enumerate(layers):
        try:
            f, s = layer
        except (TypeError, ValueError):
            raise ValueError(f"receptive_field: layer {i} must be (kernel_size, stride), got "
                             f"{layer!r}") from None
        f, s = _int(f, "kernel_size", "receptive_field", 1), _int(s, "stride",
                                                                  "receptive_field", 1)
        rf += (f - 1) * jump
        jump *= s
    return rf


def conv_params(in_channels, out_channels, kernel_size, bias: bool = True, groups: int = 1) -> int:
    """n·d·F·F + n (seed 000 §7.3): n filters of depth d = in_channels/groups, plus n biases;
    ``kernel_size`` is F or (F_h, F_w)."""
    op = "conv_params"
    d, n = _int(in_channels, "in_channels", op, 1), _int(out_channels, "out_channels", op, 1)
    g = _int(groups, "groups", op, 1)
    if d % g or n % g:
        raise ValueError(f"{op}: groups={g} must divide in_channels={d} and out_channels={n}")
    ks = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
    area = prod(_int(k, "kernel_size", op, 1) for k in ks)
    return n * (d // g) * area + (n if bias else 0)


def conv_flops(kind, in_channels, out_channels, kernel_size, out_height, out_width=None) -> int:
    """FLOPs of seed 000 §7.5 (one multiply + one add = 2 FLOPs per weight use):
    ``"standard"`` 2·D₁·F²·D₂·H₂·W₂, ``"depthwise"`` 2·F²·D₁·H₂·W₂, ``"pointwise"``
    2·D₁·D₂·H₂·W₂, ``"separable"`` depthwise + pointwise."""
    op = "conv_flops"
    d1, d2 = _int(in_channels, "in_channels", op, 1), _int(out_channels, "out_channels", op, 1)
    f = _int(kernel_size, "kernel_size", op, 1)
    h2 = _int(out_height, "out_height", op, 1)
    w2 = h2 if out_width is None else _int(out_width, "out_width", op, 1)
    kinds = {"standard": 2 * d1 * f * f * d2 * h2 * w2,
             "depthwise": 2 * f * f * d1 * h2 * w2,
             "pointwise": 2 * d1 * d2 * h2 * w2}
    kinds["separable"] = kinds["depthwise"] + kinds["pointwise"]
    if kind not in kinds:
        raise ValueError(f"{op}: kind must be one of {sorted(kinds)}, got {kind!r}")
    return kinds[kind]


def depthwise_separable_ratio(out_channels, kernel_size) -> Fraction:
    """FLOPs(depthwise + pointwise) / FLOPs(standard) = 1/D₂ + 1/F² (D₂ output channels).

    Seed 000 §7.6 writes 1/D₁ + 1/F²; dividing its own FLOP formulas gives
    (2F²D₁H₂W₂ + 2D₁D₂H₂W₂) / (2D₁F²D₂H₂W₂) = 1/D₂ + 1/F², so the output depth is meant."""
    op = "depthwise_separable_ratio"
    return Fraction(1, _int(out_channels, "out_channels", op, 1)) + \
        Fraction(1, _int(kernel_size, "kernel_size", op, 1) ** 2)


def mlp_param_count(sizes, bias: bool = True) -> int:
    """Σₗ D⁽ˡ⁻¹⁾D⁽ˡ⁾ weights (+ Σₗ D⁽ˡ⁾ biases) of an MLP with layer sizes D⁽⁰⁾, …, D⁽ᴸ⁾:
    [2, 4, 3, 1] → 23 + 8 = 31 (seed 001). Seed 004 §1.4's count for K hidden layers of D
    units is D⁽⁰⁾D + D + (K − 1)(D² + D) + D·D⁽ᴸ⁾ + D⁽ᴸ⁾ (its first line writes K for K − 1;
    its simplified 3D + 1 + (K − 1)D(D + 1) for one input and output agrees with this)."""
    sizes = [_int(s, "every size", "mlp_param_count", 1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"mlp_param_count: needs at least two sizes, got {sizes}")
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return weights + (sum(sizes[1:]) if bias else 0)
