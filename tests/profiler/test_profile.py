"""deltagrad.profiler: events nest, count and time as PyTorch's profiler reports them."""
import json
import threading

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.autograd import Function
from deltagrad.autograd.grad_mode import _state
from deltagrad.profiler import profile, record_function, ProfilerActivity
from deltagrad.profiler import autograd_profiler
from deltagrad.profiler.events import SORT_KEYS

from ..conftest import requires_torch


def names(prof):
    return [e.name for e in prof.events()]


def small_step(model, x):
    loss = dg.relu(model(x)).sum()
    loss.backward()
    return loss


def test_each_operation_and_backward_node_is_one_event_in_order():
    model, x = dg.nn.Linear(3, 2), dg.randn(4, 3)
    with profile() as prof:
        small_step(model, x)
    # forward: Linear, Relu, Sum; backward: the nodes in reverse, then the two leaves
    assert names(prof)[:3] == ["Linear", "Relu", "Sum"]
    top = [e.name for e in prof.events() if e.cpu_parent is None]
    assert top == ["Linear", "Relu", "Sum", "SumBackward", "ReluBackward", "LinearBackward",
                   "AccumulateGrad", "AccumulateGrad"]

    # a backward node's own operations nest inside it: d(x·w)/dx = g·w, d(x·w)/dw = g·x
    x, w = dg.randn(3, requires_grad=True), dg.randn(3, requires_grad=True)
    with profile() as prof:
        (x * w).sum().backward()
    mul_backward = next(e for e in prof.events() if e.name == "MulBackward")
    assert [c.name for c in mul_backward.cpu_children] == ["Mul", "Mul"]
    assert all(c.cpu_parent is mul_backward for c in mul_backward.cpu_children)


def test_record_function_range_contains_its_operations_and_times_nest():
    x = dg.randn(5, 4, requires_grad=True)
    with profile() as prof:
        with record_function("outer"):
            y = x * 2
            with record_function("inner"):
                z = dg.tanh(y).sum()
        z.backward()
    events = prof.events()
    outer = next(e for e in events if e.name == "outer")
    inner = next(e for e in events if e.name == "inner")
    assert outer.cpu_parent is None and inner.cpu_parent is outer
    assert [c.name for c in outer.cpu_children] == ["Mul", "inner"]
    assert [c.name for c in inner.cpu_children] == ["Tanh", "Sum"]
    assert outer.kind == inner.kind == "user_annotation"
    for e in events:
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total
        start, end = e.time_range
        for c in e.cpu_children:  # a child lies within its parent's range
            assert start <= c.time_range[0] <= c.time_range[1] <= end
        assert e.self_cpu_time_total == pytest.approx(
            e.cpu_time_total - sum(c.cpu_time_total for c in e.cpu_children))
    # the backward ran outside both ranges
    assert next(e for e in events if e.name == "TanhBackward").cpu_parent is None


def test_counts_equal_the_number_of_operations_run():
    a, b = dg.randn(3), dg.randn(3)
    with profile() as prof:
        for _ in range(7):
            a + b
        for _ in range(3):
            a * b
    averages = {e.key: e for e in prof.key_averages()}
    assert averages["Add"].count == 7 and averages["Mul"].count == 3
    assert set(averages) == {"Add", "Mul"}
    add = averages["Add"]
    assert add.cpu_time == pytest.approx(add.cpu_time_total / 7)
    assert add.cpu_time_total == pytest.approx(
        sum(e.cpu_time_total for e in prof.events() if e.name == "Add"))
    assert prof.self_cpu_time_total == pytest.approx(
        sum(e.self_cpu_time_total for e in prof.events()))


def test_input_shapes_are_recorded_and_grouped():
    w = dg.randn(3, 5)
    with profile(record_shapes=True) as prof:
        dg.matmul(dg.randn(2, 3), w)
        dg.matmul(dg.randn(4, 3), w)
        dg.matmul(dg.randn(4, 3), w)
    assert [e.input_shapes for e in prof.events()] == [[[2, 3], [3, 5]], [[4, 3], [3, 5]],
                                                       [[4, 3], [3, 5]]]
    grouped = prof.key_averages(group_by_input_shape=True)
    assert [(e.key, e.input_shapes, e.count) for e in grouped] == [
        ("MatMul", [[2, 3], [3, 5]], 1), ("MatMul", [[4, 3], [3, 5]], 2)]
    assert "Input Shapes" in grouped.table() and "[[4, 3], [3, 5]]" in grouped.table()
    with profile() as prof:  # without record_shapes: no shapes, no such column
        dg.matmul(dg.randn(2, 3), w)
    assert prof.events()[0].input_shapes == []
    assert "Input Shapes" not in prof.key_averages(group_by_input_shape=True).table()


