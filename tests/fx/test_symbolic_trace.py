"""Symbolic tracing against torch.fx: the same program text gives the same nodes and the same
generated code, and the GraphModule computes what the module computes."""
import operator

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.fx as fx
from tests.conftest import requires_torch
from tests.fx.same_source import build, copy_weights, in_deltagrad, node_rows

PROGRAMS = {
    "layers_and_functions": ("""
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 4)
        self.seq = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh())
        self.relu = torch.nn.ReLU()
        self.scale = torch.nn.Parameter(torch.ones(4))

    def forward(self, x, y, k: int = 2):
        z = torch.exp(x) + y
        h = F.relu(self.seq(self.lin(z)) * self.scale, inplace=False)
        return self.relu(h).float(), z.shape[0], torch.cat([h, -h], dim=1)[:, 1:k]
""", "Net", ((2, 3), (2, 3))),
    "operators_and_methods": ("""
class Ops(torch.nn.Module):
    def forward(self, a, b):
        c = 2.0 * a - b / 3 + a @ b.t()[:, :1]
        d = (c ** 2).sum(dim=1, keepdim=True).sqrt()
        first, second = c.chunk(2, dim=0)
        return torch.tanh(d), first.view(-1), second.mean(), c.max(), torch.stack([a, b])
""", "Ops", ((4, 3), (4, 3))),
    "tensor_constants": ("""
class Constants(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.table = torch.tensor([1.0, 2.0])
        self.register_buffer("offset", torch.ones(2))

    def forward(self, x):
        c = torch.tensor([1.0, -2.0])
        return (c + x, c / x, c @ x, c == x, c % x, self.table * x, self.offset - x,
                (c > 0) & (x > 0), 1 - x)
""", "Constants", ((2,),)),
    "annotated_function": ("""
from typing import Dict, List, Optional

def annotated(x: torch.Tensor, n: int = 2, ys: List[int] = None,
              table: Optional[Dict[str, float]] = None) -> torch.Tensor:
    return x * n
""", "annotated", ((3,),)),
    "variadic_function": ("""
def variadic(x, *rest, **options):
    return torch.cat([x, rest[0]]) * rest[1]
""", "variadic", ((2,), (2,), (4,))),
    "variadic_module": ("""
class Concat(torch.nn.Module):
    def forward(self, *parts):
        return torch.cat(parts).relu()
""", "Concat", ((2,), (3,))),
    "plain_function": ("""
def program(x, w):
    return torch.sigmoid(x @ w).clamp(min=0.25) + torch.neg(x).sum()
""", "program", ((3, 3), (3, 3))),
}


def _trace_pair(name):
    source, obj_name, shapes = PROGRAMS[name]
    import torch
    import torch.fx  # noqa: F401
    torch.manual_seed(0)
    t_obj = build(source, torch)[obj_name]
    t_obj = t_obj() if isinstance(t_obj, type) else t_obj
    t_gm = torch.fx.symbolic_trace(t_obj)

    def trace_dg(torch_alias):
        d_obj = build(source, torch_alias)[obj_name]
        d_obj = d_obj() if isinstance(d_obj, type) else d_obj
        return d_obj, fx.symbolic_trace(d_obj)
    d_obj, d_gm = in_deltagrad(trace_dg)
    return t_obj, t_gm, d_obj, d_gm, shapes


@requires_torch
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_same_nodes_and_code_as_torch_fx(name):
    t_obj, t_gm, d_obj, d_gm, _ = _trace_pair(name)
    assert node_rows(d_gm.graph) == node_rows(t_gm.graph)
    assert in_deltagrad(lambda torch: d_gm.graph.python_code().src) == t_gm.code
    assert in_deltagrad(lambda torch: str(d_gm.graph)).replace("deltagrad", "torch") \
        .splitlines()[0] == str(t_gm.graph).splitlines()[0]


@requires_torch
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_graph_module_computes_what_the_program_computes(name):
    import torch
    t_obj, t_gm, d_obj, d_gm, shapes = _trace_pair(name)
    if isinstance(t_obj, torch.nn.Module):
        t_obj.double()
        t_gm.double()
        copy_weights(t_obj, d_obj)
        copy_weights(t_gm, d_gm)  # its buffers: the constants the trace stored too
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    expected = t_gm(*[torch.tensor(a) for a in arrays])
    direct = d_obj(*[dg.tensor(a) for a in arrays])
    got = d_gm(*[dg.tensor(a) for a in arrays])
    expected, direct, got = [v if isinstance(v, tuple) else (v,) for v in (expected, direct, got)]
    for e, d, g in zip(expected, direct, got):
        if isinstance(e, torch.Tensor):
            np.testing.assert_array_equal(g.detach().numpy(), d.detach().numpy())  # same ops
            np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy(), rtol=1e-12,
                                       atol=1e-12)
        else:
            assert g == d == e


