"""Optimising over images, style transfer and adversarial examples: formulas, PyTorch twins,
the monotone climbs the notes describe, and named errors."""
import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn as nn
from deltagrad import interpret as I
from tests.conftest import requires_torch
from tests.interpret.test_attribution import _pair


def _small_cnn():
    dg.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Dropout(0.5),
                         nn.Flatten(), nn.Linear(6 * 3 * 3, 5))


def test_class_model_visualization_climbs_monotonically_and_restores_train_mode():
    model = _small_cnn()
    model.train()
    img, hist = I.class_model_visualization(model, target=2, input_shape=(1, 8, 8), steps=40,
                                            lr=0.05, l2=0.1)
    assert img.shape == (1, 1, 8, 8)
    assert all(b >= a - 1e-9 for a, b in zip(hist, hist[1:])), hist
    assert hist[-1] > hist[0]
    assert model.training and model[1].training and model[6].training
    assert all(p.grad is None for p in model.parameters())


def test_activation_maximization_and_deep_dream_increase_their_objective():
    model = _small_cnn()
    _, hist = I.activation_maximization(model, model[4], unit=3, input_shape=(1, 8, 8),
                                        steps=20, lr=0.05)
    assert hist[-1] > hist[0]
    x = dg.rand(1, 1, 8, 8)
    dream, hist = I.deep_dream(model, model[4], x, steps=10, lr=0.01)
    assert hist[-1] > hist[0] and dream.shape == x.shape


def test_feature_inversion_lowers_its_loss():
    model = _small_cnn()
    x = dg.rand(1, 1, 8, 8)
    _, losses = I.feature_inversion(model, model[2], x, steps=60, lr=0.05, tv_weight=1e-3)
    assert losses[-1] < 0.5 * losses[0]


def test_total_variation_formula():
    x = dg.tensor([[[[0.0, 1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 0.0, 5.0]]]])
    # pixels (0,0),(0,1),(1,0),(1,1): Σ (down² + right²)
    expected = (2 ** 2 + 1 ** 2) + (1 ** 2 + 2 ** 2) + (2 ** 2 + 0) + (2 ** 2 + 0)
    assert I.total_variation(x).item() == pytest.approx(expected)


def test_receptive_window_and_top_patches():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(2, 3, 3), nn.ReLU())
    # conv3 p1: R 3, P 1; pool 2: R 4, J 2; conv3: R 4 + 2·2 = 8, P 1
    assert I.receptive_window(model, model[3], (1, 12, 12)) == ((8, 8), (2, 2), (1, 1))
    assert I.receptive_window(model, model[0], (1, 12, 12)) == ((3, 3), (1, 1), (1, 1))
    x = dg.rand(10, 1, 12, 12)
    patches = I.top_activating_patches(model, model[4], x, channel=1, k=4, batch_size=3)
    acts = model(x)[:, 1].detach().numpy()
    assert [p["activation"] for p in patches] == pytest.approx(sorted(acts.ravel())[::-1][:4])
    p = patches[0]
    i, j = p["position"]
    assert p["box"] == (slice(max(0, 2 * i - 1), min(12, 2 * i - 1 + 8)),
                        slice(max(0, 2 * j - 1), min(12, 2 * j - 1 + 8)))   # clipped to the image
    assert p["patch"].shape[0] == 1


def test_filters_as_images_are_scaled_per_filter():
    conv = nn.Conv2d(3, 5, 4)
    imgs = I.filters_as_images(conv)
    assert imgs.shape == (5, 4, 4, 3)
    assert np.allclose(imgs.min(axis=(1, 2, 3)), 0) and np.allclose(imgs.max(axis=(1, 2, 3)), 1)


@requires_torch
def test_gram_and_style_losses_match_torch():
    import torch
    f = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    t = torch.tensor(f).reshape(2, 3, 20)
    ref = t @ t.transpose(1, 2) / 60
    np.testing.assert_allclose(I.gram_matrix(dg.tensor(f)).numpy(), ref.numpy(), rtol=1e-12)
    target = np.random.default_rng(1).standard_normal((2, 3, 3))
    np.testing.assert_allclose(I.style_loss(dg.tensor(f), dg.tensor(target)).item(),
                               ((ref - torch.tensor(target)) ** 2).sum().item(), rtol=1e-12)


