"""``fit_cross_entropy``: the same weights as the same loop in PyTorch (copied weights, the
same shuffled order, float64), and bad inputs named."""
import numpy as np
import pytest
import torch

import deltagrad as dg
from deltagrad import nn
from deltagrad.utils.fit import fit_cross_entropy


def _torch_loop(model, x, y, optimizer, epochs, batch_size, seed):
    rng = np.random.default_rng(seed)               # the order fit_cross_entropy draws
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x[idx])),
                                                     torch.from_numpy(y[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
    return losses


def test_weights_equal_torch_after_two_epochs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 5))                  # 37 = 4 batches of 10 and one of 7
    y = rng.integers(0, 3, 37)
    dg.manual_seed(0)
    ours = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 3)).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    seen = []
    fit_cross_entropy(ours, x, y, dg.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9), 2,
                      10, seed=7, after_epoch=lambda epoch, loss: seen.append((epoch,
                                                                              loss.item())))
    want = _torch_loop(theirs, x, y, torch.optim.SGD(theirs.parameters(), lr=0.1,
                                                      momentum=0.9), 2, 10, seed=7)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-12,
                                   atol=1e-12, err_msg=k)
    assert [e for e, _ in seen] == [1, 2]
    np.testing.assert_allclose([l for _, l in seen], want, rtol=1e-12)


def test_the_same_seed_gives_the_same_weights_bit_for_bit():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((20, 4)).astype(np.float32), rng.integers(0, 2, 20)
    weights = []
    for _ in range(2):
        dg.manual_seed(3)
        model = nn.Linear(4, 2)
        fit_cross_entropy(model, x, y, dg.optim.Adam(model.parameters()), 3, 8, seed=11)
        weights.append(model.weight.detach().numpy().copy())
    np.testing.assert_array_equal(weights[0], weights[1])


def test_bad_inputs_are_named():
    model = nn.Linear(2, 2)
    opt = dg.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="fit_cross_entropy: x is empty"):
        fit_cross_entropy(model, np.zeros((0, 2), np.float32), np.zeros(0, np.int64), opt, 1,
                          4, 0)
    with pytest.raises(ValueError, match="got 3 inputs and 2 labels"):
        fit_cross_entropy(model, np.zeros((3, 2), np.float32), np.zeros(2, np.int64), opt, 1,
                          4, 0)
