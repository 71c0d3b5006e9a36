"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose2d`` (kernels in ``autograd_core.ops.conv``).

``Conv1d`` and ``Conv2d`` take ``flip=True`` for a true convolution (kernel flipped) instead of
cross-correlation."""

from __future__ import annotations

import numpy as np

from autograd_core import get_default_dtype
from autograd_core.devices import check as check_device

from . import functional as F
from .linear import _reset_weight_and_bias
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]

_PADDING_MODES = {"zeros": None, "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _tuple(v, n, cls, name):
    t = (v,) * n if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != n or not all(isinstance(x, (int, np.integer)) for x in t):
        raise ValueError(f"{cls}: {name} must be an int or a tuple of {n} ints, got {v!r}")
    return tuple(int(x) for x in t)


class _ConvNd(Module):
    _n = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, device, dtype, output_padding=0, flip=False):
        super().__init__()
        cls = type(self).__name__
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{cls}: {name} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{cls}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{cls}: padding_mode must be one of {sorted(_PADDING_MODES)}, got {padding_mode!r}")
        n = self._n
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _tuple(kernel_size, n, cls, "kernel_size")
        self.stride = _tuple(stride, n, cls, "stride")
        self.dilation = _tuple(dilation, n, cls, "dilation")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{cls}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{cls}: padding='same' needs stride 1, got stride={stride!r}")
            self.padding = padding
        else:
            self.padding = _tuple(padding, n, cls, "padding")
        self.padding_mode = padding_mode
        self.flip = bool(flip)
        if self._transposed:
            if padding_mode != "zeros":
                raise ValueError(f"{cls}: only padding_mode='zeros' is supported, got {padding_mode!r}")
            self.output_padding = _tuple(output_padding, n, cls, "output_padding")
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        check_device(device, type(self).__name__)
        dtype = np.dtype(dtype or get_default_dtype())
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight and bias from U(+-1/sqrt(fan_in)), fan_in = weight.shape[1] * kernel area."""
        _reset_weight_and_bias(self.weight, self.bias)

    def _padded(self, input):
        """For a padding_mode other than zeros: pad the input here, and convolve without padding."""
        if self.padding_mode == "zeros" or self.padding == "valid":
            return input, self.padding
        if self.padding == "same":
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            widths = [(t // 2, t - t // 2) for t in total]
        else:
            widths = [(p, p) for p in self.padding]
        flat = [w for pair in reversed(widths) for w in pair]  # F.pad lists the last dimension first
        return F.pad(input, flat, mode=_PADDING_MODES[self.padding_mode]), 0

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0,) * self._n) != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        if self.flip:
            s += ", flip=True"
        return s


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) over ``(N, C_in, L)``; weight ``(C_out, C_in / groups, k)``."""

    _n = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None, flip=False):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, flip=flip)

    def forward(self, input):
        x, padding = self._padded(input)
        padding = padding if isinstance(padding, (int, str)) else padding[0]
        weight = self.weight[..., ::-1] if self.flip else self.weight
        return F.conv1d(x, weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over ``(N, C_in, H, W)``; weight ``(C_out, C_in / groups, kH, kW)``.

    Output size per axis: ``(size + 2 * padding - dilation * (k - 1) - 1) // stride + 1``.
    ``padding`` may be 'valid' (none) or 'same' (stride 1); ``padding_mode`` 'zeros',
    'reflect', 'replicate' or 'circular'.

    ``flip=True`` makes it a true convolution (the lecture's, with the kernel
    flipped: ``F.convolve2d``) instead of PyTorch's cross-correlation. The
    weight keeps its shape and initialisation; only how it slides changes.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None, flip=False):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, flip=flip)

    def forward(self, input):
        x, padding = self._padded(input)
        if self.flip:
            return F.convolve2d(x, self.weight, self.stride, padding, self.dilation, self.groups, self.bias)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution (the gradient of ``Conv2d`` w.r.t. its input): upsampling.

    Weight ``(C_in, C_out / groups, kH, kW)``. Output size per axis:
    ``(size - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.
    """

    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a pair, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, output_padding)

    def forward(self, input):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)