def test_deltagrad_spelling_without_run_torch():
    gm = fx.symbolic_trace(lambda_free_program)
    assert "deltagrad.exp(x)" in gm.code and "deltagrad.nn.functional.gelu(exp)" in gm.code
    x = dg.randn(3)
    np.testing.assert_array_equal(gm(x).numpy(), lambda_free_program(x).numpy())


def lambda_free_program(x):
    return dg.nn.functional.gelu(dg.exp(x))


class _Flow(dg.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def test_control_flow_on_a_proxy_is_a_trace_error():
    with pytest.raises(fx.proxy.TraceError, match="symbolically traced variables cannot be used as "
                                            "inputs to control flow"):
        fx.symbolic_trace(_Flow())


@requires_torch
def test_torch_fx_raises_on_the_same_control_flow():
    import torch
    import torch.fx

    class Flow(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            return -x
    with pytest.raises(torch.fx.proxy.TraceError, match="inputs to control flow"):
        torch.fx.symbolic_trace(Flow())


def test_len_and_iteration_of_a_proxy_are_refused():
    with pytest.raises(RuntimeError, match="'len' is not supported in symbolic tracing"):
        fx.symbolic_trace(lambda_len)
    with pytest.raises(fx.proxy.TraceError, match="Proxy object cannot be iterated"):
        fx.symbolic_trace(lambda_iter)


def lambda_len(x):
    return x + len(x)


def lambda_iter(x):
    return [v for v in x]


def test_patched_functions_are_restored_after_a_failing_trace():
    exp, call, getattr_ = dg.exp, dg.nn.Module.__call__, dg.nn.Module.__getattr__
    relu = dg.nn.functional.relu
    with pytest.raises(fx.proxy.TraceError):
        fx.symbolic_trace(_Flow())
    assert dg.exp is exp and dg.nn.functional.relu is relu
    assert dg.nn.Module.__call__ is call and dg.nn.Module.__getattr__ is getattr_
    assert not hasattr(dg.ops.elementwise.exp, "_fx_original")


def test_a_bad_root_and_unknown_concrete_args_are_refused():
    with pytest.raises(TypeError, match="expected an nn.Module or a function, got int"):
        fx.Tracer().trace(3)
    with pytest.raises(TypeError, match="concrete_args names no parameter"):
        fx.symbolic_trace(lambda_free_program, concrete_args={"y": 1})


def test_concrete_args_fix_a_value():
    gm = fx.symbolic_trace(scaled, concrete_args={"factor": 3.0})
    assert [n.op for n in gm.graph.nodes] == ["placeholder", "call_function", "output"]
    assert gm(dg.tensor([1.0, 2.0])).tolist() == [3.0, 6.0]


def scaled(x, factor):
    return x * factor


def test_custom_tracer_traces_through_relu_and_tags_nodes():
    class ThroughReLU(fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return not isinstance(m, dg.nn.ReLU) and super().is_leaf_module(m, qualname)

    class Tagging(fx.Tracer):
        def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
            node = super().create_node(kind, target, args, kwargs, name, type_expr)
            node.tag = "seen"
            return node

    model = dg.nn.Sequential(dg.nn.Linear(2, 2), dg.nn.ReLU())
    default = fx.Tracer().trace(model)
    assert [(n.op, n.target) for n in default.nodes][1:3] == [("call_module", "0"),
                                                              ("call_module", "1")]
    through = ThroughReLU().trace(model)
    relu = list(through.nodes)[2]
    assert (relu.op, relu.target, relu.kwargs) == ("call_function", dg.nn.functional.relu,
                                                   {"inplace": False})
    assert all(n.tag == "seen" for n in Tagging().trace(model).nodes)


def test_wrap_keeps_a_function_as_one_node():
    gm = fx.symbolic_trace(uses_wrapped)
    targets = [n.target for n in gm.graph.nodes if n.op == "call_function"]
    assert targets == [wrapped_square, operator.add]
    assert 'deltagrad.fx.wrap("tests_fx_test_symbolic_trace_wrapped_square")' in gm.code
    assert gm(dg.tensor([3.0])).tolist() == [10.0]
    assert wrapped_square is globals()["wrapped_square"]  # unpatched after the trace


def wrapped_square(x):
    return x * x


fx.wrap(wrapped_square)


def uses_wrapped(x):
    return wrapped_square(x) + 1.0


def test_wrap_outside_module_scope_is_refused():
    with pytest.raises(NotImplementedError, match="top level of a module"):
        fx.wrap(wrapped_square)


def test_tensor_constants_and_buffers_become_get_attr():
    class WithBuffer(dg.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("offset", dg.tensor([1.0, 2.0]))
            self.table = dg.tensor([10.0, 20.0])

        def forward(self, x):
            return dg.add(x, self.offset) * dg.mul(x, self.table)

    m = WithBuffer()
    gm = fx.symbolic_trace(m)
    gets = [n.target for n in gm.graph.nodes if n.op == "get_attr"]
    assert gets == ["offset", "table"]
    x = dg.tensor([0.5, -1.0])
    np.testing.assert_array_equal(gm(x).numpy(), m(x).numpy())


def test_a_submodule_outside_the_root_is_a_clear_error():
    stranger = dg.nn.Linear(2, 2)

    class Borrower(dg.nn.Module):
        def forward(self, x):
            return stranger(x)
    with pytest.raises(NameError, match="not installed as a submodule"):
        fx.symbolic_trace(Borrower())


def checks_then_computes(x):
    if dg.is_tensor(x) or not dg.is_grad_enabled():
        raise AssertionError("a Proxy is not a Tensor (torch.is_tensor(proxy) is False)")
    return dg.exp(x)


def test_inspecting_functions_are_not_recorded():
    gm = fx.symbolic_trace(checks_then_computes)
    assert [n.op for n in gm.graph.nodes] == ["placeholder", "call_function", "output"]


class OriginTracer(fx.Tracer):
    """Notes, for every node, the qualified name of the module whose forward made it."""

    def __init__(self):
        super().__init__()
        self.current, self.origin = "", {}

    def call_module(self, m, forward, args, kwargs):
        outer, self.current = self.current, self.path_of_module(m)
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.current = outer

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None,
                     proxy_factory_fn=None):
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr)
        self.origin[proxy.node.name] = self.current
        return proxy


class _Residual(dg.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = dg.nn.Conv2d(2, 2, 3, padding=1)
        self.relu = dg.nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x) + x)


def test_call_module_and_create_proxy_overrides_see_the_module_path():
    model = dg.nn.Sequential(_Residual(), dg.nn.Sequential(_Residual()), dg.nn.Flatten())
    tracer = OriginTracer()
    graph = tracer.trace(model)
    assert tracer.origin == {"input_1": "", "_0_conv": "0.conv", "add": "0", "_0_relu": "0.relu",
                             "_1_0_conv": "1.0.conv", "add_1": "1.0", "_1_0_relu": "1.0.relu",
                             "_2": "2"}
    x = dg.randn(1, 2, 4, 4)
    gm = fx.GraphModule(tracer.root, graph)
    np.testing.assert_array_equal(gm(x).detach().numpy(), model(x).detach().numpy())


class _KeywordOnly(dg.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = dg.nn.Linear(2, 2)

    def forward(self, x, *, scale=2.0):
        return self.lin(x) * scale


class _TracesInside(dg.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = _KeywordOnly()

    def forward(self, x):
        nodes = len(fx.symbolic_trace(_KeywordOnly()).graph.nodes)  # a trace inside a trace
        return self.inner(x, scale=3.0) + nodes


def test_keyword_only_parameters_and_a_trace_inside_a_trace():
    gm = fx.symbolic_trace(_KeywordOnly())
    assert "def forward(self, x, scale = 2.0):" in gm.code  # as torch.fx writes it
    outer = fx.symbolic_trace(_TracesInside())
    assert [(n.op, n.target) for n in outer.graph.nodes][1:4] == [
        ("call_module", "inner.lin"), ("call_function", operator.mul),
        ("call_function", operator.add)]
    assert list(outer.graph.nodes)[3].args[1] == 5
    call = dg.nn.Module.__call__
    assert call is fx.tracer._module_call  # restored after both traces
    x = dg.randn(2, 2)
    np.testing.assert_allclose(outer(x).detach().numpy(),
                               (outer.inner.lin(x) * 3.0 + 5).detach().numpy())


@requires_torch
def test_keyword_only_before_star_args_in_generated_signature_as_torch_fx():
    import torch
    import torch.fx
    source = "def scaled(x, *rest, scale=2.0):\n    return x * scale + rest[1]\n"
    expected = torch.fx.symbolic_trace(build(source, torch)["scaled"]).code
    got = in_deltagrad(lambda alias: fx.symbolic_trace(build(source, alias)["scaled"]).code)
    assert got == expected
    assert "def forward(self, x, scale = 2.0, *rest):" in got  # torch.fx's order, kept


def test_interpreter_gathers_star_args():
    gm = fx.symbolic_trace(build("def total(x, *rest):\n    return x + rest[0] + rest[1]\n",
                                 dg)["total"])
    out = fx.Interpreter(gm).run(dg.tensor([1.0]), dg.tensor([2.0]), dg.tensor([4.0]))
    assert out.tolist() == [7.0] == gm(dg.tensor([1.0]), dg.tensor([2.0]),
                                       dg.tensor([4.0])).tolist()
