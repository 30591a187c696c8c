"""Graph and Node editing: the list order, insertion points, use lists, erasing, dead code,
lint, printing -- against torch.fx where both can run the same edit."""
import operator
import sys

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.fx as fx
from deltagrad.fx.graph import plain_table
from tests.conftest import requires_torch
from tests.fx.same_source import build, in_deltagrad, node_rows

SOURCE = """
def program(x, y):
    a = x + y
    b = torch.exp(a)
    unused = torch.sin(b)
    return b * a

def replacement_edit(gm, fx):
    # every addition becomes -(x - y), inserted after it, then erased
    for n in gm.graph.nodes:
        if n.op == "call_function" and n.target is operator.add:
            with gm.graph.inserting_after(n):
                first = gm.graph.call_function(torch.sub, n.args, n.kwargs)
            with gm.graph.inserting_after(first):
                second = gm.graph.call_function(torch.neg, (first,))
            n.replace_all_uses_with(second)
            gm.graph.erase_node(n)
    with gm.graph.inserting_before(None):
        gm.graph.call_function(torch.ones, (2,))
    gm.graph.eliminate_dead_code()
    gm.graph.lint()
    gm.recompile()
    return gm
"""


def _edited(torch_module, tracer_module):
    ns = build("import operator\n" + SOURCE, torch_module)
    gm = tracer_module.symbolic_trace(ns["program"])
    return ns["replacement_edit"](gm, tracer_module)


@requires_torch
def test_an_edit_gives_the_same_graph_and_code_as_torch_fx():
    import torch
    import torch.fx
    t_gm = _edited(torch, torch.fx)
    d_code, d_rows = in_deltagrad(lambda alias: (lambda gm: (gm.code, node_rows(gm.graph)))(
        _edited(alias, fx)))
    assert d_rows == node_rows(t_gm.graph)
    assert d_code == t_gm.code
    assert "sin" not in d_code  # dead code gone; ones (no users, impure-free) gone too


@requires_torch
def test_several_nodes_inserted_after_one_come_in_reverse_order_as_in_torch_fx():
    import torch
    import torch.fx

    def insert_two(fx_module, torch_module):
        g = fx_module.Graph()
        x = g.placeholder("x")
        with g.inserting_after(x):
            g.call_function(torch_module.exp, (x,))
            g.call_function(torch_module.sin, (x,))
        with g.inserting_before(None):
            g.placeholder("first")
            g.placeholder("second")
        return node_rows(g)
    assert in_deltagrad(lambda alias: insert_two(fx, alias)) == insert_two(torch.fx, torch)


def test_dead_code_keeps_random_draws_and_in_place_methods():
    g = fx.Graph()
    x = g.placeholder("x")
    g.call_function(dg.rand, (2,))
    g.call_method("add_", (x, 1))
    g.call_function(dg.exp, (x,))
    g.output(x)
    assert g.eliminate_dead_code()
    assert [n.name for n in g.nodes] == ["x", "rand", "add_", "output"]
    assert not g.eliminate_dead_code()


def test_nodes_are_iterable_reversible_and_sized():
    gm = fx.symbolic_trace(two_ops)
    names = [n.name for n in gm.graph.nodes]
    assert names == ["x", "relu", "neg", "output"]
    assert [n.name for n in reversed(gm.graph.nodes)] == names[::-1]
    assert len(gm.graph.nodes) == 4
    relu = list(gm.graph.nodes)[1]
    assert relu.next.name == "neg" and relu.prev.name == "x"
    assert list(relu.users) == [relu.next] and relu.all_input_nodes == [relu.prev]


def two_ops(x):
    return -dg.relu(x)


def test_erasing_a_used_node_is_refused():
    gm = fx.symbolic_trace(two_ops)
    relu = list(gm.graph.nodes)[1]
    with pytest.raises(RuntimeError, match="Tried to erase Node relu but it still had 1 users"):
        gm.graph.erase_node(relu)


