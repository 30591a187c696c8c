"""dg.onnx.export: every exported model passes onnx.checker and onnxruntime gives deltagrad's
outputs (float32, 1e-5) at the traced batch size and at another one (dynamic batch axis)."""
import io

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.autograd.function import Function

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RNG = np.random.default_rng(0)


def _floats(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _ints(high, *shape):
    return RNG.integers(0, high, shape).astype(np.int64)


def _run(model, inputs, other_batch=5, names=None):
    """Export with axis 0 of every input and output dynamic; compare at both batch sizes."""
    model.eval()
    names = names or [f"x{i}" for i in range(len(inputs))]
    with dg.no_grad():
        n_out = len([o for o in _flat(model(*[dg.from_numpy(a) for a in inputs]))])
    out_names = [f"y{i}" for i in range(n_out)]
    f = io.BytesIO()
    dg.onnx.export(model, tuple(dg.from_numpy(a) for a in inputs), f, input_names=names,
                   output_names=out_names,
                   dynamic_axes={n: {0: "batch"} for n in names + out_names})
    proto = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    for batch in (inputs, [_like(a, other_batch) for a in inputs]):
        with dg.no_grad():
            ref = [o.numpy() for o in _flat(model(*[dg.from_numpy(a) for a in batch]))]
        got = sess.run(None, dict(zip(names, batch)))
        assert len(got) == len(ref)
        for g, r in zip(got, ref):
            assert g.shape == r.shape and g.dtype == r.dtype
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)
    return proto


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out] if isinstance(out, dg.Tensor) else []


def _like(a, batch):
    if a.dtype.kind == "i":
        return RNG.integers(0, int(a.max()) + 1, (batch,) + a.shape[1:]).astype(a.dtype)
    if np.isin(a, (0, 1)).all():
        return (RNG.random((batch,) + a.shape[1:]) < 0.5).astype(a.dtype)
    return _floats(batch, *a.shape[1:])


def _warm(model, x):
    model.train()
    with dg.no_grad():
        for k in range(3):
            model(dg.from_numpy(x * (k + 1) + k))
    model.eval()


# ----------------------------------------------------------------------------- MLP and CNNs
@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "gelu", "leaky_relu", "elu"])
def test_mlp(act):
    proto = _run(dg.models.MLP([6, 16, 8, 3], activation=act), [_floats(4, 6)])
    assert any(n.op_type == "MatMul" for n in proto.graph.node)


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_lenet5(pool):
    _run(dg.models.LeNet5(input_size=28, padding=2, pool=pool), [_floats(2, 1, 28, 28)])


def test_resnet_small_input_with_batch_norm_statistics():
    model = dg.models.resnet_cifar(8, width=4)
    x = _floats(3, 3, 12, 12)
    _warm(model, x)
    proto = _run(model, [x])
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "BatchNormalization", "Relu", "Add", "GlobalAveragePool"} <= ops


def test_resnet_bottleneck_with_max_pool_stem():
    model = dg.models.ResNet("bottleneck", layers=(1, 1), num_classes=5, in_channels=1,
                             widths=(4, 8))
    x = _floats(2, 1, 16, 16)
    _warm(model, x)
    _run(model, [x], other_batch=3)


def test_conv_layers_and_batchnorm1d():
    model = nn.Sequential(nn.Conv1d(2, 4, 3, padding="same"), nn.BatchNorm1d(4), nn.ReLU(),
                          nn.AvgPool1d(2), nn.Conv1d(4, 4, 3, stride=2, dilation=2, groups=2),
                          nn.Flatten(), nn.Linear(8, 3), nn.BatchNorm1d(3), nn.Softmax(dim=1))
    x = _floats(4, 2, 16)
    _warm(model, x)
    _run(model, [x])


def test_transposed_conv_and_adaptive_pool():
    model = nn.Sequential(nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
                          nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.LogSoftmax(dim=1))
    _run(model, [_floats(2, 2, 4, 4)])


@pytest.mark.parametrize("pool", ["avg", "max"])
@pytest.mark.parametrize("size", [(3, 2), (7, 7), (1, 4)])
def test_adaptive_pooling_to_any_size(pool, size):
    layer = nn.AdaptiveAvgPool2d(size) if pool == "avg" else nn.AdaptiveMaxPool2d(size)
    _run(nn.Sequential(nn.Conv2d(2, 3, 1), layer), [_floats(2, 2, 5, 4)])


