"""Under run-torch, torch.profiler, torch.autograd.profiler and torch.ops.profiler are the
deltagrad profiler, and a torch.fx graph can open and close a record_function range."""
import importlib

import pytest

import deltagrad as dg
from deltagrad.profiler import profile, record_function
from deltagrad.profiler.autograd_profiler import profile as autograd_profile
from deltagrad.torch_compat import torch_is_deltagrad

from ..conftest import requires_torch


def test_torch_spellings_resolve_to_the_profiler():
    with torch_is_deltagrad():
        import torch
        import torch.autograd.profiler as autograd_profiler
        from torch.profiler import ProfilerActivity
        assert torch.profiler.profile is profile
        assert torch.profiler.record_function is record_function
        assert autograd_profiler.record_function is record_function
        assert torch.autograd.profiler.profile is autograd_profile
        assert ProfilerActivity.CPU.name == "CPU"
        assert torch.ops.profiler._record_function_enter is dg.ops.profiler._record_function_enter
        assert torch.ops.profiler._record_function_exit is dg.ops.profiler._record_function_exit


def test_nothing_else_under_torch_ops_and_missing_profiler_parts_say_so():
    with torch_is_deltagrad():
        import torch
        for name in ("aten", "elementwise", "quantized"):
            with pytest.raises(AttributeError, match=f"^torch.ops.{name} is not supported by "
                                                     "deltagrad$"):
                getattr(torch.ops, name)
        with pytest.raises(ModuleNotFoundError, match="torch.ops.aten is not supported"):
            importlib.import_module("torch.ops.aten")
        assert torch.profiler.schedule is dg.profiler.schedule
        assert torch.profiler.tensorboard_trace_handler is dg.profiler.tensorboard_trace_handler
        with pytest.raises(AttributeError, match="torch.profiler.itt is not supported"):
            torch.profiler.itt


class Foo(dg.nn.Module):
    def forward(self, x):
        with record_function("foo"):
            return dg.relu(x)


def profiled_tracer(fx):
    """A Tracer that records record_function ranges as graph nodes (as pytorch/examples'
    fx/profiling_tracer.py does, by replacing ``__enter__``/``__exit__`` while tracing)."""
    ops = dg.ops.profiler

    class RangeTracer(fx.Tracer):
        def trace(self, root, concrete_args=None):
            saved = record_function.__enter__, record_function.__exit__
            tracer = self

            def enter(rf):
                rf.handle = tracer.create_proxy("call_function", ops._record_function_enter,
                                                (rf.name,), {})
                return rf

            def exit_(rf, *exc):
                ops._record_function_exit(rf.handle)  # a Proxy argument: recorded as a node

            record_function.__enter__, record_function.__exit__ = enter, exit_
            try:
                return super().trace(root, concrete_args)
            finally:
                record_function.__enter__, record_function.__exit__ = saved
    return RangeTracer()


def test_ranges_survive_fx_tracing_only_with_the_range_tracer():
    import deltagrad.fx as fx
    model, x = Foo(), dg.randn(5, 3, 2)
    plain = fx.symbolic_trace(model)
    tracer = profiled_tracer(fx)
    graph = tracer.trace(model)
    ranged = fx.GraphModule(tracer.root, graph)
    assert [n.op for n in graph.nodes] == ["placeholder", "call_function", "call_function",
                                           "call_function", "output"]
    assert [n.name for n in graph.nodes][1:4] == ["_record_function_enter", "relu",
                                                  "_record_function_exit"]
    assert "deltagrad.ops.profiler._record_function_enter('foo')" in ranged.code
    results = []
    for module in (model, plain, ranged):
        with autograd_profile() as prof:
            out = module(x)
        results.append([(e.name, e.cpu_parent and e.cpu_parent.name) for e in prof.events()])
        assert dg.equal(out, dg.relu(x))
    assert results == [[("foo", None), ("Relu", "foo")], [("Relu", None)],
                       [("foo", None), ("Relu", "foo")]]
    assert record_function.__enter__.__qualname__ == "record_function.__enter__"


@requires_torch
def test_the_range_graph_has_torch_fx_s_shape():
    import torch
    import torch.fx

    class TorchFoo(torch.nn.Module):
        def forward(self, x):
            with torch.profiler.record_function("foo"):
                return torch.relu(x)

    class TorchRangeTracer(torch.fx.Tracer):
        def trace(self, root, concrete_args=None):
            rf = torch.autograd.profiler.record_function
            saved = rf.__enter__, rf.__exit__
            tracer = self

            def enter(r):
                r._handle = tracer.create_proxy("call_function",
                                                torch.ops.profiler._record_function_enter,
                                                (r.name,), {})
                return r

            def exit_(r, *exc):
                torch.ops.profiler._record_function_exit(r._handle)

            rf.__enter__, rf.__exit__ = enter, exit_
            try:
                return super().trace(root, concrete_args)
            finally:
                rf.__enter__, rf.__exit__ = saved

    import deltagrad.fx as fx
    theirs = TorchRangeTracer().trace(TorchFoo())
    ours = profiled_tracer(fx).trace(Foo())
    assert [(n.op, n.name, len(n.users)) for n in ours.nodes] == \
        [(n.op, n.name, len(n.users)) for n in theirs.nodes]