def test_erase_while_iterating_goes_on_to_the_inserted_node():
    gm = fx.symbolic_trace(two_ops)
    seen = []
    for n in gm.graph.nodes:
        seen.append(n.name)
        if n.name == "relu":
            with gm.graph.inserting_after(n):
                new = gm.graph.call_function(dg.sigmoid, n.args)
            n.replace_all_uses_with(new)
            gm.graph.erase_node(n)
    assert seen == ["x", "relu", "sigmoid", "neg", "output"]
    gm.recompile()
    x = dg.tensor([0.0, 2.0])
    assert gm(x).tolist() == (-dg.sigmoid(x)).tolist()


def test_replace_all_uses_with_a_callback_and_update_arg():
    g = fx.Graph()
    x = g.placeholder("x")
    a = g.call_function(operator.add, (x, 1))
    b = g.call_function(operator.mul, (x, 2))
    g.output((a, b))
    y = g.placeholder("y")
    changed = x.replace_all_uses_with(y, delete_user_cb=lambda user: user is b)
    assert changed == [b] and b.args == (y, 2) and a.args == (x, 1)
    a.update_arg(1, 5)
    a.update_kwarg("alpha", 3)
    assert a.args == (x, 5) and a.kwargs == {"alpha": 3}
    assert list(x.users) == [a] and list(y.users) == [b]
    with pytest.raises(TypeError, match="expected a Node, got int"):
        x.replace_all_uses_with(3)


def test_lint_finds_use_before_definition_and_a_missing_attribute():
    g = fx.Graph()
    x = g.placeholder("x")
    late = g.call_function(dg.exp, (x,))
    early = g.call_function(dg.neg, (late,))
    g.output(early)
    g.lint()
    late.append(x)  # x now comes after its user
    with pytest.raises(RuntimeError, match="argument x of node exp is used before it is "
                                           "defined"):
        g.lint()
    g2 = fx.Graph()
    g2.output(g2.get_attr("missing"))
    with pytest.raises(RuntimeError, match="which the root module Module does not have"):
        fx.GraphModule(dg.nn.Module(), g2)


def test_bad_nodes_are_refused():
    g = fx.Graph()
    with pytest.raises(ValueError, match="unknown op 'call'"):
        g.create_node("call", dg.exp)
    with pytest.raises(ValueError, match="needs a callable target"):
        g.create_node("call_function", "exp")
    with pytest.raises(TypeError, match="args must be a tuple, got list"):
        g.create_node("call_function", dg.exp, [1])
    other = fx.Graph().placeholder("z")
    with pytest.raises(RuntimeError, match="belongs to another Graph"):
        g.call_function(dg.exp, (other,))


@requires_torch
def test_graph_printing_matches_torch_fx():
    import torch
    import torch.fx
    source = "def program(x, y: int = 3):\n    return torch.relu(x).sum(dim=y) + y\n"
    t = torch.fx.symbolic_trace(build(source, torch)["program"])
    d = in_deltagrad(lambda alias: str(fx.symbolic_trace(build(source, alias)["program"]).graph))
    assert d == str(t.graph)


def test_print_tabular_plain_table_is_tabulates_layout(capsys):
    rows = [["placeholder", "x", "x", "()", "{}"], ["output", "output", "output", "(x,)", "{}"]]
    headers = ["opcode", "name", "target", "args", "kwargs"]
    expected = "\n".join([
        "opcode       name    target    args    kwargs",
        "-----------  ------  --------  ------  --------",
        "placeholder  x       x         ()      {}",
        "output       output  output    (x,)    {}"])
    assert plain_table(rows, headers) == expected
    try:
        from tabulate import tabulate
    except ImportError:
        return
    assert tabulate(rows, headers=headers) == expected


def test_print_tabular_without_tabulate_prints_the_same_table(capsys, monkeypatch):
    gm = fx.symbolic_trace(two_ops)
    gm.graph.print_tabular()
    with_package = capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "tabulate", None)  # import tabulate -> ImportError
    gm.graph.print_tabular()
    without = capsys.readouterr().out
    assert without.splitlines()[0].split() == ["opcode", "name", "target", "args", "kwargs"]
    assert "placeholder    x" in without and "(relu,)" in without
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return
    assert without == with_package


