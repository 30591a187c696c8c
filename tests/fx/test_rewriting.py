"""Rewriting graphs: replace one op by another, replace_pattern, graphs built from Proxies,
inlining a module call -- the generated code compared with torch.fx's."""
import numpy as np
import pytest

import deltagrad as dg
import deltagrad.fx as fx
from tests.conftest import requires_torch
from tests.fx.same_source import build, in_deltagrad

SOURCE = """
import operator

class Adds(torch.nn.Module):
    def forward(self, x, y):
        return x + y, torch.add(x, y), x.add(y)

def replace_adds(fx):
    traced = fx.symbolic_trace(Adds())
    for n in traced.graph.nodes:
        if n.target in (operator.add, torch.add, "add"):
            with traced.graph.inserting_after(n):
                new = traced.graph.call_function(torch.mul, n.args, n.kwargs)
                n.replace_all_uses_with(new)
            traced.graph.erase_node(n)
    traced.recompile()
    return traced

class Twice(torch.nn.Module):
    def forward(self, x, w1, w2):
        m1 = torch.cat([torch.neg(w1), w2]).sum()
        m2 = torch.cat([torch.neg(w1), w2]).sum()
        return x + torch.max(m1) + torch.max(m2)

def pattern(a1, a2):
    return torch.cat([torch.neg(a1), a2]).sum()

def replacement(a1, a2):
    return torch.stack([a1, a2])

def rewrite(fx):
    traced = fx.symbolic_trace(Twice())
    matches = fx.replace_pattern(traced, pattern, replacement)
    return traced, len(matches)

def by_hand(fx):
    graph = fx.Graph()
    tracer = fx.proxy.GraphAppendingTracer(graph)
    x = fx.Proxy(graph.placeholder("x"), tracer)
    y = fx.Proxy(graph.placeholder("y"), tracer)
    c = torch.neg(torch.tanh(torch.cat([x, y])))
    graph.output(c.node)
    return fx.GraphModule(torch.nn.Module(), graph)

class WithReLU(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        return self.relu(x) + 1.0

def inline_relu(fx):
    m = fx.symbolic_trace(WithReLU())
    tracer = fx.proxy.GraphAppendingTracer(m.graph)
    for node in m.graph.nodes:
        if (node.op, node.target) == ("call_module", "relu"):
            with m.graph.inserting_before(node):
                args = fx.node.map_arg(node.args, lambda n: fx.Proxy(n, tracer))
                out = m.relu(*args)
                node.replace_all_uses_with(out.node)
                m.graph.erase_node(node)
    m.recompile()
    return m
"""


def _both(builder):
    import torch
    import torch.fx
    expected = builder(build(SOURCE, torch), torch.fx)
    got = in_deltagrad(lambda alias: builder(build(SOURCE, alias), fx))
    return expected, got


@requires_torch
@pytest.mark.parametrize("program", ["replace_adds", "by_hand", "inline_relu"])
def test_rewritten_code_is_torch_fx_code(program):
    expected, got = _both(lambda ns, fx_module: ns[program](fx_module).code)
    assert got == expected


@requires_torch
def test_replace_pattern_matches_torch_fx():
    expected, got = _both(lambda ns, fx_module: (lambda t: (t[0].code, t[1]))(
        ns["rewrite"](fx_module)))
    assert got == expected and got[1] == 2


def test_rewritten_modules_compute_the_new_programs():
    ns = build(SOURCE, dg)
    x, y = dg.tensor([1.0, 2.0]), dg.tensor([3.0, -1.0])
    assert [t.tolist() for t in ns["replace_adds"](fx)(x, y)] == [[3.0, -2.0]] * 3
    traced, _ = ns["rewrite"](fx)
    w1, w2 = dg.tensor([0.5, -4.0]), dg.tensor([2.0, 1.0])
    assert traced(x, w1, w2).tolist() == (x + 2 * dg.max(dg.stack([w1, w2]))).tolist()
    hand = ns["by_hand"](fx)
    np.testing.assert_array_equal(hand(x, y).numpy(), (-dg.tanh(dg.cat([x, y]))).numpy())
    inlined = ns["inline_relu"](fx)
    assert [n.op for n in inlined.graph.nodes] == ["placeholder", "call_function",
                                                   "call_function", "output"]
    assert inlined(dg.tensor([-1.0, 2.0])).tolist() == [1.0, 3.0]


def test_functions_stop_recording_once_hand_made_proxies_are_gone():
    cat = dg.cat
    graph = fx.Graph()
    p = fx.Proxy(graph.placeholder("x"))
    assert dg.cat is not cat and dg.cat._fx_original is cat  # recording while p lives
    assert isinstance(dg.cat([p, p]), fx.Proxy)
    del p
    assert dg.cat is cat
    assert dg.cat([dg.ones(1), dg.ones(1)]).tolist() == [1.0, 1.0]


def test_proxies_of_two_tracers_in_one_call_are_refused():
    graph = fx.Graph()
    x, y = fx.Proxy(graph.placeholder("x")), fx.Proxy(graph.placeholder("y"))
    with pytest.raises(RuntimeError, match="Found multiple different tracers"):
        dg.cat([x, y])


@requires_torch
def test_torch_fx_refuses_two_tracers_too():
    import torch
    import torch.fx
    graph = torch.fx.Graph()
    x, y = torch.fx.Proxy(graph.placeholder("x")), torch.fx.Proxy(graph.placeholder("y"))
    with pytest.raises(RuntimeError, match="Found multiple different tracers"):
        torch.cat([x, y])


def test_a_pattern_used_outside_its_match_is_left_alone():
    def program(x):
        inner = dg.neg(x)
        return dg.exp(inner) + inner  # neg's value escapes the neg->exp pattern

    def pattern(a):
        return dg.exp(dg.neg(a))

    def replacement(a):
        return dg.sigmoid(a)
    gm = fx.symbolic_trace(program)
    assert fx.replace_pattern(gm, pattern, replacement) == []
    with pytest.raises(ValueError, match="the pattern takes 1 inputs but the replacement "
                                         "takes 2"):
        fx.replace_pattern(gm, pattern, lambda_two)


def lambda_two(a, b):
    return a + b
