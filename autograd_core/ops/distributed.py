"""The graph nodes of data-parallel training, over the ranks of ``autograd_core.distributed``.

- ``sync_batch_norm``: batch normalisation with the statistics of the global batch (the op
  under ``nn.SyncBatchNorm``).
- ``grads_ready``: an identity node on some parameters whose backward hands their final
  gradients to a callback (how ``nn.parallel.DistributedDataParallel`` learns that a
  bucket's gradients are complete).

Sync batch norm, in detail.

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

This module is not in ``ops.MODULES`` (so its helpers are not ``autograd_core.<name>``): they need
a process group, and users reach them through ``nn.SyncBatchNorm`` and ``DistributedDataParallel``,
as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from .. import distributed as dist
from ..function import Function, once_differentiable
from ..tensor import Tensor

__all__ = ["sync_batch_norm", "grads_ready"]


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


def sync_batch_norm(input, weight, bias, eps):
    """Normalise each channel of ``input`` ``(N, C, *)`` with the global batch's mean and biased variance.

    Every rank of the default process group must call it (a collective). Returns
    ``(output, mean, var, count)``: the batch statistics (float64 ndarrays) and the global
    number of values per channel, for the caller's running statistics.
    """
    y, mean, var, count = SyncBatchNorm.apply(input, weight, bias, eps, dist._comm("sync_batch_norm"))
    return y, mean.data, var.data, float(count.data)


class GradReady(Function):
    """Identity on some parameters; backward gives their final gradients to ``callback``.

    It runs once every use of the parameters has delivered its gradient (the engine's
    dependency count), returns none to the parameters themselves (the callback owns
    ``.grad``), and a zero to ``sentinel``, a float64 scalar leaf whose hook therefore runs
    once the whole backward pass is over.
    """

    @staticmethod
    def forward(ctx, callback, sentinel, *params):
        ctx.callback = callback
        ctx.set_materialize_grads(False)
        return params

    @staticmethod
    def backward(ctx, *grads):
        ctx.callback(grads)
        return (None, _ZERO) + (None,) * len(grads)


_ZERO = Tensor._wrap(np.zeros((), dtype=np.float64))


def grads_ready(params, callback, sentinel):
    """``params`` as outputs of one ``GradReady`` node: Tensors sharing their data and version counters.

    A module that computes with these instead of ``params`` gets ``callback(grads)`` called
    during backward, with one gradient (a Tensor, or None if it got none) per parameter, as
    soon as all of them are final.
    """
    if sentinel.data.shape != () or sentinel.data.dtype != np.float64 or not sentinel.requires_grad:
        raise ValueError("grads_ready: sentinel must be a float64 scalar that requires grad")
    outs = GradReady.apply(callback, sentinel, *params)
    for p, v in zip(params, outs):
        v._ver = p._ver   # an in-place change to the parameter before backward is still caught
    return outs
