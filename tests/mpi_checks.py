"""Run by tests/test_distributed.py under ``mpiexec -n 2``: one launch, many checks.

``python tests/mpi_checks.py OUT_DIR [CHECK ...]``: each rank runs the checks and writes what
it found to ``OUT_DIR/rank{r}.npz`` (arrays) for the test, which compares them with references
it computes in its own process, on the whole batch, without MPI.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autograd_core as ag  # noqa: E402
import autograd_core.distributed as dist  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
import optim  # noqa: E402
from autograd_core import data  # noqa: E402
from nn.parallel import DistributedDataParallel as DDP  # noqa: E402

STEPS, BATCH = 4, 8   # several SGD-with-momentum steps on batches of 8 (4 per rank)


def small_cnn(seed):
    """A float64 CNN with every kind of parameter the engine has (conv, linear, with and without bias)."""
    ag.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 3, bias=False), nn.ReLU(), nn.Flatten(),
        nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3),
    ).double()


def batches():
    """The same STEPS batches on every rank (and in the test's reference)."""
    rng = np.random.default_rng(123)
    return [(rng.standard_normal((BATCH, 1, 6, 6)), rng.integers(0, 3, BATCH)) for _ in range(STEPS)]


def train(model, rank, world, bucket_cap_mb=25, overlap=False):
    ddp = DDP(model, bucket_cap_mb=bucket_cap_mb, _overlap=overlap)
    opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    half = BATCH // world
    for x, y in batches():
        xs, ys = x[rank * half:(rank + 1) * half], y[rank * half:(rank + 1) * half]
        opt.zero_grad()
        F.cross_entropy(ddp(ag.tensor(xs)), ag.tensor(ys)).backward()
        opt.step()
    return {n: p.data.copy() for n, p in model.named_parameters()}, ddp


def main():
    out_dir = sys.argv[1]
    checks = sys.argv[2:]
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    res = {"world": np.array(world)}

    if "collectives" in checks:
        # all_reduce with each op, on a Tensor and on an ndarray
        base = np.array([1.0 + rank, -2.0 * rank, 3.5], dtype=np.float64)
        for op in ("SUM", "MAX", "MIN", "AVG", "PRODUCT"):
            t = ag.tensor(base.copy())
            dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
            res[f"all_reduce_{op}"] = t.data
        a = np.arange(6, dtype=np.int64).reshape(2, 3) * (rank + 1)
        dist.all_reduce(a)
        res["all_reduce_int_ndarray"] = a
        nc = np.ones((3, 4), dtype=np.float32)[:, ::2] * (rank + 1)   # not contiguous: goes through a copy
        dist.all_reduce(nc)
        res["all_reduce_strided"] = nc
        w = dist.all_reduce(ag.tensor([float(rank)]), async_op=True)
        res["async_completed"] = np.array(w.wait())
        b = np.full(4, float(rank)) if rank == 1 else np.zeros(4)
        dist.broadcast(b, src=1)
        res["broadcast"] = b
        t = ag.tensor(np.arange(3, dtype=np.float32) + 10 * rank)
        outs = [ag.zeros(3) for _ in range(world)]
        dist.all_gather(outs, t)
        res["all_gather"] = np.stack([o.data for o in outs])
        dist.barrier()
        try:
            dist.all_gather([ag.zeros(3)], t)
        except ValueError as e:
            res["all_gather_error"] = np.array(str(e))

    if "ddp" in checks:
        # rank 1 starts from other weights: wrapping copies rank 0's
        params, ddp = train(small_cnn(seed=0 if rank == 0 else 99), rank, world)
        for n, v in params.items():
            res[f"ddp.{n}"] = v
        res["ddp_buckets"] = np.array(len(ddp._reducer.buckets))
        # small buckets (several all-reduces per step), and the overlapped variant: same result
        for tag, cap, overlap in (("small", 1e-4, False), ("overlap", 1e-4, True)):
            params, ddp = train(small_cnn(seed=0), rank, world, bucket_cap_mb=cap, overlap=overlap)
            res[f"{tag}_buckets"] = np.array(len(ddp._reducer.buckets))
            for n, v in params.items():
                res[f"{tag}.{n}"] = v
        # .grad are views into the buckets' flat arrays
        p0 = ddp._reducer.buckets[0].params[0]
        res["grad_is_view"] = np.array(np.shares_memory(p0.grad.data, ddp._reducer.buckets[0].flat))

    if "no_sync" in checks:
        model = small_cnn(seed=0)
        ddp = DDP(model)
        (x0, y0), (x1, y1) = batches()[:2]
        half = BATCH // world
        sl = slice(rank * half, (rank + 1) * half)
        with ddp.no_sync():
            F.cross_entropy(ddp(ag.tensor(x0[sl])), ag.tensor(y0[sl])).backward()
        res["no_sync_local"] = model[-1].weight.grad.data.copy()   # this rank's gradient alone
        F.cross_entropy(ddp(ag.tensor(x1[sl])), ag.tensor(y1[sl])).backward()
        res["no_sync_then_sync"] = model[-1].weight.grad.data.copy()

    if "unused" in checks:
        # a parameter only rank 0 uses, and one no rank uses: nobody hangs
        class Branchy(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Linear(3, 2).double()
                self.b = nn.Linear(3, 2).double()
                self.never = nn.Linear(3, 2).double()

            def forward(self, x, use_b):
                return self.a(x) + (self.b(x) if use_b else 0)

        for find in (False, True):
            ag.manual_seed(0)
            model = Branchy()
            ddp = DDP(model, find_unused_parameters=find)
            x = ag.tensor(np.full((2, 3), 1.0 + rank))
            ddp(x, use_b=(rank == 0)).sum().backward()
            res[f"unused{int(find)}.a"] = model.a.weight.grad.data.copy()
            res[f"unused{int(find)}.b"] = model.b.weight.grad.data.copy()
            res[f"unused{int(find)}.never_is_none"] = np.array(model.never.weight.grad is None)

    if "sampler" in checks:
        ds = data.TensorDataset(np.arange(23))
        sampler = data.DistributedSampler(ds, shuffle=True, seed=5)
        loader = data.DataLoader(ds, batch_size=4, sampler=sampler)
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            res[f"sampler_epoch{epoch}"] = np.concatenate([b[0].data for b in loader])

    if "sync_bn" in checks:
        # SyncBatchNorm, and plain BatchNorm2d (per-rank statistics) for contrast
        for tag, bn in (("sync_bn", nn.SyncBatchNorm), ("plain_bn", nn.BatchNorm2d)):
            ag.manual_seed(0)
            model = nn.Sequential(nn.Conv2d(1, 3, 3), bn(3), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(3 * 4 * 4, 2)).double()
            ddp = DDP(model)
            opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
            half = BATCH // world
            for x, y in batches():
                opt.zero_grad()
                F.cross_entropy(ddp(ag.tensor(x[rank * half:(rank + 1) * half])),
                                ag.tensor(y[rank * half:(rank + 1) * half] % 2)).backward()
                opt.step()
            for n, v in model.state_dict().items():
                res[f"{tag}.{n}"] = np.asarray(v.data)

    np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **res)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
