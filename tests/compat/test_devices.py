"""Device namespaces on a CPU-only machine: dg.cuda, dg.accelerator, dg.backends, dg.amp answer
as PyTorch's do here (torch is the oracle: it too runs without a GPU in the tests), and
GradScaler's numbers equal torch.amp.GradScaler's step by step."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

from ..conftest import assert_close, requires_torch

pytestmark = pytest.mark.skipif(dg.cuda.is_available(), reason="checks the CPU-only answers")


@requires_torch
def test_cpu_only_answers_equal_torch():
    import torch
    assert dg.cuda.is_available() is torch.cuda.is_available() is False
    assert dg.cuda.device_count() == torch.cuda.device_count() == 0
    assert dg.accelerator.is_available() is torch.accelerator.is_available()
    assert dg.accelerator.current_accelerator() is torch.accelerator.current_accelerator()
    assert dg.backends.cudnn.is_available() is torch.backends.cudnn.is_available()
    assert dg.backends.mps.is_available() is torch.backends.mps.is_available()
    assert dg.backends.cudnn.benchmark is torch.backends.cudnn.benchmark
    assert dg.backends.cudnn.deterministic is torch.backends.cudnn.deterministic
    assert dg.backends.cuda.matmul.allow_tf32 is torch.backends.cuda.matmul.allow_tf32
    x = dg.zeros(2)
    assert (x.is_cuda, x.is_xpu, x.is_mps, x.is_cpu) == (False, False, False, True)


def test_flags_are_kept_and_unknown_names_raise():
    old = dg.backends.cudnn.benchmark
    try:
        dg.backends.cudnn.benchmark = True
        assert dg.backends.cudnn.benchmark is True
    finally:
        dg.backends.cudnn.benchmark = old
    with pytest.raises(AttributeError, match="torch.backends.cudnn.fancy is not supported"):
        dg.backends.cudnn.fancy


def test_seeding_without_a_gpu_leaves_the_cpu_generator_alone():
    dg.manual_seed(3)
    a = dg.rand(3)
    dg.manual_seed(3)
    dg.cuda.manual_seed(99)
    dg.cuda.manual_seed_all(99)
    assert np.array_equal(dg.rand(3).numpy(), a.numpy())


def test_calls_that_need_a_gpu_say_there_is_none():
    with pytest.raises(RuntimeError, match="synchronize: no CUDA device"):
        dg.cuda.synchronize()
    with pytest.raises(RuntimeError, match="current_device: no CUDA device"):
        dg.cuda.current_device()


@requires_torch
def test_autocast_is_a_no_op_and_warns_like_torch_on_cuda():
    import torch
    x = dg.randn(2, 3)
    lin = dg.nn.Linear(3, 2)
    with pytest.warns(UserWarning, match="CUDA is not available. Disabling"):
        ctx = dg.autocast("cuda")
    with ctx:
        y = lin(x)
    assert y.dtype == dg.float32
    with pytest.warns(UserWarning, match="CUDA is not available"):
        torch.autocast("cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with dg.amp.autocast("cpu", enabled=False):
            assert lin(x).dtype == dg.float32

    @dg.amp.autocast("cpu", enabled=False)
    def f(a):
        return a * 2
    assert f(dg.ones(1)).item() == 2.0


@requires_torch
def test_disabled_grad_scaler_is_transparent_like_torch():
    import torch
    with pytest.warns(UserWarning, match="Disabling"):
        s = dg.cuda.amp.GradScaler()
    with pytest.warns(UserWarning, match="Disabling"):
        ts = torch.cuda.amp.GradScaler()
    assert s.is_enabled() is ts.is_enabled() is False
    assert s.state_dict() == ts.state_dict() == {}
    assert s.get_scale() == ts.get_scale() == 1.0
    p = dg.nn.Parameter(dg.tensor([1.0, 2.0]))
    opt = dg.optim.SGD([p], lr=0.5)
    loss = (p * p).sum()
    assert s.scale(loss) is loss
    loss.backward()
    s.step(opt)
    s.update()
    assert p.detach().numpy().tolist() == [0.0, 0.0]


@requires_torch
def test_enabled_grad_scaler_matches_torch_step_by_step():
    import torch
    w0 = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
    kw = dict(init_scale=2.0 ** 14, growth_factor=2.0, backoff_factor=0.5, growth_interval=2)
    s, ts = dg.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    w, tw = dg.nn.Parameter(dg.tensor(w0)), torch.nn.Parameter(torch.tensor(w0))
    opt, topt = dg.optim.SGD([w], lr=0.1), torch.optim.SGD([tw], lr=0.1)
    xs = [np.array([[1.0, 2.0]], np.float32), np.array([[np.inf, 1.0]], np.float32),
          np.array([[0.5, -1.0]], np.float32), np.array([[3.0, 1.0]], np.float32),
          np.array([[1.0, 1.0]], np.float32)]
    for x in xs:  # the second batch overflows: that step is skipped and the scale backs off
        opt.zero_grad()
        topt.zero_grad()
        s.scale((dg.tensor(x) @ w).pow(2).sum()).backward()
        ts.scale((torch.tensor(x) @ tw).pow(2).sum()).backward()
        s.unscale_(opt)
        ts.unscale_(topt)
        assert_close(w.grad, tw.grad)
        s.step(opt)
        ts.step(topt)
        s.update()
        ts.update()
        assert s.get_scale() == ts.get_scale()
        assert_close(w, tw)
    assert s.state_dict() == ts.state_dict()
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
        s.unscale_(opt)
    fresh = dg.amp.GradScaler("cpu")
    fresh.load_state_dict(s.state_dict())
    assert fresh.state_dict() == s.state_dict()
    with pytest.raises(RuntimeError, match="state dict is empty"):
        fresh.load_state_dict({})


@requires_torch
def test_matmul_precision_seeds_and_version_like_torch():
    import torch
    assert dg.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    try:
        dg.set_float32_matmul_precision("high")
        assert dg.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="fast is not one of 'highest', 'high', or 'medium'"):
            dg.set_float32_matmul_precision("fast")
        assert dg.get_float32_matmul_precision() == "high"
    finally:
        dg.set_float32_matmul_precision("highest")
    assert dg.version.cuda is torch.version.cuda is None
    assert dg.version.__version__ == dg.__version__
    dg.manual_seed(5)
    assert dg.initial_seed() == dg.random.initial_seed() == 5
    s = dg.seed()
    assert isinstance(s, int) and dg.initial_seed() == s
    dg.manual_seed(5)
    with dg.random.fork_rng():
        inside = dg.rand(2).numpy()
    assert np.array_equal(dg.rand(2).numpy(), inside)  # the draw inside left no trace
