"""CNN architectures: the notes' exact tables, every model at several input sizes,
a residual block against a PyTorch twin, transfer-learning helpers."""
from fractions import Fraction

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.models as M
import deltagrad.nn as nn
from deltagrad.analysis import summary


def test_lenet5_reproduces_seed_002_table():
    s = summary(M.LeNet5(in_channels=3, conv_channels=(8, 16)), (3, 32, 32))
    rows = [(r.kind, r.output_shape, r.params) for r in s.layers
            if r.kind in ("Conv2d", "MaxPool2d", "Linear")]
    assert rows == [("Conv2d", (8, 28, 28), 608), ("MaxPool2d", (8, 14, 14), 0),
                    ("Conv2d", (16, 10, 10), 3216), ("MaxPool2d", (16, 5, 5), 0),
                    ("Linear", (120,), 48120), ("Linear", (84,), 10164),
                    ("Linear", (10,), 850)]
    assert s.total_params == 608 + 3216 + 48120 + 10164 + 850
    # receptive field RF_k = RF_{k-1} + (f_k - 1) * prod(s_i): 5, 6, 14, 16
    assert [r.receptive_field for r in s.layers if r.kind in ("Conv2d", "MaxPool2d")] == \
        [5, 6, 14, 16]
    # FLOPs = 2 per multiply-accumulate: (2 * D1 * F^2) * D2 * H2 * W2 for CONV1
    assert s.layers[0].flops == 2 * 3 * 25 * 8 * 28 * 28


def test_lenet5_any_input_size():
    for size, pad in ((28, 2), (28, 0), (32, 0), (48, 0)):
        m = M.LeNet5(1, input_size=size, padding=pad)
        assert m(dg.randn(2, 1, size, size)).shape == (2, 10)
    with pytest.raises(ValueError, match="too small"):
        M.LeNet5(1, input_size=12)


