"""Attribution maps against references written with PyTorch hooks on the same weights (float64)."""
import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn as nn
import deltagrad.nn.functional as F
from deltagrad.interpret import (Deconvolution, GuidedBackprop, GuidedGradCam,
                                 IntegratedGradients, LayerGradCam, NoiseTunnel, Occlusion,
                                 Saliency)
from tests.conftest import requires_torch

TOL = dict(rtol=1e-8, atol=1e-10)


def _cnn(inplace=False, lib=nn):
    return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.ReLU(inplace=inplace),
                          lib.Conv2d(4, 6, 3), lib.ReLU(inplace=inplace),
                          lib.MaxPool2d(2), lib.Flatten(), lib.Linear(6 * 3 * 3, 5))


class FunctionalNet(nn.Module):
    """The same network with F.relu (no ReLU modules: hooks on modules cannot see it)."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 6, 3), \
            nn.Linear(54, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c2(F.relu(self.c1(x)))), 2)
        return self.fc(x.flatten(1))


def _pair(inplace=False):
    import torch
    dg.manual_seed(3)
    model = _cnn(inplace).to(dg.float64)
    tmodel = _cnn(False, torch.nn).double()
    tmodel.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in model.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8))
    return model, tmodel, x


def _torch_grad(tmodel, x, target):
    import torch
    tx = torch.tensor(x, requires_grad=True)
    out = tmodel(tx)
    out[torch.arange(len(x)), torch.as_tensor(target)].sum().backward()
    return tx.grad.numpy()


@requires_torch
@pytest.mark.parametrize("inplace", [False, True])
def test_saliency_equals_input_gradient_magnitude(inplace):
    model, tmodel, x = _pair(inplace)
    target = [0, 3, 4]
    got = Saliency(model).attribute(dg.tensor(x), target=target)
    np.testing.assert_allclose(got.numpy(), np.abs(_torch_grad(tmodel, x, target)), **TOL)
    signed = Saliency(model).attribute(dg.tensor(x), target=2, abs=False)
    np.testing.assert_allclose(signed.numpy(), _torch_grad(tmodel, x, [2, 2, 2]), **TOL)


def _torch_guided(tmodel, x, target, deconv=False):
    import torch
    handles = []
    for m in tmodel.modules():
        if isinstance(m, torch.nn.ReLU):
            if deconv:   # replace the ReLU's gradient by relu(grad_output)
                handles.append(m.register_full_backward_hook(
                    lambda mod, gi, go: (torch.clamp(go[0], min=0),)))
            else:
                handles.append(m.register_full_backward_hook(
                    lambda mod, gi, go: (torch.clamp(gi[0], min=0),)))
    try:
        return _torch_grad(tmodel, x, target)
    finally:
        for h in handles:
            h.remove()


@requires_torch
@pytest.mark.parametrize("inplace", [False, True])
def test_guided_backprop_and_deconvolution_match_torch_hooks(inplace):
    model, tmodel, x = _pair(inplace)
    got = GuidedBackprop(model).attribute(dg.tensor(x), target=1)
    np.testing.assert_allclose(got.numpy(), _torch_guided(tmodel, x, [1, 1, 1]), **TOL)
    got = Deconvolution(model).attribute(dg.tensor(x), target=1)
    np.testing.assert_allclose(got.numpy(), _torch_guided(tmodel, x, [1, 1, 1], True), **TOL)
    # the ordinary gradient is back after the attribution
    plain = Saliency(model).attribute(dg.tensor(x), target=1, abs=False)
    np.testing.assert_allclose(plain.numpy(), _torch_grad(tmodel, x, [1, 1, 1]), **TOL)


@requires_torch
def test_guided_backprop_works_with_functional_relu():
    model, tmodel, x = _pair()
    fnet = FunctionalNet().to(dg.float64)
    fnet.c1.load_state_dict(model[0].state_dict())
    fnet.c2.load_state_dict(model[2].state_dict())
    fnet.fc.load_state_dict(model[6].state_dict())
    got = GuidedBackprop(fnet).attribute(dg.tensor(x), target=[4, 0, 2])
    np.testing.assert_allclose(got.numpy(), _torch_guided(tmodel, x, [4, 0, 2]), **TOL)


def _torch_gradcam(tmodel, layer, x, target, relu=False):
    import torch
    acts = {}
    h = layer.register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    out = tmodel(torch.tensor(x))
    h.remove()
    a = acts["a"]
    g, = torch.autograd.grad(out[torch.arange(len(x)), torch.as_tensor(target)].sum(), a)
    cam = (g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True)
    return (torch.relu(cam) if relu else cam).detach().numpy()


@requires_torch
@pytest.mark.parametrize("inplace", [False, True])
def test_grad_cam_and_guided_grad_cam_match_torch(inplace):
    import torch
    model, tmodel, x = _pair(inplace)
    cam = LayerGradCam(model, model[2]).attribute(dg.tensor(x), target=[0, 1, 2])
    assert cam.shape == (3, 1, 6, 6)
    np.testing.assert_allclose(cam.numpy(), _torch_gradcam(tmodel, tmodel[2], x, [0, 1, 2]),
                               **TOL)
    cam_in = LayerGradCam(model, model[0]).attribute(dg.tensor(x), target=3,
                                                     relu_attributions=True)
    np.testing.assert_allclose(cam_in.numpy(),
                               _torch_gradcam(tmodel, tmodel[0], x, [3] * 3, relu=True), **TOL)
    ggc = GuidedGradCam(model, model[0]).attribute(dg.tensor(x), target=3)
    ref = _torch_guided(tmodel, x, [3] * 3) * _torch_gradcam(tmodel, tmodel[0], x, [3] * 3, True)
    np.testing.assert_allclose(ggc.numpy(), ref, **TOL)
    assert torch is not None


@requires_torch
def test_occlusion_matches_a_plain_loop():
    import torch
    model, tmodel, x = _pair()
    got = Occlusion(model).attribute(dg.tensor(x), sliding_window_shapes=(1, 3, 3),
                                     strides=(1, 2, 2), baselines=0.5, target=[1, 2, 3],
                                     perturbations_per_eval=4)
    tx = torch.tensor(x)
    with torch.no_grad():
        base = tmodel(tx)[torch.arange(3), torch.tensor([1, 2, 3])]
        total, count = np.zeros_like(x), np.zeros(x.shape[1:])
        for i in range(0, 6, 2):
            for j in range(0, 6, 2):
                occ = tx.clone()
                occ[:, :, i:i + 3, j:j + 3] = 0.5
                drop = (base - tmodel(occ)[torch.arange(3), torch.tensor([1, 2, 3])]).numpy()
                total[:, :, i:i + 3, j:j + 3] += drop[:, None, None, None]
                count[:, i:i + 3, j:j + 3] += 1
    ref = np.divide(total, count, out=np.zeros_like(total), where=count > 0)  # uncovered: 0
    np.testing.assert_allclose(got.numpy(), ref, **TOL)


@requires_torch
def test_integrated_gradients_completeness_and_torch():
    import torch
    model, tmodel, x = _pair()
    ig = IntegratedGradients(model)
    # completeness: the convergence delta shrinks as the quadrature gets finer (a ReLU net is
    # piecewise linear along the path, so the error falls slowly)
    deltas = [np.abs(ig.attribute(dg.tensor(x), target=2, n_steps=n, method="riemann_trapezoid",
                                  return_convergence_delta=True)[1].numpy()).max()
              for n in (8, 64, 256)]
    assert deltas[2] < deltas[0] and deltas[2] < 5e-4, deltas
    alphas, w = np.polynomial.legendre.leggauss(16)
    ref = np.zeros_like(x)
    for a, wi in zip(0.5 * (alphas + 1), 0.5 * w):
        ref += wi * _torch_grad(tmodel, a * x, [2, 2, 2])
    got = ig.attribute(dg.tensor(x), target=2, n_steps=16, internal_batch_size=9)
    np.testing.assert_allclose(got.numpy(), ref * x, **TOL)
    assert torch is not None


def test_smoothgrad_averages_noisy_saliency_and_is_seeded():
    model = _cnn().to(dg.float64)
    x = dg.tensor(np.random.default_rng(1).standard_normal((2, 1, 8, 8)))
    dg.manual_seed(7)
    a = NoiseTunnel(Saliency(model)).attribute(x, nt_samples=4, stdevs=0.2, target=1)
    dg.manual_seed(7)
    noise = [dg.randn_like(x) * 0.2 for _ in range(4)]
    ref = sum(Saliency(model).attribute(x + n, target=1).numpy() for n in noise) / 4
    np.testing.assert_allclose(a.numpy(), ref, **TOL)
    var = NoiseTunnel(Saliency(model)).attribute(x, nt_type="vargrad", nt_samples=3, target=1)
    assert (var.numpy() >= -1e-12).all()


def test_bad_inputs_are_named():
    model = _cnn()
    x = dg.randn(2, 1, 8, 8)
    with pytest.raises(IndexError, match="target class 5 is out of range"):
        Saliency(model).attribute(x, target=5)
    with pytest.raises(ValueError, match="pass target"):
        Saliency(model).attribute(x)
    with pytest.raises(ValueError, match="not a submodule"):
        LayerGradCam(model, nn.Conv2d(1, 1, 1)).attribute(x, target=0)
    with pytest.raises(ValueError, match="sliding_window_shapes"):
        Occlusion(model).attribute(x, sliding_window_shapes=(3, 3))
    with pytest.raises(ValueError, match="larger than"):
        Occlusion(model).attribute(x, sliding_window_shapes=(1, 9, 9))
    with pytest.raises(ValueError, match="nt_type"):
        NoiseTunnel(Saliency(model)).attribute(x, nt_type="smooth", target=0)
    with pytest.raises(TypeError, match="floating point"):
        Saliency(model).attribute(dg.zeros(2, 1, 8, 8, dtype=dg.int64), target=0)
