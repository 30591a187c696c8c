"""Exam calculators pinned to the notes' formulas (seed 000 §7.3–7.6, seed 001, seed 004)."""
from fractions import Fraction

import pytest

from deltagrad.analysis import (conv_flops, conv_output_size, conv_params,
                                conv_transpose_output_size, depthwise_separable_ratio,
                                mlp_param_count, receptive_field)


def test_conv_output_size():
    # (N − F + 2P)/S + 1 (seed 000 §7.3, seed 001 "Output Feature Size")
    assert conv_output_size(32, 5) == 28
    assert conv_output_size(7, 3, stride=2) == 3
    assert conv_output_size(32, 5, padding=2) == 32               # P = (F − 1)/2 keeps the size
    assert conv_output_size(55, 7) == 49                          # seed 000's 12x55x55 → 49
    assert conv_output_size(10, 3, dilation=2) == 6
    with pytest.raises(ValueError, match="not an integer"):       # 4/3: stride does not divide
        conv_output_size(7, 3, stride=3)
    assert conv_output_size(7, 3, stride=3, floor=True) == 2      # ⌊·⌋ when asked
    with pytest.raises(ValueError, match="larger"):
        conv_output_size(3, 5)
    with pytest.raises(ValueError, match="stride"):
        conv_output_size(7, 3, stride=0)


def test_conv_transpose_output_size():
    # s(n − 1) + f − 2p (SYLLABUS §8)
    assert conv_transpose_output_size(4, 3, stride=2, padding=1) == 7
    assert conv_transpose_output_size(4, 4, stride=2, padding=1) == 8
    assert conv_transpose_output_size(4, 3, stride=2, padding=1, output_padding=1) == 8
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_output_size(4, 3, stride=2, output_padding=2)


def test_receptive_field():
    # RF_k = RF_{k−1} + (f_k − 1) ∏ s_i, RF_0 = 1
    assert receptive_field([]) == 1
    assert receptive_field([(3, 1), (3, 1), (3, 1)]) == 7         # three 3x3 = one 7x7
    assert receptive_field([(3, 2), (3, 2)]) == 7                 # 1 + 2 + 2·2
    assert receptive_field([(5, 1), (2, 2), (5, 1), (2, 2)]) == 16  # LeNet-5's C1 S2 C3 S4


def test_params_and_flops():
    # n·d·F·F + n (seed 000 §7.3); LeNet-5 C1 = 156, C3 = 2416 (full connections)
    assert conv_params(1, 6, 5) == 156 and conv_params(6, 16, 5) == 2416
    assert conv_params(12, 12, 7, groups=12) == 12 * 49 + 12      # depthwise: 12 1x7x7 filters
    assert conv_params(12, 4, 1, bias=False) == 48                # pointwise 4 x 12x1x1
    D1, D2, F, H = 12, 6, 7, 49
    assert conv_flops("standard", D1, D2, F, H) == 2 * D1 * F * F * D2 * H * H
    assert conv_flops("depthwise", D1, D2, F, H) == 2 * F * F * D1 * H * H
    assert conv_flops("pointwise", D1, D2, F, H) == 2 * D1 * D2 * H * H
    ratio = Fraction(conv_flops("separable", D1, D2, F, H), conv_flops("standard", D1, D2, F, H))
    assert ratio == depthwise_separable_ratio(D2, F) == Fraction(1, D2) + Fraction(1, F * F)
    with pytest.raises(ValueError, match="kind"):
        conv_flops("grouped", 1, 1, 3, 3)


def test_mlp_param_count():
    assert mlp_param_count([2, 4, 3, 1]) == 23 + 8                # seed 001
    assert mlp_param_count([2, 4, 3, 1], bias=False) == 23
    # seed 004 §1.4: 1 input, 1 output, K hidden layers of D: 3D + 1 + (K − 1)D(D + 1)
    for D, K in [(3, 1), (5, 2), (4, 3)]:
        assert mlp_param_count([1] + [D] * K + [1]) == 3 * D + 1 + (K - 1) * D * (D + 1)
    with pytest.raises(ValueError):
        mlp_param_count([3])
