"""Transformer models of the syllabus (section 11), built only from ``dg.nn``:

* :class:`GPTLanguageModel`: a decoder-only (GPT-style) character language model, token
  embedding + learned positions → pre-LN blocks with causal self-attention → LayerNorm →
  logits; p(x_{t+1} | x_≤t) with the causal mask (query t attends keys ≤ t); optional weight
  tying of the output layer to the token embedding; temperature and top-k sampling.
* :class:`Seq2SeqTransformer`: the encoder–decoder Transformer (``nn.Transformer``) with
  sinusoidal positions, trained with teacher forcing; greedy and beam-search decoding.
* :class:`VisionTransformer`: an image cut into N = HW/P² patches of P × P pixels, each
  linearly embedded, a learned class token prepended and learned positions added, a
  Transformer encoder, and a classifier on the class token's output (Dosovitskiy et al. 2021).

:func:`attention_maps` returns the attention weights A = softmax(QKᵀ/√d) of every layer of
these models for one batch (what ``deltagrad report`` draws).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, nn
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, from_numpy, zeros

__all__ = ["GPTLanguageModel", "Seq2SeqTransformer", "VisionTransformer", "attention_maps",
           "top_k_logits", "beam_search"]


def _causal(T, device="cpu"):
    """Boolean causal mask for nn.MultiheadAttention: True above the diagonal = blocked (on
    the device of the sequence it masks)."""
    return from_numpy(np.triu(np.ones((T, T), dtype=bool), 1)).to(device)


def _as_indices(x):
    return x if isinstance(x, Tensor) else from_numpy(np.asarray(x, np.int64))


def top_k_logits(logits: np.ndarray, k: int | None) -> np.ndarray:
    """Keep the k largest logits of each row, set the rest to −∞ (top-k sampling)."""
    if k is None or k >= logits.shape[-1]:
        return logits
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}")
    kth = np.partition(logits, -k, axis=-1)[..., -k:].min(-1, keepdims=True)
    return np.where(logits < kth, -np.inf, logits)


def _sample(logits: np.ndarray, temperature: float, top_k, rng) -> np.ndarray:
    """One index per row from softmax(top_k(z) / T); T = 0 is greedy (argmax)."""
    z = np.asarray(logits, np.float64)
    if temperature <= 0:
        return z.argmax(-1)
    z = top_k_logits(z / temperature, top_k)
    z -= z.max(-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(-1, keepdims=True)
    u = rng.random(p.shape[:-1] + (1,))
    return np.minimum((p.cumsum(-1) < u).sum(-1), p.shape[-1] - 1)


def _init_gpt_style(module, n_layer, std=0.02):
    """GPT-2's init: weights N(0, 0.02²), biases 0, residual output projections scaled by
    1/√(2·n_layer) (each block adds two of them to the residual stream)."""
    for name, m in module.named_modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        if isinstance(m, nn.MultiheadAttention):
            nn.init.normal_(m.in_proj_weight, 0.0, std)
    for name, p in module.named_parameters():
        if name.endswith("out_proj.weight") or name.endswith("linear2.weight"):
            nn.init.normal_(p, 0.0, std / math.sqrt(2 * n_layer))


class _Eval:
    """``with _Eval(model):`` evaluation mode and no graph, restoring the mode after."""

    def __init__(self, model):
        self.model, self.was = model, model.training
        self.ng = no_grad()

    def __enter__(self):
        self.model.eval()
        self.ng.__enter__()

    def __exit__(self, *exc):
        self.ng.__exit__(*exc)
        self.model.train(self.was)


# ----------------------------------------------------------------------------- GPT
class GPTLanguageModel(nn.Module):
    """Decoder-only Transformer LM: h₀ = E[x_t] + P[t]; h_l = Block(h_{l−1}) with
    Block(h) = h' + FFN(LN(h')), h' = h + CausalSelfAttention(LN(h)) (pre-LN, GELU);
    logits = LN(h_L) Wᵀ with W = E when ``tie_weights`` (one matrix in and out).

    Input (B, T) indices with T ≤ ``block_size``; output (B, T, V) logits.
    """

    def __init__(self, vocab_size: int, block_size: int = 64, n_layer: int = 4,
                 n_head: int = 4, n_embd: int = 128, dropout: float = 0.0, bias: bool = True,
                 tie_weights: bool = True):
        super().__init__()
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.tie_weights = tie_weights
        self.tok_emb = nn.Embedding(vocab_size, n_embd)
        self.pos_emb = nn.LearnedPositionalEncoding(block_size, n_embd, dropout=dropout)
        layer = nn.TransformerEncoderLayer(n_embd, n_head, 4 * n_embd, dropout=dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=True, bias=bias)
        self.blocks = nn.TransformerEncoder(layer, n_layer, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        _init_gpt_style(self, n_layer)
        if tie_weights:
            self.head.weight = self.tok_emb.weight

    def forward(self, idx):
        idx = _as_indices(idx)
        if idx.ndim != 2:
            raise RuntimeError(f"GPTLanguageModel: expected indices of shape (B, T), got "
                               f"{tuple(idx.shape)}")
        T = idx.shape[1]
        if T > self.block_size:
            raise RuntimeError(f"GPTLanguageModel: sequence length {T} exceeds block_size "
                               f"{self.block_size}")
        h = self.pos_emb(self.tok_emb(idx))
        h = self.blocks(h, mask=_causal(T, h.device), is_causal=True)
        return self.head(self.ln_f(h))

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, seed: int | None = None) -> np.ndarray:
        """Append ``max_new_tokens`` draws x_{t+1} ~ softmax(top_k(z_t) / T) to each row of
        ``idx`` (B, T0), conditioning on the last ``block_size`` tokens; returns (B, T0 + n)."""
        rng = np.random.default_rng(seed)
        seq = np.asarray(idx.numpy() if isinstance(idx, Tensor) else idx, np.int64)
        if seq.ndim == 1:
            seq = seq[None]
        with _Eval(self):
            for _ in range(max_new_tokens):
                logits = self(from_numpy(np.ascontiguousarray(seq[:, -self.block_size:])))
                last = backend.to_numpy(logits._data)[:, -1]
                nxt = _sample(last, temperature, top_k, rng)
                seq = np.concatenate([seq, nxt[:, None].astype(np.int64)], 1)
        return seq

    def sample(self, length: int = 500, temperature: float = 0.8, prime=None,
               seed: int | None = None, top_k: int | None = None) -> np.ndarray:
        """``length`` new indices after ``prime`` (default: index 0), as ``CharRNN.sample``
        (what ``deltagrad sample RUN`` calls)."""
        prime = np.asarray([0] if prime is None else prime, np.int64).reshape(1, -1)
        return self.generate(prime, length, temperature, top_k, seed)[0, prime.shape[1]:]


# ----------------------------------------------------------------------------- seq2seq
class Seq2SeqTransformer(nn.Module):
    """Encoder–decoder Transformer: M = Encoder(E_s[src]·√d + PE), then the decoder reads
    (bos, y_1, …, y_{T−1}) (teacher forcing) under the causal mask, attends to M and predicts
    y_1, …, y_T. ``forward(x)`` takes x = [src ‖ tgt_in] of shape (B, S + T) so it trains in
    the generic loop (as :class:`~deltagrad.models.recurrent.Seq2Seq`), or (src, tgt_in).
    """

    def __init__(self, vocab_size: int, src_len: int, d_model: int = 128, nhead: int = 4,
                 num_encoder_layers: int = 2, num_decoder_layers: int = 2,
                 dim_feedforward: int = 256, dropout: float = 0.1, bos: int | None = None,
                 max_len: int = 512, norm_first: bool = False):
        super().__init__()
        self.vocab_size, self.src_len, self.d_model = vocab_size, src_len, d_model
        self.bos = vocab_size - 1 if bos is None else bos
        self.src_emb = nn.Embedding(vocab_size, d_model)
        self.tgt_emb = nn.Embedding(vocab_size, d_model)
        self.pos = nn.PositionalEncoding(d_model, dropout=dropout, max_len=max_len,
                                         batch_first=True)
        self.transformer = nn.Transformer(d_model, nhead, num_encoder_layers,
                                          num_decoder_layers, dim_feedforward, dropout,
                                          batch_first=True, norm_first=norm_first)
        self.generator = nn.Linear(d_model, vocab_size)

    def _embed(self, emb, idx):
        return self.pos(emb(idx) * math.sqrt(self.d_model))

    def encode(self, src):
        src = _as_indices(src)
        return self.transformer.encoder(self._embed(self.src_emb, src))

    def decode(self, tgt_in, memory):
        """Logits (B, T, V) of y_1..y_T from the decoder input and the encoder's memory."""
        tgt_in = _as_indices(tgt_in)
        T = tgt_in.shape[1]
        h = self.transformer.decoder(self._embed(self.tgt_emb, tgt_in), memory,
                                     tgt_mask=_causal(T, memory.device), tgt_is_causal=True)
        return self.generator(h)

    def forward(self, x, tgt_in=None):
        x = _as_indices(x)
        if tgt_in is None:
            src, tgt_in = x[:, :self.src_len], x[:, self.src_len:]
        else:
            src = x
        return self.decode(tgt_in, self.encode(src))

    def generate(self, src, length: int) -> np.ndarray:
        """Greedy decoding: ŷ_t = argmax_y p(y | ŷ_<t, src), each prediction fed back in."""
        src = _as_indices(src)
        with _Eval(self):
            memory = self.encode(src)
            seq = np.full((src.shape[0], 1), self.bos, np.int64)
            for _ in range(length):
                logits = backend.to_numpy(self.decode(from_numpy(seq), memory)._data)[:, -1]
                seq = np.concatenate([seq, logits.argmax(-1)[:, None].astype(np.int64)], 1)
        return seq[:, 1:]

    def beam_search(self, src, length: int, beam_size: int = 4, eos: int | None = None,
                    length_penalty: float = 0.0) -> np.ndarray:
        """Beam-search decoding of ``length`` tokens (see :func:`beam_search`)."""
        return beam_search(self, src, length, beam_size, eos, length_penalty)


