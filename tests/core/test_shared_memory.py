"""Tensor.share_memory_ / is_shared / Module.share_memory: the array moves into a shared-memory
block with its values and layout; ForkingPickler (what multiprocessing uses for Process
arguments, Queue and Pipe) sends it by name so the receiver writes the same memory; plain
pickle and deepcopy still copy; every in-place path writes into the block; blocks are unlinked
when their last array goes."""
from __future__ import annotations

import copy
import gc
import os
import pickle
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn as nn
from deltagrad import optim

SHM = "/dev/shm"
pytestmark = pytest.mark.skipif(not os.path.isdir(SHM), reason="needs POSIX shared memory")


def _blocks():
    return {f for f in os.listdir(SHM) if f.startswith(f"deltagrad_{os.getpid()}_")}


def _through_forking_pickler(obj):
    return ForkingPickler.loads(ForkingPickler.dumps(obj))


def test_share_memory_keeps_values_shape_dtype_and_order():
    for a in (np.arange(12, dtype=np.float32).reshape(3, 4),
              np.asfortranarray(np.arange(6.0).reshape(2, 3)),
              np.array([True, False, True]), np.array(7, dtype=np.int64),
              np.zeros((0, 3), dtype=np.float64)):
        t = dg.from_numpy(a.copy(order="K"))
        assert not t.is_shared()
        assert t.share_memory_() is t and t.is_shared()
        np.testing.assert_array_equal(t.numpy(), a)
        assert t.dtype == a.dtype and tuple(t.shape) == a.shape
        assert t._data.flags.f_contiguous == a.flags.f_contiguous
        assert t._data.flags.writeable
        t.share_memory_()  # a second call changes nothing
        assert t.is_shared()


def test_views_of_a_shared_tensor_are_shared_and_travel_with_their_offset():
    base = dg.arange(12.0).reshape(3, 4).clone().share_memory_()
    col = base[:, 1]  # strided view, offset 1 element
    assert col.is_shared()
    got = _through_forking_pickler(col)
    np.testing.assert_array_equal(got.numpy(), [1.0, 5.0, 9.0])
    got.mul_(10)  # in place through the received view ...
    np.testing.assert_array_equal(base.numpy()[:, 1], [10.0, 50.0, 90.0])  # ... seen here
    np.testing.assert_array_equal(base.numpy()[:, 0], [0.0, 4.0, 8.0])


def test_forking_pickler_shares_plain_pickle_and_deepcopy_copy():
    t = dg.ones(4).share_memory_()
    shared = _through_forking_pickler(t)
    assert shared.is_shared()
    for copied in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t)):
        assert not copied.is_shared()
        copied.add_(5)
    shared.add_(1)
    np.testing.assert_array_equal(t.numpy(), [2.0] * 4)
    private = dg.ones(2)
    through = _through_forking_pickler(private)  # not shared: a copy, as any Python object
    through.add_(1)
    assert not through.is_shared() and private.tolist() == [1.0, 1.0]


def test_module_parameters_pickle_with_their_shared_memory_and_without_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model(dg.randn(5, 3)).sum().backward()
    assert model.share_memory() is model
    tensors = list(model.parameters()) + list(model.buffers())
    assert all(t.is_shared() for t in tensors)
    assert all(p.grad.is_shared() for p in model.parameters())  # as PyTorch's _apply does
    twin = _through_forking_pickler(model)
    assert type(twin[0].weight) is nn.Parameter and twin[0].weight.requires_grad
    assert all(p.grad is None for p in twin.parameters())  # .grad does not travel
    with dg.no_grad():
        for p in twin.parameters():
            p.fill_(0.5)
        twin[1].running_mean.fill_(3.0)
    assert all((p.numpy(force=True) == 0.5).all() for p in model.parameters())
    assert (model[1].running_mean.numpy() == 3.0).all()


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, foreach=False),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, foreach=True),
    lambda ps: optim.Adam(ps, lr=0.1, foreach=False),
    lambda ps: optim.Adam(ps, lr=0.1, foreach=True),
    lambda ps: optim.AdamW(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.1),
    lambda ps: optim.Adagrad(ps, lr=0.1),
    lambda ps: optim.Adadelta(ps, lr=1.0),
    lambda ps: optim.Adamax(ps, lr=0.1),
    lambda ps: optim.NAdam(ps, lr=0.1),
    lambda ps: optim.RAdam(ps, lr=0.1),
    lambda ps: optim.ASGD(ps, lr=0.1),
    lambda ps: optim.Rprop(ps, lr=0.1),
    lambda ps: optim.LBFGS(ps, lr=0.1, max_iter=3),
], ids=["sgd", "sgd-flat", "adam", "adam-flat", "adamw", "rmsprop", "adagrad", "adadelta",
        "adamax", "nadam", "radam", "asgd", "rprop", "lbfgs"])
