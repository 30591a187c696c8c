"""VGG (Simonyan & Zisserman 2014; seed 000: "deep network using small 3×3 filters"):
stacks of 3×3 convolutions (padding 1) separated by 2×2 max pooling, then a classifier.

``cfg`` lists channel counts and 'M' for pooling; ``VGG_LAYOUTS`` holds VGG-11/13/16/19.
``width`` scales every channel count, ``pool_size`` is the adaptive pooling before the
classifier (7 for ImageNet, 1 for small images) and ``hidden`` the classifier width. Given ``input_size``, a pooling that would shrink the feature map below
1×1 is skipped, so VGG-11/16 also run on 28×28 images (four poolings instead of five).
"""
from __future__ import annotations

from .. import nn

__all__ = ["VGG", "VGG_LAYOUTS", "vgg11", "vgg16"]

VGG_LAYOUTS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, cfg="vgg16", in_channels=3, num_classes=1000, batch_norm=False,
                 width=1.0, pool_size=7, hidden=4096, dropout=0.5, input_size=None):
        super().__init__()
        layout = VGG_LAYOUTS[cfg] if isinstance(cfg, str) else list(cfg)
        layers, c, side = [], in_channels, input_size
        for v in layout:
            if v == "M":
                if side is not None and side < 2:
                    continue
                layers.append(nn.MaxPool2d(2, 2))
                side = None if side is None else side // 2
                continue
            out = max(1, int(round(v * width)))
            layers.append(nn.Conv2d(c, out, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU(inplace=True))
            c = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Linear(c * pool_size * pool_size, hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def vgg11(**kwargs):
    return VGG("vgg11", **kwargs)


def vgg16(**kwargs):
    return VGG("vgg16", **kwargs)
