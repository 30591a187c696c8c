"""A model's weights leave deltagrad as a PyTorch file and come back: dg.save(state_dict) →
torch.load(weights_only=True) → the twin PyTorch module gives the same outputs, and a file
torch.save wrote loads into the deltagrad model (dg.load) with the same outputs again."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn

torch = pytest.importorskip("torch")
twins = pytest.importorskip("tests.io.twins")

RNG = np.random.default_rng(0)


def _images(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _tokens(vocab, *shape):
    return RNG.integers(0, vocab, shape).astype(np.int64)


def _warm_batchnorm(model, x):
    """A few training-mode batches so the running statistics are not the initial 0/1."""
    model.train()
    with dg.no_grad():
        for k in range(3):
            model(dg.from_numpy(x * (k + 1) + k))
    model.eval()


def _out(y):
    return y[0] if isinstance(y, tuple) else y


CASES = {
    "mlp": (lambda: dg.models.MLP([6, 16, 8, 3]),
            lambda: torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(),
                                        torch.nn.Linear(16, 8), torch.nn.ReLU(),
                                        torch.nn.Linear(8, 3)),
            lambda: _images(5, 6)),
    "lenet5": (lambda: dg.models.LeNet5(input_size=28, padding=2), twins.lenet5,
               lambda: _images(3, 1, 28, 28)),
    "resnet": (lambda: dg.models.resnet_cifar(8, width=4), lambda: twins.ResNetCifar(8, 4),
               lambda: _images(3, 3, 12, 12)),
    "lstm": (lambda: dg.models.CharRNN(13, 8, 12, num_layers=2, cell="lstm"),
             lambda: twins.CharRNN(13, 8, 12, 2, "lstm"), lambda: _tokens(13, 3, 7)),
    "gru": (lambda: dg.models.CharRNN(13, 8, 12, num_layers=2, cell="gru"),
            lambda: twins.CharRNN(13, 8, 12, 2, "gru"), lambda: _tokens(13, 3, 7)),
    "vit": (lambda: dg.models.VisionTransformer(image_size=8, patch_size=4, in_channels=1,
                                                num_classes=3, d_model=16, depth=2, nhead=2,
                                                mlp_dim=32),
            lambda: twins.VisionTransformer(8, 4, 1, 3, 16, 2, 2, 32),
            lambda: _images(3, 1, 8, 8)),
    "gpt": (lambda: dg.models.GPTLanguageModel(11, block_size=8, n_layer=2, n_head=2,
                                               n_embd=16),
            lambda: twins.GPT(11, 8, 2, 2, 16), lambda: _tokens(11, 2, 8)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_exported_weights_give_the_twins_outputs(name, tmp_path):
    make_dg, make_torch, make_x = CASES[name]
    dg.manual_seed(1)
    model = make_dg()
    x = make_x()
    if name == "resnet":
        _warm_batchnorm(model, x)
    model.eval()
    dg.save(model.state_dict(), tmp_path / "model.pt")

    twin = make_torch()
    twin.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    twin.eval()
    with dg.no_grad():
        ours = _out(model(dg.from_numpy(x))).numpy()
    with torch.no_grad():
        theirs = _out(twin(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)

    # ... and back: the twin's weights, changed, saved by torch, loaded into a fresh model
    with torch.no_grad():
        for p in twin.parameters():
            p.mul_(0.9)
    torch.save(twin.state_dict(), tmp_path / "twin.pt")
    fresh = make_dg()
    fresh.load_state_dict(dg.load(tmp_path / "twin.pt"))
    fresh.eval()
    with dg.no_grad():
        ours = _out(fresh(dg.from_numpy(x))).numpy()
    with torch.no_grad():
        theirs = _out(twin(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_transformer_encoder_decoder(tmp_path):
    kw = dict(d_model=16, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=32, dropout=0.0, batch_first=True)
    model = nn.Transformer(**kw)
    model.eval()
    dg.save(model.state_dict(), tmp_path / "t.pt")
    twin = torch.nn.Transformer(**kw)
    twin.load_state_dict(torch.load(tmp_path / "t.pt", weights_only=True))
    twin.eval()
    src, tgt = _images(2, 5, 16), _images(2, 4, 16)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    with dg.no_grad():
        ours = model(dg.from_numpy(src), dg.from_numpy(tgt), tgt_mask=mask).numpy()
    with torch.no_grad():
        theirs = twin(torch.from_numpy(src), torch.from_numpy(tgt),
                      tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(4)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_missing_and_unexpected_keys_are_named(tmp_path):
    twin = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    sd = twin.state_dict()
    del sd["2.bias"]
    sd["9.weight"] = torch.zeros(1)
    torch.save(sd, tmp_path / "bad.pt")
    model = dg.models.MLP([6, 16, 3])
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "9.weight"'
                                           r'[\s\S]*Missing key\(s\) in state_dict: "2.bias"'):
        model.load_state_dict(dg.load(tmp_path / "bad.pt"))
