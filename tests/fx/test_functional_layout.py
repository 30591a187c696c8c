"""Calls of deltagrad.nn.functional functions are recorded with torch.fx's argument layout
(``deltagrad/fx/functional_layout.py``): the table equals what PyTorch's own source says, the
recorded code equals torch.fx's, and the recorded call computes what the written one does."""
import ast
import inspect
import textwrap

import numpy as np

import deltagrad as dg
import deltagrad.fx as fx
import deltagrad.nn.functional as F
from deltagrad.fx.functional_layout import LAYOUT, lay_out
from tests.conftest import requires_torch
from tests.fx.same_source import build, in_deltagrad


def _torch_layouts():
    """name -> (positional, keyword names) of each torch.nn.functional function written in
    Python whose ``handle_torch_function`` call passes plain parameter names."""
    import torch.nn.functional as TF
    layouts = {}
    for name in dir(F):
        fn = getattr(TF, name, None)
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and getattr(n.func, "id", None) == "handle_torch_function"]
        if calls:
            positional = tuple(ast.unparse(a) for a in calls[0].args[2:])
            layouts[name] = (positional, tuple(k.arg for k in calls[0].keywords))
    return layouts


@requires_torch
def test_the_table_is_what_torchs_source_says():
    assert LAYOUT == _torch_layouts()


SOURCE = """
class Head(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.act = torch.nn.LeakyReLU(0.2)

    def forward(self, x, t):
        h = F.relu(x) + F.silu(x) + F.dropout(x, 0.1, training=False)
        h = F.layer_norm(h, (4,), eps=1e-6)
        loss = F.mse_loss(h, t) + F.cross_entropy(h, t.argmax(-1), reduction="sum")
        return self.act(h), loss

class Through(fx.Tracer):
    def is_leaf_module(self, m, qualname):
        return False
"""


@requires_torch
def test_recorded_code_equals_torch_fx():
    import torch
    import torch.fx

    def code(torch_module, fx_module):
        ns = build(SOURCE, torch_module)
        model = ns["Head"]()
        return (fx_module.symbolic_trace(model).code,
                fx_module.GraphModule(model, ns["Through"]().trace(model)).code)
    assert in_deltagrad(lambda alias: code(alias, fx)) == code(torch, torch.fx)


def test_laid_out_calls_compute_what_the_written_ones_do():
    ns = build(SOURCE, dg)
    model = ns["Head"]()
    gm = fx.GraphModule(model, ns["Through"]().trace(model))
    x, t = dg.randn(3, 4), dg.randn(3, 4)
    for got, expected in zip(gm(x, t), model(x, t)):
        np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())


def test_a_call_outside_the_layout_is_recorded_as_written():
    x = object()
    assert lay_out("relu", F.relu, (x,), {}) == ((x,), {"inplace": False})
    generator = dg.Generator()
    assert lay_out("dropout", F.dropout, (x,), {"generator": generator}) == \
        ((x,), {"generator": generator})  # deltagrad's own argument: kept as written
    assert lay_out("gelu", F.gelu, (x,), {}) == ((x,), {})  # not in the table
    assert lay_out("relu", F.relu, (x, 1, 2, 3), {}) == ((x, 1, 2, 3), {})  # the call errs
