"""Multi-head attention and the Transformer's layers (seed 004 §8; Vaswani et al. 2017).

Multi-head attention (seed 004 §8.2): per head i, Q_i = Q W_i^Q, K_i = K W_i^K, V_i = V W_i^V,
head_i = softmax(Q_i K_iᵀ/√d) V_i, and MultiHead(Q, K, V) = Concat(head_1, …, head_h) W^O.
All heads are computed at once: the h projections are one (3E × E) matrix
(``in_proj_weight``), the heads a batch dimension of one fused attention node.

Encoder layer, post-LN as in the notes (``norm_first=False``, PyTorch's default):
    Z = LayerNorm(X + MultiHead(X, X, X)),   Y = LayerNorm(Z + FFN(Z)),
    FFN(z) = W₂ φ(W₁ z + b₁) + b₂ (φ = ReLU or GELU);
pre-LN (``norm_first=True``): Z = X + MultiHead(LN(X)), Y = Z + FFN(LN(Z)).
The decoder layer adds cross-attention MultiHead(Z, M, M) over the encoder's output M.
Names, arguments, defaults, parameters and ``state_dict`` keys are PyTorch's.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import backend
from ..ops import activation as A
from ..ops.attention import (attention_mask_to_additive, packed_self_attention,
                             scaled_dot_product_attention)
from ..ops.linalg import linear
from ..ops.shape import cat
from ..tensor import Tensor, _make, empty
from . import init
from .dropout import Dropout
from .linear import Linear
from .module import Module, ModuleList, Parameter
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer",
           "TransformerEncoder", "TransformerDecoder", "Transformer",
           "generate_square_subsequent_mask"]


def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """The causal mask of size sz × sz: 0 on and below the diagonal, −∞ above it (float)."""
    dt = backend.as_dtype(dtype) if dtype is not None else backend.get_default_dtype()
    m = np.triu(np.full((sz, sz), -np.inf, dtype=dt), 1)
    out = _make(m)
    return out if device is None else out.to(device)


def _is_causal_mask(mask, size):
    """PyTorch's ``_detect_is_causal_mask``: is ``mask`` exactly the causal mask of ``size``."""
    if mask is None or mask.ndim != 2 or tuple(mask.shape) != (size, size):
        return False
    a = backend.to_numpy(mask._data)
    if a.dtype == np.bool_:
        return bool((a == np.triu(np.ones((size, size), bool), 1)).all())
    return bool((a == np.triu(np.full((size, size), -np.inf, a.dtype), 1)).all())