def test_style_transfer_lowers_both_losses():
    dg.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 8, 3, padding=1),
                        nn.ReLU())
    ramp = np.linspace(0, 1, 10, dtype=np.float32)
    content = dg.tensor(np.broadcast_to(ramp[:, None], (1, 1, 10, 10)).copy())      # smooth
    style = dg.tensor(np.tile(np.array([0, 1], np.float32), (1, 1, 10, 5)) * 3)  # stripes
    st = I.StyleTransfer(net, content_layers=["2"], style_layers=["0", "2"], alpha=1, beta=100)
    start = dg.rand(1, 1, 10, 10)
    img, hist = st.run(content, style, steps=30, init=start)
    assert hist[-1]["total"] < 0.5 * hist[0]["total"]
    assert hist[-1]["style"] < hist[0]["style"] and hist[-1]["content"] < hist[0]["content"]
    with pytest.raises(ValueError, match="not in the network"):
        I.StyleTransfer(net, ["9"], ["0"])


@requires_torch
def test_fgsm_and_pgd_equal_torch():
    import torch
    model, tmodel, x = _pair()
    x = (x - x.min()) / (x.max() - x.min())
    y = np.array([1, 0, 3])
    adv = I.fgsm(model, dg.tensor(x), y, eps=0.1)
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(tmodel(tx), torch.tensor(y), reduction="sum").backward()
    ref = torch.clamp(tx + 0.1 * tx.grad.sign(), 0, 1).detach().numpy()
    np.testing.assert_allclose(adv.numpy(), ref, atol=1e-12)
    adv = I.pgd(model, dg.tensor(x), y, eps=0.1, alpha=0.03, steps=5, random_start=False)
    ta = torch.tensor(x)
    for _ in range(5):
        ta.requires_grad_(True)
        g, = torch.autograd.grad(torch.nn.functional.cross_entropy(
            tmodel(ta), torch.tensor(y), reduction="sum"), ta)
        ta = torch.clamp(torch.clamp(ta.detach() + 0.03 * g.sign() - torch.tensor(x), -0.1, 0.1)
                         + torch.tensor(x), 0, 1)
    np.testing.assert_allclose(adv.numpy(), ta.numpy(), atol=1e-12)
    assert np.abs(adv.numpy() - x).max() <= 0.1 + 1e-12


def test_attacks_lower_accuracy_and_targeted_moves_towards_target():
    model = _small_cnn()
    x = dg.rand(32, 1, 8, 8)
    with dg.no_grad():
        model.eval()
        y = model(x).numpy().argmax(1)
    model.train()
    accs = I.accuracy_under_attack(model, x, y, [0.0, 0.05, 0.2])
    assert accs[0] == 1.0 and accs[2] < accs[0]
    assert model.training
    t = np.full(32, 4)
    adv = I.pgd(model, x, t, eps=0.3, alpha=0.05, steps=10, targeted=True)
    model.eval()
    with dg.no_grad():
        hits_after = (model(adv).numpy().argmax(1) == 4).mean()
        hits_before = (model(x).numpy().argmax(1) == 4).mean()
    assert hits_after > hits_before


def test_fooling_image_reaches_confidence():
    dg.manual_seed(2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 5))
    with dg.no_grad():
        model[1].weight.mul_(10)     # a sharp classifier, as a trained one is
    img, probs = I.fooling_image(model, target=3, input_shape=(1, 8, 8), steps=200, lr=0.05,
                                 confidence=0.9)
    assert probs[-1] >= 0.9 and probs[0] < probs[-1]
    assert float(img.min().item()) >= 0 and float(img.max().item()) <= 1


def test_bad_inputs_are_named():
    model = _small_cnn()
    x = dg.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        I.fgsm(model, x, [0, 1], eps=-0.1)
    with pytest.raises(IndexError, match="out of range"):
        I.fgsm(model, x, [0, 7], eps=0.1)
    with pytest.raises(ValueError, match="one label per example"):
        I.pgd(model, x, [0], eps=0.1, alpha=0.01, steps=2)
    with pytest.raises(IndexError, match="target class 9"):
        I.class_model_visualization(model, 9, (1, 8, 8), steps=2)
    with pytest.raises(ValueError, match="not a submodule"):
        I.deep_dream(model, nn.Conv2d(1, 1, 1), x)
    with pytest.raises(IndexError, match="unit 9"):
        I.activation_maximization(model, model[4], 9, (1, 8, 8), steps=2)
