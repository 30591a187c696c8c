"""MobileNet v1 (Howard et al. 2017; seed 000 §7.6): depthwise-separable convolutions, a
3×3 depthwise convolution (groups = channels) followed by a 1×1 pointwise one, cost

    FLOPs_depthwise + FLOPs_pointwise = (1/D₂ + 1/F²) · FLOPs_standard,

and a width multiplier α that thins every layer.
"""
from __future__ import annotations

from .. import nn

__all__ = ["DepthwiseSeparableConv", "MobileNet"]


class DepthwiseSeparableConv(nn.Module):
    """3×3 depthwise conv → BN → ReLU → 1×1 pointwise conv → BN → ReLU."""

    def __init__(self, in_channels, out_channels, stride=1, kernel_size=3):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride,
                                   kernel_size // 2, groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn2(self.pointwise(self.relu(self.bn1(self.depthwise(x))))))


# (output channels, stride) of the 13 separable blocks of MobileNet v1
_V1 = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
       (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


class MobileNet(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, width_multiplier=1.0,
                 small_input=False, blocks=None, dropout=0.0):
        super().__init__()

        def w(c):
            return max(8, int(c * width_multiplier))
        c = w(32)
        layers = [nn.Conv2d(in_channels, c, 3, 1 if small_input else 2, 1, bias=False),
                  nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        for out, s in (blocks or _V1):
            layers.append(DepthwiseSeparableConv(c, w(out), s))
            c = w(out)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.fc(self.dropout(self.avgpool(self.features(x)).flatten(1)))