def test_a_profiled_training_step_changes_nothing():
    dg.manual_seed(3)
    models = [dg.nn.Sequential(dg.nn.Linear(6, 8), dg.nn.ReLU(), dg.nn.Linear(8, 3))
              for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    x, target = dg.randn(10, 6), dg.randint(0, 3, (10,))
    losses = []
    for i, model in enumerate(models):
        opt = dg.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(3):
            opt.zero_grad()
            if i == 1:
                with profile(record_shapes=True):
                    loss = dg.nn.functional.cross_entropy(model(x), target)
                    loss.backward()
                    opt.step()
            else:
                loss = dg.nn.functional.cross_entropy(model(x), target)
                loss.backward()
                opt.step()
            losses.append(loss.item())
    assert losses[:3] == losses[3:]
    for p0, p1 in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(p0.detach().numpy(), p1.detach().numpy())


def test_nothing_is_recorded_outside_the_block_nor_on_other_threads():
    x = dg.randn(3)
    dg.exp(x)
    with profile() as prof:
        dg.tanh(x)
        other = threading.Thread(target=lambda: dg.exp(x))
        other.start()
        other.join()
    dg.sigmoid(x)
    assert names(prof) == ["Tanh"]
    assert _state.profiler is None
    with record_function("no profile"):  # a range without a profile records nothing
        dg.exp(x)
    assert names(prof) == ["Tanh"]


def test_an_operation_that_raises_leaves_the_profiler_consistent():
    class Boom(Function):
        def forward(ctx, x):
            raise ValueError("boom")

    with profile() as prof:
        with pytest.raises(ValueError, match="boom"):
            Boom.apply(dg.randn(2))
        dg.exp(dg.randn(2))
    assert names(prof) == ["Boom", "Exp"]
    assert prof.events()[1].cpu_parent is None
    assert _state.profiler is None


def test_record_function_as_a_decorator():
    @record_function("double")
    def double(t):
        return t * 2

    x = dg.randn(2)
    with profile() as prof:
        for _ in range(2):
            double(x)
            prof.step()  # without a schedule, steps are counted but are no ranges (as PyTorch)
    assert names(prof) == ["double", "Mul", "double", "Mul"]
    assert prof.step_num == 2


def test_table_layout_sorting_and_row_limit():
    a = dg.randn(50, 50)
    with profile() as prof:
        with record_function("block"):
            for _ in range(3):
                a @ a
            dg.exp(a)
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=2)
    lines = table.splitlines()
    assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%",
                                "CPU", "total", "CPU", "time", "avg", "#", "of", "Calls"]
    assert lines[0] == lines[2] == lines[-2] and set(lines[0]) == {"-", " "}
    assert len(lines) == 3 + 2 + 2  # header, two rows, separator and footer
    assert lines[3].split()[0] == "block" and lines[3].split()[3] == "100.00%"
    assert lines[-1].startswith("Self CPU time total: ")
    calls = {line.split()[0]: int(line.split()[-1]) for line in lines[3:5]}
    assert calls["block"] == 1
    by_self = prof.key_averages().table(sort_by="self_cpu_time_total")
    rows = by_self.splitlines()[3:-2]
    selfs = [e.self_cpu_time_total for e in sorted(prof.key_averages(),
                                                 key=lambda e: -e.self_cpu_time_total)]
    assert [r.split()[0] for r in rows] == [
        e.key for e in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)]
    assert selfs == sorted(selfs, reverse=True)
    assert prof.key_averages().table(sort_by="count").splitlines()[3].split()[0] == "MatMul"


def test_unknown_sort_key_is_an_error_listing_the_keys():
    with profile() as prof:
        dg.exp(dg.randn(2))
    with pytest.raises(AttributeError, match="cannot sort by 'bogus'.*" + ", ".join(SORT_KEYS)):
        prof.key_averages().table(sort_by="bogus")
    with pytest.raises(ValueError, match="time_unit"):
        prof.key_averages().table(time_unit="h")


def test_chrome_trace_is_json_with_one_complete_event_per_range(tmp_path):
    x = dg.randn(3, requires_grad=True)
    with profile(record_shapes=True) as prof:
        with record_function("range"):
            dg.exp(x).sum().backward()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    events = trace["traceEvents"]
    assert [e["name"] for e in events] == names(prof)
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in events)
    assert events[0]["cat"] == "user_annotation" and events[1]["cat"] == "cpu_op"
    assert events[1]["args"]["Input Dims"] == [[3]]
    outer = events[0]
    for e in events[1:]:
        assert outer["ts"] <= e["ts"] and e["ts"] + e["dur"] <= outer["ts"] + outer["dur"] + 1e-3
    assert [p.name for p in tmp_path.iterdir()] == ["trace.json"]  # no temporary left over
    with pytest.raises(FileNotFoundError, match="no such folder"):
        prof.export_chrome_trace(str(tmp_path / "missing" / "trace.json"))


