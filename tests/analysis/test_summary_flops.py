"""summary() of recurrent, attention and embedding models (issue 13): FLOPs against counts
worked by hand (2 per multiply-accumulate, see deltagrad/analysis/summary.py), and integer
dummy inputs for models that start with an Embedding."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.analysis import layer_flops, summary
from deltagrad.models import CharRNN, GPTLanguageModel, Seq2Seq


def _rows(s):
    return {r.name: r for r in s.layers}


def test_stacked_bidirectional_lstm():
    # layer 0: D·T·2·G·(I + H)·H = 2·7·2·4·(10 + 20)·20 = 67,200
    # layer 1 reads both directions (I = 40): 2·7·2·4·(40 + 20)·20 = 134,400
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
    s = summary(lstm, (7, 10))
    assert s.total_flops == 67_200 + 134_400
    assert s.layers[0].output_shape == (7, 40)


@pytest.mark.parametrize("cls, gates", [(nn.RNN, 1), (nn.GRU, 3), (nn.LSTM, 4)])
def test_one_layer_per_step_count(cls, gates):
    # 2·G·(I + H)·H per step, T = 3 steps
    s = summary(cls(5, 8, batch_first=True), (3, 5))
    assert s.total_flops == 2 * gates * (5 + 8) * 8 * 3


def test_sequence_first_layout_counts_the_time_axis():
    rnn = nn.RNN(4, 6)                       # (T, N, I): T = 9 steps, a batch of 2
    x = dg.zeros(9, 2, 4)
    out, _ = rnn(x)
    assert layer_flops(rnn, (x,), out) == 2 * 1 * (4 + 6) * 6 * 9 == 1080
    x1 = dg.zeros(9, 4)                      # unbatched (T, I)
    assert layer_flops(rnn, (x1,), rnn(x1)[0]) == 1080
    s = summary(nn.Sequential(nn.Linear(4, 4)), (4,))
    assert s.total_flops == 32


@pytest.mark.parametrize("cls, gates", [(nn.RNNCell, 1), (nn.GRUCell, 3), (nn.LSTMCell, 4)])
def test_cells_count_one_step(cls, gates):
    s = summary(cls(3, 5), (3,))
    assert s.total_flops == 2 * gates * (3 + 5) * 5


def test_self_attention():
    # L = 6, E = 16: Q, K, V projections 3·2·6·16·16 = 9,216; QKᵀ and A·V 2·6·6·16 = 1,152
    # each; W^O is its own Linear row: 2·16·16·6 = 3,072
    mha = nn.MultiheadAttention(16, 4, batch_first=True)

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = mha

        def forward(self, x):
            return self.attn(x, x, x)[0]

    rows = _rows(summary(SelfAttention(), (6, 16)))
    assert rows["attn"].flops == 9_216 + 1_152 + 1_152
    assert rows["attn.out_proj"].flops == 3_072
    assert rows["attn"].output_shape == (6, 16)


def test_cross_attention_with_other_key_and_value_sizes():
    # L = 5 queries, S = 7 keys, E = 16, k_dim 8, v_dim 12:
    # Q 2·5·16·16 = 2,560, K 2·7·8·16 = 1,792, V 2·7·12·16 = 2,688, QKᵀ = A·V = 2·5·7·16
    mha = nn.MultiheadAttention(16, 2, kdim=8, vdim=12)   # (L, N, E) layout
    q, k, v = dg.zeros(5, 3, 16), dg.zeros(7, 3, 8), dg.zeros(7, 3, 12)
    out = mha(q, k, v)[0]
    assert layer_flops(mha, (q, k, v), out) == 2_560 + 1_792 + 2_688 + 1_120 + 1_120
    mha_kv = nn.MultiheadAttention(16, 2, add_bias_kv=True, add_zero_attn=True)
    q = dg.zeros(5, 1, 16)
    out = mha_kv(q, q, q)[0]                 # S = 5 + bias_k + the zero key = 7
    assert layer_flops(mha_kv, (q, q, q), out) == 3 * 2 * 5 * 16 * 16 + 2 * 2 * 5 * 7 * 16


def test_transformer_encoder_layer_is_the_sum_of_its_parts():
    # d 16, FFN 32, L 6: attention 9,216 + 1,152 + 1,152, W^O 3,072,
    # linear1 2·16·32·6 = 6,144, linear2 6,144; layer norms and dropout count 0
    layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0,
                                       batch_first=True)
    s = summary(layer, (6, 16))
    assert s.total_flops == 9_216 + 1_152 + 1_152 + 3_072 + 6_144 + 6_144 == 26_880
    enc = nn.TransformerEncoder(layer, num_layers=3)
    assert summary(enc, (6, 16)).total_flops == 3 * 26_880


def test_embedding_models_get_integer_token_inputs():
    model = CharRNN(65, embedding_dim=16, hidden_size=32, cell="gru")
    s = summary(model, (10,))
    rows = _rows(s)
    assert rows["embedding"].output_shape == (10, 16) and rows["embedding"].flops == 0
    assert rows["rnn"].flops == 2 * 3 * (16 + 32) * 32 * 10
    assert rows["decoder"].flops == 2 * 32 * 65 * 10
    gpt = GPTLanguageModel(50, block_size=8, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    s = summary(gpt, (8,))
    assert s.total_params == sum(int(np.prod(p.shape)) for p in gpt.parameters())
    assert s.total_flops > 0
    seq = Seq2Seq(11, src_len=4, embedding_dim=8, hidden_size=16, bos=10)
    assert summary(seq, (8,)).total_flops > 0


def test_a_model_may_declare_its_input_dtype():
    class Lookup(nn.Module):
        input_dtype = dg.int64

        def __init__(self):
            super().__init__()
            self.table = nn.Linear(3, 2)

        def forward(self, idx):
            assert idx.dtype == dg.int64
            return self.table(dg.ones(idx.shape[0], 3)) * idx.shape[1]

    assert summary(Lookup(), (5,)).total_flops == 12


def test_subclasses_of_linear_count_as_linear():
    class Masked(nn.Linear):                  # e.g. MADE's masked layers
        pass

    s = summary(nn.Sequential(Masked(6, 4), nn.ReLU(), Masked(4, 3)), (6,))
    assert s.total_flops == 2 * 6 * 4 + 2 * 4 * 3


def test_layers_without_a_formula_are_marked_not_silently_zero():
    class Custom(nn.Module):                 # weights, but no FLOP formula in summary
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(dg.ones(4, 3))

        def forward(self, x):
            return x @ self.w

    s = summary(nn.Sequential(nn.Linear(5, 4), Custom(), nn.LayerNorm(3)), (5,))
    rows = _rows(s)
    assert not rows["1"].flops_known and rows["0"].flops_known and rows["2"].flops_known
    assert s.uncounted == ["1"] and s.total_flops == 2 * 5 * 4
    text = str(s)
    assert "not counted (no formula): 1" in text
    assert text.splitlines()[3].split()[-1] == "?"   # the FLOPs column of the Custom row
    gpt = GPTLanguageModel(50, block_size=8, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    assert summary(gpt, (8,)).uncounted == []        # embeddings and position codes: no MACs


def test_threshold_units_count_their_dot_product():
    from deltagrad.models import Adaline, Perceptron
    assert summary(Perceptron(3, lr=1.0), (3,)).total_flops == 6
    s = summary(Adaline(5, lr=0.01), (5,))
    assert s.total_flops == 10 and s.uncounted == []
