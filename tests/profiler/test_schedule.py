"""schedule / prof.step() / on_trace_ready / tensorboard_trace_handler, against torch.profiler."""
import gzip
import json

import pytest

import deltagrad as dg
from deltagrad.profiler import (ProfilerAction, profile, schedule, tensorboard_trace_handler)

from ..conftest import requires_torch

SCHEDULES = [dict(wait=1, warmup=1, active=2, repeat=1),
             dict(wait=0, warmup=0, active=1),
             dict(wait=2, warmup=1, active=3, repeat=2, skip_first=3),
             dict(wait=3, warmup=1, active=2, skip_first_wait=1)]


def test_schedule_worked_example():
    s = schedule(wait=1, warmup=1, active=2, repeat=1)
    assert [s(i).name for i in range(6)] == ["NONE", "WARMUP", "RECORD", "RECORD_AND_SAVE",
                                             "NONE", "NONE"]


@requires_torch
@pytest.mark.parametrize("kwargs", SCHEDULES)
def test_schedule_actions_equal_torch(kwargs):
    import warnings
    from torch.profiler import schedule as torch_schedule
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch_schedule(**kwargs)
    ours = schedule(**kwargs)
    assert [ours(i).name for i in range(30)] == [theirs(i).name for i in range(30)]


def run_cycles(lib, profile_cls, schedule_fn, steps):
    """Which step ranges each on_trace_ready call saw, and the last cycle's op counts."""
    seen = []

    def ready(prof):
        seen.append(sorted({e.key for e in prof.key_averages()}))

    x = lib.randn(3)
    with profile_cls(schedule=schedule_fn, on_trace_ready=ready) as prof:
        for _ in range(steps):
            lib.exp(x)
            prof.step()
    return seen, prof.step_num


def test_only_the_active_steps_are_recorded_and_each_cycle_is_handed_over():
    seen, steps = run_cycles(dg, profile, schedule(wait=1, warmup=1, active=2, repeat=2), 10)
    assert steps == 10
    assert seen == [["Exp", "ProfilerStep*"], ["Exp", "ProfilerStep*"]]
    with profile(schedule=schedule(wait=1, warmup=1, active=2)) as prof:
        for _ in range(4):
            dg.exp(dg.randn(2))
            prof.step()
    # steps 2 and 3 were active: one Exp inside each step's range
    assert [(e.name, e.cpu_parent and e.cpu_parent.name) for e in prof.events()] == [
        ("ProfilerStep#2", None), ("Exp", "ProfilerStep#2"),
        ("ProfilerStep#3", None), ("Exp", "ProfilerStep#3")]


@requires_torch
@pytest.mark.parametrize("kwargs,steps", [(SCHEDULES[0], 10), (SCHEDULES[2], 20),
                                          (dict(wait=1, warmup=0, active=2), 4)])
def test_cycles_equal_torch(kwargs, steps):
    import warnings
    import torch
    from torch.profiler import profile as torch_profile, schedule as torch_schedule
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, their_steps = run_cycles(torch, torch_profile, torch_schedule(**kwargs), steps)
    ours, our_steps = run_cycles(dg, profile, schedule(**kwargs), steps)
    assert our_steps == their_steps
    assert [sorted("Exp" if k == "aten::exp" else k for k in keys) for keys in theirs] == ours


def test_tensorboard_trace_handler_writes_one_trace_per_cycle(tmp_path):
    folder = tmp_path / "runs"
    for use_gzip in (False, True):
        handler = tensorboard_trace_handler(str(folder), worker_name=f"w{int(use_gzip)}",
                                            use_gzip=use_gzip)
        with profile(schedule=schedule(wait=0, warmup=0, active=1, repeat=2),
                     on_trace_ready=handler) as prof:
            for _ in range(3):
                dg.tanh(dg.randn(2))
                prof.step()
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 4 and all(".pt.trace.json" in f for f in files)
    for path in folder.iterdir():
        raw = path.read_bytes()
        text = gzip.decompress(raw) if path.name.endswith(".gz") else raw
        assert [e["name"] for e in json.loads(text)["traceEvents"]][1] == "Tanh"
    assert sum(f.startswith("w1") and f.endswith(".gz") for f in files) == 2


def test_bad_schedules_are_clear_errors():
    with pytest.raises(ValueError, match="active must be an int >= 1"):
        schedule(wait=0, warmup=0, active=0)
    with pytest.raises(ValueError, match="wait must be an int >= 0"):
        schedule(wait=-1, warmup=0, active=1)
    with pytest.raises(TypeError, match="schedule must be callable"):
        profile(schedule=3)
    with pytest.raises(TypeError, match="expected a ProfilerAction"):
        with profile(schedule=lambda step: "RECORD"):
            pass
    assert schedule(wait=0, warmup=0, active=1)(0) is ProfilerAction.RECORD_AND_SAVE
    with pytest.raises(RuntimeError, match="no results yet"):
        with profile(schedule=schedule(wait=5, warmup=0, active=1)) as prof:
            prof.step()
        prof.events()
