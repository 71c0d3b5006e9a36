"""Batch normalisation with the statistics of the global batch, across the ranks of ``autograd_core.distributed``.

Forward: each rank computes its per-channel count, mean and sum of squared deviations
(``M2``, in float64); one ``Allgather`` brings every rank's, and they are combined with
Chan et al.'s parallel formula (``M2 = sum M2_r + sum n_r (mean_r - mean)^2``), which
does not lose precision as ``E[x^2] - E[x]^2`` would. Backward: the per-channel sums of
``dy`` and ``dy * xhat`` are summed across ranks by one ``Allreduce``, then

    dx = weight * invstd * (dy - sum(dy) / N - xhat * sum(dy * xhat) / N)

with ``N`` the global count, while the weight's and the bias's gradients stay this rank's
own sums (``DistributedDataParallel`` averages them with the other parameters). Every
rank must call it in the same order (it is a collective), as it does when all ranks run
the same model.

This module is not in ``ops.MODULES`` (so ``sync_batch_norm`` is not ``autograd_core.sync_batch_norm``):
it needs a process group, and users reach it through ``nn.SyncBatchNorm``, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..function import Function, once_differentiable

__all__ = ["sync_batch_norm"]


def _axes(nd):
    return (0,) + tuple(range(2, nd))


def _view(v, nd):
    return v.reshape((1, -1) + (1,) * (nd - 2))


class SyncBatchNorm(Function):
    """Training-mode batch norm over the global batch; outputs ``y`` and (no gradient) mean, var, count."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps, comm):
        nd, c = x.ndim, x.shape[1]
        axes = _axes(nd)
        n = x.size // c
        mean_r = x.sum(axis=axes, dtype=np.float64) / n
        d = x.astype(np.float64) - _view(mean_r, nd)
        m2_r = (d * d).sum(axis=axes)
        local = np.concatenate([[float(n)], mean_r, m2_r])
        every = np.empty((comm.Get_size(), local.size))
        comm.Allgather(local, every)
        counts, means, m2s = every[:, 0], every[:, 1:1 + c], every[:, 1 + c:]
        total = counts.sum()
        mean = (counts[:, None] * means).sum(0) / total
        var = (m2s.sum(0) + (counts[:, None] * (means - mean) ** 2).sum(0)) / total
        invstd = 1.0 / np.sqrt(var + eps)
        dt = x.dtype
        xhat = (x - _view(mean, nd).astype(dt)) * _view(invstd, nd).astype(dt)
        y = xhat if weight is None else xhat * _view(weight, nd)
        if bias is not None:
            y = y + _view(bias, nd)
        ctx.xhat, ctx.invstd, ctx.weight, ctx.total, ctx.comm = xhat, invstd, weight, total, comm
        ctx.set_materialize_grads(False)
        count = np.array(total)
        ctx.mark_non_differentiable(mean, var, count)
        return y, mean, var, count

    @staticmethod
    @once_differentiable
    def backward(ctx, gy, *_):
        from .. import distributed as dist
        MPI = dist._mpi()
        g = gy.data
        xhat, nd = ctx.xhat, g.ndim
        axes = _axes(nd)
        c = g.shape[1]
        sums = np.concatenate([g.sum(axis=axes, dtype=np.float64), (g * xhat).sum(axis=axes, dtype=np.float64)])
        local_db, local_dw = sums[:c].copy(), sums[c:].copy()   # this rank's own: DDP averages them
        ctx.comm.Allreduce(MPI.IN_PLACE, sums, op=MPI.SUM)
        mean_dy, mean_dy_xhat = sums[:c] / ctx.total, sums[c:] / ctx.total
        scale = ctx.invstd if ctx.weight is None else ctx.invstd * ctx.weight
        dt = g.dtype
        gx = (g - _view(mean_dy, nd).astype(dt) - xhat * _view(mean_dy_xhat, nd).astype(dt)) \
            * _view(scale, nd).astype(dt)
        need = ctx.needs_input_grad
        gw = local_dw.astype(dt) if need[1] else None
        gb = local_db.astype(dt) if need[2] else None
        ctx.xhat = ctx.weight = None
        return gx, gw, gb


def sync_batch_norm(input, weight, bias, eps, comm):
    """Normalise each channel of ``input`` ``(N, C, *)`` with the global batch's mean and biased variance.

    ``comm`` is the mpi4py communicator of the ranks. Returns ``(output, mean, var, count)``:
    the batch statistics (float64 ndarrays) and the global number of values per channel, for
    the caller's running statistics.
    """
    y, mean, var, count = SyncBatchNorm.apply(input, weight, bias, eps, comm)
    return y, mean.data, var.data, float(count.data)
