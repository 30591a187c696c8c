"""The graph itself: iterative walk of deep chains, freeing after backward, no reference
cycles, keeping only what each backward needs."""
from __future__ import annotations

import gc
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import deltagrad as dg


def test_chain_of_10000_ops_backpropagates_without_recursion():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # a recursive walk would need > 10,000 frames
    try:
        x = dg.tensor([1.0, 2.0], dtype=dg.float64, requires_grad=True)
        y = x
        for _ in range(10_000):
            y = y * 1.0001
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 10_000] * 2, rtol=1e-9)
        g, = dg.autograd.grad((x.tanh() * 1).sum(), x)  # the grad(...) path, same walk
        del y  # freeing a 10,000-deep graph must not recurse either
    finally:
        sys.setrecursionlimit(limit)


def test_deep_chain_with_create_graph():
    x = dg.tensor(0.5, dtype=dg.float64, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y.sin() * 0.5 + y * 0.5
    g, = dg.autograd.grad(y, x, create_graph=True)
    gg, = dg.autograd.grad(g, x)
    assert np.isfinite(gg.item())


def _alive(refs):
    return [r() is not None for r in refs]


def test_graph_is_freed_by_refcounting_alone():
    """With the cyclic GC off, dropping the output frees every node and saved array."""
    gc.collect()
    gc.disable()
    try:
        x = dg.randn(50, 50, requires_grad=True)
        w = dg.randn(50, 50, requires_grad=True)
        h = (x @ w).tanh()
        loss = (h.sigmoid() * h).sum()
        node_refs = [weakref.ref(h.grad_fn), weakref.ref(loss.grad_fn)]
        array_refs = [weakref.ref(h._data)]
        loss.backward()
        del h, loss
        assert not any(_alive(node_refs)), "graph nodes kept alive (reference cycle?)"
        assert not any(_alive(array_refs)), "saved arrays kept alive"
        assert x.grad is not None and w.grad is not None
    finally:
        gc.enable()


def test_graph_is_freed_without_backward_too():
    gc.collect()
    gc.disable()
    try:
        x = dg.randn(10, requires_grad=True)
        y = x.exp() * x
        y.retain_grad()
        refs = [weakref.ref(y.grad_fn), weakref.ref(y)]
        del y
        assert not any(_alive(refs))
    finally:
        gc.enable()


def test_saved_tensors_are_released_after_backward():
    x = dg.randn(100, requires_grad=True)
    s = x.sigmoid()  # saves its output array
    e = s.exp()      # saves its output array
    out = e.sum()
    exp_node = e.grad_fn
    saved = weakref.ref(e._data)
    del e
    assert saved() is not None  # needed for backward: kept
    out.backward()
    assert exp_node._saved is None  # freed even though `out` is still alive
    assert saved() is None


def test_retain_graph_keeps_saved_tensors():
    x = dg.randn(5, requires_grad=True)
    y = x.exp()
    out = y.sum()
    out.backward(retain_graph=True)
    assert y.grad_fn._saved is not None
    out.backward()
    assert y.grad_fn._saved is None
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()), rtol=1e-6)


def test_only_what_backward_needs_is_kept():
    """Mul by a constant keeps the constant, not the input; Add keeps nothing."""
    gc.disable()
    try:
        x = dg.randn(1000, requires_grad=True)
        t = x * 2.0      # d/dx needs only the constant
        big = t * 3.0    # t's array is not needed by anyone's backward
        u = big + 1.0    # Add saves nothing
        ref_t, ref_big = weakref.ref(t._data), weakref.ref(big._data)
        del t, big
        assert ref_t() is None and ref_big() is None
        u.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), np.full(1000, 6.0))
    finally:
        gc.enable()


def test_no_grad_records_nothing():
    x = dg.randn(10, requires_grad=True)
    with dg.no_grad():
        y = (x * 2).exp()
    assert y.grad_fn is None and not y.requires_grad


def test_memory_returns_to_baseline_after_training_steps():
    x = dg.randn(64, 128)
    w = dg.randn(128, 128, requires_grad=True)

    def step():
        h = (x @ w).tanh()
        loss = ((h @ w).sigmoid() * h).mean()
        loss.backward()
        w.grad = None

    step()
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        step()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(10):
            step()
        now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        gc.enable()
    assert now - base < 64 * 1024, f"memory grew by {now - base} bytes over 10 steps"
    assert peak < 20 * 1024 * 1024


@pytest.mark.parametrize("retain", [False, True])
def test_repeated_backward_through_shared_leaf_accumulates(retain):
    x = dg.ones(3, requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward(retain_graph=retain)
    np.testing.assert_allclose(x.grad.numpy(), [6, 6, 6])
