"""GoogLeNet's Inception module (Szegedy et al. 2014; seed 003): parallel 1×1, 3×3 and 5×5
convolutions and a pooling branch, each padded to the same spatial size and concatenated
along channels; the 1×1 convolutions in front reduce the depth (and the FLOPs).
"""
from __future__ import annotations

from .. import nn
from ..ops.shape import cat

__all__ = ["InceptionModule", "GoogLeNet"]


def _conv_bn(cin, cout, k, **kw):
    return nn.Sequential(nn.Conv2d(cin, cout, k, bias=False, **kw), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class InceptionModule(nn.Module):
    """Four branches: 1×1 | 1×1 → 3×3 | 1×1 → 5×5 | 3×3 max-pool → 1×1; output channels
    ch1x1 + ch3x3 + ch5x5 + pool_proj."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = _conv_bn(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(_conv_bn(in_channels, ch3x3red, 1),
                                     _conv_bn(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(_conv_bn(in_channels, ch5x5red, 1),
                                     _conv_bn(ch5x5red, ch5x5, 5, padding=2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, padding=1),
                                     _conv_bn(in_channels, pool_proj, 1))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    """A small GoogLeNet: a convolutional stem, stacked Inception modules with pooling
    between stages, global average pooling and one linear classifier. ``width`` scales the
    channels; the default sizes follow the paper's 3a/3b/4a stages at half width."""

    def __init__(self, in_channels=3, num_classes=10, width=0.5, dropout=0.2):
        super().__init__()

        def w(c):
            return max(1, int(round(c * width)))
        self.stem = nn.Sequential(_conv_bn(in_channels, w(64), 3, padding=1),
                                  _conv_bn(w(64), w(192), 3, padding=1))
        a3 = InceptionModule(w(192), w(64), w(96), w(128), w(16), w(32), w(32))
        b3 = InceptionModule(a3.out_channels, w(128), w(128), w(192), w(32), w(96), w(64))
        a4 = InceptionModule(b3.out_channels, w(192), w(96), w(208), w(16), w(48), w(64))
        self.inception = nn.Sequential(a3, b3, nn.MaxPool2d(3, 2, padding=1), a4)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(a4.out_channels, num_classes)

    def forward(self, x):
        x = self.inception(self.stem(x))
        return self.fc(self.dropout(self.avgpool(x).flatten(1)))