def test_find_nodes_by_op_and_target():
    gm = fx.symbolic_trace(two_ops)
    assert [n.name for n in gm.graph.find_nodes(op="call_function")] == ["relu", "neg"]
    assert [n.name for n in gm.graph.find_nodes(op="call_function", target=dg.relu)] == \
        ["relu"]
    assert gm.graph.find_nodes(op="placeholder", target="y") == []


def test_graph_module_from_a_dict_root_and_a_hand_built_graph():
    g = fx.Graph()
    x = g.placeholder("x")
    w = g.get_attr("layer.weight")
    g.output(g.call_function(dg.matmul, (x, w)))
    weight = dg.tensor([[2.0], [3.0]])
    gm = fx.GraphModule({"layer.weight": weight}, g)
    assert gm(dg.tensor([[1.0, 1.0]])).tolist() == [[5.0]]
    assert "layer_weight = self.layer.weight" in gm.code
    with pytest.raises(TypeError, match="root must be an nn.Module or a dict, got int"):
        fx.GraphModule(1, g)


DTYPE_SOURCE = """
class Cast(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)

    def forward(self, x):
        return self.lin(x.to(torch.float64).float()).sum(dim=0, dtype=torch.float64)
"""


@requires_torch
def test_dtypes_in_code_and_deepcopy_match_torch_fx():
    import copy

    import torch
    import torch.fx

    def copied(torch_module, fx_module):
        gm = fx_module.symbolic_trace(build(DTYPE_SOURCE, torch_module)["Cast"]())
        twin = copy.deepcopy(gm)
        return (gm.code, twin.code, twin.lin is gm.lin,
                [n.name for n in twin.graph.nodes], len(twin.graph.nodes))
    assert in_deltagrad(lambda alias: copied(alias, fx)) == copied(torch, torch.fx)


def test_a_deep_copy_computes_the_same_and_owns_its_weights():
    import copy
    gm = fx.symbolic_trace(build(DTYPE_SOURCE, dg)["Cast"]())
    twin = copy.deepcopy(gm)
    x = dg.randn(3, 2)
    assert twin(x).tolist() == gm(x).tolist() and twin(x).dtype == dg.float64
    with dg.no_grad():
        twin.lin.weight.fill_(0.0)
    assert gm.lin.weight.abs().sum().item() > 0
    with pytest.raises(TypeError, match="GraphModule cannot be pickled by deltagrad.fx"):
        import pickle
        pickle.dumps(gm)


def test_linalg_special_and_unnamed_targets_generate_runnable_code():
    import deltagrad.linalg  # noqa: F401
    from deltagrad.ops.elementwise import Tan

    def norms(x):
        return dg.linalg.vector_norm(dg.special.erf(x))
    gm = fx.symbolic_trace(norms)
    assert "deltagrad.linalg.vector_norm(" in gm.code
    x = dg.tensor([0.5, -1.0])
    assert gm(x).item() == norms(x).item()
    g = fx.Graph()
    g.output(g.call_function(Tan.apply, (g.placeholder("x"),)))
    hand = fx.GraphModule(dg.nn.Module(), g)  # a bound classmethod: bound as a global
    assert hand(x).tolist() == dg.tan(x).tolist()


@requires_torch
def test_print_readable_and_str_match_torch_fx():
    import torch
    import torch.fx

    def shown(torch_module, fx_module):
        gm = fx_module.symbolic_trace(build(DTYPE_SOURCE, torch_module)["Cast"]())
        return gm.print_readable(print_output=False), str(gm).splitlines()[-9:]
    assert in_deltagrad(lambda alias: shown(alias, fx)) == shown(torch, torch.fx)


def numpy_and_infinite_constants(x):
    return x * np.float64(2.5) - float("inf"), x + float("nan")


def test_numpy_floats_and_infinities_generate_valid_code():
    gm = fx.symbolic_trace(numpy_and_infinite_constants)
    assert "mul = x * 2.5" in gm.code and "sub = mul - inf" in gm.code
    minus_inf, nan = gm(dg.tensor([1.0]))
    assert minus_inf.tolist() == [-np.inf] and np.isnan(nan.numpy()).all()
