"""In the style of pytorch/examples super_resolution: the sub-pixel CNN (Conv2d + PixelShuffle),
init.orthogonal_ with calculate_gain('relu'), MSELoss, PSNR with log10; synthetic low/high
resolution pairs in place of BSDS300."""
import argparse
from math import log10

import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

from _common import numpy_init, write_result


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


def main():
    parser = argparse.ArgumentParser(description='PyTorch Super Res Example')
    parser.add_argument('--upscale_factor', type=int, default=2)
    parser.add_argument('--batchSize', type=int, default=4)
    parser.add_argument('--nEpochs', type=int, default=2)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--out')
    opt = parser.parse_args()
    device = torch.device("cpu")
    rng = np.random.default_rng(0)
    high = rng.random((8, 1, 12, 12)).astype(np.float32)
    low = high.reshape(8, 1, 6, 2, 6, 2).mean(axis=(3, 5))
    loader = DataLoader(TensorDataset(torch.from_numpy(low), torch.from_numpy(high)),
                        batch_size=opt.batchSize, shuffle=False)
    model = numpy_init(Net(upscale_factor=opt.upscale_factor), seed=4).to(device)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=opt.lr)
    losses, psnrs = [], []
    for epoch in range(1, opt.nEpochs + 1):
        for iteration, batch in enumerate(loader, 1):
            input, target = batch[0].to(device), batch[1].to(device)
            optimizer.zero_grad()
            loss = criterion(model(input), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        with torch.no_grad():
            mse = criterion(model(torch.from_numpy(low)), torch.from_numpy(high))
            psnrs.append(10 * log10(1 / mse.item()))
        print("===> Avg. PSNR: {:.4f} dB".format(psnrs[-1]))
    write_result({"losses": losses, "psnr": psnrs})


if __name__ == "__main__":
    main()
