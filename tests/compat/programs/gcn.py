"""A two-layer graph convolutional network (pygcn-style: the legacy torch.FloatTensor(in, out)
weight constructor, torch.mm for X W and torch.spmm with the normalised sparse adjacency
D^-1/2 (A + I) D^-1/2), node classification with nll_loss on a training mask."""
import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.nn.parameter import Parameter

from _common import numpy_init, write_result


class GraphConvolution(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = Parameter(torch.FloatTensor(in_features, out_features))
        self.bias = Parameter(torch.FloatTensor(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1. / math.sqrt(self.weight.size(1))
        self.weight.data.uniform_(-stdv, stdv)
        if self.bias is not None:
            self.bias.data.uniform_(-stdv, stdv)

    def forward(self, input, adj):
        support = torch.mm(input, self.weight)
        output = torch.spmm(adj, support)
        return output + self.bias if self.bias is not None else output


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout):
        super().__init__()
        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        return F.log_softmax(self.gc2(x, adj), dim=1)


def normalized_adjacency(n, rng):
    a = (rng.random((n, n)) < 0.15).astype(np.float32)
    a = np.maximum(a, a.T) + np.eye(n, dtype=np.float32)
    d = 1.0 / np.sqrt(a.sum(1))
    a = a * d[:, None] * d[None, :]
    rows, cols = np.nonzero(a)
    return torch.sparse_coo_tensor(torch.from_numpy(np.stack([rows, cols]).astype(np.int64)),
                                   torch.from_numpy(a[rows, cols]), (n, n))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--out")
    args = p.parse_args()
    rng = np.random.default_rng(4)
    n = 40
    adj = normalized_adjacency(n, rng)
    labels = torch.LongTensor(rng.integers(0, 3, n))
    features = torch.FloatTensor(rng.standard_normal((n, 6)).astype(np.float32))
    idx_train = torch.LongTensor(range(25))
    model = numpy_init(GCN(6, 8, 3, dropout=0.0), seed=6)
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    losses = []
    for epoch in range(args.epochs):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()
        losses.append(loss_train.item())
        print(f"Epoch: {epoch + 1:04d} loss_train: {loss_train.item():.4f}")
    model.eval()
    output = model(features, adj)
    acc = (output.max(1)[1].type_as(labels) == labels).double().mean()
    print(f"Test set results: accuracy= {acc.item():.4f}")
    write_result({"losses": losses, "eval_loss": F.nll_loss(output, labels).item(),
                  "nnz": adj._nnz()})


if __name__ == "__main__":
    main()