@pytest.mark.parametrize("name", ["AlexNet", "VGG", "GoogLeNet", "MobileNet"])
def test_cnn_families(name):
    models = {
        "AlexNet": lambda: dg.models.AlexNet(5, 1, width=0.1, hidden=16, small_input=True),
        "VGG": lambda: dg.models.VGG("vgg11", 1, 5, batch_norm=True, width=0.1, hidden=16,
                                     input_size=32),
        "GoogLeNet": lambda: dg.models.GoogLeNet(1, 5, width=0.1),
        "MobileNet": lambda: dg.models.MobileNet(5, 1, width_multiplier=0.1, small_input=True),
    }
    model = models[name]()
    x = _floats(2, 1, 32, 32)
    _warm(model, x)
    _run(model, [x], other_batch=3)


def test_functional_conv_pool_and_normalization():
    """The Functions behind F.conv2d, F.max_pool2d, F.avg_pool2d and the normalizations,
    called directly from a forward (no layer to export as a whole)."""
    F = nn.functional

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(dg.randn(4, 2, 3, 3) * 0.3)
            self.b = nn.Parameter(dg.randn(4))
            self.gamma = nn.Parameter(dg.rand(4) + 0.5)
            self.beta = nn.Parameter(dg.randn(4))
            self.register_buffer("mean", dg.randn(4) * 0.1)
            self.register_buffer("var", dg.rand(4) + 0.5)

        def forward(self, x):
            h = F.conv2d(x, self.w, self.b, stride=1, padding=1, dilation=1)
            h = F.max_pool2d(h, 2, ceil_mode=True)
            h = F.batch_norm(h, self.mean, self.var, self.gamma, self.beta, training=False)
            h = F.group_norm(h, 2, self.gamma, self.beta)
            h = F.avg_pool2d(h, 2, stride=1, padding=1)
            return F.layer_norm(h, h.shape[-2:])

    _run(Model(), [_floats(2, 2, 7, 7)])


def test_made_on_binary_inputs():
    """MADE (masked linear layers) on binary inputs: the probe keeps binary data binary."""
    x = (RNG.random((3, 12)) < 0.5).astype(np.float32)
    _run(dg.models.MADE(12, [16, 16]), [x])


def test_running_sum():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            return dg.cumsum(self.lin(x), 1) + dg.cumsum(x, 0)

    _run(Model(), [_floats(3, 4)])


# ----------------------------------------------------------------------------- recurrent
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_char_rnn_two_layers(cell):
    proto = _run(dg.models.CharRNN(13, 8, 12, num_layers=2, cell=cell), [_ints(13, 3, 7)])
    assert sum(n.op_type in ("LSTM", "GRU", "RNN") for n in proto.graph.node) == 2


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_bidirectional_layers_with_initial_state(mode):
    """Seq-first input, a given initial state, and every output (sequence and final states)."""
    rnn = getattr(nn, mode)(5, 6, num_layers=2, bidirectional=True)
    lstm = mode == "LSTM"

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn

        def forward(self, x, h, c=None):
            return self.rnn(x, (h, c) if lstm else h)

    # the state's batch is axis 1: keep the batch fixed, vary nothing but values
    x, h, c = _floats(4, 3, 5), _floats(4, 3, 6), _floats(4, 3, 6)
    inputs = [x, h, c] if lstm else [x, h]
    model = Model()
    model.eval()
    f = io.BytesIO()
    dg.onnx.export(model, tuple(dg.from_numpy(a) for a in inputs), f)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    feed = {i.name: a for i, a in zip(sess.get_inputs(), inputs)}
    with dg.no_grad():
        ref = _flat(model(*[dg.from_numpy(a) for a in inputs]))
    for g, r in zip(sess.run(None, feed), ref):
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_unbatched_sequence(mode):
    """(T, I) input and (L, H) states: PyTorch's unbatched form."""
    rnn = getattr(nn, mode)(3, 4, num_layers=2)
    rnn.eval()
    x = dg.from_numpy(_floats(5, 3))
    f = io.BytesIO()
    dg.onnx.export(rnn, x, f)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    with dg.no_grad():
        ref = _flat(rnn(x))
    got = sess.run(None, {"input_0": x.numpy()})
    assert [g.shape for g in got] == [tuple(r.shape) for r in ref]
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-5, atol=1e-5)