def test_every_optimizer_step_writes_into_the_shared_block(make):
    dg.manual_seed(0)
    model = nn.Linear(3, 2).share_memory()
    other = _through_forking_pickler(model)  # another process's view of the same memory
    before = other.weight.numpy(force=True).copy()
    opt = make(list(model.parameters()))
    x = dg.randn(4, 3)

    def closure():
        opt.zero_grad()
        loss = model(x).pow(2).sum()
        loss.backward()
        return loss

    for _ in range(2):
        opt.step(closure)
    assert all(p.is_shared() for p in model.parameters())
    assert not np.array_equal(other.weight.numpy(force=True), before)
    np.testing.assert_array_equal(other.weight.numpy(force=True), model.weight.numpy(force=True))
    np.testing.assert_array_equal(other.bias.numpy(force=True), model.bias.numpy(force=True))


def test_inplace_paths_keep_a_parameter_shared():
    p = nn.Parameter(dg.zeros(3)).share_memory_()
    other = _through_forking_pickler(p)
    p.data -= 1  # the wrapper writes in place, then is assigned back: the same memory
    with dg.no_grad():
        p.copy_(p + 1)
        p.add_(dg.full((3,), 2.0))
        p[0] = 7.0
        p.unsqueeze_(0).squeeze_(0)
    p.data.mul_(2)
    assert p.is_shared()
    np.testing.assert_array_equal(other.numpy(force=True), [14.0, 4.0, 4.0])
    p.data = dg.zeros(3)  # assigning another tensor's memory: no longer shared (as PyTorch)
    assert not p.is_shared()


def test_bad_inputs_are_refused_by_name():
    base = dg.arange(6.0)
    with pytest.raises(RuntimeError, match="view of another tensor.*clone"):
        base[2:].share_memory_()
    with pytest.raises(RuntimeError, match="view of another tensor"):
        dg.arange(6.0).reshape(2, 3).share_memory_()
    assert base[2:].clone().share_memory_().is_shared()
    p = nn.Parameter(dg.zeros(3))
    with pytest.raises(RuntimeError, match="p.data or p.detach"):
        p.data.share_memory_()
    a = np.zeros(3)
    with pytest.raises(RuntimeError, match="from_numpy"):
        dg.from_numpy(a).share_memory_()
    assert not p.is_shared()
    w = nn.Parameter(dg.ones(4)).share_memory_()
    with pytest.raises(RuntimeError, match="not a leaf.*detach"):
        _through_forking_pickler(w[1:])  # a shared view with a grad_fn
    assert _through_forking_pickler(w[1:].detach()).is_shared()


def test_blocks_are_unlinked_when_the_last_array_goes():
    gc.collect()
    before = _blocks()
    t = dg.ones(1000).share_memory_()
    view = t[10:20]
    received = _through_forking_pickler(t)  # attached once more in this process: same root
    assert len(_blocks() - before) == 1
    del t
    gc.collect()
    assert len(_blocks() - before) == 1  # the view and the received tensor still use it
    del view, received
    gc.collect()
    assert _blocks() - before == set()
