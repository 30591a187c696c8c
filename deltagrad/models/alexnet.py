"""AlexNet (Krizhevsky et al. 2012; seed 000: "8 layers, ReLU, dropout, data augmentation"):
five convolutions and three fully connected layers, torchvision's layout.

``small_input=True`` swaps the ImageNet stem (11×11, stride 4) for a 3×3, stride 1 one and
drops the first pooling so 28×28 or 32×32 images pass through; the adaptive pooling before
the classifier makes every input size work.
"""
from __future__ import annotations

from .. import nn

__all__ = ["AlexNet"]


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5, width=1.0,
                 hidden=4096, small_input=False):
        super().__init__()
        c = [max(1, int(round(w * width))) for w in (64, 192, 384, 256, 256)]
        if small_input:
            stem = [nn.Conv2d(in_channels, c[0], 3, padding=1), nn.ReLU(inplace=True)]
        else:
            stem = [nn.Conv2d(in_channels, c[0], 11, stride=4, padding=2), nn.ReLU(inplace=True),
                    nn.MaxPool2d(3, 2)]
        self.features = nn.Sequential(
            *stem,
            nn.Conv2d(c[0], c[1], 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
        pool = 1 if small_input else 6
        self.avgpool = nn.AdaptiveAvgPool2d((pool, pool))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c[4] * pool * pool, hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))