# ----------------------------------------------------------------------------- attention
class MultiheadAttention(Module):
    """MultiHead(Q, K, V) = Concat(head_1, …, head_h) W^O, head_i = softmax(Q_i K_iᵀ/√d) V_i
    with d = embed_dim / num_heads (PyTorch's ``nn.MultiheadAttention``).

    Inputs are (L, N, E) or, with ``batch_first=True``, (N, L, E) (or unbatched (L, E)).
    ``attn_mask`` (L, S) or (N·num_heads, L, S) and ``key_padding_mask`` (N, S): boolean
    True = not allowed to attend, or float added to the scores. Returns ``(output,
    weights)``; the weights (N, L, S) are averaged over heads unless
    ``average_attn_weights=False`` ((N, num_heads, L, S)), None if ``need_weights=False``.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater "
                             f"than 0, got embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads, "
                             f"got embed_dim={embed_dim} and num_heads={num_heads}")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        kw = dict(dtype=dtype, device=device)
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's init: Xavier-uniform projections, zero biases, Xavier-normal bias_k/v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, query, key, value):
        name = "MultiheadAttention"
        for t, what in ((query, "query"), (key, "key"), (value, "value")):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise RuntimeError(f"{name}: query, key and value must all be 3-D (batched) or 2-D "
                               f"(unbatched), got shapes {tuple(query.shape)}, "
                               f"{tuple(key.shape)}, {tuple(value.shape)}")
        for t, what, d in ((query, "query", self.embed_dim), (key, "key", self.kdim),
                           (value, "value", self.vdim)):
            if t.shape[-1] != d:
                raise RuntimeError(f"{name}: expected {what} of shape (..., {d}), got "
                                   f"{tuple(t.shape)}")
        if tuple(key.shape[:-1]) != tuple(value.shape[:-1]):
            raise RuntimeError(f"{name}: key shape {tuple(key.shape)} does not match value "
                               f"shape {tuple(value.shape)} (all but the last dim must agree)")

    @staticmethod
    def _mask_dtype(mask, what):
        if not isinstance(mask, Tensor):
            raise TypeError(f"MultiheadAttention: {what} must be a Tensor, got "
                            f"{type(mask).__name__}")
        if mask.dtype != np.bool_ and mask.dtype.kind not in "fV":
            raise TypeError(f"MultiheadAttention: only bool and floating types of {what} are "
                            f"supported, got {mask.dtype}")

    def _merged_mask(self, attn_mask, key_padding_mask, N, L, S, dtype, batched, device=None):
        """One additive mask broadcastable to (N, H, L, S), or None."""
        H = self.num_heads
        out = None
        if attn_mask is not None:
            self._mask_dtype(attn_mask, "attn_mask")
            if attn_mask.ndim == 2:
                if tuple(attn_mask.shape) != (L, S):
                    raise RuntimeError(f"MultiheadAttention: the shape of the 2D attn_mask is "
                                       f"{tuple(attn_mask.shape)}, but should be {(L, S)}")
                out = attention_mask_to_additive(attn_mask, dtype, "MultiheadAttention",
                                                 "ignore", device)
            elif attn_mask.ndim == 3:
                if tuple(attn_mask.shape) != (N * H, L, S):
                    raise RuntimeError(f"MultiheadAttention: the shape of the 3D attn_mask is "
                                       f"{tuple(attn_mask.shape)}, but should be "
                                       f"{(N * H, L, S)}")
                out = attention_mask_to_additive(attn_mask, dtype, "MultiheadAttention",
                                                 "ignore", device).reshape(N, H, L, S)
            else:
                raise RuntimeError(f"MultiheadAttention: attn_mask must be 2-D (L, S) or 3-D "
                                   f"(N*num_heads, L, S), got shape {tuple(attn_mask.shape)}")
        if key_padding_mask is not None:
            self._mask_dtype(key_padding_mask, "key_padding_mask")
            want = (N, S) if batched else (S,)
            if tuple(key_padding_mask.shape) != want:
                raise RuntimeError(f"MultiheadAttention: expected key_padding_mask of shape "
                                   f"{want}, got {tuple(key_padding_mask.shape)}")
            kpm = attention_mask_to_additive(key_padding_mask, dtype, "MultiheadAttention",
                                             "ignore", device).reshape(N, 1, 1, S)
            out = kpm if out is None else out + kpm
        return out

    # ------------------------------------------------------------------ forward
    def _project(self, query, key, value):
        """Q, K, V of shape (N, L or S, E) (or the packed heads when self-attention)."""
        E = self.embed_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        if self._qkv_same_embed_dim:
            if query is key and key is value:
                return linear(query, w, b).chunk(3, -1)
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        bq = bk = bv = None
        if b is not None:
            bq, bk, bv = b[:E], b[E:2 * E], b[2 * E:]
        if key is value:
            if self._qkv_same_embed_dim:
                k, v = linear(key, w[E:], None if b is None else b[E:]).chunk(2, -1)
            else:
                k, v = linear(key, wk, bk), linear(value, wv, bv)
            return linear(query, wq, bq), k, v
        return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)

    def _heads(self, x):
        """(N, L, E) → (N, H, L, d)."""
        N, L, _ = x.shape
        return x.reshape(N, L, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        self._check_inputs(query, key, value)
        batched = query.ndim == 3
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: is_causal is a hint and needs attn_mask "
                               "(pass the causal mask too, e.g. "
                               "Transformer.generate_square_subsequent_mask(L))")
        # PyTorch's rule: with no key padding and no weights to return, the is_causal hint
        # stands for attn_mask (which is then not read)
        causal = bool(is_causal) and key_padding_mask is None and not need_weights
        if causal:
            attn_mask = None
        same = query is key, key is value
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if same[0]:
            key = query
        if same[1]:
            value = key
        N, L, E = query.shape
        S = key.shape[1]
        if key.shape[0] != N:
            raise RuntimeError(f"MultiheadAttention: query batch size {N} differs from key "
                               f"batch size {key.shape[0]}")
        mask = self._merged_mask(attn_mask, key_padding_mask, N, L, S, query.dtype, batched,
                                 query.device)
        p = self.dropout if self.training else 0.0
        if self._qkv_same_embed_dim and same[0] and same[1] and self.bias_k is None \
                and not self.add_zero_attn:
            # self-attention: one projection to [Q | K | V], heads split inside one node
            qkv = linear(query, self.in_proj_weight, self.in_proj_bias)
            res = packed_self_attention(qkv, self.num_heads, mask, p, is_causal=causal,
                                        need_weights=need_weights)
            out, weights = res if need_weights else (res, None)
        else:
            out, weights = self._attend(query, key, value, mask, p, need_weights, causal)
        out = self.out_proj(out)
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out = out.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _attend(self, query, key, value, mask, p, need_weights, causal=False):
        """The general case (cross-attention, kdim/vdim, bias_kv, zero_attn): (N, L, E)."""
        N, L, E = query.shape
        S = key.shape[1]
        q, k, v = self._project(query, key, value)
        if self.bias_k is not None:
            k = _cat([k, self.bias_k.expand(N, 1, E)], 1)
            v = _cat([v, self.bias_v.expand(N, 1, E)], 1)
            mask = _pad_mask(mask, N, L, S)
            S += 1
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        if self.add_zero_attn:
            zeros = _make(backend.xp_for(k.device).zeros((N, self.num_heads, 1, self.head_dim),
                                                           dtype=k.dtype))
            k, v = _cat([k, zeros], 2), _cat([v, zeros], 2)
            mask = _pad_mask(mask, N, L, S)
            S += 1
        m = None if mask is None else _make(mask)
        res = scaled_dot_product_attention(q, k, v, attn_mask=m, dropout_p=p,
                                           is_causal=causal and m is None,
                                           need_weights=need_weights)
        out, weights = res if need_weights else (res, None)
        return out.transpose(1, 2).reshape(N, L, E), weights


def _cat(tensors, dim):
    return cat(tensors, dim)


def _pad_mask(mask, N, L, S):
    """Let the extra key (bias_k or the zero key) be attended: append a 0 column."""
    if mask is None:
        return None
    full = np.broadcast_to(mask, np.broadcast_shapes(mask.shape, (1, 1, 1, S)))
    pad = [(0, 0)] * (full.ndim - 1) + [(0, 1)]
    return backend.array_module(mask).pad(full, pad)


# ----------------------------------------------------------------------------- layers
def _activation(activation):
    if activation == "relu":
        return A.relu
    if activation == "gelu":
        return A.gelu
    if callable(activation):
        return activation
    raise RuntimeError(f"activation should be relu/gelu or a callable, not {activation!r}")


class _TransformerLayer(Module):
    """What encoder and decoder layers share: their attention sublayers, the position-wise
    feed-forward network, and one LayerNorm and one Dropout per sublayer, registered in
    PyTorch's order (so state_dict keys and reprs match)."""

    def __init__(self, attentions, d_model, nhead, dim_feedforward, dropout, activation,
                 layer_norm_eps, batch_first, norm_first, bias, device, dtype):
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        for name in attentions:
            setattr(self, name, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                   batch_first=batch_first, **kw))
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        sublayers = range(1, len(attentions) + 2)
        for i in sublayers:
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for i in sublayers:
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)
        self._ff_dropout = f"dropout{sublayers[-1]}"

    def _sublayer(self, x, norm, block):
        """Post-LN LN(x + block(x)) (the notes' and PyTorch's default), or pre-LN
        x + block(LN(x)) with ``norm_first=True``."""
        return x + block(norm(x)) if self.norm_first else norm(x + block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        """FFN(x) = W₂ φ(W₁ x + b₁) + b₂."""
        out = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, self._ff_dropout)(out)


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention and a position-wise feed-forward network, each with a residual
    connection and LayerNorm: post-LN Z = LN(X + SA(X)), Y = LN(Z + FFN(Z)) (the notes and
    PyTorch's default), or pre-LN with ``norm_first=True``."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__(("self_attn",), d_model, nhead, dim_feedforward, dropout, activation,
                         layer_norm_eps, batch_first, norm_first, bias, device, dtype)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = self._sublayer(src, self.norm1, lambda y: self._sa_block(
            y, src_mask, src_key_padding_mask, is_causal))
        return self._sublayer(x, self.norm2, self._ff_block)


