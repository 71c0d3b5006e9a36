"""``BatchNorm1d``, ``BatchNorm2d``, ``BatchNorm3d`` (Ioffe & Szegedy 2015) and ``SyncBatchNorm`` (statistics over
all ranks)."""

from __future__ import annotations

import numpy as np

from autograd_core import ShapeError, from_numpy, get_default_dtype, increment_version
from autograd_core.devices import check as check_device
from autograd_core.utils.checkpoint import is_recomputing

from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"]


class _NormBase(Module):
    """Per-channel affine parameters and running statistics, shared by batch and instance norm."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None):
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, got {momentum}")
        if eps <= 0:
            raise ValueError(f"{type(self).__name__}: eps must be > 0, got {eps}")
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        check_device(device, type(self).__name__)
        dtype = np.dtype(dtype or get_default_dtype())
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", from_numpy(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", from_numpy(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", from_numpy(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    _dims = ()  # accepted input dimensionalities

    def forward(self, input):
        nd = input.ndim
        if nd not in self._dims or input.shape[1] != self.num_features:
            raise ShapeError(
                f"{type(self).__name__}({self.num_features}): expected input of "
                f"{' or '.join(f'{d}' for d in self._dims)} dimensions with {self.num_features} channels in "
                f"dimension 1, got shape {tuple(input.shape)}")
        use_batch_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and not is_recomputing():  # (checkpoint: once a step)
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.data)
        update = self.training and self.track_running_stats
        return F.batch_norm(input, self.running_mean if update or not use_batch_stats else None,
                            self.running_var if update or not use_batch_stats else None,
                            self.weight, self.bias, use_batch_stats, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over ``(N, C)`` or ``(N, C, L)`` input, per channel ``C``.

    Training: normalise with the batch mean and (biased) variance and update
    ``running_mean``/``running_var`` (``momentum`` weights the new batch; None
    averages all batches). Eval: normalise with the running statistics.
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over ``(N, C, H, W)`` input, per channel ``C`` (see ``BatchNorm1d``)."""

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm over ``(N, C, D, H, W)`` input, per channel ``C`` (see ``BatchNorm1d``)."""

    _dims = (5,)


class SyncBatchNorm(_BatchNorm):
    """Batch norm whose training statistics are those of the global batch, over every rank.

    In training mode the per-channel mean and variance come from all ranks' inputs
    together (one all-gather in forward, one all-reduce in backward), so with
    ``DistributedDataParallel`` a step equals one process's step on the union of the
    batches, batch norm included. Without a process group of more than one rank, or
    in eval mode, it is ``BatchNorm``. Plain ``BatchNorm1d/2d`` under DDP normalise
    each rank's batch with its own statistics (PyTorch's default too).
    ``SyncBatchNorm.convert_sync_batchnorm(model)`` swaps a model's batch norms for it.
    Input: ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
    """

    _dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        if process_group is not None:
            raise NotImplementedError("SyncBatchNorm: only the default process group (process_group=None) exists")

    def forward(self, input):
        from autograd_core import distributed as dist
        if not (self.training or not self.track_running_stats) or not dist.is_initialized() \
                or dist.get_world_size() == 1:
            return super().forward(input)
        from autograd_core.ops.distributed import sync_batch_norm
        if input.ndim not in self._dims or input.shape[1] != self.num_features:
            raise ShapeError(f"SyncBatchNorm({self.num_features}): expected input of 2 to 5 dimensions with "
                             f"{self.num_features} channels in dimension 1, got shape {tuple(input.shape)}")
        y, mean, var, count = sync_batch_norm(input, self.weight, self.bias, self.eps)
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            m = 1.0 / float(self.num_batches_tracked.data) if self.momentum is None else self.momentum
            rm, rv = self.running_mean.data, self.running_var.data
            rm += (m * (mean - rm)).astype(rm.dtype)
            rv += (m * (var * (count / max(count - 1, 1)) - rv)).astype(rv.dtype)
            increment_version(self.running_mean, self.running_var, self.num_batches_tracked)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every ``BatchNorm1d/2d`` replaced by a ``SyncBatchNorm`` holding its state."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            new = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group, dtype=(module.weight if module.affine else module.running_mean).dtype)
            new.load_state_dict(module.state_dict())
            new.train(module.training)
            return new
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = cls.convert_sync_batchnorm(child, process_group)
        return module
