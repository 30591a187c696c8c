"""Scaled dot-product attention as one fused node (seed 004 §8.2).

    A = softmax(Q Kᵀ · scale + M),   Attention(Q, K, V) = A V,   scale = 1/√D (default)

for queries Q (…, T, D), keys K (…, T′, D), values V (…, T′, D′); M is an additive mask
(0 where attending is allowed, −∞ where not). The score matrix, mask, softmax, dropout
and the product with V are one :class:`ScaledDotProductAttention` node, so a step keeps
only A (and the dropout mask) and the backward is four batched matrix products:

    ∂L/∂V = Aᵀ δ,   ∂L/∂A = δ Vᵀ,   ∂L/∂S = A ⊙ (∂L/∂A − Σ_j (∂L/∂A)_j A_j),
    ∂L/∂Q = scale · (∂L/∂S) K,   ∂L/∂K = scale · (∂L/∂S)ᵀ Q.

A row whose keys are all masked gets weights 0 (PyTorch's ``_safe_softmax``), not NaN.

With Numba and MKL, a packed self-attention (``nn.MultiheadAttention``'s) runs one (batch,
head) pair at a time instead, the same formulas in one compiled loop
(``kernels/numba_heads.py``); the batched arrays below are the reference.
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np

from .. import backend, kernels
from ..kernels import blas
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, _make
from ..threads import parallel_rows
from .elementwise import _xp

__all__ = ["scaled_dot_product_attention", "attention_mask_to_additive"]


def _swap(a):
    return a.swapaxes(-1, -2)


def _causal_additive(xp, L, S, dtype):
    """Top-left aligned causal mask: query i may attend keys j <= i (−∞ above the diagonal).
    NumPy's is made once per shape and dtype and kept, read-only (a causal layer asks for it
    every forward: ~30 µs each time for (64, 64))."""
    if xp is np:
        return _causal_numpy(L, S, np.dtype(dtype))
    m = xp.zeros((L, S), dtype=dtype)
    m[xp.triu(xp.ones((L, S), dtype=bool), 1)] = -np.inf
    return m


@functools.lru_cache(maxsize=32)
def _causal_numpy(L, S, dtype):
    m = np.zeros((L, S), dtype=dtype)
    m[np.triu(np.ones((L, S), dtype=bool), 1)] = -np.inf
    m.flags.writeable = False
    return m


# The arrays below hold the weights transposed, Aᵀ of shape (…, T′, T): the softmax then
# reduces over axis −2, which NumPy vectorises across rows (a max over the last axis of
# short rows is ~4× slower), and every product with Aᵀ is a BLAS transpose flag.
def _rows(a, lo, hi, like):
    """Rows lo … hi−1 of ``a`` along the leading axis of ``like`` (``a`` whole when it is
    broadcast along that axis)."""
    if a is None or a.ndim != like.ndim or a.shape[0] != like.shape[0]:
        return a
    return a[lo:hi]


def _weights_(xp, st, mt, ct, scale):
    """Aᵀ in place of Sᵀ: scale, add the (transposed) masks, softmax over axis −2."""
    st *= st.dtype.type(scale)
    if mt is not None:
        st += mt
    if ct is not None:
        st += ct
    m = st.max(axis=-2, keepdims=True)
    if not bool(xp.isfinite(m).all()):                # a query with every key masked
        m = xp.where(xp.isfinite(m), m, 0)
    st -= m
    xp.exp(st, out=st)
    z = st.sum(axis=-2, keepdims=True)
    z[z == 0] = 1                                     # … gets weights 0, not 0/0
    st /= z


def _block_mask(masks, shape):
    """The transposed additive masks given (None or arrays of ``shape`` (T′, T) numbers) as one
    C-contiguous float32 block shared by the batch; None when there are none, False when one
    is per batch element or of another dtype."""
    out = None
    for m in masks:
        if m is not None:
            # (the size alone is not enough: a key-padding mask (N, 1, S, 1) of a batch of
            # N = T has T·T numbers too, one row per batch element)
            if type(m) is not np.ndarray or m.dtype != np.float32 or \
                    tuple(m.shape[-2:]) != tuple(shape) or m.size != shape[0] * shape[1]:
                return False
            m = m.reshape(shape)
            out = m if out is None else out + m
    return None if out is None else np.ascontiguousarray(out)


def _compiled_weights_(st, mt, ct, scale):
    """Aᵀ in place of Sᵀ by the compiled loops (``kernels/numba_attention.py``) when the
    kernel backend is Numba, Sᵀ is a C-contiguous float32 array and the masks are one
    (T′, T) matrix shared by the batch; returns whether it did (else nothing changed)."""
    if type(st) is not np.ndarray or st.dtype != np.float32 or st.ndim < 3 or \
            not st.flags.c_contiguous or st.size == 0 or kernels.get_backend() != "numba":
        return False
    mask = _block_mask((mt, ct), st.shape[-2:])
    if mask is False:
        return False
    from ..kernels.numba_attention import column_max, softmax_columns_
    s3 = st.reshape(-1, *st.shape[-2:])
    m = column_max(s3, mask, scale)
    if np.isposinf(m).any():  # e^(v − m) with m = +∞: the NumPy path's IEEE rules
        return False
    softmax_columns_(s3, mask, scale, m)
    return True


def _attend(xp, q, k, v, mask, scale, causal, keep, keep_scale):
    """Forward on arrays: (O, Aᵀ, dropout(A)ᵀ) for q (…, T, D), k (…, T′, D), v (…, T′, D′)."""
    st = blas.matmul(k, _swap(q))                       # Sᵀ = K Qᵀ, (…, T′, T)
    mt = None if mask is None else _swap(mask)
    if mt is not None and np.broadcast_shapes(mt.shape, st.shape) != st.shape:
        st = st + xp.zeros_like(mt)                   # a mask with more batch dims than S
    ct = _swap(_causal_additive(xp, st.shape[-1], st.shape[-2], st.dtype)) if causal else None
    if _compiled_weights_(st, mt, ct, scale):
        pass
    elif xp is np and st.ndim >= 3:  # the batch's blocks of rows on the threads
        parallel_rows(st.shape[0], st[0].size, lambda lo, hi: _weights_(
            xp, st[lo:hi], _rows(mt, lo, hi, st), ct, scale))
    else:
        _weights_(xp, st, mt, ct, scale)
    adt = st
    if keep is not None:
        adt = st * keep
        adt *= adt.dtype.type(keep_scale)
    out = blas.matmul(_swap(adt), v)
    if out.dtype != v.dtype:  # bfloat16: S, A and the products are float32, rounded at the end
        out, adt = out.astype(v.dtype), adt.astype(v.dtype)
    return out, st, adt


def _attend_backward(xp, g, ga, q, k, v, at, keep, keep_scale, scale, need, out=None,
                     into=None):
    """Backward on arrays: (∂L/∂Q, ∂L/∂K, ∂L/∂V, ∂L/∂M) from δ = ∂L/∂O (and ∂L/∂dropout(A)).
    ``into``: three arrays (views of one buffer, say) of Q's dtype that the products for
    ∂L/∂Q, ∂L/∂K, ∂L/∂V are written into, instead of new arrays.

    The softmax's row term c_j = Σ_i (∂L/∂A)_ij A_ij equals ⟨δ_j, O_j⟩ when the weights get no
    gradient of their own (O_j = Σ_i dropout(A)_ij V_i): given the output ``out``, c is a
    reduction over D instead of a product and a reduction over T′ (FlashAttention's D_i)."""
    kp = None if keep is None else keep * keep.dtype.type(keep_scale)
    gq = gk = gv = gm = None
    into = (None, None, None) if into is None else into
    if need[2]:
        gv = blas.matmul(at * kp if kp is not None else at, g, out=into[2])  # Aᵀ δ
    if need[0] or need[1] or need[3]:
        dat = blas.matmul(v, _swap(g))                             # (δ Vᵀ)ᵀ
        if ga is not None:
            dat += _swap(ga)
        if kp is not None:
            dat *= kp
        if out is not None and ga is None:
            c = xp.einsum("...jd,...jd->...j", g, out)[..., None, :]
        else:
            c = (dat * at).sum(axis=-2, keepdims=True)
        def scores_grad_(lo, hi):                                # (∂L/∂S)ᵀ, in place
            d = dat[lo:hi]
            d -= _rows(c, lo, hi, dat)
            d *= _rows(at, lo, hi, dat)
        if not need[3] and _compiled_scores_grad_(dat, c, at, scale):
            pass  # (∂L/∂S)ᵀ · scale in one compiled pass
        else:
            if xp is np and dat.ndim >= 3:
                parallel_rows(dat.shape[0], dat[0].size, scores_grad_)
            else:
                scores_grad_(0, dat.shape[0])
            if need[3]:
                gm = _swap(dat).copy()
            dat *= dat.dtype.type(scale)
        if need[0]:
            gq = blas.matmul(_swap(dat), k, out=into[0])
        if need[1]:
            gk = blas.matmul(dat, q, out=into[1])
    return tuple(a if a is None or a.dtype == q.dtype else a.astype(q.dtype)
                 for a in (gq, gk, gv, gm))  # bfloat16 (see _attend)


def _compiled_scores_grad_(dat, c, at, scale):
    """(∂L/∂S)ᵀ · scale in place of ``dat`` by one compiled pass
    (``kernels/numba_attention.py``) when the kernel backend is Numba and ``dat``, the row
    terms ``c`` (…, 1, T) and ``at`` are float32 arrays of the batch's shape, ``dat`` and
    ``at`` C-contiguous (``c``, small, may be copied); returns whether it did."""
    if any(type(a) is not np.ndarray or a.dtype != np.float32 for a in (dat, c, at)) or \
            not dat.flags.c_contiguous or not at.flags.c_contiguous or dat.ndim < 3 or \
            dat.size == 0 or at.shape != dat.shape or \
            c.shape != dat.shape[:-2] + (1, dat.shape[-1]) or kernels.get_backend() != "numba":
        return False
    from ..kernels.numba_attention import scores_grad_
    shape3 = (-1,) + dat.shape[-2:]
    scores_grad_(dat.reshape(shape3), np.ascontiguousarray(c).reshape(-1, dat.shape[-1]),
                 at.reshape(shape3), scale)
    return True


class ScaledDotProductAttention(Function):
    """O = dropout(softmax(Q Kᵀ · scale + M)) V, optionally also returning the weights
    dropout(A) (a second output that may itself receive a gradient)."""

    def forward(ctx, q, k, v, mask_input=None, *, mask, scale, causal, keep, keep_scale,
                return_weights):
        xp = _xp(q)
        m = mask_input if mask_input is not None else mask
        out, at, adt = _attend(xp, q, k, v, m, scale, causal, keep, keep_scale)
        ctx.scale, ctx.keep_scale, ctx.causal, ctx.mask_const = scale, keep_scale, causal, mask
        ctx.save_for_backward(q, k, v, at, keep, out)
        return (out, _swap(adt)) if return_weights else out

    def backward(ctx, g, ga=None):
        q, k, v, at, keep, out = ctx.saved_tensors
        need = ctx.needs_input_grad
        if is_grad_enabled():
            if len(need) > 3:
                raise RuntimeError("scaled_dot_product_attention: double backward through a "
                                   "mask that requires grad is not supported")
            return _backward_graph(ctx, g, ga, q, k, v, keep)
        grads = _attend_backward(_xp(g._data), g._data, None if ga is None else ga._data,
                                 q._data, k._data, v._data, at._data,
                                 None if keep is None else keep._data, ctx.keep_scale,
                                 ctx.scale, tuple(need) + (len(need) > 3 and need[3],),
                                 out=out._data)
        grads = tuple(None if a is None else _make(a) for a in grads)
        return grads if len(need) > 3 else grads[:3]


class PackedSelfAttention(Function):
    """Self-attention on the packed projection [Q | K | V] of shape (N, T, 3E) with h heads:
    returns Concat(head_1, …, head_h) of shape (N, T, E) (and the weights (N, h, T, T)).

    Splitting the heads and merging them back are views and copies inside this one node,
    so a layer's attention adds no split/transpose/concatenate nodes to the graph.
    """

    def forward(ctx, qkv, *, num_heads, mask, scale, causal, keep, keep_scale,
                return_weights):
        xp = _xp(qkv)
        ctx.num_heads = num_heads
        ctx.scale, ctx.keep_scale, ctx.causal, ctx.mask_const = scale, keep_scale, causal, mask
        fused = None if keep is not None or return_weights else \
            _heads_forward(qkv, num_heads, mask, scale, causal)
        ctx.by_heads = fused is not None
        if fused is not None:  # one head at a time, compiled (kernels/numba_heads.py)
            out, at = fused
            ctx.save_for_backward(qkv, at, None, out)
            return out
        q, k, v = _unpack(qkv, num_heads)
        out, at, adt = _attend(xp, q, k, v, mask, scale, causal, keep, keep_scale)
        N, L = qkv.shape[:2]
        out = out.transpose(0, 2, 1, 3).reshape(N, L, qkv.shape[2] // 3)
        ctx.save_for_backward(qkv, at, keep, out)
        return (out, _swap(adt)) if return_weights else out

    def backward(ctx, g, ga=None):
        qkv, at, keep, out = ctx.saved_tensors
        N, L, E3 = qkv.shape
        H = ctx.num_heads
        if ctx.by_heads and not is_grad_enabled():
            from ..kernels.numba_heads import heads_backward
            return _make(heads_backward(qkv._data, at._data, np.ascontiguousarray(g._data),
                                        out._data, H, ctx.scale))
        g4 = g.reshape(N, L, H, E3 // 3 // H).transpose(1, 2)
        if is_grad_enabled():
            q, k, v = (qkv.reshape(N, L, 3, H, E3 // 3 // H)[:, :, i].transpose(1, 2)
                       for i in range(3))
            gq, gk, gv = _backward_graph(ctx, g4, ga, q, k, v, keep, need=(True,) * 3)
            from .shape import stack
            return stack([gq.transpose(1, 2), gk.transpose(1, 2), gv.transpose(1, 2)],
                         2).reshape(N, L, E3)
        xp = _xp(g._data)
        q, k, v = _unpack(qkv._data, H)
        o4 = out._data.reshape(N, L, H, E3 // 3 // H).transpose(0, 2, 1, 3)
        out = xp.empty((N, L, 3, H, E3 // 3 // H), dtype=g.dtype)
        # the three products write straight into their (N, h, T, E/h) views of the packed
        # gradient (NumPy arrays of one float dtype), saving a transposing copy of each
        into = tuple(out[:, :, i].transpose(0, 2, 1, 3) for i in range(3)) \
            if xp is np and g.dtype == qkv.dtype and g.dtype in (np.float32, np.float64) \
            else None
        grads = _attend_backward(xp, g4._data, None if ga is None else ga._data, q, k, v,
                                 at._data, None if keep is None else keep._data,
                                 ctx.keep_scale, ctx.scale, (True, True, True, False), out=o4,
                                 into=into)
        if into is None:
            for i in range(3):
                out[:, :, i] = grads[i].transpose(0, 2, 1, 3)
        return _make(out.reshape(N, L, E3))


def _heads_forward(qkv, num_heads, mask, scale, causal):
    """(O, Aᵀ) by the compiled loop over the (batch, head) pairs (``kernels/numba_heads.py``)
    when the kernel backend is Numba, the products run in MKL, ``qkv`` is a C-contiguous
    float32 array and the masks are at most one (T, T) matrix shared by the batch; else None
    (and the batched products of ``_attend`` run)."""
    if type(qkv) is not np.ndarray or qkv.dtype != np.float32 or not qkv.flags.c_contiguous \
            or qkv.size == 0 or kernels.get_backend() != "numba" or blas.get_blas() != "mkl":
        return None
    T = qkv.shape[1]
    mt = _block_mask((None if mask is None else _swap(mask),
                      _swap(_causal_numpy(T, T, np.dtype(np.float32))) if causal else None),
                     (T, T))
    if mt is False:
        return None  # a mask per batch element or head (or of another dtype)
    from ..kernels import numba_parallel
    if not numba_parallel.usable() or os.getpid() != blas.started_mkl().STARTED_IN:
        return None  # a forked child: GNU OpenMP's pool is the parent's
    from ..kernels.numba_heads import heads_forward
    return heads_forward(qkv, num_heads, scale, mt)


def _unpack(qkv, num_heads):
    """(N, T, 3E) → three (N, h, T, E/h) views."""
    N, L, E3 = qkv.shape
    x = qkv.reshape(N, L, 3, num_heads, E3 // 3 // num_heads)
    return tuple(x[:, :, i].transpose(0, 2, 1, 3) for i in range(3))


def _backward_graph(ctx, g, ga, q, k, v, keep, need=None):
    """The same backward written with Tensor ops, recomputing A from Q and K, so a graph of
    the backward is recorded (``create_graph=True``: double backward)."""
    from .activation import softmax
    need = ctx.needs_input_grad if need is None else need
    xp = _xp(q._data)
    s = q.matmul(k.mT) * ctx.scale
    if ctx.mask_const is not None:
        s = s + _make(ctx.mask_const)
    if ctx.causal:
        s = s + _make(_causal_additive(xp, s.shape[-2], s.shape[-1], s.dtype))
    a = softmax(s, -1)
    kp = None if keep is None else keep.mT * ctx.keep_scale
    ad = a * kp if kp is not None else a
    gv = ad.mT.matmul(g) if need[2] else None
    da = g.matmul(v.mT)
    if ga is not None:
        da = da + ga
    if kp is not None:
        da = da * kp
    ds = a * (da - (da * a).sum(-1, keepdim=True)) * ctx.scale
    gq = ds.matmul(k) if need[0] else None
    gk = ds.mT.matmul(q) if need[1] else None
    return gq, gk, gv


# ----------------------------------------------------------------------------- masks
def attention_mask_to_additive(mask, dtype, op="scaled_dot_product_attention",
                               true_means="attend", device=None):
    """A boolean or float mask as an additive float array (0 or −∞ for booleans).

    ``true_means="attend"`` (SDPA's convention: True = may attend) or ``"ignore"``
    (``nn.MultiheadAttention``'s attn_mask and key_padding_mask: True = masked out).
    A float mask is added to the scores as it is. The mask must be on ``device`` (the
    query's), as in PyTorch.
    """
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: expected the mask to be a Tensor, got {type(mask).__name__}")
    if device is not None and mask.device != device:
        raise RuntimeError(f"{op}: expected all tensors to be on the same device, but the mask "
                           f"is on {mask.device} and the query on {device}")
    xp = _xp(mask._data)
    if mask.dtype == np.bool_:
        blocked = ~mask._data if true_means == "attend" else mask._data
        out = xp.zeros(blocked.shape, dtype=dtype)
        out[blocked] = -np.inf
        return out
    if mask.dtype.kind in "fV":
        return mask._data.astype(dtype, copy=False)
    raise TypeError(f"{op}: only bool and floating masks are supported, got a mask of dtype "
                    f"{mask.dtype}")


def _check_mask_shape(op, mask, L, S, batch):
    shape = tuple(mask.shape)
    if mask.ndim < 2 or shape[-2] not in (1, L) or shape[-1] not in (1, S):
        raise RuntimeError(f"{op}: attn_mask of shape {shape} does not broadcast to the "
                           f"attention scores of shape {batch + (L, S)} (expected (..., {L}, {S}))")
    try:
        np.broadcast_shapes(shape, batch + (L, S))
    except ValueError:
        raise RuntimeError(f"{op}: attn_mask of shape {shape} does not broadcast to the "
                           f"attention scores of shape {batch + (L, S)}") from None


def _keep_mask(shape, p, dtype, device):
    draw = backend.rng().random(shape, dtype=np.float32) >= p
    return backend.to_device(draw.astype(dtype), device)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False, *,
                                 need_weights=False):
    """softmax(Q Kᵀ · scale + M) V with scale = 1/√D by default (PyTorch's
    ``F.scaled_dot_product_attention``).

    ``attn_mask``: boolean (True = may attend) or float (added to the scores), broadcastable
    to (…, T, T′). ``is_causal``: query i attends keys j ≤ i (top-left aligned; not together
    with ``attn_mask``). ``dropout_p``: dropout on the weights A (always applied, as in
    PyTorch: pass 0 in evaluation). ``need_weights=True`` (deltagrad's extra) returns
    ``(output, A)`` with the weights A after dropout (what ``nn.MultiheadAttention``
    returns).
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2 or t.dtype.kind not in "fV":
            raise RuntimeError(f"{op}: {name} must be a floating tensor of at least 2 dims, got "
                               f"shape {tuple(t.shape)} dtype {t.dtype}")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(f"{op}: query, key and value must have the same dtype, got "
                           f"{query.dtype}, {key.dtype}, {value.dtype}")
    L, E = query.shape[-2], query.shape[-1]
    S = key.shape[-2]
    if key.shape[-1] != E or value.shape[-2] != S:
        raise RuntimeError(f"{op}: shapes do not fit: query {tuple(query.shape)}, key "
                           f"{tuple(key.shape)}, value {tuple(value.shape)} (expected query "
                           f"(..., L, E), key (..., S, E), value (..., S, Ev))")
    if enable_gqa:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk:
            raise RuntimeError(f"{op}: enable_gqa needs query heads ({hq}) to be a multiple "
                               f"of key heads ({hk})")
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // hk, dim=-3)
    try:
        batch = tuple(np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2]),
                                          tuple(value.shape[:-2])))
    except ValueError:
        raise RuntimeError(f"{op}: batch dimensions of query {tuple(query.shape)}, key "
                           f"{tuple(key.shape)} and value {tuple(value.shape)} do not "
                           "broadcast") from None
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{op}: pass either attn_mask or is_causal=True, not both")
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)
    mask_const, inputs = None, (query, key, value)
    if attn_mask is not None:
        _check_mask_shape(op, attn_mask, L, S, batch)
        if attn_mask.requires_grad and attn_mask.dtype.kind in "fV" and is_grad_enabled():
            if attn_mask.dtype != query.dtype:
                attn_mask = attn_mask.to(query.dtype)
            inputs = inputs + (attn_mask,)
        else:
            mask_const = attention_mask_to_additive(attn_mask, query.dtype, op,
                                                    device=query.device)
    keep, keep_scale = None, 1.0
    if dropout_p > 0.0:
        keep_scale = 0.0 if dropout_p == 1.0 else 1.0 / (1.0 - dropout_p)
        keep = _keep_mask(batch + (S, L), dropout_p, query.dtype, query.device)
    return ScaledDotProductAttention.apply(*inputs, mask=mask_const, scale=scale,
                                           causal=bool(is_causal), keep=keep,
                                           keep_scale=keep_scale, return_weights=need_weights)


def packed_self_attention(qkv, num_heads, additive_mask=None, dropout_p=0.0, is_causal=False,
                          need_weights=False):
    """Multi-head self-attention on the packed projection ``qkv`` = [Q | K | V] of shape
    (N, T, 3E): returns Concat(head_1, …, head_h) (N, T, E), and the weights dropout(A) of
    shape (N, h, T, T) when ``need_weights``. ``additive_mask`` is an array broadcastable to
    (N, h, T, T) (0 or −∞, see :func:`attention_mask_to_additive`). Used by
    ``nn.MultiheadAttention``; the scores are scaled by 1/√(E/h).
    """
    N, L, E3 = qkv.shape
    if E3 % (3 * num_heads):
        raise RuntimeError(f"packed_self_attention: last dim {E3} of qkv is not 3 × a multiple "
                           f"of num_heads={num_heads}")
    keep, keep_scale = None, 1.0
    if dropout_p > 0.0:
        keep_scale = 0.0 if dropout_p == 1.0 else 1.0 / (1.0 - dropout_p)
        keep = _keep_mask((N, num_heads, L, L), dropout_p, qkv.dtype, qkv.device)
    return PackedSelfAttention.apply(qkv, num_heads=num_heads, mask=additive_mask,
                                     scale=1.0 / math.sqrt(E3 // 3 // num_heads),
                                     causal=bool(is_causal), keep=keep, keep_scale=keep_scale,
                                     return_weights=need_weights)
