"""ResNet (He et al. 2015; seed 003: skip connections supply a copy of the input to later
layers): y = F(x) + x, so a deeper network can always fall back to the identity.

``BasicBlock`` (two 3×3 convolutions) and ``Bottleneck`` (1×1 → 3×3 → 1×1, expansion 4),
with a 1×1 projection on the skip path when the shape changes. ``ResNet(block, layers)``
builds torchvision's ImageNet layout (resnet18: [2, 2, 2, 2], resnet34: [3, 4, 6, 3]) or,
with ``small_input=True``, a CIFAR-style stem (3×3 convolution, no max pooling).
``resnet_cifar(depth)`` is the 6n + 2 family of the paper's CIFAR experiments.
"""
from __future__ import annotations

from .. import nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50",
           "resnet_cifar"]


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _projection(in_planes, planes, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_planes, out, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.relu(self.bn2(self.conv2(h)))
        return self.relu(self.bn3(self.conv3(h)) + identity)


def _projection(cin, cout, stride):
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class ResNet(nn.Module):
    def __init__(self, block=BasicBlock, layers=(2, 2, 2, 2), num_classes=1000, in_channels=3,
                 widths=(64, 128, 256, 512), small_input=False):
        super().__init__()
        if isinstance(block, str):
            block = {"basic": BasicBlock, "bottleneck": Bottleneck}[block]
        w0 = widths[0]
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, w0, 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_channels, w0, 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.bn1 = nn.BatchNorm2d(w0)
        self.relu = nn.ReLU(inplace=True)
        stages, planes_in = [], w0
        for i, (n, w) in enumerate(zip(layers, widths)):
            blocks = []
            for j in range(n):
                blocks.append(block(planes_in, w, 2 if (j == 0 and i > 0) else 1))
                planes_in = w * block.expansion
            stages.append(nn.Sequential(*blocks))
        for i, s in enumerate(stages):
            setattr(self, f"layer{i + 1}", s)
        self.n_stages = len(stages)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes_in, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.n_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(**kwargs):
    return ResNet(BasicBlock, (2, 2, 2, 2), **kwargs)


def resnet34(**kwargs):
    return ResNet(BasicBlock, (3, 4, 6, 3), **kwargs)


def resnet50(**kwargs):
    return ResNet(Bottleneck, (3, 4, 6, 3), **kwargs)


def resnet_cifar(depth=20, num_classes=10, in_channels=3, width=16):
    """The 6n + 2 layer CIFAR ResNets (20, 32, 44, 56, 110): three stages of n basic blocks
    with width, 2·width, 4·width channels."""
    if (depth - 2) % 6:
        raise ValueError(f"resnet_cifar: depth must be 6n + 2 (20, 32, 44, ...), got {depth}")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, (n, n, n), num_classes, in_channels,
                  (width, 2 * width, 4 * width), small_input=True)
