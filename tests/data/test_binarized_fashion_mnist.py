"""BinarizedFashionMNIST: the fixed 0.5 threshold and the dynamic Bernoulli draws."""
import os

import numpy as np
import pytest

import deltagrad as dg

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/usr/share/datasets/fashion-mnist") and not os.environ.get("DELTAGRAD_DATA"),
    reason="needs Fashion-MNIST (Debian's dataset-fashion-mnist or DELTAGRAD_DATA)")


def test_fixed_threshold_at_one_half():
    grey = dg.datasets.FashionMNIST(train=False)
    binary = dg.datasets.BinarizedFashionMNIST(train=False)
    x, y = binary.as_tensors(flatten=True)
    assert x.shape == (10000, 784) and x.dtype == dg.float32
    np.testing.assert_array_equal(x.numpy(), (grey.data.reshape(-1, 784) / 255 > 0.5))
    np.testing.assert_array_equal(y.numpy(), grey.targets)
    img, label = binary[3]
    assert set(np.unique(binary.data)) <= {0, 255} and label == grey.targets[3]
    t = dg.datasets.transforms.ToTensor()
    assert set(np.unique(t(img).numpy())) <= {0.0, 1.0}


def test_dynamic_draws_are_fresh_per_access_and_repeatable_per_epoch():
    d = dg.datasets.BinarizedFashionMNIST(train=False, dynamic=True, seed=1)
    grey = d.data[:500].reshape(500, -1) / 255.0
    a = d.as_tensors(flatten=True)[0].numpy()[:500]
    b = d.as_tensors(flatten=True)[0].numpy()[:500]
    assert set(np.unique(a)) <= {0.0, 1.0} and (a != b).any()
    # a Bernoulli(grey) draw: the mean of many draws approaches the grey level
    assert abs(a.mean() - grey.mean()) < 0.01
    assert (a[grey == 0] == 0).all() and (a[grey == 1] == 1).all()
    d.set_epoch(4)
    first = d[7][0]
    d.set_epoch(4)
    np.testing.assert_array_equal(d[7][0], first)
