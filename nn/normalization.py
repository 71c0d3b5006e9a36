"""``LayerNorm``, ``GroupNorm``, ``InstanceNorm1d/2d/3d`` and ``LocalResponseNorm`` (``nn.functional``'s forms)."""

from __future__ import annotations

import numpy as np

from autograd_core import ShapeError, get_default_dtype
from autograd_core.devices import check as check_device
from autograd_core.utils.checkpoint import is_recomputing

from . import functional as F
from . import init
from .batchnorm import _NormBase
from .module import Module
from .parameter import Parameter

__all__ = ["LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm"]


class LayerNorm(Module):
    """Normalise each sample over its last dimensions ``normalized_shape`` (Ba et al. 2016).

    With ``elementwise_affine``, a learned ``weight`` (ones) and ``bias``
    (zeros, unless ``bias=False``) of shape ``normalized_shape``.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        check_device(device, "LayerNorm")
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = np.dtype(dtype or get_default_dtype())
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalise each group of ``num_channels / num_groups`` channels of each sample (Wu & He 2018)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        check_device(device, "GroupNorm")
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = int(num_groups), int(num_channels), eps, affine
        dtype = np.dtype(dtype or get_default_dtype())
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            self.bias = Parameter(np.zeros(num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected input (N, "
                             f"{self.num_channels}, *), got shape {tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(_NormBase):
    """Batch norm's parameters and buffers (``_NormBase``: ``reset_parameters``, ``reset_running_stats``), PyTorch's
    defaults for instance norm (no affine map, no running statistics), and per-sample statistics in ``forward``
    (not a ``_BatchNorm``: ``SyncBatchNorm.convert_sync_batchnorm`` leaves it alone)."""

    _spatial = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)

    def forward(self, input):
        nd = self._spatial + 2
        if input.ndim not in (nd - 1, nd):
            raise ShapeError(f"{type(self).__name__}: expected a {nd - 1}-D (unbatched) or {nd}-D input, got shape "
                             f"{tuple(input.shape)}")
        unbatched = input.ndim == nd - 1
        x = input.unsqueeze(0) if unbatched else input
        if (self.affine or self.track_running_stats) and x.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}({self.num_features}): the input has {x.shape[1]} channels "
                             f"(shape {tuple(input.shape)})")
        use_input_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and not is_recomputing():  # (checkpoint: once a step)
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average, as batch norm
                momentum = 1.0 / float(self.num_batches_tracked.data)
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                              momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over ``(N, C, L)`` or ``(C, L)``: each channel of each sample over its length."""

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over ``(N, C, H, W)`` or ``(C, H, W)``: each channel of each image over its pixels.

    ``affine=False`` and ``track_running_stats=False`` by default, as in PyTorch.
    """

    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""

    _spatial = 3


class LocalResponseNorm(Module):
    """``a_c / (k + alpha / size * sum of a^2 over size neighbouring channels)^beta``."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
