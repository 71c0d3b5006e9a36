"""What ``train_lenet5.py --distributed`` adds to the one-process script, kept here so its main stays short.

    mpiexec -n 2 python examples/train_lenet5.py --distributed [--data] [--epochs 5] [--resume]

Every rank runs the same script. ``--batch-size`` stays the global batch: each of the N ranks
takes ``batch_size / N`` images of its share of the data (``DistributedSampler``), and
``DistributedDataParallel`` averages the gradients, so a step is the one-process step on the
union of the ranks' batches. Each rank evaluates its share of the test set; the epoch's
figures are combined over the ranks. Only rank 0 prints, writes the checkpoint and the plot
(the others' standard output goes to /dev/null; errors still reach standard error).
``--resume`` reads the checkpoint on every rank: on several hosts, ``--out`` must be on a file
system they share (or hold a copy of the checkpoint on each).
"""

from __future__ import annotations

import os
import sys

import numpy as np

import autograd_core as ag
import autograd_core.distributed as dist
from autograd_core import data
from nn.parallel import DistributedDataParallel


class DistributedRun:
    """The ranks of one ``--distributed`` run (create it before any kernel runs: it sets threads)."""

    def __init__(self, args):
        dist.init_process_group(backend="mpi")
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.seed = args.seed
        if args.batch_size % self.world:
            raise SystemExit(f"--distributed: --batch-size {args.batch_size} (the global batch) must be divisible "
                             f"by the number of ranks, {self.world}")
        self.batch = args.batch_size // self.world
        if self.rank != 0:   # one voice: rank 0 prints, saves and plots
            sys.stdout = open(os.devnull, "w")
            args.no_progress = args.no_plot = True
        self.sampler = None

    @property
    def writes(self):
        """Whether this rank writes files (the checkpoint, the plot)."""
        return self.rank == 0


    def loaders(self, train, test):
        """This rank's training loader (a shuffled shard) and test loader (every world-th image)."""
        self.sampler = data.DistributedSampler(train, shuffle=True, seed=self.seed)
        self.test_share = np.arange(self.rank, len(test), self.world)
        return (data.DataLoader(train, batch_size=self.batch, sampler=self.sampler),
                data.DataLoader(data.Subset(test, self.test_share), batch_size=1000))

    def wrap(self, model):
        """``model`` in DistributedDataParallel (which copies rank 0's weights to every rank)."""
        # the kernels' threads: what init_process_group chose (it sets NUMBA_NUM_THREADS unless you did)
        n = int(os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count() or 1)
        print(f"distributed: {self.world} rank{'s' if self.world > 1 else ''} x {n} thread{'s' if n > 1 else ''} "
              f"each, batch {self.batch} per rank "
              "(NUMBA_NUM_THREADS sets the threads per rank)")
        return DistributedDataParallel(model)

    def set_epoch(self, epoch):
        """A new data order (the same on every rank), and this rank's own augmentation stream for the epoch."""
        self.sampler.set_epoch(epoch)
        ag.manual_seed(int(np.random.SeedSequence([self.seed, epoch, self.rank]).generate_state(1)[0]))

    def combine(self, train_loss, train_acc, speed, test_loss, test_acc):
        """The epoch's figures over all ranks: means (the test ones weighted by each rank's share), summed speed."""
        n = len(self.test_share)
        v = np.array([train_loss, train_acc, speed, test_loss * n, test_acc * n, n], dtype=np.float64)
        dist.all_reduce(v)
        return v[0] / self.world, v[1] / self.world, v[2], v[3] / v[5], v[4] / v[5]
