"""Run under ``mpiexec -n R python -m mpi4py ddp_worker.py CASE``: every rank trains its shard
with DistributedDataParallel; rank 0 also trains one model on the combined batch and checks
that the weights agree. Prints ``OK <case> <max difference>`` on rank 0."""
import sys

import numpy as np

import deltagrad as dg
import deltagrad.distributed as dist
import deltagrad.nn as nn
import deltagrad.nn.functional as F


def mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3))


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(5, 8, batch_first=True), nn.Linear(8, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


CASES = {"mlp": (mlp, (6,)), "cnn": (cnn, (1, 6, 6)), "lstm": (LSTMNet, (7, 5))}


def main(case, steps=4, per_rank=4):
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    build, shape = CASES[case]
    dg.manual_seed(1000 + rank)            # different initial weights: DDP must broadcast
    model = build().to(dg.float64)
    if case == "cnn":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.001)
    opt = dg.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(7)
    batches = [(rng.standard_normal((per_rank * world,) + shape),
                rng.integers(0, 3, per_rank * world)) for _ in range(steps)]
    for x, y in batches:
        xs, ys = x[rank * per_rank:(rank + 1) * per_rank], y[rank * per_rank:(rank + 1) * per_rank]
        opt.zero_grad()
        F.cross_entropy(ddp(dg.tensor(xs)), dg.tensor(ys)).backward()
        opt.step()
    params = [p.detach().numpy() for p in model.parameters()]
    if rank == 0:
        dg.manual_seed(1000)               # rank 0's initial weights, one process
        ref = build().to(dg.float64)
        ropt = dg.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
        for x, y in batches:
            ropt.zero_grad()
            F.cross_entropy(ref(dg.tensor(x)), dg.tensor(y)).backward()
            ropt.step()
        diff = max(float(np.abs(a - b.detach().numpy()).max())
                   for a, b in zip(params, ref.parameters()))
        if case == "cnn":        # the running statistics too
            bn, rbn = model[1], ref[1]
            diff = max(diff, float(np.abs(bn.running_mean.numpy() - rbn.running_mean.numpy()).max()),
                       float(np.abs(bn.running_var.numpy() - rbn.running_var.numpy()).max()))
        assert diff < 1e-12, f"{case}: max difference {diff}"
        print(f"OK {case} {diff:.3g}", flush=True)
    others = dg.tensor(np.concatenate([p.reshape(-1) for p in params]))
    mine = others.clone()
    dist.broadcast(others, src=0)          # every rank ends with rank 0's weights
    assert np.abs(others.numpy() - mine.numpy()).max() < 1e-12
    dist.destroy_process_group()


def collectives():
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    t = dg.tensor([rank + 1.0, 2.0 * rank])
    dist.all_reduce(t)
    assert t.tolist() == [world * (world + 1) / 2, float(world * (world - 1))]
    t = dg.tensor([float(rank)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    assert t.item() == world - 1
    t = dg.tensor([float(rank)])
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert abs(t.item() - (world - 1) / 2) < 1e-12
    t = dg.tensor([float(rank), 7.0])
    dist.broadcast(t, src=world - 1)
    assert t.tolist() == [world - 1.0, 7.0]
    out = [dg.zeros(2) for _ in range(world)]
    dist.all_gather(out, dg.tensor([rank, -rank], dtype=dg.float32))
    assert [o.tolist() for o in out] == [[r, -r] for r in range(world)]
    x = dg.tensor([float(rank + 1)], requires_grad=True)     # differentiable all-reduce
    y = dist.nn.functional.all_reduce(x * x)
    y.sum().backward()       # ∂/∂x_r Σ_s Σ_q x_q² = world · 2 x_r
    assert abs(x.grad.item() - world * 2 * (rank + 1)) < 1e-9
    dist.barrier()
    if rank == 0:
        print("OK collectives", flush=True)
    dist.destroy_process_group()


def crash():
    dist.init_process_group(backend="mpi")
    if dist.get_rank() == 1:
        raise RuntimeError("rank 1 fails on purpose")
    dist.barrier()       # the other ranks wait here until mpi4py aborts them
    print("NOT ABORTED", flush=True)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "collectives":
        collectives()
    elif what == "crash":
        crash()
    else:
        main(what)