@pytest.mark.parametrize("d1,d2,f", [(3, 8, 3), (16, 32, 3), (8, 64, 5)])
def test_depthwise_separable_flops_ratio_is_1_over_d2_plus_1_over_f2(d1, d2, f):
    standard = summary(nn.Conv2d(d1, d2, f, padding=f // 2), (d1, 12, 12)).total_flops
    sep = summary(M.DepthwiseSeparableConv(d1, d2, kernel_size=f), (d1, 12, 12)).total_flops
    assert Fraction(sep, standard) == Fraction(1, d2) + Fraction(1, f * f)


MODELS = {
    "alexnet": lambda c, n: M.AlexNet(n, c, small_input=True, width=0.125, hidden=32),
    "vgg11": lambda c, n: M.VGG("vgg11", c, n, batch_norm=True, width=0.0625, pool_size=1,
                                hidden=16, input_size=28),
    "vgg16": lambda c, n: M.VGG("vgg16", c, n, width=0.0625, pool_size=1, hidden=16,
                                input_size=28),
    "googlenet": lambda c, n: M.GoogLeNet(c, n, width=0.125),
    "resnet18": lambda c, n: M.resnet18(num_classes=n, in_channels=c, small_input=True,
                                        widths=(4, 8, 8, 16)),
    "resnet_bottleneck": lambda c, n: M.ResNet("bottleneck", (1, 1), n, c, (4, 8),
                                               small_input=True),
    "resnet20": lambda c, n: M.resnet_cifar(20, n, c, width=4),
    "mobilenet": lambda c, n: M.MobileNet(n, c, 0.125, small_input=True),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_architectures_train_at_any_input_size(name, channels, size):
    dg.manual_seed(0)
    model = MODELS[name](channels, 7)
    x = dg.randn(2, channels, size, size)
    y = model(x)
    assert y.shape == (2, 7) and y.dtype == dg.float32
    dg.nn.functional.cross_entropy(y, dg.tensor([1, 3])).backward()
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all()
               for p in model.parameters())
    model.eval()
    assert model(x).shape == (2, 7)


def test_resnet_imagenet_layouts_have_torchvisions_parameter_counts():
    # torchvision: resnet18 11,689,512; resnet34 21,797,672; resnet50 25,557,032
    assert sum(p.numel() for p in M.resnet18().parameters()) == 11_689_512
    assert sum(p.numel() for p in M.resnet34().parameters()) == 21_797_672
    assert sum(p.numel() for p in M.resnet50().parameters()) == 25_557_032


def test_vgg16_and_alexnet_have_torchvisions_parameter_counts():
    assert sum(p.numel() for p in M.VGG("vgg16").parameters()) == 138_357_544
    assert sum(p.numel() for p in M.AlexNet().parameters()) == 61_100_840


def test_basic_block_matches_a_torch_twin():
    torch = pytest.importorskip("torch")
    tn = torch.nn

    class TBlock(tn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tn.Conv2d(4, 8, 3, 2, 1, bias=False)
            self.bn1 = tn.BatchNorm2d(8)
            self.relu = tn.ReLU()
            self.conv2 = tn.Conv2d(8, 8, 3, 1, 1, bias=False)
            self.bn2 = tn.BatchNorm2d(8)
            self.downsample = tn.Sequential(tn.Conv2d(4, 8, 1, 2, bias=False), tn.BatchNorm2d(8))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + self.downsample(x))

    torch.manual_seed(0)
    tb = TBlock().double()
    b = M.BasicBlock(4, 8, stride=2).double()
    b.load_state_dict({k: v.numpy() for k, v in tb.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 4, 9, 9))
    xd, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yd, yt = b(xd), tb(xt)
    np.testing.assert_allclose(yd.detach().numpy(), yt.detach().numpy(), atol=1e-10)
    (yd ** 2).sum().backward()
    (yt ** 2).sum().backward()
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(b.conv1.weight.grad.numpy(), tb.conv1.weight.grad.numpy(),
                               atol=1e-9)
    np.testing.assert_allclose(b.bn1.running_mean.numpy(), tb.bn1.running_mean.numpy(),
                               atol=1e-12)


def test_inception_module_concatenates_branches():
    m = M.InceptionModule(8, 4, 4, 6, 2, 3, 5)
    y = m(dg.randn(2, 8, 7, 7))
    assert y.shape == (2, 4 + 6 + 3 + 5, 7, 7) and m.out_channels == 18


def test_mobilenet_width_multiplier_thins_layers():
    full = sum(p.numel() for p in M.MobileNet(10, 3, 1.0).parameters())
    half = sum(p.numel() for p in M.MobileNet(10, 3, 0.5).parameters())
    assert half < 0.35 * full  # parameters scale roughly with alpha squared
    assert sum(p.numel() for p in M.MobileNet(1000, 3, 1.0).parameters()) == 4_231_976


def test_freeze_replace_head_and_param_groups():
    model = M.LeNet5(1, input_size=28, padding=2)
    M.freeze(model.features)
    M.replace_head(model, 5)
    assert model.classifier[-1].out_features == 5
    groups = M.param_groups(model, {"classifier.1": 1e-3}, default_lr=1e-2)
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]
    assert sum(len(g["params"]) for g in groups) == 6  # 3 Linear layers, features frozen
    opt = dg.optim.SGD(groups, lr=0.1)
    before = [p.detach().numpy().copy() for p in model.features.parameters()]
    loss = dg.nn.functional.cross_entropy(model(dg.randn(4, 1, 28, 28)), dg.tensor([0, 1, 2, 4]))
    loss.backward()
    opt.step()
    assert all(p.grad is None for p in model.features.parameters())
    assert all(np.array_equal(a, p.detach().numpy())
               for a, p in zip(before, model.features.parameters()))
    M.unfreeze(model.features)
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="no Linear layer"):
        M.replace_head(nn.Sequential(nn.ReLU()), 3)
