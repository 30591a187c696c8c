"""LeNet-5 (LeCun et al. 1998), in the layout of seed 002's table:
CONV1 (f=5, s=1) → POOL1 (2×2) → CONV2 (f=5, s=1) → POOL2 → FC3 120 → FC4 84 → FC5 classes.

With ``in_channels=3, conv_channels=(8, 16)`` and a 32×32 input the parameter counts are the
notes' 608, 3216, 48120, 10164, 850.
"""
from __future__ import annotations

from .. import nn
from ..ops.conv import conv_output_size

__all__ = ["LeNet5"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class LeNet5(nn.Module):
    def __init__(self, in_channels=1, conv_channels=(6, 16), num_classes=10, input_size=32,
                 padding=0, activation="relu", pool="max", fc_sizes=(120, 84)):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"LeNet5: activation must be one of {sorted(_ACTIVATIONS)}, got "
                             f"{activation!r}")
        if pool not in ("max", "avg"):
            raise ValueError(f"LeNet5: pool must be 'max' or 'avg', got {pool!r}")
        act = _ACTIVATIONS[activation]
        pool_cls = nn.MaxPool2d if pool == "max" else nn.AvgPool2d
        c1, c2 = conv_channels
        try:
            side = conv_output_size(input_size, 5, padding=padding)   # CONV1
            side = conv_output_size(side, 2, stride=2)                # POOL1
            side = conv_output_size(side, 5)                          # CONV2
            side = conv_output_size(side, 2, stride=2)                # POOL2
        except ValueError:
            raise ValueError(f"LeNet5: input_size {input_size} is too small with padding "
                             f"{padding} (needs >= {16 - 2 * padding} pixels)") from None
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=padding), act(), pool_cls(2),
            nn.Conv2d(c1, c2, 5), act(), pool_cls(2))
        layers, width = [nn.Flatten()], c2 * side * side
        for h in fc_sizes:
            layers += [nn.Linear(width, h), act()]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*layers)

    def forward(self, x):
        return self.classifier(self.features(x))
