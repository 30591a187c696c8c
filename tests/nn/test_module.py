"""nn.Module against torch.nn.Module for the same model: registration, traversal, modes,
gradients, state_dict keys and loading (from torch's own state_dict), errors, conversion
and repr."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn as nn

torch = pytest.importorskip("torch")


def make_net(lib):
    """The same model written against ``lib`` (deltagrad or torch)."""
    L = lib.nn

    class Net(L.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = L.Linear(4, 8)
            self.bn = L.BatchNorm1d(8)
            self.drop = L.Dropout(0.25)
            self.blocks = L.ModuleList([L.Linear(8, 8), L.LayerNorm(8)])
            self.head = L.Sequential(OrderedDict([("out", L.Linear(8, 3))]))
            self.emb = L.Embedding(5, 4, padding_idx=0)
            self.gn = L.GroupNorm(2, 8)
            self.temperature = L.Parameter(lib.ones(1))
            self.register_buffer("step", lib.zeros(1))
            self.register_buffer("cache", lib.zeros(2), persistent=False)

        def forward(self, x, idx):
            h = self.drop(self.bn(self.fc1(x) + self.emb(idx).sum(1).repeat(1, 2)))
            for m in self.blocks:
                h = m(h)
            h = self.gn(h)
            return self.head(h) * self.temperature

    return Net()


def _load_from_torch(net, tnet):
    return net.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})


@pytest.fixture
def nets():
    torch.manual_seed(0)
    tnet = make_net(torch)
    net = make_net(dg)
    assert _load_from_torch(net, tnet) == ([], [])
    return net, tnet


def test_names_and_traversal_match_torch(nets):
    net, tnet = nets
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert [tuple(p.shape) for p in net.parameters()] == [tuple(p.shape)
                                                          for p in tnet.parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in tnet.named_buffers()]
    assert list(net.state_dict()) == list(tnet.state_dict())
    assert "cache" not in net.state_dict() and "step" in net.state_dict()
    assert [n for n, _ in net.named_children()] == [n for n, _ in tnet.named_children()]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert [type(m).__name__ for m in net.modules()] == [type(m).__name__
                                                         for m in tnet.modules()]
    assert len(list(net.children())) == 7
    assert net.get_submodule("blocks.1") is net.blocks[1]
    assert net.get_parameter("head.out.bias") is net.head.out.bias
    assert net.bn.num_batches_tracked.dtype == np.int64


def test_repr_matches_torch(nets):
    net, tnet = nets
    assert repr(net) == repr(tnet)
    assert repr(nn.Sequential(nn.Linear(2, 3), nn.Dropout(), nn.Identity(), nn.Flatten())) \
        == repr(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Dropout(),
                                    torch.nn.Identity(), torch.nn.Flatten()))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_backward_match_torch_after_loading(nets, dtype):
    net, tnet = nets
    net.to(getattr(dg, dtype))
    tnet.to(getattr(torch, dtype))
    net.eval()
    tnet.eval()  # dropout off, so the two are deterministic
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((6, 4)).astype(dtype)
    ia = rng.integers(0, 5, (6, 3))
    out = net(dg.tensor(xa), dg.tensor(ia))
    tout = tnet(torch.tensor(xa), torch.tensor(ia))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **tol)
    out.sum().backward()
    tout.sum().backward()
    for (n, p), (_, tp) in zip(net.named_parameters(), tnet.named_parameters()):
        assert p.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), err_msg=n, **tol)


def test_train_eval_modes(nets):
    net, tnet = nets
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.blocks.train(False)
    assert net.training and not net.blocks[0].training
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")
    # BatchNorm running stats move only in training
    x, idx = dg.randn(5, 4), dg.randint(0, 5, (5, 3))
    net.train()
    net(x, idx)
    assert net.bn.num_batches_tracked.item() == 1
    rm = net.bn.running_mean.numpy().copy()
    net.eval()
    net(x, idx)
    np.testing.assert_array_equal(net.bn.running_mean.numpy(), rm)


def test_zero_grad_and_requires_grad(nets):
    net, _ = nets
    net.eval()
    net(dg.randn(3, 4), dg.randint(0, 5, (3, 2))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_load_state_dict_values_and_sharing(nets):
    net, tnet = nets
    for k, v in tnet.state_dict().items():
        np.testing.assert_array_equal(net.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    sd = net.state_dict()
    sd["fc1.weight"].fill_(3.0)  # state_dict tensors share memory with the parameters
    assert (net.fc1.weight.detach().numpy() == 3).all()
    net2 = make_net(dg)
    net2.load_state_dict(net.state_dict())  # from deltagrad Tensors
    np.testing.assert_array_equal(net2.fc1.weight.detach().numpy(), 3)
    net2.load_state_dict(tnet.state_dict())  # torch tensors directly
    np.testing.assert_array_equal(net2.fc1.weight.detach().numpy(),
                                  tnet.fc1.weight.detach().numpy())


def test_load_state_dict_errors_name_keys(nets):
    net, tnet = nets
    sd = {k: v.numpy() for k, v in tnet.state_dict().items()}
    missing = dict(sd)
    del missing["bn.running_var"]
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "bn.running_var"'):
        net.load_state_dict(missing)
    extra = dict(sd, **{"fc9.weight": np.zeros(2)})
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "fc9.weight"'):
        net.load_state_dict(extra)
    result = net.load_state_dict(extra, strict=False)
    assert result.unexpected_keys == ["fc9.weight"] and result.missing_keys == []
    result = net.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["bn.running_var"]
    bad = dict(sd, **{"fc1.weight": np.zeros((8, 5), np.float32)})
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.weight: copying a param "
                                           r"with shape \(8, 5\).*is \(8, 4\)"):
        net.load_state_dict(bad)


def test_apply_and_dtype_conversion(nets):
    net, _ = nets
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen[-1] == "Net" and seen.count("Linear") == 3

    def zero_linear(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)
    net.apply(zero_linear)
    assert (net.head.out.weight.detach().numpy() == 0).all()
    w = net.fc1.weight
    assert net.double() is net
    assert net.fc1.weight is w  # converted in place, identity kept (optimizers hold it)
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.bn.running_mean.dtype == np.float64
    assert net.bn.num_batches_tracked.dtype == np.int64  # integer buffers untouched
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    net.to(dtype=dg.float64)
    assert net.gn.weight.dtype == np.float64


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(dg.ones(2))
    m.sub = nn.Linear(2, 2)
    m.plain = dg.ones(3)  # a plain tensor is neither parameter nor buffer
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    assert list(m.state_dict()) == ["w", "sub.weight", "sub.bias"]
    m.register_buffer("buf", dg.zeros(1))
    assert "buf" in m.state_dict()
    with pytest.raises(TypeError, match="as parameter 'w'"):
        m.w = dg.ones(2)
    m.w = None
    assert [n for n, _ in m.named_parameters()] == ["sub.weight", "sub.bias"]
    del m.sub
    assert list(m.parameters()) == []
    with pytest.raises(KeyError, match="can't contain"):
        m.register_parameter("a.b", nn.Parameter(dg.ones(1)))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(dg.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.parameters())) == 2  # shared parameters counted once
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_reassigned_members_keep_their_place_like_torch():
    """Replacing a child, parameter or buffer keeps its position in children(), parameters()
    and the state_dict (the siamese example swaps resnet.conv1, then drops children()[-1])."""
    def build(lib):
        m = lib.nn.Module()
        m.conv1 = lib.nn.Conv2d(3, 4, 3)
        m.bn1 = lib.nn.BatchNorm2d(4)
        m.fc = lib.nn.Linear(4, 2)
        m.p = lib.nn.Parameter(lib.zeros(1))
        m.q = lib.nn.Parameter(lib.zeros(1))
        m.register_buffer("x", lib.zeros(1), persistent=False)
        m.register_buffer("y", lib.zeros(1))
        m.conv1 = lib.nn.Conv2d(1, 4, 3)
        m.p = lib.nn.Parameter(lib.ones(1))
        m.x = lib.nn.Buffer(lib.ones(1))
        return m
    ours, theirs = build(dg), build(torch)
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()] \
        == ["conv1", "bn1", "fc"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.children())[0].in_channels == 1


def test_containers_index_like_torch():
    layers = [nn.Linear(2, 2), nn.Dropout(), nn.Linear(2, 1)]
    seq = nn.Sequential(*layers)
    assert seq[-1] is layers[2] and len(seq) == 3
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    ml = nn.ModuleList(layers)
    ml.append(nn.Identity())
    assert len(ml) == 4 and ml[3].__class__.__name__ == "Identity"
    md = nn.ModuleDict({"a": layers[0]})
    assert "a" in md and md["a"] is layers[0]
    with pytest.raises(IndexError):
        seq[3]


def test_parameter_is_tensor():
    p = nn.Parameter(dg.randn(2, 3))
    assert isinstance(p, dg.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(dg.ones(1), requires_grad=False).requires_grad


def test_modulelist_repr_compresses_repeats_like_torch():
    def build(L):
        return L.Sequential(L.ModuleList([L.Linear(2, 2) for _ in range(3)]
                                         + [L.Dropout(), L.Linear(2, 2)]), L.ModuleList())
    assert repr(build(nn)) == repr(build(torch.nn))
    assert "(0-2): 3 x Linear(in_features=2, out_features=2, bias=True)" in repr(build(nn))


def test_train_calls_children_overrides():
    class FrozenBN(nn.BatchNorm1d):
        def train(self, mode=True):  # keeps running statistics fixed, as in fine-tuning
            return super().train(False)
    net = nn.Sequential(nn.Linear(2, 3), FrozenBN(3))
    net.train()
    assert net.training and net[0].training and not net[1].training


def test_device_and_dtype_kwargs():
    for m in (nn.Linear(2, 3, device="cpu", dtype=dg.float64),
              nn.Bilinear(2, 2, 3, device="cpu", dtype=dg.float64),
              nn.Embedding(4, 2, device="cpu", dtype=dg.float64),
              nn.BatchNorm1d(3, device="cpu", dtype=dg.float64),
              nn.LayerNorm(3, device="cpu", dtype=dg.float64),
              nn.GroupNorm(1, 3, device="cpu", dtype=dg.float64)):
        assert all(p.dtype == np.float64 and p.device == "cpu" for p in m.parameters())