def test_the_notes_elman_rnn():
    _run(nn.ElmanRNN(3, 5, 2, batch_first=True), [_floats(2, 4, 3)])


@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_unrolled_by_hand(cell):
    """A Python loop over time steps of a cell: each step one ONNX recurrent node."""
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = getattr(nn, cell)(3, 4)

        def forward(self, x):
            h = None
            for t in range(x.shape[1]):
                h = self.cell(x[:, t], h)
            return h[0] if isinstance(h, tuple) else h

    _run(Model(), [_floats(2, 3, 3)])


def test_recurrent_sequence_in_reverse():
    from deltagrad.ops.recurrent import recurrent_sequence

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 4)

        def forward(self, x, h):
            return recurrent_sequence("GRU", x, h, *self.gru._layer_weights(0, 0),
                                      reverse=True)

    model = Model()
    model.eval()
    x, h = dg.from_numpy(_floats(5, 2, 3)), dg.from_numpy(_floats(2, 4))
    f = io.BytesIO()
    dg.onnx.export(model, (x, h), f)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    with dg.no_grad():
        ref = _flat(model(x, h))
    for g, r in zip(sess.run(None, {"input_0": x.numpy(), "input_1": h.numpy()}), ref):
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- attention
def test_multihead_cross_attention_with_weights():
    mha = nn.MultiheadAttention(16, 4, kdim=8, vdim=8)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = mha

        def forward(self, q, kv):
            return self.attn(q, kv, kv)

    model = Model()
    model.eval()
    q, kv = dg.from_numpy(_floats(3, 2, 16)), dg.from_numpy(_floats(5, 2, 8))
    f = io.BytesIO()
    dg.onnx.export(model, (q, kv), f, input_names=["q", "kv"], output_names=["o", "w"])
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    with dg.no_grad():
        o, w = model(q, kv)
    got = sess.run(None, {"q": q.numpy(), "kv": kv.numpy()})
    np.testing.assert_allclose(got[0], o.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], w.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_decoder(norm_first):
    t = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                       dim_feedforward=32, dropout=0.1, batch_first=True, norm_first=norm_first)
    mask = nn.Transformer.generate_square_subsequent_mask(4)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.t = t

        def forward(self, src, tgt):
            return self.t(src, tgt, tgt_mask=mask)

    _run(Model(), [_floats(2, 5, 16), _floats(2, 4, 16)], names=["src", "tgt"])


def test_transformer_encoder_relu_post_ln():
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    _run(nn.TransformerEncoder(layer, 2, enable_nested_tensor=False), [_floats(3, 6, 16)])