class TransformerDecoderLayer(_TransformerLayer):
    """Masked self-attention, cross-attention over the encoder's output ``memory`` and a
    feed-forward network, each with a residual and LayerNorm (post-LN by default)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__(("self_attn", "multihead_attn"), d_model, nhead, dim_feedforward,
                         dropout, activation, layer_norm_eps, batch_first, norm_first, bias,
                         device, dtype)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = self._sublayer(tgt, self.norm1, lambda y: self._sa_block(
            y, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self._sublayer(x, self.norm2, lambda y: self._mha_block(
            y, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self._sublayer(x, self.norm3, self._ff_block)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)


# ----------------------------------------------------------------------------- stacks
def _clones(module, n):
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` if given."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        # PyTorch's nested-tensor fast path (padding rows skipped at inference) is a speed
        # option there; here padded positions are always computed.
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        seq_len = src.shape[1 if self.layers[0].self_attn.batch_first else 0] \
            if src.ndim == 3 else src.shape[0]
        causal = bool(is_causal) if is_causal is not None else _is_causal_mask(mask, seq_len)
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, is_causal=causal,
                        src_key_padding_mask=src_key_padding_mask)
        return self.norm(out) if self.norm is not None else out


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn, then ``norm`` if given."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        seq_len = tgt.shape[1 if self.layers[0].self_attn.batch_first else 0] \
            if tgt.ndim == 3 else tgt.shape[0]
        causal = bool(tgt_is_causal) if tgt_is_causal is not None else \
            _is_causal_mask(tgt_mask, seq_len)
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask,
                        memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=causal, memory_is_causal=memory_is_causal)
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    """The encoder–decoder Transformer: memory M = Encoder(src), output = Decoder(tgt, M),
    each stack followed by a LayerNorm (PyTorch's ``nn.Transformer``)."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False,
                 norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        layer_kw = dict(dim_feedforward=dim_feedforward, dropout=dropout,
                        activation=activation, layer_norm_eps=layer_norm_eps,
                        batch_first=batch_first, norm_first=norm_first, bias=bias, **kw)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(d_model, nhead, **layer_kw), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(d_model, nhead, **layer_kw), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batched = src.ndim == 3
        if batched and src.shape[0 if self.batch_first else 1] != \
                tgt.shape[0 if self.batch_first else 1]:
            raise RuntimeError(f"Transformer: the batch number of src {tuple(src.shape)} and "
                               f"tgt {tuple(tgt.shape)} must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"Transformer: the feature number of src {tuple(src.shape)} and "
                               f"tgt {tuple(tgt.shape)} must be equal to d_model={self.d_model}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The causal mask: 0 on and below the diagonal, −∞ above it."""
        return generate_square_subsequent_mask(sz, device, dtype)

    def _reset_parameters(self):
        """Xavier-uniform init of every matrix (as PyTorch's ``Transformer``)."""
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