def beam_search(model, src, length: int, beam_size: int = 4, eos: int | None = None,
                length_penalty: float = 0.0) -> np.ndarray:
    """Keep the ``beam_size`` prefixes of highest log p(y_≤t | src) = Σ log p(y_i | y_<i, src)
    at every step (all beams of all sources in one batch); a beam that emitted ``eos`` stays
    finished (it only appends ``eos`` at no cost). Returns the best sequence per source
    (B, length), ranked by score / (number of tokens)^``length_penalty``.
    ``model`` has ``encode(src)``, ``decode(tgt_in, memory)`` and ``bos``.
    """
    if beam_size < 1:
        raise ValueError(f"beam_search: beam_size must be >= 1, got {beam_size}")
    src = _as_indices(src)
    B, K = src.shape[0], beam_size
    with _Eval(model):
        memory = model.encode(src)                                   # (B, S, d)
        mem = memory.unsqueeze(1).expand(B, K, *memory.shape[1:]).reshape(B * K,
                                                                            *memory.shape[1:])
        seq = np.full((B, K, 1), model.bos, np.int64)
        score = np.full((B, K), -np.inf)
        score[:, 0] = 0.0                     # all beams start equal: keep one alive
        done = np.zeros((B, K), bool)
        n_tok = np.zeros((B, K))
        for _ in range(length):
            logits = model.decode(from_numpy(seq.reshape(B * K, -1)), mem)
            z = backend.to_numpy(logits._data)[:, -1].astype(np.float64)
            logp = z - z.max(-1, keepdims=True)
            logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
            V = logp.shape[-1]
            logp = logp.reshape(B, K, V)
            if eos is not None and done.any():     # finished beams: only eos, at no cost
                logp[done] = -np.inf
                logp[done, eos] = 0.0
            cand = (score[:, :, None] + logp).reshape(B, K * V)
            top = np.argsort(-cand, axis=1, kind="stable")[:, :K]
            beam, tok = top // V, top % V
            score = np.take_along_axis(cand, top, 1)
            rows = np.arange(B)[:, None]
            seq = np.concatenate([seq[rows, beam], tok[:, :, None]], 2)
            prev_done = done[rows, beam]
            n_tok = n_tok[rows, beam] + ~prev_done
            done = prev_done | ((tok == eos) if eos is not None else False)
    rank = score / np.maximum(n_tok, 1) ** length_penalty if length_penalty else score
    best = rank.argmax(1)
    return seq[np.arange(B), best, 1:]