def test_gpt_language_model():
    model = dg.models.GPTLanguageModel(11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    proto = _run(model, [_ints(11, 2, 8)])
    assert any(n.op_type == "Gather" for n in proto.graph.node)


def test_vision_transformer():
    model = dg.models.VisionTransformer(image_size=8, patch_size=4, in_channels=1,
                                        num_classes=3, d_model=16, depth=2, nhead=2,
                                        mlp_dim=32)
    _run(model, [_floats(2, 1, 8, 8)])


def test_sequence_models_of_the_experiments():
    """seq2seq-transformer / seq2seq-reverse read [source | shifted target] token rows;
    seq-classifier reads image rows (also bidirectional, two layers)."""
    _run(dg.models.Seq2SeqTransformer(12, 5, d_model=16, nhead=2, dim_feedforward=32),
         [_ints(12, 2, 9)])
    _run(dg.models.Seq2Seq(12, 5, embedding_dim=8, hidden_size=16), [_ints(12, 2, 9)])
    for kw in ({}, {"bidirectional": True, "num_layers": 2}):
        _run(dg.models.SequenceClassifier(6, 8, 3, **kw), [_floats(2, 7, 6)])


def test_output_axes_that_follow_the_batch_are_dynamic_without_being_named():
    f = io.BytesIO()
    dg.onnx.export(dg.models.MLP([3, 2]), dg.randn(2, 3), f, input_names=["x"],
                   dynamic_axes={"x": {0: "batch"}})
    out = onnx.load_from_string(f.getvalue()).graph.output[0].type.tensor_type.shape.dim
    assert out[0].dim_param and out[1].dim_value == 2


def test_functional_attention_and_glue_ops():
    """F.scaled_dot_product_attention (causal), unbind, cat, indexing, mean, clamp, exp, pow.
    The traced batch (2) equals the number of heads: the reshapes must still follow the
    batch, not whichever axis had the same size."""
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(8, 24)

        def forward(self, x):
            q, k, v = self.qkv(x).reshape(x.shape[0], x.shape[1], 3, 2, 4).permute(
                2, 0, 3, 1, 4).unbind(0)
            o = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            o = o.transpose(1, 2).reshape(x.shape[0], x.shape[1], 8)
            h = dg.cat([o, x], -1)[:, 1:, ::2]
            return (h.mean(-1, keepdim=True).clamp(-0.5, 0.5).exp() + h ** 2).sum(1)

    _run(Model(), [_floats(2, 5, 8)])


def test_dynamic_sequence_axis_of_a_recurrent_model():
    model = dg.models.CharRNN(13, 8, 12, cell="gru")
    model.eval()
    x = _ints(13, 2, 6)
    f = io.BytesIO()
    dg.onnx.export(model, dg.from_numpy(x), f, input_names=["x"],
                   dynamic_axes={"x": {0: "batch", 1: "time"}})
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    for shape in ((2, 6), (3, 9), (1, 2)):
        x = _ints(13, *shape)
        with dg.no_grad():
            ref = model(dg.from_numpy(x)).numpy()
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], ref, rtol=1e-5, atol=1e-5)


def test_a_constant_that_follows_a_dynamic_axis_is_refused():
    """GPT's causal mask and positions are built for the traced length: a dynamic sequence
    axis would silently keep them, so the export refuses and names the constant."""
    model = dg.models.GPTLanguageModel(11, block_size=8, n_layer=1, n_head=2, n_embd=8)
    with pytest.raises(dg.onnx.ExportError, match="follows the dynamic axes"):
        dg.onnx.export(model, dg.from_numpy(_ints(11, 2, 6)), io.BytesIO(),
                       input_names=["x"], dynamic_axes={"x": {0: "batch", 1: "time"}})


def test_a_forward_that_branches_on_the_batch_size_is_refused():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(x) if x.shape[0] % 2 else self.lin(x).tanh()

    with pytest.raises(dg.onnx.ExportError, match="takes another path"):
        dg.onnx.export(Model(), dg.randn(2, 3), io.BytesIO(), input_names=["x"],
                       dynamic_axes={"x": [0]})


def test_more_glue_ops():
    """logsumexp, norm, tril/triu, flip, constant padding, repeat."""
    F = nn.functional

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            h = self.lin(x)                                   # (B, 3, 4)
            a = dg.logsumexp(h, -1, keepdim=True) + h.norm(dim=1, keepdim=True)
            b = dg.tril(h, -1) - dg.triu(h, 1) + dg.flip(h, [1, 2])
            c = F.pad(h, (1, 2), value=0.5)[..., 1:5]
            return a + b + c + h.repeat(1, 2, 1)[:, :3]

    proto = _run(Model(), [_floats(2, 3, 4)])
    ops = {n.op_type for n in proto.graph.node}
    assert {"ReduceLogSumExp", "ReduceL2", "Trilu", "Pad", "Tile"} <= ops


