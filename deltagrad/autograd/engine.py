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
from .grad_mode import _state, set_grad_enabled


def _sum_to_meta(g, shape, dtype):
    """The gradient of an input: broadcasting undone (summed back to ``shape``), same dtype."""
    if g._data.shape != shape:
        from ..ops.shape import sum_to
        g = sum_to(g, shape)
    if g._data.dtype != dtype:
        g = g.to(dtype)
    return g


_final_callbacks: list = []


def queue_callback(callback) -> None:
    """Run ``callback()`` once, when the current backward pass has finished (after every leaf's
    ``.grad`` is accumulated): ``Variable._execution_engine.queue_callback`` in PyTorch."""
    _final_callbacks.append(callback)


def _graph(root_nodes):
    """Every node reachable from the roots, with its number of incoming edges (iterative DFS)."""
    deps: dict = {}
    seen = set(root_nodes)
    stack = list(seen)
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
    return deps, order


def _needed(order, target_nodes):
    """Nodes from which some target is reachable: a walk over the reversed edges (a DFS
    preorder is no topological order, so a single sweep would miss shared subgraphs)."""
    parents: dict = {}
    for node in order:
        for edge in node.next_edges:
            if edge is not None:
                parents.setdefault(edge[0], []).append(node)
    needed = set(target_nodes)
    stack = list(needed)
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in needed:
                needed.add(parent)
                stack.append(parent)
    return needed


def run_backward(roots, seeds, retain_graph: bool, create_graph: bool, targets=None,
                 allow_unused: bool = False):
    """Backpropagate ``seeds`` from ``roots`` (Tensors).

    Without ``targets`` the gradients accumulate into the leaves' ``.grad``; with targets
    (a list of Tensors) they are returned instead, in order, and ``.grad`` is left alone.
    """
    from ..tensor import Tensor, _make
    from .function import _edge
    _final_callbacks.clear()     # left over from a backward that raised
    root_edges = []
    for i, (t, s) in enumerate(zip(roots, seeds)):
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have "
                               "a grad_fn: call requires_grad_() on a leaf before building the "
                               "graph (or compute it outside no_grad())")
        root_edges.append((_edge(t), s))

    deps, order = _graph([e[0][0] for e in root_edges])

    captured = target_keys = needed = None
    if targets is not None:
        target_keys = {}
        for i, t in enumerate(targets):
            if not t.requires_grad:
                raise RuntimeError(f"autograd.grad: input {i} does not require grad")
            target_keys.setdefault(_edge(t), []).append(i)
        captured = [None] * len(targets)
        needed = _needed(order, {k[0] for k in target_keys})
    del order

    buffers: dict = {}
    for (node, nr), seed in root_edges:
        slot = buffers.get(node)
        if slot is None:
            slot = buffers[node] = [None] * node._n_outputs
        slot[nr] = seed if slot[nr] is None else slot[nr] + seed
    ready = list(dict.fromkeys(e[0][0] for e in root_edges if deps.get(e[0][0], 0) == 0))
    given_out = {id(s._data) for s in seeds}  # arrays that must not become a leaf's .grad as is
    profiler = _state.profiler  # deltagrad.profiler: each node's backward timed as an event

    with set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            if grads is not None and node._tensor_hooks:
                grads = _apply_tensor_hooks(node, grads)
            if targets is not None:
                if grads is not None:
                    for nr, g in enumerate(grads):
                        idx = target_keys.get((node, nr))
                        if idx is not None:
                            for i in idx:
                                captured[i] = g
                if node not in needed or all(e is None or e[0] not in needed
                                             for e in node.next_edges):
                    _release_children(node, deps, ready)
                    continue
            if grads is None:  # nothing flows through this node
                _release_children(node, deps, ready)
                continue
            if type(node) is AccumulateGrad:
                if targets is None and grads[0] is not None:
                    if profiler is None:
                        _accumulate_leaf(node.variable, grads[0], given_out, create_graph)
                    else:
                        profiler.call("AccumulateGrad", _accumulate_leaf, (grads[0],),
                                      node.variable, grads[0], given_out, create_graph)
                continue
            retained = node._retained
            if retained and targets is None:
                for nr, ref in retained.items():
                    t = ref()
                    if t is not None and grads[nr] is not None:
                        _accumulate_leaf(t, grads[nr], given_out, create_graph)
            if node._n_outputs > 1 and node.materialize_grads and \
                    any(g is None for g in grads):
                grads = _materialize(node, grads)
            if profiler is None:
                in_grads = node.backward(*grads)
            else:
                in_grads = profiler.call(node.name(), node.backward, grads, *grads)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            edges = node.next_edges
            if len(in_grads) < len(edges):
                raise RuntimeError(f"{node.name()}: backward returned {len(in_grads)} gradients, "
                                   f"expected {len(edges)}")
            if not retain_graph:
                node.release()
            metas = node._inputs_meta
            for i, edge in enumerate(edges):
                if edge is None:
                    continue
                nxt, nr = edge
                g = in_grads[i]
                if g is not None:
                    if not isinstance(g, Tensor):
                        raise TypeError(f"{node.name()}: backward must return Tensors or None, "
                                        f"got {type(g).__name__} for input {i}")
                    shape, dtype = metas[i]
                    g = _sum_to_meta(g, shape, dtype)
                    slot = buffers.get(nxt)
                    if slot is None:
                        slot = buffers[nxt] = [None] * nxt._n_outputs
                    prev = slot[nr]
                    if prev is None:
                        slot[nr] = g
                    elif create_graph:
                        slot[nr] = prev + g
                    else:  # a new array: never write into a gradient someone else may hold
                        slot[nr] = _make(prev._data + g._data)
                c = deps[nxt] - 1
                deps[nxt] = c
                if c == 0:
                    ready.append(nxt)

    while _final_callbacks:      # e.g. DistributedDataParallel's gradient averaging
        _final_callbacks.pop(0)()

    if targets is not None:
        for i, g in enumerate(captured):
            if g is None and not allow_unused:
                raise RuntimeError(f"autograd.grad: input {i} was not used in the graph of the "
                                   "outputs; pass allow_unused=True to get None for it")
        return captured
    return None


def _apply_tensor_hooks(node, grads):
    """``Tensor.register_hook``: each hook of an output sees its complete gradient (all paths
    summed) before the node runs, and may return a replacement (PyTorch's tensor pre-hooks)."""
    grads = list(grads)
    for nr, hooks in node._tensor_hooks.items():
        g = grads[nr]
        if g is None:
            continue
        for hook in tuple(hooks.values()):
            new = hook(g)
            if new is not None:
                if getattr(new, "shape", None) != g.shape:
                    raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} has changed the "
                                       f"size of value: expected {tuple(g.shape)}, got "
                                       f"{tuple(getattr(new, 'shape', ()))}")
                g = new
        grads[nr] = g
    return grads


def _release_children(node, deps, ready):
    for edge in node.next_edges:
        if edge is None:
            continue
        nxt = edge[0]
        deps[nxt] -= 1
        if deps[nxt] == 0:
            ready.append(nxt)


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
    if t._grad is None:
        a = g._data
        if id(a) in given_out or a.base is not None or not a.flags.owndata:
            g = g.clone() if create_graph else g._copy_detached()
        given_out.add(id(g._data))
        t._grad = g
    else:
        t._grad = t._grad + g if create_graph else t._grad.detach() + g
