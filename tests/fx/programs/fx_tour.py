"""A PyTorch torch.fx program (self-written): trace, print, rewrite, interpret, rebuild.
Run as ``python fx_tour.py`` with PyTorch, or ``deltagrad run-torch fx_tour.py``: the two
print the same text."""
import operator

import torch
import torch.fx
from torch.fx import GraphModule, Interpreter, Proxy, Transformer, replace_pattern


def clipped_square(x):
    return (x * x).clamp(max=4.0)


torch.fx.wrap(clipped_square)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 3)
        self.act = torch.nn.Tanh()
        self.gain = torch.nn.Parameter(torch.full((3,), 0.5))

    def forward(self, x, bias: float = 1.0):
        h = self.act(self.proj(x)) * self.gain
        y = torch.sigmoid(h) + x.relu() - bias
        return clipped_square(y), torch.logsumexp(h, dim=-1)


block = Block()
with torch.no_grad():
    block.proj.weight.copy_(torch.arange(9.0).reshape(3, 3) / 10 - 0.4)
    block.proj.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
x = torch.arange(6.0).reshape(2, 3) / 4 - 0.5

traced = torch.fx.symbolic_trace(block)
print(traced.code)
print(traced.graph)
for node in traced.graph.nodes:
    print(node.op, node.name, node.target if isinstance(node.target, str) else "<fn>",
          node.args, node.kwargs, list(node.users))
expected = block(x)
got = traced(x)
print("same result:", all(torch.equal(a, b) for a, b in zip(expected, got)))

# replace every torch.sigmoid by torch.tanh, then drop the now unused nodes
for node in traced.graph.nodes:
    if node.op == "call_function" and node.target is torch.sigmoid:
        with traced.graph.inserting_after(node):
            new = traced.graph.call_function(torch.tanh, node.args, node.kwargs)
        node.replace_all_uses_with(new)
        traced.graph.erase_node(node)
traced.graph.eliminate_dead_code()
traced.graph.lint()
traced.recompile()
print(traced.code)
print([round(v, 5) for v in traced(x)[0].flatten().tolist()])


class Counting(Interpreter):
    def __init__(self, module):
        super().__init__(module)
        self.seen = {}

    def run_node(self, n):
        self.seen[n.op] = self.seen.get(n.op, 0) + 1
        return super().run_node(n)


counter = Counting(traced)
out = counter.run(x, 0.5)
print(sorted(counter.seen.items()), [round(v, 5) for v in out[1].tolist()])


class MulInsteadOfAdd(Transformer):
    def call_function(self, target, args, kwargs):
        if target is operator.add:
            target = operator.mul
        return super().call_function(target, args, kwargs)


rebuilt = MulInsteadOfAdd(traced).transform()
print(rebuilt.code)


def pattern(a):
    return torch.tanh(a) * a.relu()


def replacement(a):
    return torch.neg(a)


class Twice(torch.nn.Module):
    def forward(self, x):
        return torch.tanh(x) * x.relu() + torch.tanh(x + 1) * (x + 1).relu()


twice = torch.fx.symbolic_trace(Twice())
print(len(replace_pattern(twice, pattern, replacement)))
print(twice.code)
print([round(v, 5) for v in twice(x).flatten().tolist()])

graph = torch.fx.Graph()
tracer = torch.fx.proxy.GraphAppendingTracer(graph)
a = Proxy(graph.placeholder("a"), tracer)
b = Proxy(graph.placeholder("b"), tracer)
graph.output(torch.stack([a, b * 2]).sum(0).node)
built = GraphModule(torch.nn.Module(), graph)
print(built.code)
print([round(v, 5) for v in built(x, x).flatten().tolist()])

def data_dependent(v):
    return v if v.sum() > 0 else -v


try:
    torch.fx.symbolic_trace(data_dependent)
except torch.fx.proxy.TraceError as e:
    print("TraceError:", e)
