"""The backward pass: walk the graph from the outputs in topological order, iteratively.

1. Collect every node reachable from the roots and count, for each, how many edges lead
   into it (its dependencies) -- an explicit stack, so a 10,000-step chain needs no recursion.
2. Start from the roots with their seed gradients; a node runs once all the gradients
   flowing into it have been summed (its dependency count reaches zero). Multiple paths
   into a node are therefore summed before it runs: the multivariate chain rule.
3. After each node's backward, gradients are summed back to the input's shape (the one
   place broadcasting is undone) and handed to the next nodes; leaves accumulate them.
"""
from __future__ import annotations

from .function import AccumulateGrad
from .grad_mode import set_grad_enabled


def _sum_to_meta(g, meta):
    shape, dtype = meta
    if g.shape != shape:
        from ..ops.shape import sum_to
        g = sum_to(g, shape)
    if g.dtype != dtype:
        g = g.to(dtype)
    return g


def run_backward(roots, seeds, retain_graph: bool, create_graph: bool, targets=None,
                 allow_unused: bool = False):
    """Backpropagate ``seeds`` from ``roots`` (Tensors).

    Without ``targets`` the gradients accumulate into the leaves' ``.grad``; with targets
    (a list of Tensors) they are returned instead, in order, and ``.grad`` is left alone.
    """
    from ..tensor import Tensor
    root_edges = []
    for t, s in zip(roots, seeds):
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn: call requires_grad_() on a leaf before building the graph")
        from .function import _edge
        root_edges.append((_edge(t), s))

    # ---- 1. dependency counts over the reachable graph (iterative DFS)
    deps: dict = {}
    seen = set()
    stack = [e[0][0] for e in root_edges]
    for n in stack:
        seen.add(n)
    order = []
    while stack:
        node = stack.pop()
        order.append(node)
        for edge in node.next_edges:
            if edge is None:
                continue
            nxt = edge[0]
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)

    # ---- which nodes matter when only some targets are wanted
    captured = None
    needed = None
    if targets is not None:
        from .function import _edge
        target_keys = {}
        for i, t in enumerate(targets):
            if not t.requires_grad:
                raise RuntimeError(f"autograd.grad: input {i} does not require grad")
            target_keys.setdefault(_edge(t), []).append(i)
        captured = [None] * len(targets)
        target_nodes = {k[0] for k in target_keys}
        # a node is needed if some target is reachable from it; parents of needed nodes are needed
        needed = set()
        for node in reversed(order):
            if node in target_nodes or any(e is not None and e[0] in needed for e in node.next_edges):
                needed.add(node)

    # ---- 2. run nodes whose inputs are complete
    buffers: dict = {}
    for (node, nr), seed in root_edges:
        _accumulate_into(buffers, node, nr, seed)
    ready = [e[0][0] for e in root_edges if deps.get(e[0][0], 0) == 0]
    ready = list(dict.fromkeys(ready))
    given_out = {id(s._data) for s in seeds}  # arrays that must not become a leaf's .grad as is

    with set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            if grads is None:
                grads = [None] * node._n_outputs
            if targets is not None:
                for nr, g in enumerate(grads):
                    idx = target_keys.get((node, nr))
                    if idx is not None:
                        for i in idx:
                            captured[i] = g
                if not any(e is not None and e[0] in needed for e in node.next_edges):
                    _release_children(node, deps, ready, buffers, retain_graph)
                    continue
            if all(g is None for g in grads):  # nothing flows through this node
                _release_children(node, deps, ready, buffers, retain_graph)
                continue
            if isinstance(node, AccumulateGrad):
                if targets is None and grads[0] is not None:
                    _accumulate_leaf(node.variable, grads[0], given_out, create_graph)
                continue
            retained = getattr(node, "_retained", None)
            if retained:
                for nr, ref in retained.items():
                    t = ref()
                    if t is not None and grads[nr] is not None and targets is None:
                        _accumulate_leaf(t, grads[nr], given_out, create_graph)
            if node.materialize_grads and any(g is None for g in grads):
                grads = _materialize(node, grads)
            in_grads = node.backward(*grads)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            if len(in_grads) < len(node.next_edges):
                raise RuntimeError(f"{node.name()}: backward returned {len(in_grads)} gradients, "
                                   f"expected {len(node.next_edges)}")
            if not retain_graph:
                node.release()
            for edge, g, meta in zip(node.next_edges, in_grads, node._inputs_meta):
                if edge is None:
                    continue
                nxt, nr = edge
                if g is not None:
                    if not isinstance(g, Tensor):
                        raise TypeError(f"{node.name()}: backward must return Tensors or None")
                    g = _sum_to_meta(g, meta)
                    _accumulate_into(buffers, nxt, nr, g)
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)

    if targets is not None:
        for i, g in enumerate(captured):
            if g is None and not allow_unused:
                raise RuntimeError(f"autograd.grad: input {i} was not used in the graph of the "
                                   "outputs; pass allow_unused=True to get None for it")
        return captured
    return None


def _release_children(node, deps, ready, buffers, retain_graph):
    for edge in node.next_edges:
        if edge is None:
            continue
        nxt = edge[0]
        deps[nxt] -= 1
        if deps[nxt] == 0:
            ready.append(nxt)


def _accumulate_into(buffers, node, nr, g):
    slot = buffers.get(node)
    if slot is None:
        slot = buffers[node] = [None] * node._n_outputs
    slot[nr] = g if slot[nr] is None else slot[nr] + g


def _materialize(node, grads):
    from ..tensor import _make
    out = list(grads)
    metas = getattr(node, "_output_meta", None)
    for i, g in enumerate(out):
        if g is None and metas is not None:
            shape, dtype, xp = metas[i]
            out[i] = _make(xp.zeros(shape, dtype))
    return out


def _accumulate_leaf(t, g, given_out, create_graph):
    """``t.grad += g`` without ever aliasing another tensor's gradient."""
    if not create_graph:
        g = g.detach()
    if t.grad is None:
        a = g._data
        if id(a) in given_out or a.base is not None or not a.flags.owndata:
            g = g.clone() if create_graph else g._copy_detached()
        given_out.add(id(g._data))
        t._grad = g
    else:
        t._grad = t._grad + g if create_graph else t._grad.detach() + g
