"""Interpreter and Transformer: node-by-node evaluation and rebuilding, against torch.fx."""
import operator

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.fx as fx
from tests.conftest import requires_torch
from tests.fx.same_source import build, in_deltagrad, node_rows

SOURCE = """
class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 3)

    def forward(self, x):
        return torch.relu(self.lin(x) + x) * 2.0

class AddToMul(fx.Transformer):
    def call_function(self, target, args, kwargs):
        if target is operator.add:
            target = operator.mul
        return super().call_function(target, args, kwargs)
"""


@requires_torch
def test_transformer_gives_torch_fx_graph_and_code():
    import torch
    import torch.fx

    def transformed(torch_module, fx_module):
        ns = build("import operator\n" + SOURCE, torch_module)
        gm = fx_module.symbolic_trace(ns["Block"]())
        new = ns["AddToMul"](gm).transform()
        return node_rows(new.graph), new.code
    expected = transformed(torch, torch.fx)
    assert in_deltagrad(lambda alias: transformed(alias, fx)) == expected


def _block():
    ns = build("import operator\n" + SOURCE, dg)
    return ns["Block"](), ns["AddToMul"]


def test_interpreter_result_equals_the_module():
    block, _ = _block()
    gm = fx.symbolic_trace(block)
    x = dg.randn(4, 3)
    np.testing.assert_array_equal(fx.Interpreter(gm).run(x).detach().numpy(),
                                  block(x).detach().numpy())


def test_transformed_module_computes_the_rewritten_program():
    block, add_to_mul = _block()
    new = add_to_mul(fx.symbolic_trace(block)).transform()
    x = dg.randn(4, 3)
    expected = dg.relu(block.lin(x) * x) * 2.0
    np.testing.assert_array_equal(new(x).detach().numpy(), expected.detach().numpy())


def test_an_overridden_method_sees_every_call():
    block, _ = _block()
    gm = fx.symbolic_trace(block)
    calls = []

    class Recording(fx.Interpreter):
        def run_node(self, n):
            calls.append((n.op, n.name))
            return super().run_node(n)

        def call_function(self, target, args, kwargs):
            if target is operator.mul:  # 2.0 -> 3.0
                args = (args[0], 3.0)
            return super().call_function(target, args, kwargs)
    x = dg.randn(2, 3)
    out = Recording(gm).run(x)
    assert [name for _, name in calls] == ["x", "lin", "add", "relu", "mul", "output"]
    np.testing.assert_allclose(out.detach().numpy(),
                               (block(x) * 1.5).detach().numpy(), rtol=1e-6)


def test_values_are_freed_after_their_last_use():
    gm = fx.symbolic_trace(chain)
    interp = fx.Interpreter(gm)
    interp.run(dg.ones(2))
    assert list(interp.env) == [list(gm.graph.nodes)[-1]]  # only the output's value is left
    kept = fx.Interpreter(gm, garbage_collect_values=False)
    kept.run(dg.ones(2))
    assert len(kept.env) == 4


def chain(x):
    return dg.exp(dg.neg(x))


def test_a_missing_argument_and_a_missing_attribute_are_clear_errors():
    gm = fx.symbolic_trace(chain)
    with pytest.raises(RuntimeError, match="Expected positional argument for parameter x"):
        fx.Interpreter(gm).run()
    with pytest.raises(RuntimeError, match="nonexistent target lin"):
        fx.Interpreter(gm).fetch_attr("lin.weight")
    with pytest.raises(TypeError, match="expected a GraphModule"):
        fx.Interpreter(dg.nn.Linear(2, 2))
