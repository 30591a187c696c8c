"""A picture of a network as PNG bytes (matplotlib, optional; no networkx needed).

A Bayesian network is drawn in layers (a node one row below its deepest parent) with arrows;
a Markov network on a circle with plain edges.
"""
from __future__ import annotations

import math

from .graph import DAG


def layout(model) -> dict:
    """{node: (x, y)}: layers by depth for a DAG, a circle for an undirected graph."""
    nodes = model.nodes()
    if isinstance(model, DAG):
        depth = {}
        for v in model.topological_order():
            depth[v] = 1 + max((depth[p] for p in model.get_parents(v)), default=-1)
        rows = {}
        for v in nodes:
            rows.setdefault(depth[v], []).append(v)
        pos = {}
        for d in sorted(rows):          # a row sorted by its parents' mean x: few crossings
            row = sorted(rows[d], key=lambda v: (sum(pos[p][0] for p in model.get_parents(v))
                                                 / max(len(model.get_parents(v)), 1)))
            pos.update({v: (i - (len(row) - 1) / 2, -d) for i, v in enumerate(row)})
        return pos
    n = max(len(nodes), 1)
    return {v: (math.cos(2 * math.pi * i / n + math.pi / 4),
                math.sin(2 * math.pi * i / n + math.pi / 4)) for i, v in enumerate(nodes)}


def network_png(model, title=None, labels=None) -> bytes:
    """The graph of ``model`` (``labels``: {node: text}, default the node names)."""
    from ..report.plots import _png, _pyplot
    plt = _pyplot()
    pos = layout(model)
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(6, 4.5))
    directed = isinstance(model, DAG)
    for u, v in model.edges():
        (x0, y0), (x1, y1) = pos[u], pos[v]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>" if directed else "-", color="0.3",
                                    lw=1.5, shrinkA=22, shrinkB=22, mutation_scale=18))
    for v, (x, y) in pos.items():
        ax.text(x, y, str(labels.get(v, v)), ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="circle,pad=0.5" if len(str(labels.get(v, v))) < 3
                          else "round,pad=0.4", fc="#dbe9f6", ec="#2b5d8a", lw=1.5))
    xs = [p[0] for p in pos.values()] or [0]
    ys = [p[1] for p in pos.values()] or [0]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return _png(fig)