def test_bad_use_is_a_clear_error():
    with pytest.raises(NotImplementedError, match=r"profile\(profile_memory=...\) is not "
                                                  "supported"):
        profile(profile_memory=True)
    with pytest.raises(TypeError, match="ProfilerActivity"):
        profile(activities=["CPU"])
    with pytest.warns(UserWarning, match="CUDA is not available"):
        profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    with pytest.raises(TypeError, match="name must be a str"):
        record_function(3)
    with pytest.raises(TypeError, match="expected the handle"):
        dg.ops.profiler._record_function_exit("foo")
    prof = profile()
    with pytest.raises(RuntimeError, match="no results yet"):
        prof.key_averages()
    with prof:
        with pytest.raises(RuntimeError, match="already running"):
            prof.start()
        with pytest.raises(RuntimeError, match="already running on this thread"):
            with profile():
                pass
    with pytest.raises(RuntimeError, match="outside the profiled block"):
        prof.step()


def test_torch_ops_profiler_operators_open_and_close_a_range():
    x = dg.randn(4)
    with profile() as prof:
        handle = dg.ops.profiler._record_function_enter("manual")
        dg.exp(x)
        dg.ops.profiler._record_function_exit(handle)
        dg.exp(x)
    assert names(prof) == ["manual", "Exp", "Exp"]
    assert prof.events()[1].cpu_parent.name == "manual" and prof.events()[2].cpu_parent is None
    dg.ops.profiler._record_function_exit(handle)  # closing twice through a handle: nothing
    with profile() as prof:
        event = prof.recorder.begin("range")
        prof.recorder.end(event)
        with pytest.raises(RuntimeError, match="'range' is not open"):
            prof.recorder.end(event)


def test_autograd_profiler_spelling_prints_the_event_table():
    with autograd_profiler.profile() as prof:
        with autograd_profiler.record_function("foo"):
            dg.relu(dg.randn(5, 3, 2))
    text = str(prof)
    rows = [line.split()[0] for line in text.splitlines()[3:-2]]
    assert rows == ["foo", "Relu"]
    with autograd_profiler.profile(enabled=False) as off:
        dg.relu(dg.randn(2))
    with pytest.raises(RuntimeError, match="enabled=False"):
        off.events()
    assert autograd_profiler.record_function is record_function


@requires_torch
def test_structure_matches_torch_profiler_on_the_same_program():
    """Times differ and PyTorch names its kernels (aten::addmm), but the layout of the table
    and the shape of the tree are the same."""
    import torch
    from torch.profiler import profile as torch_profile, record_function as torch_range
    long_name = "a_user_range_longer_than_the_name_column_of_fifty_five_characters"

    def run(lib, prof_cls, range_cls):
        model = lib.nn.Linear(3, 2)
        with prof_cls() as prof:
            with range_cls(long_name):
                lib.relu(model(lib.randn(4, 3))).sum().backward()
        return prof

    ours = run(dg, profile, record_function)
    theirs = run(torch, torch_profile, torch_range)
    ours_table = ours.key_averages().table().splitlines()
    theirs_table = theirs.key_averages().table().splitlines()
    assert ours_table[:3] == theirs_table[:3]  # separator, header, separator: same widths
    assert ours_table[-1].split(":")[0] == theirs_table[-1].split(":")[0]
    assert ours_table[3].split()[0] == theirs_table[3].split()[0] == long_name[:52] + "..."
    for prof in (ours, theirs):
        top = [e for e in prof.events() if e.cpu_parent is None]
        assert [e.name for e in top] == [long_name]
        assert [e.key for e in prof.key_averages()].count(long_name) == 1
        assert top[0].cpu_time_total == pytest.approx(
            prof.key_averages().self_cpu_time_total, rel=1e-6)


def test_a_range_left_open_ends_with_the_profile():
    with profile() as prof:
        left_open = record_function("left open").__enter__()
        dg.exp(dg.randn(2))
    left_open.__exit__(None, None, None)  # after the profile stopped: nothing left to close
    event = prof.events()[0]
    assert event.name == "left open" and [c.name for c in event.cpu_children] == ["Exp"]
    assert event.cpu_time_total >= event.cpu_children[0].cpu_time_total