# ----------------------------------------------------------------------------- files and errors
@pytest.mark.parametrize("opset", [18, 20])
def test_later_opsets(opset):
    """From opset 18 the reductions take their axes as an input."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveMaxPool2d(3), nn.Flatten(),
                          nn.LayerNorm(18), nn.Linear(18, 4))
    x = dg.randn(2, 1, 8, 8)
    f = io.BytesIO()
    dg.onnx.export(model, x, f, opset_version=opset)
    proto = onnx.load_from_string(f.getvalue())
    assert proto.opset_import[0].version == opset
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    with dg.no_grad():
        np.testing.assert_allclose(sess.run(None, {"input_0": x.numpy()})[0],
                                   model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_writes_a_file_and_restores_the_model(tmp_path):
    model = dg.models.MLP([3, 4, 2])
    model.train()
    path = tmp_path / "m.onnx"
    dg.onnx.export(model, dg.randn(2, 3), str(path))
    onnx.checker.check_model(onnx.load(str(path)))
    assert model.training
    assert Function.__dict__["apply"] is dg.onnx._ORIGINAL_APPLY
    assert onnx.load(str(path)).opset_import[0].version == 17


def test_unsupported_op_is_named():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return nn.functional.cross_entropy(self.lin(x), dg.tensor([0, 2]))

    model = Model()
    with pytest.raises(dg.onnx.ExportError, match="CrossEntropy has no ONNX mapping"):
        dg.onnx.export(model, dg.randn(2, 3), io.BytesIO())
    assert Function.__dict__["apply"] is dg.onnx._ORIGINAL_APPLY   # restored after the error
    model(dg.randn(2, 3))


def test_leaving_the_graph_through_numpy_is_refused():
    class Model(nn.Module):
        def forward(self, x):
            return x + dg.from_numpy(np.tanh(x.numpy()))

    with pytest.raises(dg.onnx.ExportError, match=r"numpy\(\) on a value computed from the "
                                                  "inputs"):
        dg.onnx.export(Model(), dg.randn(2, 3), io.BytesIO())
    dg.randn(2).numpy()   # restored


class _Masked(nn.Module):
    """A mask from a comparison (no autograd Function: its values are not traced)."""

    def forward(self, x):
        return x * (x > 0).float()


class _Noisy(nn.Module):
    def forward(self, x):
        return x + dg.randn(*x.shape)


class _SizedZeros(nn.Module):
    def forward(self, x):
        return x + dg.zeros(x.shape[0], 1)


class _SizedNoise(nn.Module):
    def forward(self, x):
        return x + dg.randn(x.shape[0], 1)


@pytest.mark.parametrize("model, dynamic", [(_Masked(), None), (_Noisy(), None),
                                            (_SizedNoise(), {"x": [0]})])
def test_values_computed_outside_the_trace_are_refused(model, dynamic):
    """Each would export as a frozen constant (the traced mask, noise or batch size)."""
    with pytest.raises(dg.onnx.ExportError, match="computed outside the traced operations"):
        dg.onnx.export(model, dg.randn(3, 4), io.BytesIO(), input_names=["x"],
                       dynamic_axes=dynamic)


def test_one_value_tensors_sized_for_the_batch_follow_it():
    """dg.zeros(B, 1) / the notes' Jordan network's y(0) = 0: ConstantOfShape at run time."""
    _run(_SizedZeros(), [_floats(3, 4)])
    _run(nn.JordanRNN(3, 5, 2, batch_first=True), [_floats(2, 4, 3)])


def test_layer_without_a_mapping_is_named():
    with pytest.raises(dg.onnx.ExportError, match="Embedding\\(max_norm"):
        dg.onnx.export(nn.Embedding(5, 3, max_norm=1.0), dg.tensor([[1, 2]]), io.BytesIO())


def test_bad_arguments():
    model = dg.models.MLP([3, 2])
    with pytest.raises(TypeError, match="model must be a dg.nn.Module"):
        dg.onnx.export(lambda x: x, dg.randn(1, 3), io.BytesIO())
    with pytest.raises(TypeError, match=r"args\[0\] must be a Tensor"):
        dg.onnx.export(model, (np.zeros((1, 3)),), io.BytesIO())
    with pytest.raises(ValueError, match="dynamic_axes names \\['nope'\\]"):
        dg.onnx.export(model, dg.randn(1, 3), io.BytesIO(), dynamic_axes={"nope": [0]})
    with pytest.raises(TypeError, match="unsupported arguments \\['dynamo'\\]"):
        dg.onnx.export(model, dg.randn(1, 3), io.BytesIO(), dynamo=True)
    with pytest.raises(ValueError, match="opset_version"):
        dg.onnx.export(model, dg.randn(1, 3), io.BytesIO(), opset_version=9)
