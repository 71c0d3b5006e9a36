"""Data-parallel timings: run under MPI, ``mpiexec -n 2 python -m benchmarks.distributed``.

What it measures, on every rank at once (each figure is the slowest rank's time, median over
repetitions, each repetition started together after a barrier):

1. ``allreduce``: summing LeNet-5's and ResNet-20's float32 gradients across the ranks, as one
   flat buffer (what ``DistributedDataParallel``'s bucket does) and as one all-reduce per
   parameter tensor; from these, MPI's latency and bandwidth here.
2. ``ddp``: a training step (forward, backward with the gradient averaging, SGD step) of
   LeNet-5 (batch 64 split over the ranks) and ResNet-20 (batch 32 per rank), with the buckets
   reduced after backward and with them overlapped with backward (non-blocking all-reduces
   started as each bucket's gradients are final), plus the step without DDP, for the
   communication's cost. The variants alternate round by round, so drift hits them alike.
3. ``model``: the time per step one would expect on several machines, from the measured
   compute time per image and a network's bandwidth and latency:
   ``t(P) = t_image * B / P + bytes / bandwidth + latency * log2(P)``.

ResNet-20 is He et al. 2016's CIFAR network (6n+2 layers, n=3: 16, 32 and 64 channels,
parameter-free "option A" shortcuts), 269,722 parameters.

    flock -x /tmp/ag_cpu.lock mpiexec -n 2 python -m benchmarks.distributed [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import numpy as np


def resnet20(nn, ag, n=3, num_classes=10):
    """He et al. (2016), section 4.2: 3x3 conv, three stages of n BasicBlocks, global pooling, linear."""

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.stride, self.extra = stride, cout - cin

        def forward(self, x):
            out = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
            short = x
            if self.stride != 1 or self.extra:   # option A: subsample, then zero channels
                short = x[:, :, ::self.stride, ::self.stride]
                short = ag.cat([short, ag.zeros(short.shape[0], self.extra, *short.shape[2:], dtype=short.dtype)],
                               dim=1)
            return (out + short).relu()

    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, width in enumerate((16, 32, 64)):
        for b in range(n):
            layers.append(Block(cin, width, 2 if stage and b == 0 else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes)]
    return nn.Sequential(*layers)


def lenet5(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _slowest(comm, MPI, seconds):
    return comm.allreduce(seconds, op=MPI.MAX)


def time_allreduce(comm, MPI, arrays, reps):
    """Median over ``reps`` of the slowest rank's time to all-reduce every array in ``arrays`` in turn."""
    times = []
    for i in range(reps + 5):
        comm.Barrier()
        t0 = time.perf_counter()
        for a in arrays:
            comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)
        dt = _slowest(comm, MPI, time.perf_counter() - t0)
        if i >= 5:
            times.append(dt)
    return statistics.median(times)