# ----------------------------------------------------------------------------- ViT
class VisionTransformer(nn.Module):
    """ViT: x (B, C, H, W) → N = HW/P² patches of C·P² pixels → Linear to d → prepend the
    class token → + learned positions (N + 1) → pre-LN Transformer encoder → LayerNorm of
    the class token's output → Linear to the classes. (B, H, W) and (B, H·W) inputs are
    read as one channel of ``image_size``."""

    def __init__(self, image_size=28, patch_size=7, in_channels=1, num_classes=10,
                 d_model=64, depth=4, nhead=4, mlp_dim=128, dropout=0.0):
        super().__init__()
        H, W = (image_size, image_size) if isinstance(image_size, int) else image_size
        if H % patch_size or W % patch_size:
            raise ValueError(f"VisionTransformer: image size {(H, W)} is not a multiple of "
                             f"patch_size {patch_size}")
        self.image_size, self.patch_size, self.in_channels = (H, W), patch_size, in_channels
        self.num_patches = (H // patch_size) * (W // patch_size)     # N = HW / P²
        self.patch_embed = nn.Linear(in_channels * patch_size ** 2, d_model)
        self.cls_token = nn.Parameter(zeros(1, 1, d_model))
        self.pos_embed = nn.LearnedPositionalEncoding(self.num_patches + 1, d_model,
                                                      dropout=dropout)
        layer = nn.TransformerEncoderLayer(d_model, nhead, mlp_dim, dropout=dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)
        nn.init.normal_(self.cls_token, 0.0, 0.02)

    def patches(self, x):
        """(B, C, H, W) → (B, N, C·P²), patches in row-major order."""
        (H, W), P, C = self.image_size, self.patch_size, self.in_channels
        if not isinstance(x, Tensor):
            x = from_numpy(np.asarray(x, dtype=backend.get_default_dtype()))
        if x.ndim == 2:
            x = x.reshape(x.shape[0], C, H, W)
        elif x.ndim == 3:
            x = x.unsqueeze(1)
        if tuple(x.shape[1:]) != (C, H, W):
            raise RuntimeError(f"VisionTransformer: expected images of shape (B, {C}, {H}, {W}),"
                               f" got {tuple(x.shape)}")
        B = x.shape[0]
        x = x.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(B, self.num_patches, C * P * P)

    def tokens(self, x):
        """The encoder's input: [class token; patch embeddings] + positions, (B, N + 1, d)."""
        p = self.patch_embed(self.patches(x))
        cls = self.cls_token.expand(p.shape[0], 1, p.shape[2])
        from ..ops.shape import cat
        return self.pos_embed(cat([cls, p], 1))

    def forward(self, x):
        h = self.encoder(self.tokens(x))
        return self.head(self.norm(h[:, 0]))


# ----------------------------------------------------------------------------- attention maps
def _layer_maps(layers, h, mask=None, causal=False):
    """Run encoder layers on h, returning each layer's self-attention weights (B, heads, T, T)."""
    maps = []
    for layer in layers:
        a_in = layer.norm1(h) if layer.norm_first else h
        _, w = layer.self_attn(a_in, a_in, a_in, attn_mask=mask, need_weights=True,
                               average_attn_weights=False)
        maps.append(backend.to_numpy(w._data))
        h = layer(h, src_mask=mask, is_causal=causal)
    return maps, h


def attention_maps(model, x) -> list:
    """The attention weights of every self-attention layer for input batch ``x``, as NumPy
    arrays (B, heads, T, T) (rows: queries, columns: keys; each row sums to 1).
    For :class:`Seq2SeqTransformer` the encoder's maps, then the decoder's self- and
    cross-attention maps (x = [src ‖ tgt_in])."""
    with _Eval(model):
        if isinstance(model, GPTLanguageModel):
            idx = _as_indices(x)
            h = model.pos_emb(model.tok_emb(idx))
            return _layer_maps(model.blocks.layers, h, _causal(idx.shape[1], h.device), True)[0]
        if isinstance(model, VisionTransformer):
            return _layer_maps(model.encoder.layers, model.tokens(x))[0]
        if isinstance(model, Seq2SeqTransformer):
            x = _as_indices(x)
            src, tgt = x[:, :model.src_len], x[:, model.src_len:]
            enc = model.transformer.encoder
            maps, mem = _layer_maps(enc.layers, model._embed(model.src_emb, src))
            if enc.norm is not None:
                mem = enc.norm(mem)
            h = model._embed(model.tgt_emb, tgt)
            mask = _causal(tgt.shape[1], h.device)
            for layer in model.transformer.decoder.layers:
                a_in = layer.norm1(h) if layer.norm_first else h
                _, w = layer.self_attn(a_in, a_in, a_in, attn_mask=mask,
                                       average_attn_weights=False)
                z = h + layer._sa_block(a_in, mask, None, True) if layer.norm_first else \
                    layer.norm1(h + layer._sa_block(h, mask, None, True))
                c_in = layer.norm2(z) if layer.norm_first else z
                _, c = layer.multihead_attn(c_in, mem, mem, average_attn_weights=False)
                maps += [backend.to_numpy(w._data), backend.to_numpy(c._data)]
                h = layer(h, mem, tgt_mask=mask, tgt_is_causal=True)
            return maps
    raise TypeError(f"attention_maps: expected a GPTLanguageModel, Seq2SeqTransformer or "
                    f"VisionTransformer, got {type(model).__name__}")
