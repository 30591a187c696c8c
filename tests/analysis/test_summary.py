"""summary: per-layer shapes, parameters, FLOPs (2 per MAC) and receptive fields against
hand computation; the `deltagrad summary` and `deltagrad trace` commands."""
import io
import json

import pytest

import deltagrad as dg
import deltagrad.nn as nn
from deltagrad.analysis import summary, summary_cli
from deltagrad.cli import main


def test_mlp_rows_equal_hand_counts():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    s = summary(model, (1, 28, 28))
    assert [(r.name, r.kind, r.output_shape, r.params, r.flops) for r in s.layers] == [
        ("0", "Flatten", (784,), 0, 0),
        ("1", "Linear", (256,), 784 * 256 + 256, 2 * 784 * 256),
        ("2", "ReLU", (256,), 0, 0),
        ("3", "Linear", (10,), 256 * 10 + 10, 2 * 256 * 10)]
    assert s.total_params == 784 * 256 + 256 + 2570
    assert s.total_flops == 2 * (784 * 256 + 256 * 10)
    assert all(r.receptive_field is None for r in s.layers)


def test_cnn_rows_equal_hand_counts():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 8, 3, stride=2, groups=2), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(8, 3))
    s = summary(model, (1, 12, 12))
    rows = {r.name: r for r in s.layers}
    assert rows["0"].output_shape == (4, 12, 12) and rows["0"].params == 4 * 9 + 4
    assert rows["0"].flops == 2 * 1 * 9 * 4 * 12 * 12            # (2 D1 F²) D2 H2 W2
    assert rows["2"].output_shape == (4, 6, 6)
    assert rows["3"].output_shape == (8, 2, 2) and rows["3"].params == 8 * 2 * 9 + 8
    assert rows["3"].flops == 2 * 2 * 9 * 8 * 2 * 2              # C_in/groups per output
    assert rows["6"].params == 8 * 3 + 3 and rows["6"].flops == 2 * 8 * 3
    # RF_k = RF_{k-1} + (f_k - 1) * prod(s_i): 3 (conv), 4 (pool s2), 4 + 2*2 = 8 (conv s2)
    assert [rows[k].receptive_field for k in ("0", "2", "3")] == [3, 4, 8]
    assert rows["6"].receptive_field is None
    assert s.total_params == sum(p.numel() for p in model.parameters())


def test_rows_skip_containers_and_follow_execution_order():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(4, 2)            # registered first, runs last
            self.body = nn.Sequential(nn.Linear(3, 4), nn.Tanh())

        def forward(self, x):
            return self.head(self.body(x))
    s = summary(Net(), (3,))
    assert [r.name for r in s.layers] == ["body.0", "body.1", "head"]


def test_shared_layers_are_counted_once_in_the_total():
    lin = nn.Linear(4, 4)
    s = summary(nn.Sequential(lin, nn.ReLU(), lin), (4,))
    assert [r.name for r in s.layers].count("0") == 2
    assert s.total_params == 20 and s.total_flops == 2 * 2 * 16


def test_summary_cli_text_and_json():
    out = io.StringIO()
    assert summary_cli(["LeNet5", "--input-size", "3", "32", "32", "--kwargs",
                        '{"in_channels": 3, "conv_channels": [8, 16]}', "--json"], out) == 0
    table = json.loads(out.getvalue())
    assert [r["params"] for r in table["layers"] if r["params"]] == [608, 3216, 48120, 10164, 850]
    out = io.StringIO()
    assert summary_cli(["resnet_cifar", "--input-size", "1", "28", "28", "--kwargs",
                        '{"depth": 8, "in_channels": 1}'], out) == 0
    assert "Total params" in out.getvalue()


def test_summary_cli_of_an_experiment(capsys):
    assert main(["summary", "mlp", "--dataset", "digits"]) == 0
    assert "Total params: 50,826" in capsys.readouterr().out   # 64-256-128-10


def test_summary_cli_errors(capsys):
    assert main(["summary", "no-such-model"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    assert main(["summary", "LeNet5"]) == 2
    assert "needs --input-size" in capsys.readouterr().err
    assert main(["summary", "LeNet5", "--input-size", "1", "28", "28", "--kwargs", "[1]"]) == 2
    assert "JSON object" in capsys.readouterr().err


def test_trace_command(capsys):
    assert main(["trace", "--sizes", "2,2,1", "--x", "0.05,0.1", "--target", "0.01",
                 "--steps", "2"]) == 0
    text = capsys.readouterr().out
    assert "δ⁽¹⁾ = (W⁽²⁾ᵀ δ⁽²⁾) ⊙ σ′(z⁽¹⁾)" in text and "step 2" in text