def allreduce_section(comm, MPI, models, reps):
    rows = []
    for name, shapes in models.items():
        flat = [np.ones(sum(int(np.prod(s)) for s in shapes), dtype=np.float32)]
        per_tensor = [np.ones(s, dtype=np.float32) for s in shapes]
        rows.append({"model": name, "params": int(flat[0].size), "bytes": int(flat[0].nbytes),
                     "tensors": len(shapes), "flat_s": time_allreduce(comm, MPI, flat, reps),
                     "per_tensor_s": time_allreduce(comm, MPI, per_tensor, reps)})
    # latency and bandwidth from a tiny and a large message (for the multi-machine model)
    tiny = time_allreduce(comm, MPI, [np.ones(1, dtype=np.float32)], reps * 4)
    big = np.ones(4 * 2 ** 20, dtype=np.float32)   # 16 MB
    t_big = time_allreduce(comm, MPI, [big], max(5, reps // 10))
    return rows, {"latency_s": tiny, "bandwidth_Bps": big.nbytes / max(t_big - tiny, 1e-9)}


def ddp_section(comm, MPI, ag, nn, F, optim, steps, rounds):
    from nn.parallel import DistributedDataParallel as DDP
    rank, world = comm.Get_rank(), comm.Get_size()
    rng = np.random.default_rng(rank)
    cases = {
        "lenet5": (lenet5, (64 // world, 1, 28, 28)),
        "resnet20": (lambda nn_: resnet20(nn_, ag), (32, 3, 32, 32)),
    }
    out = []
    for name, (build, shape) in cases.items():
        x = ag.tensor(rng.standard_normal(shape).astype(np.float32))
        y = ag.tensor(rng.integers(0, 10, shape[0]))
        ag.manual_seed(0)
        base = build(nn)
        variants = {
            "no DDP (local gradients)": base,
            "DDP, reduced after backward": DDP(base),
            "DDP, overlapped with backward (0.05 MB buckets)": DDP(base, bucket_cap_mb=0.05, _overlap=True),
            "DDP, after backward (0.05 MB buckets)": DDP(base, bucket_cap_mb=0.05),
        }
        opt = optim.SGD(base.parameters(), lr=0.01, momentum=0.9)
        times = {k: [] for k in variants}

        def step(model):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

        for model in variants.values():   # warm-up: kernels compiled or loaded, buffers allocated
            step(model)
        for _ in range(rounds):
            for label, model in variants.items():
                for _ in range(steps):
                    comm.Barrier()
                    t0 = time.perf_counter()
                    step(model)
                    times[label].append(_slowest(comm, MPI, time.perf_counter() - t0))
        buckets = {label: len(m._reducer.buckets) for label, m in variants.items() if hasattr(m, "_reducer")}
        out.append({"model": name, "batch_per_rank": shape[0],
                    "params": sum(p.data.size for p in base.parameters()),
                    "step_s": {k: statistics.median(v) for k, v in times.items()}, "buckets": buckets})
    return out


NETWORKS = {"1 Gb/s, 50 us": (1e9 / 8, 50e-6), "10 Gb/s, 20 us": (10e9 / 8, 20e-6),
            "100 Gb/s, 2 us": (100e9 / 8, 2e-6)}


def model_section(per_image_s, nbytes, batch=256, ranks=(1, 2, 4, 8, 16, 32)):
    """Expected step time on P machines (one rank each, this machine's speed) at a fixed global batch:
    ``t(P) = t_image * batch / P + bytes / bandwidth + latency * log2(P)``."""
    rows = []
    for name in per_image_s:
        for net, (bw, lat) in NETWORKS.items():
            for p in ranks:
                comp = per_image_s[name] * batch / p
                comm = 0.0 if p == 1 else nbytes[name] / bw + lat * math.log2(p)
                rows.append({"model": name, "network": net, "ranks": p, "compute_s": comp, "comm_s": comm,
                             "step_s": comp + comm, "speedup": per_image_s[name] * batch / (comp + comm)})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=200, help="all-reduce repetitions per size (median)")
    ap.add_argument("--steps", type=int, default=5, help="training steps per variant and round")
    ap.add_argument("--rounds", type=int, default=4, help="rounds of alternating variants")
    ap.add_argument("--only", choices=["allreduce", "ddp"], default=None)
    ap.add_argument("--json", default=None, help="write the figures to this file (rank 0)")
    args = ap.parse_args(argv)

    import autograd_core as ag
    import autograd_core.distributed as dist
    import nn
    import nn.functional as F
    import optim

    dist.init_process_group("mpi")
    from mpi4py import MPI   # (init_process_group imported it; the timings call MPI directly)
    comm = MPI.COMM_WORLD
    rank, world = comm.Get_rank(), comm.Get_size()
    say = print if rank == 0 else (lambda *a, **k: None)
    import os
    threads = int(os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count() or 1)   # init_process_group's choice
    say(f"{world} ranks x {threads} threads; {MPI.Get_library_version().splitlines()[0]}")
    if world == 1:
        say("(one rank: run it under mpiexec -n 2 for communication figures)")

    ag.manual_seed(0)
    shapes = {"lenet5": [tuple(p.shape) for p in lenet5(nn).parameters()],
              "resnet20": [tuple(p.shape) for p in resnet20(nn, ag).parameters()]}
    result = {"world": world, "threads": threads}
    if args.only in (None, "allreduce"):
        rows, link = allreduce_section(comm, MPI, shapes, args.reps)
        result["allreduce"], result["link"] = rows, link
        say("\nall-reduce (sum) of one step's float32 gradients, slowest rank, median:")
        for r in rows:
            say(f"  {r['model']:9s} {r['params']:>8,} params ({r['bytes'] / 2 ** 10:,.0f} KiB): one flat buffer "
                f"{r['flat_s'] * 1e6:7.1f} us, one per tensor ({r['tensors']}) {r['per_tensor_s'] * 1e6:7.1f} us")
        say(f"  latency (4-byte all-reduce) {link['latency_s'] * 1e6:.1f} us, bandwidth (16 MB) "
            f"{link['bandwidth_Bps'] / 1e9:.2f} GB/s")
    if args.only in (None, "ddp"):
        rows = ddp_section(comm, MPI, ag, nn, F, optim, args.steps, args.rounds)
        result["ddp"] = rows
        say("\ntraining step (forward, backward, SGD), slowest rank, median:")
        for r in rows:
            say(f"  {r['model']} ({r['params']:,} params), batch {r['batch_per_rank']} per rank; buckets "
                f"{r['buckets']}")
            for label, t in r["step_s"].items():
                say(f"    {label:48s} {t * 1e3:8.2f} ms")
        per_image = {r["model"]: r["step_s"]["no DDP (local gradients)"] / r["batch_per_rank"] for r in rows}
        nbytes = {k: 4 * sum(int(np.prod(x)) for x in v) for k, v in shapes.items()}
        result["model"] = model_section(per_image, nbytes)
        say("\nmodel for P machines, global batch 256: t(P) = t_image * 256 / P + bytes / bandwidth + latency * "
            "log2(P)")
        for name in per_image:
            say(f"  {name}: t_image {per_image[name] * 1e3:.2f} ms (one core here), {nbytes[name] / 2 ** 10:,.0f} KiB "
                "of gradients; step ms (speed-up over P = 1)")
            say("    P   " + "".join(f"{net:>24s}" for net in NETWORKS))
            for p in sorted({r["ranks"] for r in result["model"]}):
                cells = [r for r in result["model"] if r["model"] == name and r["ranks"] == p]
                say(f"    {p:<4d}" + "".join(f"{c['step_s'] * 1e3:15.1f} ({c['speedup']:4.1f}x)" for c in cells))
    if rank == 0 and args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    dist.destroy_process_group()
    return result


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
